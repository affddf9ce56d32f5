/**
 * When the policy names `audit.issue_repo`, each bypass is listed in one open issue per source
 * repository there: found by one GET (label + marker), then a comment on it, or a new issue.
 * The text is rendered by src/report/bypass.ts; the decision (isBypass) is src/policy/merge.ts.
 */
import type { MergeRecord } from "../audit/recorder.js";
import { BYPASS_LABEL, bypassEntry, bypassIssue, bypassMarker } from "../report/bypass.js";
import type { OctokitLike } from "./types.js";

/** The slice of Octokit this needs (a ProbotOctokit satisfies it). */
export type IssueWriter = OctokitLike;

export interface BypassReport {
  issueNumber: number;
  created: boolean;
}

/**
 * List the bypass in `issueRepo` (owner/name): comment on the open bypass issue for the merged PR's
 * repository, or open one. Throws on API errors (the caller logs and carries on: the bypass is
 * already recorded and logged).
 */
export async function reportBypass(
  writer: IssueWriter,
  issueRepo: string,
  merge: MergeRecord,
  recordId: string | null = null,
): Promise<BypassReport> {
  if (!/^([\w.-]+)\/([\w.-]+)$/.test(issueRepo))
    throw new Error(`audit.issue_repo must be owner/name, got ${JSON.stringify(issueRepo)}`);
  return listInBypassIssue(
    writer,
    issueRepo,
    `${merge.ref.owner}/${merge.ref.repo}`,
    bypassEntry(merge, recordId),
  );
}

/** Add `entry` to the open bypass issue of `source` (owner/name) in `issueRepo`, or open one (also direct pushes). */
export async function listInBypassIssue(
  writer: IssueWriter,
  issueRepo: string,
  source: string,
  entry: string,
): Promise<BypassReport> {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(issueRepo);
  if (!m) throw new Error(`audit.issue_repo must be owner/name, got ${JSON.stringify(issueRepo)}`);
  const [, owner, repo] = m;
  const marker = bypassMarker(source);

  const res = await writer.request("GET /repos/{owner}/{repo}/issues", {
    owner,
    repo,
    state: "open",
    labels: BYPASS_LABEL,
    per_page: 100,
  });
  const issues = Array.isArray(res.data)
    ? (res.data as { number?: unknown; body?: unknown; pull_request?: unknown }[])
    : [];
  const existing = issues.find(
    (i) =>
      !i.pull_request &&
      typeof i.number === "number" &&
      typeof i.body === "string" &&
      i.body.includes(marker),
  );
  if (existing) {
    await writer.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner,
      repo,
      issue_number: existing.number,
      body: entry,
    });
    return { issueNumber: existing.number as number, created: false };
  }
  const { title, body } = bypassIssue(source, entry);
  const created = await writer.request("POST /repos/{owner}/{repo}/issues", {
    owner,
    repo,
    title,
    body,
    labels: [BYPASS_LABEL],
  });
  const number = (created.data as { number?: unknown }).number;
  if (typeof number !== "number")
    throw new Error("GitHub created the bypass issue but returned no issue number");
  return { issueNumber: number, created: true };
}
