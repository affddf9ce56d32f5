/**
 * Turns the policy file(s) gathered from GitHub into a validated Policy, or a ConfigProblem that
 * names the file, the key path and what is wrong. Pure but for `fetchFile`, which follows
 * `_extends` (one more read, only when a file uses it).
 */
import { createHash } from "node:crypto";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { CONFIG_PATH } from "../contract.js";
import { policyTextProblem } from "./limits.js";
import { configSchema } from "./schema.js";
import { applyFloors, enforceSchema, type Floors } from "./floors.js";
import type { Policy, PolicySource } from "../policy/types.js";

export interface ConfigFile {
  /** owner/name of the repository the file was read from. */
  repo: string;
  path: string;
  text: string;
}

export interface ConfigIssue {
  /** Dotted key path inside the file ("approvals.required"); "" for the file as a whole. */
  path: string;
  message: string;
}

export interface ConfigProblem {
  /** "owner/name:.github/changegate.yml" */
  file: string;
  issues: ConfigIssue[];
}

export type LoadResult = { ok: true; policy: Policy } | { ok: false; problem: ConfigProblem };

/** Reads `path` from the default branch of `repo` (owner/name); null when the file does not exist. */
export type FetchFile = (repo: string, path: string) => Promise<string | null>;

const MAX_EXTENDS_DEPTH = 5;

export function fileLabel(f: { repo: string; path: string }): string {
  return `${f.repo}:${f.path}`;
}

/**
 * Resolve which policy applies: the repository's own file, else the owner's `.github` repository's
 * file, else the built-in defaults; then the org file's `enforce:` floors (src/config/floors.ts) on
 * top, whichever applied. `defaultBranch` keeps the default branch gated when floors add branches.
 */
export async function loadPolicy(
  files: { repoFile: ConfigFile | null; orgFile: ConfigFile | null; defaultBranch?: string },
  fetchFile: FetchFile,
): Promise<LoadResult> {
  // An org file that cannot be read as floors fails every repository: its floors are unknown.
  const floors = readFloors(files.orgFile);
  if ("problem" in floors) return { ok: false, problem: floors.problem };
  const loaded = await loadOwnPolicy(files, fetchFile);
  if (!loaded.ok || !floors.value || !files.orgFile) return loaded;
  const floored = applyFloors(loaded.policy.config, floors.value, files.defaultBranch ?? null);
  const orgLabel = fileLabel(files.orgFile);
  if ("problem" in floored) {
    return {
      ok: false,
      problem: {
        file: `${loaded.policy.source.location} with the floors of ${orgLabel}`,
        issues: [floored.problem],
      },
    };
  }
  const { source } = loaded.policy;
  const hash = createHash("sha256").update(
    `${source.contentHash}\nenforce ${orgLabel}\n${files.orgFile.text}\n`,
  );
  return {
    ok: true,
    policy: {
      config: floored.config,
      source: {
        kind: source.kind,
        location: `${source.location} with the floors of ${orgLabel}`,
        contentHash: hash.digest("hex"),
      },
      floors: { location: orgLabel, notes: floored.notes },
    },
  };
}

/** The `enforce:` section of the org file: null without one; a problem naming the org file when invalid. */
function readFloors(orgFile: ConfigFile | null): { value: Floors | null } | { problem: ConfigProblem } {
  if (!orgFile) return { value: null };
  const label = fileLabel(orgFile);
  const parsed = parseYaml(orgFile.text, label);
  if ("problem" in parsed) return parsed;
  if (!("enforce" in parsed.value)) return { value: null };
  const floors = enforceSchema.safeParse(parsed.value.enforce);
  if (!floors.success) {
    const issues = zodIssues(floors.error).map((i) => ({
      ...i,
      path: i.path ? `enforce.${i.path}` : "enforce",
    }));
    return { problem: { file: label, issues } };
  }
  return { value: floors.data };
}

/** Is this the owner's `.github` repository's policy file, the only place `enforce:` may appear? */
function isOrgFile(f: { repo: string; path: string }): boolean {
  return f.repo.toLowerCase().endsWith("/.github") && f.path === CONFIG_PATH;
}

