/**
 * as-of-merge: the evidence of a merged PR as it stood when it merged. Pure. Reviews count only if
 * submitted at or before mergedAt (the approvals rule then judges them against the merged head, so a
 * stale approval stays stale), and label events only if applied by then (an emergency label added
 * after the merge declares nothing). CI is read on the merged head; tickets are looked up now.
 * No mergedAt (not merged, or GitHub forgot): nothing submitted counts (fail closed).
 */
import type { Evidence, LabelHistory, ReviewInfo } from "./types.js";

export function evidenceAsOfMerge<E extends Pick<Evidence, "pr" | "reviews" | "labelHistory">>(evidence: E): E {
  const mergedAt = evidence.pr.mergedAt === null ? Number.NaN : Date.parse(evidence.pr.mergedAt);
  const byMerge = (at: string | null): boolean => at !== null && !Number.isNaN(mergedAt) && Date.parse(at) <= mergedAt;
  const reviews: ReviewInfo[] = evidence.reviews.filter((r) => byMerge(r.submittedAt));
  const labelHistory: LabelHistory | undefined = evidence.labelHistory
    ? { ...evidence.labelHistory, events: evidence.labelHistory.events.filter((e) => byMerge(e.at)) }
    : undefined;
  const labelsThen = labelHistory ? new Set(labelHistory.events.map((e) => e.label)) : null;
  return {
    ...evidence,
    // A label that carries no event from before the merge was applied after it (complete timeline only).
    pr: labelsThen && !labelHistory!.truncated ? { ...evidence.pr, labels: evidence.pr.labels.filter((l) => labelsThen.has(l)) } : evidence.pr,
    reviews,
    ...(labelHistory ? { labelHistory } : {}),
  };
}
