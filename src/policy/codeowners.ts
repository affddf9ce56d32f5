/**
 * CODEOWNERS, as GitHub reads it (docs: "About code owners"). Pure: given the file's text, who owns
 * a path.
 *   - The first file found among .github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS is used; the others
 *     are ignored (gather reads all three in the one read; `pickCodeowners` chooses).
 *   - Files over 3 MB are not loaded by GitHub: here they fail the rule (closed).
 *   - One rule a line: a pattern, then owners (@user, @org/team, or an e-mail). `#` starts a comment;
 *     the last matching line wins; a matching line with no owners leaves the path without owners.
 *   - Patterns follow .gitignore, except what GitHub documents as not working: `\#` escaping, `!`
 *     negation and `[ ]` ranges. Such lines, and lines with a malformed owner, are skipped (GitHub
 *     skips lines with errors too) and listed in `errors`.
 *   - Paths are case-sensitive.
 */

/** GitHub does not load a CODEOWNERS file larger than this. */
export const CODEOWNERS_MAX_BYTES = 3 * 1024 * 1024;
export const CODEOWNERS_PATHS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;

export type Owner =
  { kind: "user"; login: string } | { kind: "team"; team: string } | { kind: "email"; email: string };

export interface CodeownersEntry {
  line: number;
  pattern: string;
  owners: Owner[];
  regex: RegExp;
}

export interface Codeowners {
  path: string;
  entries: CodeownersEntry[];
  /** Lines skipped, with why (GitHub skips them too). */
  errors: { line: number; message: string }[];
}

/** The file GitHub would use: the first that exists, in GitHub's order. */
export function pickCodeowners(
  found: Partial<Record<(typeof CODEOWNERS_PATHS)[number], string | null>>,
): { path: string; text: string } | null {
  for (const p of CODEOWNERS_PATHS) {
    const text = found[p];
    if (typeof text === "string") return { path: p, text };
  }
  return null;
}

const USER = /^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/;
const TEAM = /^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100})$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** Lines longer than this are refused (a hostile file cannot make a huge regular expression). */
const MAX_LINE = 4096;
const MAX_WILDCARDS = 16;

export function parseCodeowners(path: string, text: string): Codeowners {
  const entries: CodeownersEntry[] = [];
  const errors: Codeowners["errors"] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    if (trimmed.length > MAX_LINE)
      return errors.push({ line, message: `longer than ${MAX_LINE} characters` });
    const hash = trimmed.search(/\s#/);
    const body = hash >= 0 ? trimmed.slice(0, hash) : trimmed;
    const [pattern, ...tokens] = body.split(/\s+/) as [string, ...string[]];
    const problem = patternProblem(pattern);
    if (problem) return errors.push({ line, message: problem });
    const owners: Owner[] = [];
    for (const t of tokens) {
      const team = TEAM.exec(t);
      const user = USER.exec(t);
      if (team) owners.push({ kind: "team", team: team[1]!.toLowerCase() });
      else if (user) owners.push({ kind: "user", login: user[1]!.toLowerCase() });
      else if (EMAIL.test(t)) owners.push({ kind: "email", email: t.toLowerCase() });
      else
        return errors.push({
          line,
          message: `${JSON.stringify(t.slice(0, 100))} is not a user, team or e-mail`,
        });
    }
    entries.push({ line, pattern, owners, regex: patternRegex(pattern) });
  });
  return { path, entries, errors };
}

function patternProblem(p: string): string | null {
  if (p.startsWith("!")) return "negation (!) does not work in CODEOWNERS";
  if (p.includes("[") || p.includes("]")) return "character ranges ([ ]) do not work in CODEOWNERS";
  if (p.startsWith("\\#")) return "escaping # with \\ does not work in CODEOWNERS";
  if (p.includes("\\")) return "escapes (\\) are not supported in CODEOWNERS patterns";
  // Bounded work per path: a pattern of many wildcards could otherwise backtrack for long.
  if ((p.match(/[*?]/g) ?? []).length > MAX_WILDCARDS) return `more than ${MAX_WILDCARDS} wildcards`;
  return null;
}

/**
 * .gitignore semantics: a leading or middle `/` anchors the pattern at the root, otherwise it
 * matches at any depth; a trailing `/` matches directories only; a pattern matching a directory
 * owns everything beneath it, except a pattern ending in `/*` (GitHub: `docs/*` does not own
 * `docs/a/b.md`). `*` and `?` stay within one path segment; `**` crosses them.
 */
export function patternRegex(pattern: string): RegExp {
  let p = pattern;
  const dirOnly = p.endsWith("/");
  if (dirOnly) p = p.replace(/\/+$/, "");
  const anchored = p.startsWith("/") || p.includes("/");
  p = p.replace(/^\/+/, "");
  const noNested = pattern.endsWith("/*");
  let re = "";
  for (let i = 0; i < p.length;) {
    if (p.startsWith("**/", i)) {
      re += "(?:.*/)?";
      i += 3;
    } else if (p.startsWith("/**", i) && i + 3 === p.length) {
      re += "/.*";
      i += 3;
    } else if (p.startsWith("**", i)) {
      re += ".*";
      i += 2;
    } else if (p[i] === "*") {
      re += "[^/]*";
      i++;
    } else if (p[i] === "?") {
      re += "[^/]";
      i++;
    } else {
      re += p[i]!.replace(/[.+^${}()|\\]/g, "\\$&");
      i++;
    }
  }
  const prefix = anchored ? "^" : "^(?:.*/)?";
  if (p === "" || p === "*" || p === "**") return /^.+$/; // "*" (or "/"): every file
  if (dirOnly) return new RegExp(`${prefix}${re}/.+$`);
  return new RegExp(`${prefix}${re}${noNested ? "" : "(?:/.+)?"}$`);
}

/** The owners of `file` (last matching line wins); null when no line matches. */
export function ownersOf(co: Codeowners, file: string): { owners: Owner[]; line: number } | null {
  for (let i = co.entries.length - 1; i >= 0; i--) {
    const e = co.entries[i]!;
    if (e.regex.test(file)) return { owners: e.owners, line: e.line };
  }
  return null;
}

export function ownerName(o: Owner): string {
  return o.kind === "user" ? `@${o.login}` : o.kind === "team" ? `@${o.team}` : o.email;
}
