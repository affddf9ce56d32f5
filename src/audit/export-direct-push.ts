/**
 * The export's row for a direct_push record (audit/direct-push.ts): a change that reached a gated
 * branch without a merged pull request. One row per push, `change_type` direct_push, always a
 * bypass; pr 0, no approvals, CI or tickets (none were asked); `title` says which commits had no
 * PR and, for a force push, before → after; merged_by is the pusher, base the branch. Pure.
 */
import { parsePayload } from "./direct-push.js";
import type { ExportRow } from "./export-row.js";
import type { AuditRow } from "./reader.js";

export function directPushExportRow(row: AuditRow): ExportRow {
  const p = parsePayload(row.payload);
  const commits = p?.commitsWithoutPr ?? [];
  const what = p?.forced
    ? `force push ${p.before ? p.before.slice(0, 12) : "unknown"} → ${row.head_sha.slice(0, 12)}`
    : "direct push";
  const title = `${what} to ${p?.branch ?? "unknown branch"}: ${commits.length ? `commits without a merged PR: ${commits.join(" ")}` : "history rewritten, every commit in a merged PR"}${p?.pushedAtIsWhenFound ? " (merged_at: when the scan found it, not when it was pushed)" : ""}`;
  return {
    repo: row.repo,
    pr: 0,
    title,
    author: p?.author ?? null,
    approvers: [],
    approved_at: [],
    approvals_result: null,
    ci_result: null,
    ci_checks: [],
    tickets: [],
    tickets_result: null,
    merged_by: p?.pusher ?? null,
    merged_at: row.merged_at ?? row.recorded_at,
    emergency: false,
    bypass: true,
    check_at_merge: "none",
    base: p?.branch ?? null,
    head_sha: row.head_sha,
    merge_commit_sha: null,
    url: "",
    evaluated_at: null,
    policy: p?.policySource ?? null,
    policy_hash: null,
    record: `${row.chain}@${row.seq}`,
    record_hash: row.hash,
    evaluation_record: null,
    found_by: p?.foundBy ?? "webhook",
    as_of_merge: null,
    emergency_declared_by: null,
    emergency_declared_at: null,
    retro_review: null,
    retro_reviewed_by: null,
    retro_reviewed_at: null,
    ticket_transitions: [],
    change_type: "direct_push",
    // Recorded only for pushes to gated branches (flows/push.ts ignores the others).
    gated: true,
    retro_review_due_at: null,
    evidence_read_at: null,
    read_at_scan_time: [],
  };
}
