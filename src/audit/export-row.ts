/**
 * One row of `changegate audit export`: one merged change (or direct push) with what an auditor
 * samples from. Its own module so the row builders (export.ts, export-after-merge.ts,
 * export-direct-push.ts) share the type without importing each other in a circle.
 */
export interface ExportRow {
  repo: string;
  pr: number;
  title: string;
  author: string | null;
  /** Reviewers whose latest review of the PR approved it (on the standing evaluation). */
  approvers: string[];
  /** When each of them approved, in the same order. */
  approved_at: (string | null)[];
  /** The approvals rule's result in the standing evaluation (pass, fail, pending, skipped). */
  approvals_result: string | null;
  /** The CI rule's result (pass, fail, pending, skipped). */
  ci_result: string | null;
  ci_checks: { name: string; conclusion: string }[];
  tickets: { key: string; state: string }[];
  tickets_result: string | null;
  merged_by: string | null;
  merged_at: string;
  emergency: boolean;
  /** Merged into a gated branch while the PR's own verdict on the merged head was not success. */
  bypass: boolean;
  /** The PR's own verdict on the merged head and base at merge time: success, failure, pending or none. */
  check_at_merge: string;
  base: string | null;
  head_sha: string;
  merge_commit_sha: string | null;
  url: string;
  /** When the standing evaluation was recorded; null when there was none. */
  evaluated_at: string | null;
  policy: string | null;
  policy_hash: string | null;
  /** The merge record ("owner/name@seq") and its hash: `changegate audit show` and `verify` find it. */
  record: string;
  record_hash: string;
  evaluation_record: string | null;
  /** How the merge reached the record: "webhook" (told by GitHub) or "scan" (found by `audit scan`). */
  found_by: "webhook" | "scan";
  /** The scan's verdict as of the merge (success/failure/pending) when no verdict stood; null otherwise. */
  as_of_merge: string | null;
  /** Who applied the emergency label and when (the standing evaluation's declaration); null otherwise. */
  emergency_declared_by: string | null;
  emergency_declared_at: string | null;
  /** Emergency merges: reviewed, reviewed late, overdue, or due (not yet reviewed, not yet late); null otherwise. */
  retro_review: string | null;
  retro_reviewed_by: string | null;
  retro_reviewed_at: string | null;
  /** tickets.transition_on_merge: each ticket and what happened to it. */
  ticket_transitions: { key: string; result: string; status: string | null; message: string | null }[];
  /** What kind of change reached the branch: a merged PR, or a direct (or force) push (export-direct-push.ts). */
  change_type: "merge" | "direct_push";
  /**
   * Did the policy gate the branch the change reached? false: an ungated branch (its check was the
   * green "Not gated", so it is neither compliant nor a bypass). A record that does not say counts as
   * gated (fail closed). Direct pushes are recorded only for gated branches.
   */
  gated: boolean;
  /** Emergency merges into gated branches: when the retroactive review was due, as recorded at the merge; null otherwise. */
  retro_review_due_at: string | null;
  /**
   * A merge found by the scan with no verdict standing: when the scan read the approvals, CI, tickets
   * and declarer in this row (then `evaluated_at` and `evaluation_record` stay null); null otherwise.
   */
  evidence_read_at: string | null;
  /** What in this row was read at scan time, each with how it was judged as of the merge; [] when none. */
  read_at_scan_time: string[];
}
