/**
 * `changegate audit show owner/name#N`: every record of one PR as readable text. Text from GitHub
 * (titles, logins, check names) is stripped of control characters so it cannot drive the terminal.
 */
import type { AuditRow } from "./reader.js";
import type { EvaluationPayload, MergePayload, RecordPayload } from "./payload.js";

/** owner/name#N, or a pull request URL (https://github.com/owner/name/pull/N). */
export function parsePrArgument(arg: string): { repo: string; number: number } | null {
  const a = arg.trim();
  const m =
    /^([\w.-]+\/[\w.-]+)#(\d+)$/.exec(a) ??
    /^https?:\/\/[^/\s]+\/([\w.-]+\/[\w.-]+)\/pull\/(\d+)\/?$/.exec(a);
  if (!m) return null;
  const number = Number(m[2]);
  if (!Number.isSafeInteger(number) || number < 1) return null;
  return { repo: m[1]!, number };
}

export function clean(text: string | null | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (text ?? "").replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, " ");
}

export function renderPrRecords(repo: string, number: number, rows: AuditRow[]): string {
  if (rows.length === 0) return `${repo}#${number}: no records\n`;
  const out: string[] = [];
  const first = JSON.parse(rows[0]!.payload) as RecordPayload;
  out.push(`${clean(first.repo)}#${number}  ${clean(first.title)}`);
  out.push(`${clean(first.url)}`);
  out.push(`${rows.length} record${rows.length === 1 ? "" : "s"} in chain ${rows[0]!.chain}`);
  for (const row of rows) {
    out.push("");
    const p = JSON.parse(row.payload) as RecordPayload;
    if ((p as { type: string }).type === "merge_group")
      out.push(...renderMergeGroup(row, p as unknown as MergeGroupShown));
    else if (p.type === "merge") out.push(...renderMerge(row, p));
    else if (p.type !== "evaluation") out.push(...renderAfterMerge(row));
    else out.push(...renderEvaluation(row, p));
    out.push(
      `    record ${row.chain}@${row.seq}  hash ${row.hash.slice(0, 16)}…  previous ${row.prev_hash.slice(0, 16)}…`,
    );
  }
  return `${out.join("\n")}\n`;
}

interface MergeGroupShown {
  action: string;
  reason: string | null;
  baseRef: string;
  headSha: string;
  outcome: string;
  error: string | null;
  prs: { number: number; ok: boolean; why: string }[];
}

/** A merge queue group this PR named (record kind merge_group). */
function renderMergeGroup(row: AuditRow, p: MergeGroupShown): string[] {
  const lines = [
    `#${row.seq}  ${row.recorded_at}  MERGE GROUP ${clean(p.action).toUpperCase()}  ${clean(p.outcome).toUpperCase()}  head ${clean(p.headSha).slice(0, 7)} into ${clean(p.baseRef)}${p.reason ? `  (${clean(p.reason)})` : ""}`,
  ];
  for (const pr of p.prs ?? [])
    lines.push(`    #${pr.number} ${pr.ok ? "ok" : "NOT COMPLIANT"}: ${clean(pr.why)}`);
  if (p.error) lines.push(`    ${clean(p.error)}`);
  return lines;
}

