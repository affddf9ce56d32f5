/**
 * The export's after-merge columns (appended after the original ones): who declared an emergency
 * and when, the retroactive review (by whom and when, or overdue), and the tickets moved on merge.
 * Built from the merge's payload, its standing evaluation and the records about it made after the
 * merge (after-merge.ts). Pure.
 */
import type { AuditRow } from "./reader.js";
import type { EvaluationPayload, MergePayload } from "./payload.js";
import type { ExportRow } from "./export-row.js";

type Columns = Pick<
  ExportRow,
  | "emergency_declared_by"
  | "emergency_declared_at"
  | "retro_review"
  | "retro_reviewed_by"
  | "retro_reviewed_at"
  | "ticket_transitions"
  | "retro_review_due_at"
>;

interface RetroPayload {
  reviewedBy: string;
  reviewedAt: string;
  lateMs: number;
}
interface TransitionPayload {
  target: string;
  results: { key: string; result: string; status: string | null; message: string | null }[];
}

export function afterMergeColumns(m: MergePayload, e: EvaluationPayload | null, rows: AuditRow[]): Columns {
  const mine = rows
    .filter((r) => r.head_sha === m.headSha && r.pr_number === m.number)
    .sort((a, b) => a.seq - b.seq);
  const review = mine.find((r) => r.kind === "retro_review");
  const overdue = mine.some((r) => r.kind === "retro_overdue");
  const transitions = mine.filter((r) => r.kind === "ticket_transition");
  const declared = m.emergency ? (e?.emergencyDeclaredBy ?? null) : null;
  let retro: string | null = null;
  let by: string | null = null;
  let at: string | null = null;
  if (review) {
    const p = JSON.parse(review.payload) as RetroPayload;
    retro = p.lateMs > 0 || overdue ? "reviewed late" : "reviewed";
    by = p.reviewedBy;
    at = p.reviewedAt;
  } else if (overdue) retro = "overdue";
  else if (m.retroReview) retro = "due";
  // The last transition attempt says where each ticket ended up.
  const last =
    transitions.length > 0
      ? (JSON.parse(transitions[transitions.length - 1]!.payload) as TransitionPayload)
      : null;
  return {
    emergency_declared_by: declared,
    emergency_declared_at: m.emergency ? (e?.emergencyDeclaredAt ?? null) : null,
    retro_review: retro,
    retro_reviewed_by: by,
    retro_reviewed_at: at,
    ticket_transitions: (last?.results ?? []).map((r) => ({
      key: r.key,
      result: r.result,
      status: r.status,
      message: r.message,
    })),
    // The due time the merge record fixed (the policy's emergency.review_within_hours at the merge).
    retro_review_due_at: m.retroReview?.dueAt ?? null,
  };
}

export function transitionsText(list: Columns["ticket_transitions"]): string {
  return list
    .map((t) =>
      t.result === "moved"
        ? `${t.key}: moved to ${t.status}`
        : t.result === "already"
          ? `${t.key}: already ${t.status}`
          : `${t.key}: failed (${t.message ?? "unknown"})`,
    )
    .join("; ");
}
