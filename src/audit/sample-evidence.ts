/**
 * The evidence model of one sampled change (report/sample-evidence-html.ts renders it) from its
 * export row, its merge (or direct push) record and the evaluation that stood for the merged head.
 * Pure: the command reads the records.
 */
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
  };
}