function renderEvaluation(row: AuditRow, p: EvaluationPayload): string[] {
  const lines: string[] = [];
  lines.push(
    `#${row.seq}  ${row.recorded_at}  EVALUATION  ${p.outcome.toUpperCase()}  head ${p.headSha.slice(0, 7)}  ${clean(p.event)}  delivery ${clean(p.deliveryId)}`,
  );
  lines.push(
    `    base ${clean(p.base)} ← ${clean(p.headRef)}; author ${clean(p.author) || "unknown"}${p.draft ? "; draft" : ""}${p.emergency ? "; EMERGENCY" : ""}${p.gated === false ? "; base branch not gated" : ""}`,
  );
  if (p.verdict) {
    lines.push(`    verdict: ${clean(p.verdict.title)}`);
    for (const r of p.verdict.rules) {
      lines.push(`      ${r.rule.padEnd(9)} ${r.status.padEnd(7)} ${clean(r.summary)}`);
      for (const t of r.todo) lines.push(`                        - ${clean(t)}`);
    }
  }
  if (p.emergencyDeclarationAccepted !== undefined && p.emergencyDeclarationAccepted !== null) {
    lines.push(
      `    emergency label applied by ${clean(p.emergencyDeclaredBy) || "an unknown user"} at ${p.emergencyDeclaredAt ?? "?"}: ${p.emergencyDeclarationAccepted ? "accepted" : "ignored (judged by the normal rules)"}${
        typeof p.emergencyDeclaredOn === "string"
          ? `; declared on ${clean(p.emergencyDeclaredOn).slice(0, 12)}`
          : p.emergencyDeclaredOn === null
            ? "; on an unknown commit"
            : ""
      }`,
    );
  }
  if (p.unattributedCommits && p.unattributedCommits.length > 0) {
    lines.push(
      `    commits tied to no GitHub account: ${p.unattributedCommits.map((u) => `${u.oid.slice(0, 7)} (${clean(u.who.join("; "))})`).join(", ")}`,
    );
  }
  if (p.error) lines.push(`    error: ${clean(p.error)}`);
  const reviews = p.evidence.reviews.filter((r) => r.state !== "COMMENTED" && r.state !== "PENDING");
  lines.push(
    `    reviews: ${reviews.length === 0 ? "none" : reviews.map((r) => `${clean(r.login) || "ghost"} ${r.state} on ${r.commitOid?.slice(0, 7) ?? "?"} at ${r.submittedAt ?? "?"}`).join("; ")}`,
  );
  lines.push(
    `    CI: ${p.evidence.checks.length === 0 ? "none" : p.evidence.checks.map((c) => `${clean(c.name)}=${clean(c.raw || c.state)}`).join(", ")}`,
  );
  const t = p.evidence.tickets;
  const states =
    t.lookup.kind === "ok"
      ? new Map(t.lookup.found.map((f) => [f.key.toUpperCase(), f.status]))
      : new Map<string, string>();
  lines.push(
    `    tickets: ${t.refs.length === 0 ? "none" : t.refs.map((r) => `${clean(r.key)} (${clean(states.get(r.key.toUpperCase()) ?? (t.lookup.kind === "ok" ? "not found" : t.lookup.kind))})`).join(", ")}`,
  );
  lines.push(
    `    policy: ${p.policy ? `${clean(p.policy.source.location)}${p.policy.source.contentHash ? ` sha256 ${p.policy.source.contentHash.slice(0, 16)}…` : ""}` : "none (invalid or not loaded)"}; changegate ${clean(p.changegateVersion)}`,
  );
  return lines;
}

function renderMerge(row: AuditRow, p: MergePayload): string[] {
  const verdict = p.outcome === "none" ? "none (never judged at this head and base)" : p.outcome;
  return [
    `#${row.seq}  ${row.recorded_at}  MERGE  ${p.bypass ? "BYPASS" : "compliant"}  head ${p.headSha.slice(0, 7)}  delivery ${clean(p.deliveryId)}`,
    `    merged by ${clean(p.mergedBy) || "unknown"} at ${p.mergedAt ?? "?"}; merge commit ${p.mergeCommitSha?.slice(0, 12) ?? "unknown"}`,
    `    the PR's own verdict on the merged head: ${verdict}${p.emergency ? "; EMERGENCY change" : ""}${p.gated === false ? "; base branch not gated" : ""}`,
    `    standing evaluation: ${p.standing ? `#${p.standing.seq} (${p.standing.outcome}, ${p.standing.at})` : "none recorded for this head"}`,
  ];
}

/** The lines of a record made after a merge (after-merge.ts kinds). */
export function renderAfterMerge(row: AuditRow): string[] {
  const p = JSON.parse(row.payload) as Record<string, unknown>;
  const s = (v: unknown) => clean(String(v ?? ""));
  const head = `#${row.seq}  ${row.recorded_at}`;
  switch (p.type) {
    case "retro_review":
      return [
        `${head}  RETROACTIVE REVIEW  by ${s(p.reviewedBy)} at ${s(p.reviewedAt)} (${s(p.via)})${Number(p.lateMs) > 0 ? `  LATE (due ${s(p.dueAt)})` : ""}`,
        `    ${s(p.url)}; about merge ${s(p.mergeRecord)}`,
      ];
    case "retro_overdue":
      return [`${head}  RETROACTIVE REVIEW OVERDUE  due ${s(p.dueAt)}; about merge ${s(p.mergeRecord)}`];
    case "ticket_transition": {
      const results = Array.isArray(p.results) ? (p.results as Record<string, unknown>[]) : [];
      return [
        `${head}  TICKETS MOVED ON MERGE  to ${s(p.target)}`,
        ...results.map(
          (r) =>
            `    ${s(r.key)}: ${s(r.result)}${r.status ? ` (${s(r.status)})` : ""}${r.message ? ` ${s(r.message)}` : ""}`,
        ),
      ];
    }
    default:
      return [`${head}  ${s(row.kind).toUpperCase()}`];
  }
}
