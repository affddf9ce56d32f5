/**
 * as-of-merge: the evidence of a merged PR as it stood when it merged. Pure. Reviews count only if
 * submitted at or before mergedAt (the approvals rule then judges them against the merged head, so a
 * stale approval stays stale), and label events only if applied by then (an emergency label added
 * after the merge declares nothing). CI is read on the merged head at scan time and judged as of the
 * merge: a check run or status created or completed after mergedAt (or with no time to tell) was not
 * in its present state when the PR merged, so it is "pending" (never green; `afterMerge` says why).
 * GitHub keeps only the newest result per check: one re-run after the merge hides the result that
 * stood at the merge, so it cannot count either way. Tickets are looked up now (Jira's state at the
 * merge cannot be read cheaply): the record marks them as read at scan time.
 * No mergedAt (not merged, or GitHub forgot): nothing submitted counts (fail closed).
 */
import type { CiCheck, Evidence, LabelHistory, ReviewInfo } from "./types.js";

/** GitHub's times are to the second: a result at the merge's own second stood at the merge. */
export function checksAsOfMerge(checks: CiCheck[], mergedAtIso: string | null): CiCheck[] {
  const mergedAt = mergedAtIso === null ? Number.NaN : Date.parse(mergedAtIso);
  const time = (t: string | null | undefined) => (typeof t === "string" ? Date.parse(t) : Number.NaN);
  return checks.map((c) => {
    const created = time(c.createdAt);
    const completed = time(c.completedAt);
    let after: CiCheck["afterMerge"];
    if (Number.isNaN(mergedAt) || Number.isNaN(created)) after = "time_unknown";
    else if (created > mergedAt) after = "created_after_merge";
    else if (c.state !== "pending" && (Number.isNaN(completed) || completed > mergedAt))
      after = "completed_after_merge";
    return after ? { ...c, state: "pending", afterMerge: after } : c;
  });
}

export function evidenceAsOfMerge<E extends Pick<Evidence, "pr" | "reviews" | "labelHistory" | "checks">>(
  evidence: E,
): E {
  const mergedAt = evidence.pr.mergedAt === null ? Number.NaN : Date.parse(evidence.pr.mergedAt);
  const byMerge = (at: string | null): boolean =>
    at !== null && !Number.isNaN(mergedAt) && Date.parse(at) <= mergedAt;
  const reviews: ReviewInfo[] = evidence.reviews.filter((r) => byMerge(r.submittedAt));
  const labelHistory: LabelHistory | undefined = evidence.labelHistory
    ? { ...evidence.labelHistory, events: evidence.labelHistory.events.filter((e) => byMerge(e.at)) }
    : undefined;
  const labelsThen = labelHistory ? new Set(labelHistory.events.map((e) => e.label)) : null;
  return {
    ...evidence,
    // A label that carries no event from before the merge was applied after it (complete timeline only).
    pr:
      labelsThen && !labelHistory!.truncated
        ? { ...evidence.pr, labels: evidence.pr.labels.filter((l) => labelsThen.has(l)) }
        : evidence.pr,
    reviews,
    checks: checksAsOfMerge(evidence.checks, evidence.pr.mergedAt),
    ...(labelHistory ? { labelHistory } : {}),
  };
}
