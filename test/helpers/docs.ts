/**
 * The docs as tests read them: README.md and docs/*.md, wherever a section lives today (the README
 * is being split into docs/ pages: a test finds its section by heading in any of them).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

/** README.md, then docs/*.md: [path, text]. */
export function docPages(): [string, string][] {
  const pages: [string, string][] = [["README.md", readFileSync(join(ROOT, "README.md"), "utf8")]];
  const dir = join(ROOT, "docs");
  if (existsSync(dir))
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".md"))
      .sort())
      pages.push([`docs/${f}`, readFileSync(join(dir, f), "utf8")]);
  return pages;
}

/** The section under the first heading (any level) whose text includes `heading`, up to the next heading of the same or a higher level. */
export function docSection(heading: string): { page: string; text: string } {
  for (const [page, text] of docPages()) {
    const lines = text.split("\n");
    // A heading is a line starting with #s outside fenced code (a "# comment" in a yaml block is not one).
    let fenced = false;
    const level = lines.map((l) => {
      if (l.startsWith("```")) fenced = !fenced;
      const m = fenced ? null : /^(#{1,6}) /.exec(l);
      return m ? m[1]!.length : 0;
    });
    const at = lines.findIndex((l, i) => level[i]! > 0 && l.includes(heading));
    if (at < 0) continue;
    const end = lines.findIndex((_l, i) => i > at && level[i]! > 0 && level[i]! <= level[at]!);
    return { page, text: lines.slice(at, end < 0 ? undefined : end).join("\n") };
  }
  throw new Error(`no heading containing "${heading}" in README.md or docs/*.md`);
}

/** The fenced code blocks of a text in a language (```yaml … ```), in order. */
export function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```", "gm"))].map((m) => m[1]!);
}

/** The docs' org file example: the yaml block with `enforce:` under the "Org floors" heading. */
export function orgExample(): string {
  const floors = docSection("Org floors");
  const block = codeBlocks(floors.text, "yaml").find((b) => /^enforce:/m.test(b));
  if (!block) throw new Error(`${floors.page}: the "Org floors" section has no yaml block with enforce:`);
  return block;
}
