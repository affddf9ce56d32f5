/**
 * The figures of `changegate audit report`, built from the rows `audit export` produces for the
 * same window (src/audit/population.ts gives both commands the same rows, so the report and the
 * export cannot disagree). Pure: rows and facts in, numbers and the row sets behind each number
 * out. Every figure carries the indexes of its rows, which the HTML links to.
 *
 * One population: the total counts every row (merged PRs and direct pushes), and every row is in
 * exactly one category, first that applies: direct push (change_type direct_push), other (a branch
 * the policy does not gate: `gated` false), emergency (merged under the emergency label), bypass
 * (merged into a gated branch without its own green verdict), compliant (merged with its own green
 * verdict), other (no verdict stood). The shares are rounded so that they sum to exactly 100 %.
 * An emergency's retro-review status and due time are the export's columns (the due time the merge
 * record fixed from the policy's emergency.review_within_hours), never recomputed here.
 */
import type { BranchTimeline, PeriodState } from "../audit/enforcement-timeline.js";
import type { ExportRow } from "../audit/export.js";

export type Category = "compliant" | "emergency" | "bypass" | "direct push" | "other";
export const CATEGORIES: readonly Category[] = ["compliant", "emergency", "bypass", "direct push", "other"];

/** A figure and the rows behind it (indexes into ReportModel.rows). */
export interface Figure {
  id: string;
  label: string;
  value: number;
  rows: number[];
}

/** A category's figure with its share of the total, in tenths of a percent (the shares sum to 1000). */
export interface ShareFigure extends Figure {
  shareTenths: number;
}

export interface CompletenessRepo {
  repo: string;
  githubMerges: number;
  records: number;
  missing: { number: number; mergedAt: string; url: string }[];
  extra: { number: number; mergedAt: string }[];
}

export interface CompletenessInput {
  from: string;
  to: string;
  generatedAt: string;
  complete: boolean;
  repositories: CompletenessRepo[];
}

export type CheckpointStatus =
  | { kind: "not checked" }
  | { kind: "ok"; checkpoints: number; newestSequence: number; newestAt: string; keyId: string }
  | { kind: "failed"; problems: string[] };

export interface ReportInput {
  from: string;
  to: string;
  /** The repository the report (and its export) is limited to; null: every repository. */
  repo?: string | null;
  generatedAt: string;
  /** Exactly the rows `audit export` gives for the window (src/audit/population.ts). */
  rows: ExportRow[];
  completeness: CompletenessInput | null;
  checkpoints: CheckpointStatus;
  /** A sample drawn for the same period (`audit report --sample DIR`); null or absent: none given. */
  sample?: SampleLink | null;
  /** Each gated branch's enforcement timeline over the period (audit/enforcement-timeline.ts); null/absent: not given. */
  enforcement?: BranchTimeline[] | null;
}

/** One stretch of a branch's timeline, with its length. */
export interface EnforcementPeriod {
  from: string;
  to: string;
  state: PeriodState;
  missing: string[];
  ms: number;
}

/** A gated branch's enforcement over the report's period: its periods and how long each state lasted. */
export interface EnforcementBranch {
  repo: string;
  branch: string;
  inForce: boolean;
  firstObservation: string | null;
  lastObservation: string | null;
  periods: EnforcementPeriod[];
  /** Milliseconds per state, and their shares of the branch's timeline in tenths of a percent (summing to 1000). */
  ms: Record<PeriodState, number>;
  shareTenths: Record<PeriodState, number>;
}

export interface EnforcementSection {
  /** Every gated branch in force for the whole period (false when no branch was observed). */
  inForce: boolean;
  branches: EnforcementBranch[];
}

export const PERIOD_STATES: readonly PeriodState[] = ["enforced", "not_enforced", "not_observed"];

/** The report's enforcement section from the branches' timelines (pure). */
export function enforcementSection(timelines: BranchTimeline[]): EnforcementSection {
  const branches = timelines.map((t): EnforcementBranch => {
    const periods = t.periods.map((p) => ({ ...p, ms: Math.max(0, Date.parse(p.to) - Date.parse(p.from)) }));
    const ms: Record<PeriodState, number> = { enforced: 0, not_enforced: 0, not_observed: 0 };
    for (const p of periods) ms[p.state] += p.ms;
    const total = PERIOD_STATES.reduce((n, s) => n + ms[s], 0);
    const tenths = sharesInTenths(
      PERIOD_STATES.map((s) => ms[s]),
      total,
    );
    return {
      repo: t.repo,
      branch: t.branch,
      inForce: t.inForce,
      firstObservation: t.firstObservation,
      lastObservation: t.lastObservation,
      periods,
      ms,
      shareTenths: { enforced: tenths[0]!, not_enforced: tenths[1]!, not_observed: tenths[2]! },
    };
  });
  return { inForce: branches.length > 0 && branches.every((b) => b.inForce), branches };
}

/** The sample `changegate audit sample` drew for the report's period, as the report links to it. */
export interface SampleLink {
  /** manifest.json relative to the report's directory (a URL path). */
  href: string;
  seed: string;
  entries: number;
  population: number;
  stratify: boolean;
}

export interface EmergencyLine {
  row: number;
  repo: string;
  pr: number;
  mergedAt: string;
  /** The recorded due time (export column retro_review_due_at); null when the record has none. */
  dueBy: string | null;
  review: { at: string; reviewer: string | null; leadHours: number } | null;
  /** The export's retro_review column, as words: "reviewed in time", "reviewed late", "overdue: …", "open: …", "no due time on record". */
  status: string;
  /** The export's retro_review column itself (reviewed, reviewed late, overdue, due, or null). */
  retroReview: string | null;
}

