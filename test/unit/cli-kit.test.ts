/**
 * src/commands/kit.ts, the command line's one copy of its plumbing: the progress bar (only on a
 * terminal, growing total, stop once), and the rule that keeps src/cli.ts and src/commands/ free of
 * an import circle (commands never import the bin; the kit imports no command).
 */
import { describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, EXIT, progressBar, usage } from "../../src/commands/kit.js";

const ROOT = join(import.meta.dirname, "..", "..");

function fakeStream(isTTY: boolean) {
  let out = "";
  return {
    stream: { isTTY, columns: 100, write: (s: string) => ((out += s), true) },
    text: () => out,
  };
}

describe("progressBar", () => {
  test("not a terminal: no bar, nothing written", () => {
    const s = fakeStream(false);
    expect(progressBar(s.stream, "exporting")).toBeNull();
    expect(s.text()).toBe("");
  });

  test("on a terminal: starts at the first add, the total grows, stop is idempotent", () => {
    const s = fakeStream(true);
    const bar = progressBar(s.stream, "scanning")!;
    expect(bar).not.toBeNull();
    bar.increment(); // before any add: nothing to count yet
    expect(s.text()).toBe("");
    bar.add(2);
    bar.increment();
    bar.add(2);
    bar.increment();
    bar.increment();
    bar.increment();
    bar.stop();
    const after = s.text();
    expect(after).toContain("scanning [");
    expect(after).toContain("100% 4/4");
    bar.stop();
    bar.increment();
    expect(s.text()).toBe(after);
  });
});

describe("exit codes", () => {
  test("the documented codes: 0 ok, 1 failed, 2 usage, 3 database, 4 GitHub or Jira", () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, database: 3, github: 4 });
    const e = usage("bad");
    expect(e).toBeInstanceOf(CliError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("bad");
  });
});

describe("no import circle between src/cli.ts and src/commands/", () => {
  const dir = join(ROOT, "src", "commands");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  const imports = (file: string) =>
    [...readFileSync(join(dir, file), "utf8").matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)].map(
      (m) => m[1]!,
    );

  test.each(files)("%s does not import src/cli.ts (statically or with import())", (file) => {
    expect(imports(file).filter((p) => /(^|\/)cli\.js$/.test(p))).toEqual([]);
  });

  test("kit.ts imports no command module", () => {
    expect(imports("kit.ts").filter((p) => p.startsWith("./"))).toEqual([]);
  });
});
