/**
 * `changegate config check [FILE]`: validate a policy file offline with the app's own loader
 * (config/load.ts: limits, YAML, _extends, the zod schema), printing each problem with its key path
 * and line. Exit 0 valid, 1 invalid, 2 no such file. Made for the CI of an org's `.github`
 * repository: with GITHUB_ACTIONS=true each problem is also a workflow `::error` annotation on the
 * file and line; `--json` prints one JSON object instead of text.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import type { CliIo } from "../cli.js";
import { policySizeProblem } from "../config/limits.js";
import { loadPolicy } from "../config/load.js";
import { locateIssues, type LocatedIssue } from "../config/locate.js";

const OK = 0;
const INVALID = 1;
const USAGE = 2;

export interface ConfigCheckOptions {
  json?: boolean;
}

export async function configCheck(io: CliIo, file: string, opts: ConfigCheckOptions = {}): Promise<number> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    // The app refuses a policy over the size limit before parsing it: so does check, before reading it.
    const tooBig = policySizeProblem(statSync(path).size);
    if (tooBig) return report(io, file, opts, { issues: [{ path: "", message: tooBig.message, line: null }], notes: [], config: null });
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr.write(`changegate: ${code === "ENOENT" ? `no policy file at ${file}` : `cannot read ${file}: ${(err as Error).message}`}\n`);
    return USAGE;
  }
  const notes: string[] = [];
  const result = await loadPolicy({ repoFile: { repo: "local/checkout", path: file, text }, orgFile: null }, async (repo, target) => {
    // _extends names a file on GitHub: not followed here; this file is checked on its own.
    notes.push(`_extends ${repo}:${target} is read from GitHub by the app; it was not followed here, so this file was checked on its own`);
    return "";
  });
  if (!result.ok) return report(io, file, opts, { issues: locateIssues(text, result.problem.issues), notes, config: null });
  return report(io, file, opts, { issues: [], notes, config: result.policy.config });
}

interface Outcome {
  issues: LocatedIssue[];
  notes: string[];
  config: unknown;
}

function report(io: CliIo, file: string, opts: ConfigCheckOptions, o: Outcome): number {
  const valid = o.issues.length === 0;
  if (opts.json) {
    io.stdout.write(`${JSON.stringify({ file, valid, problems: o.issues.map((i) => ({ path: i.path, line: i.line, message: i.message })), notes: o.notes, ...(valid ? { config: o.config } : {}) })}\n`);
    return valid ? OK : INVALID;
  }
  for (const n of o.notes) io.stderr.write(`note: ${n}\n`);
  if (io.env.GITHUB_ACTIONS === "true") {
    for (const i of o.issues) io.stdout.write(annotation(file, i));
  }
  if (valid) {
    io.stdout.write(`${file}: valid changegate policy. Effective settings (defaults filled in):\n\n${stringify(o.config)}`);
    return OK;
  }
  io.stderr.write(`${file}: not a valid changegate policy (${o.issues.length} problem${o.issues.length === 1 ? "" : "s"})\n`);
  for (const i of o.issues) io.stderr.write(`  ${i.line === null ? "" : `line ${i.line}: `}${i.path === "" ? "(file)" : i.path}: ${i.message}\n`);
  return INVALID;
}

/** A GitHub Actions workflow command: an error annotation on the file and line. */
export function annotation(file: string, i: LocatedIssue): string {
  const prop = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/:/g, "%3A").replace(/,/g, "%2C");
  const data = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const line = i.line === null ? "" : `,line=${i.line}`;
  return `::error file=${prop(file)}${line},title=${prop("changegate policy")}::${data(`${i.path === "" ? "(file)" : i.path}: ${i.message}`)}\n`;
}
