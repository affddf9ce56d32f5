/**
 * The audit issue's entry for a direct push (a change that reached a gated branch without a merged
 * pull request): listed in the same per-repository bypass issue as non-compliant merges. Pure; user
 * text escaped, nobody @-mentioned.
 */
import type { DirectPushRecord } from "../audit/direct-push.js";
import { code, md } from "./escape.js";

export function directPushEntry(rec: DirectPushRecord, recordId: string | null): string {
  const shown = rec.commitsWithoutPr.slice(0, 20).map((s) => `\`${s.slice(0, 12)}\``);
  const more =
    rec.commitsWithoutPr.length > shown.length
      ? ` and ${rec.commitsWithoutPr.length - shown.length} more`
      : "";
  const lines = [
    `### ${rec.forced ? "Force push" : "Direct push"} to ${code(rec.branch, 200)} of ${md(`${rec.owner}/${rec.repo}`, 200)}`,
    "",
    rec.pushedAtIsWhenFound
      ? `- pushed by: unknown, before ${md(rec.pushedAt, 40)} (when the scan found it; GitHub's activity did not list it)`
      : `- pushed by: ${rec.pusher ? code(rec.pusher, 100) : "unknown"} at ${md(rec.pushedAt, 40)}${rec.foundBy === "scan" ? " (found by the scan)" : ""}`,
    `- before → after: \`${rec.before ? rec.before.slice(0, 12) : "unknown"}\` → \`${rec.after.slice(0, 12)}\``,
    `- commits without a merged pull request: ${shown.length ? shown.join(", ") + more : "none (the history was rewritten)"}`,
    `- policy: ${md(rec.policySource, 300)}`,
  ];
  if (recordId) lines.push(`- audit record: ${code(recordId, 300)}`);
  return lines.join("\n");
}
