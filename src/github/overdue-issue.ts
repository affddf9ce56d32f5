/**
 * An overdue retroactive review, listed in `audit.issue_repo` the way bypasses are
 * (src/github/bypass-issue.ts): a comment on the open `changegate-bypass` issue of the source
 * repository, or a new one. Throws on API errors (the caller logs: the overdue mark is on record).
 */
import { BYPASS_LABEL, bypassIssue, bypassMarker } from "../report/bypass.js";
import { overdueEntry, type OverdueFacts } from "../report/overdue.js";
import type { OctokitLike } from "./types.js";

export async function reportOverdue(
  writer: OctokitLike,
  issueRepo: string,
  facts: OverdueFacts,
): Promise<{ issueNumber: number; created: boolean }> {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(issueRepo);
  if (!m) throw new Error(`audit.issue_repo must be owner/name, got ${JSON.stringify(issueRepo)}`);
  const [, owner, repo] = m;
  const source = facts.repo;
  const marker = bypassMarker(source);
  const entry = overdueEntry(facts);
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
    throw new Error("GitHub created the audit issue but returned no issue number");
  return { issueNumber: number, created: true };
}