export interface ReportModel {
  from: string;
  to: string;
  repo: string | null;
  generatedAt: string;
  rows: ExportRow[];
  total: Figure;
  weeks: Figure[];
  categories: ShareFigure[];
  /** The direct-push rows (indexes into rows). */
  directPushes: number[];
  emergencies: EmergencyLine[];
  approvals: Figure[];
  approvalsMean: number;
  completeness: CompletenessInput | null;
  checkpoints: CheckpointStatus;
  sample: SampleLink | null;
  /** null: not given (the command always gives it; a model built without it says "not checked"). */
  enforcement: EnforcementSection | null;
}

const DAY_MS = 86_400_000;

export function categoryOf(row: ExportRow): Category {
  if (row.change_type === "direct_push") return "direct push";
  if (!row.gated) return "other";
  if (row.emergency) return "emergency";
  if (row.bypass) return "bypass";
  if (row.check_at_merge === "success") return "compliant";
  return "other";
}

/** Monday 00:00 UTC of the week holding `iso`. */
export function weekStart(iso: string): string {
  const d = new Date(iso);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day))
    .toISOString()
    .slice(0, 10);
}

/**
 * Shares of `total` in tenths of a percent that sum to exactly 1000 (largest remainder: each share
 * rounded down, the tenths left over go to the largest remainders, ties to the earlier category).
 * All zero when total is 0.
 */
export function sharesInTenths(values: number[], total: number): number[] {
  if (total <= 0) return values.map(() => 0);
  const exact = values.map((v) => (v * 1000) / total);
  const shares = exact.map(Math.floor);
  let left = 1000 - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (values[i]! === 0) continue;
    shares[i]!++;
    left--;
  }
  return shares;
}

function retroStatus(r: ExportRow, generatedAt: string): string {
  switch (r.retro_review) {
    case "reviewed":
      return "reviewed in time";
    case "reviewed late":
      return "reviewed late";
    case "overdue":
      return "overdue: no retro-review recorded";
    case "due":
      // The store has no overdue record yet (the app writes it when the time passes); past the
      // recorded due time it is overdue all the same.
      return r.retro_review_due_at !== null && Date.parse(generatedAt) > Date.parse(r.retro_review_due_at)
        ? "overdue: no retro-review recorded"
        : "open: no retro-review recorded yet";
    default:
      return "no due time on record";
  }
}

export function buildReportModel(input: ReportInput): ReportModel {
  const rows = input.rows;
  const all = rows.map((_, i) => i);

  // Every week of the window, empty ones too (a gap is a fact).
  const weeks: Figure[] = [];
  for (let t = Date.parse(`${weekStart(input.from)}T00:00:00Z`); t < Date.parse(input.to); t += 7 * DAY_MS) {
    const w = new Date(t).toISOString().slice(0, 10);
    weeks.push({ id: `week-${w}`, label: `week of ${w}`, value: 0, rows: [] });
  }
  const byWeek = new Map(weeks.map((w) => [w.id, w]));
  rows.forEach((r, i) => {
    const w = byWeek.get(`week-${weekStart(r.merged_at)}`);
    if (w) {
      w.value++;
      w.rows.push(i);
    }
  });

  const categories: ShareFigure[] = CATEGORIES.map((c) => ({
    id: `category-${c.replace(/ /g, "-")}`,
    label: c,
    value: 0,
    rows: [],
    shareTenths: 0,
  }));
  rows.forEach((r, i) => {
    const f = categories.find((c) => c.label === categoryOf(r))!;
    f.value++;
    f.rows.push(i);
  });
  const shares = sharesInTenths(
    categories.map((c) => c.value),
    rows.length,
  );
  categories.forEach((c, i) => (c.shareTenths = shares[i]!));

  const approvals: Figure[] = ["0", "1", "2", "3 or more"].map((label) => ({
    id: `approvals-${label.replace(/ /g, "-")}`,
    label,
    value: 0,
    rows: [],
  }));
  rows.forEach((r, i) => {
    const f = approvals[Math.min(r.approvers.length, 3)]!;
    f.value++;
    f.rows.push(i);
  });
  const approvalsMean =
    rows.length === 0 ? 0 : rows.reduce((n, r) => n + r.approvers.length, 0) / rows.length;

  const emergencies: EmergencyLine[] = [];
  rows.forEach((r, i) => {
    if (!r.emergency || r.change_type !== "merge") return;
    const merged = Date.parse(r.merged_at);
    const review =
      r.retro_reviewed_at !== null
        ? {
            at: r.retro_reviewed_at,
            reviewer: r.retro_reviewed_by,
            leadHours: Math.round(((Date.parse(r.retro_reviewed_at) - merged) / 3_600_000) * 10) / 10,
          }
        : null;
    emergencies.push({
      row: i,
      repo: r.repo,
      pr: r.pr,
      mergedAt: r.merged_at,
      dueBy: r.retro_review_due_at,
      review,
      status: retroStatus(r, input.generatedAt),
      retroReview: r.retro_review,
    });
  });

  return {
    from: input.from,
    to: input.to,
    repo: input.repo ?? null,
    generatedAt: input.generatedAt,
    rows,
    total: {
      id: "total",
      label: "changes (merged pull requests and direct pushes)",
      value: rows.length,
      rows: all,
    },
    weeks,
    categories,
    directPushes: all.filter((i) => rows[i]!.change_type === "direct_push"),
    emergencies,
    approvals,
    approvalsMean,
    completeness: input.completeness,
    checkpoints: input.checkpoints,
    sample: input.sample ?? null,
    enforcement: input.enforcement ? enforcementSection(input.enforcement) : null,
  };
}
