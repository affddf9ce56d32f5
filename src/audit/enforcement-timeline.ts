/**
 * enforcement-timeline: a gated branch's enforcement over a period, from its `branch_enforcement`
 * records (audit/enforcement.ts) and its last observation. Pure (no store, no clock: `now` is given).
 *
 * Each record says the state from its observation on. It held until the last observation before the
 * next record (that record's `previous.observedAt`), or, for the newest record, until the last
 * observation on the books. Between two observations the state is known only when they are at most
 * the gap bound apart (`gapBoundMs`, kept in each record): a longer stretch is a GAP (not observed).
 * A change happened somewhere between the last observation of the old state and the first of the
 * new; that stretch counts as not in force when either side is (an auditor is never told "in force"
 * for a time changegate cannot vouch for). Before the first record: not observed.
 */
import type { EnforcementPayload, LastObservation } from "./enforcement.js";

export type PeriodState = "enforced" | "not_enforced" | "not_observed";

export interface Period {
  from: string;
  to: string;
  state: PeriodState;
  /** What was missing (not_enforced), as the record says. */
  missing: string[];
}

export interface BranchTimeline {
  repo: string;
  branch: string;
  firstObservation: string | null;
  lastObservation: string | null;
  periods: Period[];
  /** The not_observed periods. */
  gaps: { from: string; to: string }[];
  /** In force for the whole period (every period enforced). */
  inForce: boolean;
}

export interface TimelineRecord {
  at: string;
  payload: Pick<EnforcementPayload, "state" | "missing" | "previous" | "gapBoundMs" | "observedAt">;
}

const ms = (s: string) => Date.parse(s);
const iso = (n: number) => new Date(n).toISOString();

export function branchTimeline(
  repo: string,
  branch: string,
  records: TimelineRecord[],
  last: Pick<LastObservation, "observedAt"> | null,
  period: { from: string; to: string },
  now: Date,
): BranchTimeline {
  const from = ms(period.from);
  const to = Math.min(ms(period.to), now.getTime());
  const sorted = [...records].sort((a, b) => ms(a.at) - ms(b.at));
  const raw: { from: number; to: number; state: PeriodState; missing: string[] }[] = [];
  const push = (a: number, b: number, state: PeriodState, missing: string[] = []) => {
    const lo = Math.max(a, from);
    const hi = Math.min(b, to);
    if (hi > lo) raw.push({ from: lo, to: hi, state, missing });
  };
  if (sorted.length === 0) push(from, to, "not_observed");
  else push(from, ms(sorted[0]!.at), "not_observed");
  sorted.forEach((r, i) => {
    const next = sorted[i + 1];
    const bound = r.payload.gapBoundMs > 0 ? r.payload.gapBoundMs : 3 * 3600_000;
    const start = ms(r.at);
    const missing = (r.payload.missing ?? []).map((m) => m.text);
    // The last observation of this state.
    let end = next
      ? Math.max(start, next.payload.previous ? ms(next.payload.previous.observedAt) : start)
      : Math.max(start, last ? ms(last.observedAt) : start);
    if (next) end = Math.min(end, ms(next.at));
    push(start, end, r.payload.state, missing);
    const nextStart = next ? ms(next.at) : Number.POSITIVE_INFINITY;
    if (next) {
      if (nextStart - end > bound) push(end, nextStart, "not_observed");
      else {
        const either = r.payload.state !== "enforced" || next.payload.state !== "enforced";
        const side =
          r.payload.state !== "enforced" ? missing : (next.payload.missing ?? []).map((m) => m.text);
        push(end, nextStart, either ? "not_enforced" : "enforced", either ? side : []);
      }
    } else {
      // After the last observation: it holds while the observation is recent enough, then a gap.
      push(end, end + bound, r.payload.state, missing);
      push(end + bound, Number.POSITIVE_INFINITY, "not_observed");
    }
  });
  const periods: Period[] = [];
  for (const p of raw) {
    const prev = periods[periods.length - 1];
    if (prev && prev.state === p.state && ms(prev.to) === p.from && prev.missing.join() === p.missing.join())
      prev.to = iso(p.to);
    else periods.push({ from: iso(p.from), to: iso(p.to), state: p.state, missing: p.missing });
  }
  return {
    repo,
    branch,
    firstObservation: sorted[0]?.at ?? null,
    lastObservation: last?.observedAt ?? sorted[sorted.length - 1]?.at ?? null,
    periods,
    gaps: periods.filter((p) => p.state === "not_observed").map((p) => ({ from: p.from, to: p.to })),
    inForce: periods.length > 0 && periods.every((p) => p.state === "enforced"),
  };
}