async function loadOwnPolicy(
  files: { repoFile: ConfigFile | null; orgFile: ConfigFile | null },
  fetchFile: FetchFile,
): Promise<LoadResult> {
  const start = files.repoFile ?? files.orgFile;
  if (!start) {
    return {
      ok: true,
      policy: {
        config: configSchema.parse({}),
        source: { kind: "defaults", location: "built-in defaults", contentHash: "" },
      },
    };
  }
  const kind: PolicySource["kind"] = files.repoFile ? "repo" : "org";
  const chain: ConfigFile[] = [];
  const merged = await resolveExtends(start, fetchFile, chain);
  if ("problem" in merged) return { ok: false, problem: merged.problem };

  const parsed = configSchema.safeParse(merged.value);
  if (!parsed.success) {
    return {
      ok: false,
      problem: { file: chain.map(fileLabel).join(" extending "), issues: zodIssues(parsed.error) },
    };
  }
  const hash = createHash("sha256");
  for (const f of chain) hash.update(`${fileLabel(f)}\n${f.text}\n`);
  return {
    ok: true,
    policy: {
      config: parsed.data,
      source: { kind, location: chain.map(fileLabel).join(" extending "), contentHash: hash.digest("hex") },
    },
  };
}

type Merged = { value: Record<string, unknown> } | { problem: ConfigProblem };

async function resolveExtends(file: ConfigFile, fetchFile: FetchFile, chain: ConfigFile[]): Promise<Merged> {
  chain.push(file);
  const label = fileLabel(file);
  const parsed = parseYaml(file.text, label);
  if ("problem" in parsed) return parsed;
  const { _extends: ext, ...own } = parsed.value;
  if ("enforce" in own) {
    if (!isOrgFile(file))
      return problem(
        label,
        "enforce",
        "floors are read only from the owner's .github repository (owner/.github:.github/changegate.yml); a repository's own file cannot set them",
      );
    delete own.enforce; // read by readFloors; the rest of the org file is the default policy
  }
  if (ext === undefined) return { value: own };

  if (typeof ext !== "string" || ext.trim() === "") {
    return problem(label, "_extends", "must be a repository name, owner/name, or owner/name:path");
  }
  if (chain.length > MAX_EXTENDS_DEPTH) {
    return problem(label, "_extends", `too many levels of _extends (more than ${MAX_EXTENDS_DEPTH})`);
  }
  const target = parseExtends(ext.trim(), file.repo);
  if (!target)
    return problem(
      label,
      "_extends",
      `cannot understand ${JSON.stringify(ext)}: expected repo, owner/repo or owner/repo:path`,
    );
  if (chain.some((f) => fileLabel(f).toLowerCase() === fileLabel(target).toLowerCase())) {
    return problem(label, "_extends", `${fileLabel(target)} extends itself (a loop)`);
  }
  const text = await fetchFile(target.repo, target.path);
  if (text === null)
    return problem(label, "_extends", `${fileLabel(target)} does not exist (or the app cannot read it)`);
  const base = await resolveExtends({ ...target, text }, fetchFile, chain);
  if ("problem" in base) return base;
  return { value: deepMerge(base.value, own) };
}

function parseExtends(ext: string, currentRepo: string): { repo: string; path: string } | null {
  const m = /^(?:([\w.-]+)\/)?([\w.-]+)(?::(.+))?$/.exec(ext);
  if (!m) return null;
  const owner = m[1] ?? currentRepo.split("/")[0];
  return { repo: `${owner}/${m[2]}`, path: m[3] ?? CONFIG_PATH };
}

function parseYaml(
  text: string,
  label: string,
): { value: Record<string, unknown> } | { problem: ConfigProblem } {
  // Size, nesting depth and anchors first: the yaml package recurses per level of nesting, and a
  // file thousands of levels deep aborts the process (see limits.ts).
  const limit = policyTextProblem(text);
  if (limit) return problem(label, "", limit.message);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    // prettyErrors already appends " at line L, column C:" to the message: say the position once.
    const what = e.message.split("\n")[0]!.replace(/\s*at line \d+, column \d+:?\s*$/, "");
    return problem(label, "", `not valid YAML${where}: ${what}`);
  }
  let value: unknown;
  try {
    // Throws for an alias to a missing anchor and for alias bombs (resource exhaustion).
    value = doc.toJS();
  } catch (err) {
    return problem(label, "", `not valid YAML: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return { value: {} };
  if (typeof value !== "object" || Array.isArray(value)) {
    return problem(label, "", "the file must be a YAML mapping (key: value pairs) at the top level");
  }
  return { value: value as Record<string, unknown> };
}

function problem(file: string, path: string, message: string): { problem: ConfigProblem } {
  return { problem: { file, issues: [{ path, message }] } };
}

/** Objects merge key by key; arrays and scalars of the extending file replace the base's. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({
          path: path ? `${path}.${key}` : key,
          message: "unknown key (check the spelling against the config reference)",
        });
      }
      continue;
    }
    out.push({ path, message: issue.message });
  }
  return out;
}
