/**
 * The bypass issue's text: one open issue per source repository in `audit.issue_repo`, marked so
 * it can be found again, and one entry per bypass (user text escaped, nobody @-mentioned).
 * Creating or commenting on it is a GitHub write: src/github/bypass-issue.ts.
 */
import type { MergeRecord } from "../audit/recorder.js";
import { code, link, md } from "./escape.js";

export const BYPASS_LABEL = "changegate-bypass";

export function bypassMarker(sourceRepo: string): string {
  return `<!-- changegate:bypasses ${sourceRepo.toLowerCase()} -->`;
}

/** What the issue says about one bypass. */
export function bypassEntry(merge: MergeRecord, recordId: string | null = null): string {
  const pr = `${merge.ref.owner}/${merge.ref.repo}#${merge.ref.number}`;
  const verdict =
    merge.outcome === "none" ? "none (changegate never judged this head into this base)" : merge.outcome;
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

/** The title and body of a new bypass issue for `source` (owner/name), opening with its first entry. */
export function bypassIssue(source: string, entry: string): { title: string; body: string } {
  const body = [
    bypassMarker(source),
    `Pull requests of \`${md(source, 200)}\` merged while changegate's verdict on the merged head was not compliant (a **bypass** of the change-management gate).`,
    "Each is on the audit record; review it, and record why it was accepted or what follows up. Each further bypass is added as a comment; close this issue once reviewed, and the next bypass opens a new one.",
    "",
    entry,
  ].join("\n");
  return { title: `changegate: non-compliant merges in ${source}`, body };
}
