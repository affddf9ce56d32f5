/**
 * The evidence model of one sampled change (report/sample-evidence-html.ts renders it) from its
 * export row, its merge (or direct push) record and the evaluation that stood for the merged head.
 * Pure: the command reads the records. The branch's enforcement at the change's moment comes from
 * its `branch_enforcement` records through the timeline `audit enforcement` uses (enforcementAt).
 */
import { branchTimeline, type PeriodState } from "./enforcement-timeline.js";
import type { EnforcementPayload, LastObservation } from "./enforcement.js";
import type { ExportRow } from "./export.js";
import type { EvaluationPayload, MergePayload } from "./payload.js";
import type { AuditRow } from "./reader.js";
import type { Positioned } from "./sample.js";
import type { EvidenceModel } from "../report/sample-evidence-html.js";

export function evidenceModel(
  index: number,
  p: Positioned,
  record: AuditRow,
  standing: AuditRow | null,
  generatedAt: string,
  enforcement: EnforcementAtChange | null = null,
): EvidenceModel {
  const row: ExportRow = p.row;
  let mergeOutcome = row.check_at_merge;
  if (record.kind === "merge") {
    const m = JSON.parse(record.payload) as MergePayload;
    mergeOutcome = `${m.outcome}${m.standing ? ` (standing verdict ${m.standing.outcome}, record ${record.chain}@${m.standing.seq})` : " (no standing verdict)"}`;
  } else if (record.kind === "direct_push") mergeOutcome = "direct push: recorded as a bypass";
  let model: EvidenceModel["standing"] = null;
  if (standing) {
    const e = JSON.parse(standing.payload) as EvaluationPayload;
    const d = e.verdict?.declaration;
    model = {
      record: `${standing.chain}@${standing.seq}`,
      hash: standing.hash,
      at: standing.recorded_at,
      headSha: e.headSha,
      reviews: [...e.evidence.reviews]
        .sort((a, b) => (a.submittedAt ?? "").localeCompare(b.submittedAt ?? ""))
        .map((v) => ({
          login: v.login,
          state: v.state,
          submittedAt: v.submittedAt,
          commitOid: v.commitOid,
          url: v.url ?? null,
        })),
      checks: e.evidence.checks.map((c) => ({
        name: c.name,
        state: c.state,
        raw: c.raw,
        source: c.source,
        url: c.url,
      })),
      verdict: e.verdict
        ? {
            conclusion: e.verdict.conclusion,
            title: e.verdict.title,
            rules: e.verdict.rules.map((x) => ({
              rule: x.rule,
              name: x.rule === "reviewers" ? x.name : null,
              status: x.status,
              summary: x.summary,
            })),
          }
        : null,
      declaration: d ? { declarer: d.declarer, at: d.at, accepted: d.accepted, reason: d.reason } : null,
      error: e.error,
    };
  }
  const host = /^(https?:\/\/[^/\s]+)\//i.exec(row.url)?.[1] ?? "https://github.com";
  return {
    index,
    kind: p.kind,
    row,
    chain: p.chain,
    seq: p.seq,
    generatedAt,
    standing: model,
    mergeOutcome,
    webBase: host,
    enforcement,
  };
}

/** The branch's enforcement at a change's moment, as its records say. */
export interface EnforcementAtChange {
  branch: string;
  at: string;
  state: PeriodState;
  missing: string[];
  /** The last branch_enforcement record at or before the moment ("owner/name@seq") and its hash; null: none before it. */
  record: string | null;
  hash: string | null;
}

/** The branch a change reached: the merge record's baseRef, the direct push's branch, else the standing evaluation's base. */
export function branchOfChange(record: AuditRow, standing: AuditRow | null): string | null {
  const field = (row: AuditRow | null, pick: (p: Record<string, unknown>) => unknown): string | null => {
    if (!row) return null;
    try {
      const v = pick(JSON.parse(row.payload) as Record<string, unknown>);
      return typeof v === "string" && v !== "" ? v : null;
    } catch {
      return null;
    }
  };
  if (record.kind === "merge") {
    const b = field(record, (p) => p.baseRef);
    if (b) return b;
  }
  if (record.kind === "direct_push") return field(record, (p) => p.branch);
  return field(standing, (p) => (p.evidence as { pr?: { baseRef?: unknown } } | undefined)?.pr?.baseRef);
}

/**
 * The state at `moment` from the branch's records (those of its chain and branch, any order) and its
 * last observation; null when changegate never recorded this branch (the page then says "not
 * observed" for the period).
 */
export function enforcementAt(
  records: { chain: string; seq: number; hash: string; at: string; payload: EnforcementPayload }[],
  last: Pick<LastObservation, "observedAt"> | null,
  repo: string,
  branch: string,
  moment: string,
  now: Date,
): EnforcementAtChange | null {
  const mine = records.filter((r) => r.chain === repo.toLowerCase() && r.payload.branch === branch);
  if (mine.length === 0) return null;
  const t = Date.parse(moment);
  const timeline = branchTimeline(
    repo,
    branch,
    mine,
    last,
    { from: new Date(t).toISOString(), to: new Date(t + 1).toISOString() },
    now,
  );
  const p = timeline.periods[0];
  const before =
    mine
      .filter((r) => Date.parse(r.at) <= t)
      .sort((a, b) => a.seq - b.seq)
      .at(-1) ?? null;
  return {
    branch,
    at: new Date(t).toISOString(),
    state: p?.state ?? "not_observed",
    missing: p?.missing ?? [],
    record: before ? `${before.chain}@${before.seq}` : null,
    hash: before?.hash ?? null,
  };
}
