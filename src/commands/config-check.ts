/**
 * `changegate config check [FILE]`: validate a policy file offline with the app's own loader
 * (config/load.ts: limits, YAML, _extends, the zod schema), printing each problem with its key path
 * and line. Exit 0 valid, 1 invalid, 2 no such file. Made for the CI of an org's `.github`
 * repository: with GITHUB_ACTIONS=true each problem is also a workflow `::error` annotation on the
 * file and line; `--json` prints one JSON object instead of text.
 *
 * The owner's `.github` repository's `.github/changegate.yml` is checked as the org file: its
 * `enforce:` floors are validated as the app reads them (a broken floor fails every PR of the org),
 * and the rest of the file as the policy of repositories without their own. `--org` / `--repo` say
 * which; without them the file is the org file when it is `.github/changegate.yml` at the root of
 * a checkout of a repository named `.github`: the checkout's git remote `origin`, else
 * GITHUB_REPOSITORY (GitHub Actions), else the checkout's directory name (see `orgFileOf`).
 */
import { loadSettings } from "../settings.js";
import { Option, type Command } from "commander";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CONFIG_PATH } from "../contract.js";
import { stringify } from "yaml";
import { EXIT, type CliIo, type SetExit } from "./kit.js";
import { policySizeProblem } from "../config/limits.js";
import { loadPolicy } from "../config/load.js";
import { locateIssues, type LocatedIssue } from "../config/locate.js";

const OK = EXIT.ok;
const INVALID = EXIT.failed;
const USAGE = EXIT.usage;

export interface ConfigCheckOptions {
  json?: boolean;
  /** Check it as the owner's `.github` repository's file (enforce: allowed and validated). */
  org?: boolean;
  /** Check it as a repository's own file (enforce: refused), whatever the checkout is. */
  repo?: boolean;
}

/** How a file is checked: as the org file (and which owner's, when known), or as a repository's own; and why. */
export type CheckedAs = { as: "org"; owner: string | null; why: string } | { as: "repo"; why: string | null };

/** The repository `owner/name` a git remote URL names (https, ssh, scp-like), or null. */
export function repoOfRemote(url: string): string | null {
  const m = /[/:]([A-Za-z0-9][A-Za-z0-9-]*)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? `${m[1]}/${m[2]}` : null;
}

/** Shown for the .github repository's default branch when the checkout does not say (no origin/HEAD). */
const DEFAULT_BRANCH_PLACEHOLDER = "<default branch>";

