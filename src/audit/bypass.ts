/**
 * Bypasses: a merge into a gated branch while the merged PR's own verdict on the merged head was
 * anything but success (failure, pending, or never judged). Not the check run: a commit shares it
 * with every PR whose head it is. One definition, used by the pipeline's log line, the audit record
 * and the issue below.
 *
 * When the policy names `audit.issue_repo`, each bypass is listed in one open issue per source
 * repository there: found by one GET (label + marker), then a comment on it, or a new issue.
 */
import type { MergeRecord } from "./recorder.js";
import { code, link, md } from "../report/escape.js";

export function isBypass(merge: Pick<MergeRecord, "outcome" | "gated">): boolean {
  return (merge.gated ?? true) && merge.outcome !== "success";
}

/** The slice of Octokit this needs (a ProbotOctokit satisfies it). */
export interface IssueWriter {
  request(route: string, params: Record<string, unknown>): Promise<{ data: unknown }>;
}

export const BYPASS_LABEL = "changegate-bypass";

export function bypassMarker(sourceRepo: string): string {
  return `<!-- changegate:bypasses ${sourceRepo.toLowerCase()} -->`;
}

export interface BypassReport {
  issueNumber: number;
  created: boolean;
}

/** What the issue says about one bypass (user text escaped, nobody @-mentioned). */
export function bypassEntry(merge: MergeRecord, recordId: string | null = null): string {
  const pr = `${merge.ref.owner}/${merge.ref.repo}#${merge.ref.number}`;
  const verdict = merge.outcome === "none" ? "none (changegate never judged this head into this base)" : merge.outcome;
  const lines = [
    `### ${link(md(pr), merge.url)}: ${md(merge.title, 200)}`,
    "",
    `- merged by: ${merge.mergedBy ? code(merge.mergedBy, 100) : "unknown"} at ${md(merge.mergedAt ?? merge.at, 40)}`,
    `- author: ${merge.author ? code(merge.author, 100) : "unknown"}`,
    `- changegate's verdict on \`${merge.headSha.slice(0, 12)}\`: **${verdict}**`,
    `- merge commit: ${merge.mergeCommitSha ? `\`${merge.mergeCommitSha.slice(0, 12)}\`` : "unknown"}`,
    `- emergency label: ${merge.emergency ? "yes" : "no"}`,
  ];
  if (recordId) lines.push(`- audit record: \`${recordId}\` (\`changegate audit show ${pr}\`)`);
  return lines.join("\n");
}

/**
 * List the bypass in `issueRepo` (owner/name): comment on the open bypass issue for the merged PR's
 * repository, or open one. Throws on API errors (the caller logs and carries on: the bypass is
 * already recorded and logged).
 */
export async function reportBypass(writer: IssueWriter, issueRepo: string, merge: MergeRecord, recordId: string | null = null): Promise<BypassReport> {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(issueRepo);
  if (!m) throw new Error(`audit.issue_repo must be owner/name, got ${JSON.stringify(issueRepo)}`);
  const [, owner, repo] = m;
  const source = `${merge.ref.owner}/${merge.ref.repo}`;
  const marker = bypassMarker(source);
  const entry = bypassEntry(merge, recordId);

  const res = await writer.request("GET /repos/{owner}/{repo}/issues", {
    owner,
    repo,
    state: "open",
    labels: BYPASS_LABEL,
    per_page: 100,
  });
  const issues = Array.isArray(res.data) ? (res.data as { number?: unknown; body?: unknown; pull_request?: unknown }[]) : [];
  const existing = issues.find((i) => !i.pull_request && typeof i.number === "number" && typeof i.body === "string" && i.body.includes(marker));
  if (existing) {
    await writer.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner,
      repo,
      issue_number: existing.number,
      body: entry,
    });
    return { issueNumber: existing.number as number, created: false };
  }
  const body = [
    marker,
    `Pull requests of \`${md(source, 200)}\` merged while changegate's verdict on the merged head was not compliant (a **bypass** of the change-management gate).`,
    "Each is on the audit record; review it, and record why it was accepted or what follows up. Each further bypass is added as a comment; close this issue once reviewed, and the next bypass opens a new one.",
    "",
    entry,
  ].join("\n");
  const created = await writer.request("POST /repos/{owner}/{repo}/issues", {
    owner,
    repo,
    title: `changegate: non-compliant merges in ${source}`,
    body,
    labels: [BYPASS_LABEL],
  });
  const number = (created.data as { number?: unknown }).number;
  if (typeof number !== "number") throw new Error("GitHub created the bypass issue but returned no issue number");
  return { issueNumber: number, created: true };
}
