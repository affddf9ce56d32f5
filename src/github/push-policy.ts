/**
 * push-policy: the policy at one point of a branch's history, for judging a push (policy/push-gate.ts):
 * now (the default branch's HEAD, as the pipeline reads it), before the push (the repository's file
 * at the push's `before`, read in the push's own request: github/push-facts.ts), or at the scan
 * window's start (the default branch's commit then; one more request). The owner's `.github` file
 * is read at its HEAD (a push to this repository does not change it). `_extends` to a file of the
 * same repository is followed at the same commit; other repositories' files at their HEAD. An
 * invalid policy, or a commit GitHub does not know, gives a point with no config: every branch gated.
 */
import { z } from "zod";
import { fileLabel, loadPolicy, type ConfigFile } from "../config/load.js";
import type { PolicyPoint } from "../policy/push-gate.js";
import { GatherError, readFile } from "./gather.js";
import type { GraphqlReader } from "./reader.js";
import { SHA } from "./push-facts.js";

const FILE_AT_QUERY = `
query ChangegateFileAt($owner: String!, $name: String!, $rev: String!, $expr: String!) {
  repository(owner: $owner, name: $name) {
    commit: object(expression: $rev) { ... on Commit { oid } }
    file: object(expression: $expr) { ... on Blob { text isTruncated } }
  }
}`;

const blob = z
  .object({ text: z.string().nullable().optional(), isTruncated: z.boolean().optional() })
  .nullable()
  .optional();

/** `path` of `fullName` at commit `rev`: its text, null when absent; `known` false when GitHub does not know the commit. */
export async function readFileAt(
  reader: GraphqlReader,
  fullName: string,
  rev: string,
  path: string,
): Promise<{ known: boolean; text: string | null }> {
  if (!SHA.test(rev)) throw new GatherError(`${JSON.stringify(rev.slice(0, 60))} is not a 40-hex commit sha`);
  const [owner, name] = fullName.split("/");
  const answer = await reader.query(FILE_AT_QUERY, { owner, name, rev, expr: `${rev}:${path}` });
  const unexpected = answer.errors.filter((e) => e.type !== "NOT_FOUND");
  if (unexpected.length > 0)
    throw new GatherError(
      `reading ${fullName}@${rev.slice(0, 12)}:${path} failed: ${unexpected
        .map((e) => e.message)
        .join("; ")
        .slice(0, 500)}`,
    );
  const parsed = z
    .object({
      repository: z
        .object({ commit: z.object({ oid: z.string().optional() }).nullable().optional(), file: blob })
        .nullable(),
    })
    .safeParse(answer.data);
  if (!parsed.success)
    throw new GatherError(
      `GitHub's answer for ${fullName}@${rev.slice(0, 12)}:${path} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
    );
  const r = parsed.data.repository;
  if (!r || r.commit?.oid !== rev) return { known: false, text: null };
  const b = r.file;
  if (!b || typeof b.text !== "string") return { known: true, text: null };
  if (b.isTruncated)
    throw new GatherError(
      `${fullName}@${rev.slice(0, 12)}:${path} is too large for GitHub to return in full`,
    );
  return { known: true, text: b.text };
}

export interface PolicyFiles {
  repoFile: ConfigFile | null;
  orgFile: ConfigFile | null;
  defaultBranch: string;
}

/** The loaded policy as a point (config null when invalid), with its source; `at`: the commit its repository file was read at (null: HEAD). */
export async function policyPoint(
  reader: GraphqlReader,
  repoName: string,
  files: PolicyFiles,
  at: { sha: string; when: string } | null,
): Promise<PolicyPoint> {
  const fetch = async (r: string, path: string): Promise<string | null> => {
    if (at && r.toLowerCase() === repoName.toLowerCase()) {
      const f = await readFileAt(reader, r, at.sha, path);
      return f.text;
    }
    return readFile(reader, r, path);
  };
  const loaded = await loadPolicy(files, fetch);
  const where = at ? ` at ${at.sha.slice(0, 12)} (${at.when})` : "";
  if (!loaded.ok)
    return { config: null, source: `invalid policy (${loaded.problem.file})${where}: every branch gated` };
  const file = files.repoFile ?? files.orgFile;
  const label = file ? fileLabel(file) : "defaults";
  // The repository's own file was read at that commit; the org file or the defaults were in effect there.
  const source = !at
    ? label
    : files.repoFile
      ? `${label}${where}`
      : `${label} (in effect at ${at.sha.slice(0, 12)}, ${at.when})`;
  return { config: loaded.policy.config, source };
}

/** A point whose commit GitHub does not know: no config (every branch gated). */
export function unknownPoint(sha: string, when: string): PolicyPoint {
  return {
    config: null,
    source: `the policy ${when} is unknown (commit ${sha.slice(0, 12)} unknown to GitHub): every branch gated`,
  };
}