/** The checkout's default branch (origin/HEAD), or null when git cannot say. */
function defaultBranchOf(root: string): string | null {
  if (!existsSync(join(root, ".git"))) return null;
  const r = spawnSync("git", ["-C", root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  const ref = r.status === 0 ? r.stdout.trim() : "";
  return ref.startsWith("origin/") ? ref.slice("origin/".length) : null;
}

/**
 * Is `path` the org file? Only `.github/changegate.yml` at the root of a checkout can be: the
 * checkout's repository is read from its git remote `origin`, else GITHUB_REPOSITORY (set by
 * GitHub Actions), else the directory's name (a clone of owner/.github is a directory `.github`).
 */
export function orgFileOf(path: string, env: Record<string, string | undefined>): CheckedAs {
  const root = dirname(dirname(path));
  if (join(root, CONFIG_PATH) !== path) return { as: "repo", why: null };
  let repo: string | null = null;
  let source = "";
  if (existsSync(join(root, ".git"))) {
    const r = spawnSync("git", ["-C", root, "remote", "get-url", "origin"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    if (r.status === 0) {
      repo = repoOfRemote(r.stdout);
      source = `its git remote origin (${r.stdout.trim()})`;
    }
  }
  const fromActions = loadSettings(env, ["platform"]).platform.githubRepository;
  if (!repo && fromActions?.includes("/")) {
    repo = fromActions;
    source = `GITHUB_REPOSITORY (${repo})`;
  }
  if (repo) {
    const [owner, name] = repo.split("/") as [string, string];
    return name.toLowerCase() === ".github"
      ? { as: "org", owner, why: `the checkout is ${repo}, from ${source}` }
      : { as: "repo", why: `the checkout is ${repo}, from ${source}` };
  }
  return basename(root) === ".github"
    ? { as: "org", owner: null, why: "the checkout's directory is named .github" }
    : { as: "repo", why: null };
}

export function registerConfigCheck(config: Command, io: CliIo, setExit: SetExit): void {
  config
    .command("check")
    .description(
      `validate a policy file with the app's own schema (default ${CONFIG_PATH}); each problem with its key path and line; exit 1 when invalid`,
    )
    .argument("[file]", "the policy file", CONFIG_PATH)
    .option(
      "--json",
      "print one JSON object ({ file, valid, checkedAs, problems: [{ path, line, message }] })",
    )
    .addOption(
      new Option(
        "--org",
        "check it as the owner's .github repository's file: enforce: floors allowed and validated",
      ).conflicts("repo"),
    )
    .addOption(new Option("--repo", "check it as a repository's own file (enforce: is an error)"))
    .addHelpText(
      "after",
      "\nWithout --org/--repo, .github/changegate.yml at the root of a checkout of a repository named .github (git remote origin, else GITHUB_REPOSITORY, else the directory's name) is checked as the org file." +
        "\nWith GITHUB_ACTIONS=true each problem is also printed as an ::error annotation on the file and line.",
    )
    .action(async (file: string, opts: ConfigCheckOptions) => setExit(await configCheck(io, file, opts)));
}

export async function configCheck(io: CliIo, file: string, opts: ConfigCheckOptions = {}): Promise<number> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    // The app refuses a policy over the size limit before parsing it: so does check, before reading it.
    const tooBig = policySizeProblem(statSync(path).size);
    if (tooBig)
      return report(io, file, opts, {
        issues: [{ path: "", message: tooBig.message, line: null }],
        notes: [],
        config: null,
        as: null,
      });
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr.write(
      `changegate: ${code === "ENOENT" ? `no policy file at ${file}` : `cannot read ${file}: ${(err as Error).message}`}\n`,
    );
    return USAGE;
  }
  const notes: string[] = [];
  const detected = opts.repo ? null : orgFileOf(path, io.env);
  const checked: CheckedAs = opts.org
    ? { as: "org", owner: detected?.as === "org" ? detected.owner : null, why: "--org" }
    : (detected ?? { as: "repo", why: "--repo" });
  const orgLabel = `${checked.as === "org" && checked.owner ? checked.owner : "<owner>"}/.github`;
  if (checked.as === "org")
    notes.push(
      `checked as the org file ${orgLabel}:${CONFIG_PATH} (${checked.why}): its enforce: floors as the app reads them, the rest as the policy of repositories without their own file; --repo checks it as a repository's own file`,
    );
  const files =
    checked.as === "org"
      ? { repoFile: null, orgFile: { repo: orgLabel, path: CONFIG_PATH, text } }
      : { repoFile: { repo: "local/checkout", path: file, text }, orgFile: null };
  // Floors that add branches keep the repository's default branch gated: name it, as the app does.
  const defaultBranch =
    checked.as === "org"
      ? (defaultBranchOf(dirname(dirname(path))) ?? DEFAULT_BRANCH_PLACEHOLDER)
      : undefined;
  const result = await loadPolicy({ ...files, defaultBranch }, async (repo, target) => {
    // _extends names a file on GitHub: not followed here; this file is checked on its own.
    notes.push(
      `_extends ${repo}:${target} is read from GitHub by the app; it was not followed here, so this file was checked on its own`,
    );
    return "";
  });
  if (!result.ok) {
    const issues = result.problem.issues.map((i) =>
      checked.as === "repo" && i.path === "enforce"
        ? { ...i, message: `${i.message} (if this is the org's file, check it with --org)` }
        : i,
    );
    return report(io, file, opts, {
      issues: locateIssues(text, issues),
      notes,
      config: null,
      as: checked.as,
    });
  }
  return report(io, file, opts, { issues: [], notes, config: result.policy.config, as: checked.as });
}

interface Outcome {
  issues: LocatedIssue[];
  notes: string[];
  config: unknown;
  /** Checked as the org file or a repository's own (null: refused before reading it). */
  as: CheckedAs["as"] | null;
}

function report(io: CliIo, file: string, opts: ConfigCheckOptions, o: Outcome): number {
  const valid = o.issues.length === 0;
  if (opts.json) {
    io.stdout.write(
      `${JSON.stringify({ file, valid, ...(o.as ? { checkedAs: o.as } : {}), problems: o.issues.map((i) => ({ path: i.path, line: i.line, message: i.message })), notes: o.notes, ...(valid ? { config: o.config } : {}) })}\n`,
    );
    return valid ? OK : INVALID;
  }
  for (const n of o.notes) io.stderr.write(`note: ${n}\n`);
  if (loadSettings(io.env, ["platform"]).platform.githubActions) {
    for (const i of o.issues) io.stdout.write(annotation(file, i));
  }
  if (valid) {
    const what =
      o.as === "org"
        ? "valid changegate org policy (enforce: floors included). Effective settings for the .github repository itself (defaults filled in, floors applied)"
        : "valid changegate policy. Effective settings (defaults filled in)";
    io.stdout.write(`${file}: ${what}:\n\n${stringify(o.config)}`);
    return OK;
  }
  io.stderr.write(
    `${file}: not a valid changegate policy (${o.issues.length} problem${o.issues.length === 1 ? "" : "s"})\n`,
  );
  for (const i of o.issues)
    io.stderr.write(
      `  ${i.line === null ? "" : `line ${i.line}: `}${i.path === "" ? "(file)" : i.path}: ${i.message}\n`,
    );
  return INVALID;
}

/** A GitHub Actions workflow command: an error annotation on the file and line. */
export function annotation(file: string, i: LocatedIssue): string {
  const prop = (s: string) =>
    s
      .replace(/%/g, "%25")
      .replace(/\r/g, "%0D")
      .replace(/\n/g, "%0A")
      .replace(/:/g, "%3A")
      .replace(/,/g, "%2C");
  const data = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const line = i.line === null ? "" : `,line=${i.line}`;
  return `::error file=${prop(file)}${line},title=${prop("changegate policy")}::${data(`${i.path === "" ? "(file)" : i.path}: ${i.message}`)}\n`;
}
