/**
 * The figures of `changegate audit report`, built from the rows `audit export` produces for the
 * same window (so the report and the export cannot disagree). Pure: rows and facts in, numbers and
 * the row sets behind each number out. Every figure carries the indexes of its rows, which the
 * HTML links to.
 *
 * Categories (one per change, first that applies): emergency (merged under the emergency label),
 * bypass (merged into a gated branch without its own green verdict), compliant (merged with its
 * own green verdict), other (merged into a branch the policy does not gate, or no verdict stood).
 * Direct pushes and retro-reviews are recorded by kinds of record that do not exist yet in every
 * store: without them the report says "none recorded", never a made-up zero that looks checked.
 */
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

/** A direct push or retro-review as their records will say (other workers add the record kinds). */
export interface DirectPush {
  repo: string;
  at: string;
  pusher: string | null;
  sha: string;
}
export interface RetroReview {
  repo: string;
  pr: number;
  at: string;
  reviewer: string | null;
}

export interface ReportInput {
  from: string;
  to: string;
  generatedAt: string;
  rows: ExportRow[];
  /** Retro-reviews must come within this many days of an emergency merge. */
  retroWindowDays: number;
  completeness: CompletenessInput | null;
  checkpoints: CheckpointStatus;
  /** null: the store holds no such records (kind not recorded yet): "none recorded". */
  directPushes: DirectPush[] | null;
  retroReviews: RetroReview[] | null;
  /** A sample drawn for the same period (`audit report --sample DIR`); null or absent: none given. */
  sample?: SampleLink | null;
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
  dueBy: string;
  review: { at: string; reviewer: string | null; leadHours: number; withinWindow: boolean } | null;
  /** "reviewed in time", "reviewed late", "overdue: none recorded", "open: none recorded yet". */
  status: string;
}

export interface ReportModel {
  from: string;
  to: string;
  generatedAt: string;
  rows: ExportRow[];
  total: Figure;
  weeks: Figure[];
  categories: Figure[];
  directPushesRecorded: boolean;
  /** The direct pushes of the period, as recorded (empty when none or not recorded). */
  directPushList: DirectPush[];
  retroReviewsRecorded: boolean;
  emergencies: EmergencyLine[];
  approvals: Figure[];
  approvalsMean: number;
  completeness: CompletenessInput | null;
  checkpoints: CheckpointStatus;
  sample: SampleLink | null;
}

const DAY_MS = 86_400_000;

export function categoryOf(row: ExportRow): Exclude<Category, "direct push"> {
  if (row.emergency) return "emergency";
  if (row.bypass) return "bypass";
  if (row.check_at_merge === "success") return "compliant";
  return "other";
}

/** Monday 00:00 UTC of the week holding `iso`. */
export function weekStart(iso: string): string {
  const d = new Date(iso);
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day)).toISOString().slice(0, 10);
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

  const categories: Figure[] = CATEGORIES.map((c) => ({ id: `category-${c.replace(/ /g, "-")}`, label: c, value: 0, rows: [] }));
  rows.forEach((r, i) => {
    const f = categories.find((c) => c.label === categoryOf(r))!;
    f.value++;
    f.rows.push(i);
  });
  const direct = categories.find((c) => c.label === "direct push")!;
  direct.value = input.directPushes?.length ?? 0;

  const approvals: Figure[] = ["0", "1", "2", "3 or more"].map((label) => ({ id: `approvals-${label.replace(/ /g, "-")}`, label, value: 0, rows: [] }));
  rows.forEach((r, i) => {
    const f = approvals[Math.min(r.approvers.length, 3)]!;
    f.value++;
    f.rows.push(i);
  });
  const approvalsMean = rows.length === 0 ? 0 : rows.reduce((n, r) => n + r.approvers.length, 0) / rows.length;

  const windowMs = input.retroWindowDays * DAY_MS;
  const emergencies: EmergencyLine[] = [];
  rows.forEach((r, i) => {
    if (!r.emergency) return;
    const merged = Date.parse(r.merged_at);
    const dueBy = new Date(merged + windowMs).toISOString();
    const reviews = (input.retroReviews ?? []).filter((v) => v.repo.toLowerCase() === r.repo.toLowerCase() && v.pr === r.pr).sort((a, b) => a.at.localeCompare(b.at));
    const first = reviews[0];
    const review = first
      ? { at: first.at, reviewer: first.reviewer, leadHours: Math.round(((Date.parse(first.at) - merged) / 3_600_000) * 10) / 10, withinWindow: Date.parse(first.at) - merged <= windowMs }
      : null;
    const status = review
      ? review.withinWindow
        ? "reviewed in time"
        : "reviewed late"
      : Date.parse(input.generatedAt) > merged + windowMs
        ? "overdue: no retro-review recorded"
        : "open: no retro-review recorded yet";
    emergencies.push({ row: i, repo: r.repo, pr: r.pr, mergedAt: r.merged_at, dueBy, review, status });
  });

  return {
    from: input.from,
    to: input.to,
    generatedAt: input.generatedAt,
    rows,
    total: { id: "total", label: "changes merged", value: rows.length, rows: all },
    weeks,
    categories,
    directPushesRecorded: input.directPushes !== null,
    directPushList: input.directPushes ?? [],
    retroReviewsRecorded: input.retroReviews !== null,
    emergencies,
    approvals,
    approvalsMean,
    completeness: input.completeness,
    checkpoints: input.checkpoints,
    sample: input.sample ?? null,
  };
}
