/**
 * One sampled change's evidence as a self-contained HTML file (`changegate audit sample`): inline
 * CSS, no script, a Content Security Policy that forbids every request; every text from GitHub,
 * Jira or the store through escape.html, links only to absolute http(s) URLs. Pure: the model is
 * built from the records by audit/sample-evidence.ts.
 */
import type { ExportRow } from "../audit/export.js";
import { html } from "./escape.js";

export interface EvidenceReview {
  login: string | null;
  state: string;
  submittedAt: string | null;
  commitOid: string | null;
  url: string | null;
}

export interface EvidenceCheck {
  name: string;
  state: string;
  raw: string;
  source: string | null;
  url: string | null;
}

export interface EvidenceModel {
  index: number;
  kind: "merge" | "emergency" | "direct_push";
  /** The change's row as `audit export` gives it. */
  row: ExportRow;
  chain: string;
  seq: number;
  generatedAt: string;
  /** The evaluation that stood for the merged head; null when none was recorded. */
  standing: {
    record: string;
    hash: string;
    at: string;
    headSha: string;
    reviews: EvidenceReview[];
    checks: EvidenceCheck[];
    verdict: {
      conclusion: string;
      title: string;
      rules: { rule: string; name: string | null; status: string; summary: string }[];
    } | null;
    declaration: { declarer: string | null; at: string | null; accepted: boolean; reason: string } | null;
    error: string | null;
  } | null;
  /** The merge record's own words: outcome on the merged head, standing verdict it named. */
  mergeOutcome: string;
  /** The web host the PR lives on (https://github.com or a GHE host), for commit links. */
  webBase: string;
  /** The branch's enforcement at the change's moment from its records (audit/sample-evidence.ts); null: never recorded. */
  enforcement?: {
    branch: string;
    at: string;
    state: "enforced" | "not_enforced" | "not_observed";
    missing: string[];
    record: string | null;
    hash: string | null;
  } | null;
}

export const ENFORCEMENT_NOT_OBSERVED =
  "not observed (changegate did not record branch enforcement for this period)";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:980px;color:#1f2328;padding:0 1em}
h1{font-size:1.45em}h2{margin-top:1.6em;border-bottom:1px solid #d0d7de;padding-bottom:.2em;font-size:1.15em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}code{font-size:12px}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.none{color:#6e7781;font-style:italic}
`;

/** An anchor only for absolute http(s) URLs; otherwise the text alone. */
function a(url: string | null | undefined, text: string): string {
  if (!url || !/^https?:\/\/[^\s/?#]+/i.test(url)) return html(text);
  try {
    const u = new URL(url);
    if (u.protocol !== "https:" && u.protocol !== "http:") return html(text);
  } catch {
    return html(text);
  }
  return `<a href="${html(url)}">${html(text)}</a>`;
}

const yes = (b: boolean) => (b ? "yes" : "no");
const none = (text: string) => `<span class="none">${html(text)}</span>`;
const cell = (v: string | null | undefined, empty = "none recorded") =>
  v === null || v === undefined || v === "" ? none(empty) : html(v);

export function commitUrl(m: EvidenceModel, sha: string): string | null {
  if (!/^[0-9a-f]{7,64}$/i.test(sha) || !/^[\w.-]+\/[\w.-]+$/.test(m.row.repo)) return null;
  return `${m.webBase}/${m.row.repo}/commit/${sha}`;
}

export function renderEvidence(m: EvidenceModel): string {
  const r = m.row;
  const s = m.standing;
  const title =
    r.change_type === "direct_push"
      ? `${r.repo}: direct push ${r.head_sha.slice(0, 12)}`
      : `${r.repo}#${r.pr}: ${r.title}`;
  const out: string[] = [];
  out.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${html(`Evidence ${m.index}: ${title}`)}</title><style>${CSS}</style></head>`,
    `<body data-record="${html(r.record)}" data-kind="${html(m.kind)}">`,
    `<h1>Sampled change ${m.index}: ${html(title)}</h1>`,
    `<p>Evidence drawn by <code>changegate audit sample</code> from the audit trail at ${html(m.generatedAt)}. Everything below is what changegate recorded; nothing was read from GitHub when this file was made.</p>`,
  );

  // ---- the change
  out.push(`<h2 id="change">The change</h2><table>`);
  const tr = (k: string, v: string, attr = "") =>
    out.push(`<tr${attr}><th>${html(k)}</th><td>${v}</td></tr>`);
  tr("Repository", html(r.repo));
  tr(
    "Kind",
    html(
      m.kind === "direct_push"
        ? "direct push (no merged pull request)"
        : m.kind === "emergency"
          ? "emergency merge"
          : "merge",
    ),
  );
  if (r.change_type === "merge") tr("Pull request", a(r.url, `${r.repo}#${r.pr}`));
  tr("Title", html(r.title));
  tr("Author", cell(r.author, "unknown"));
  tr(
    r.change_type === "direct_push" ? "Commit pushed (after)" : "Head SHA",
    `<code data-head-sha="${html(r.head_sha)}">${a(commitUrl(m, r.head_sha), r.head_sha)}</code>`,
  );
  if (r.merge_commit_sha)
    tr("Merge commit", `<code>${a(commitUrl(m, r.merge_commit_sha), r.merge_commit_sha)}</code>`);
  tr("Branch", `${cell(r.base, "unknown")}${r.gated ? "" : " (not gated by the policy)"}`);
  tr(r.change_type === "direct_push" ? "Pushed by" : "Merged by", cell(r.merged_by, "unknown"));
  tr(r.change_type === "direct_push" ? "Pushed at" : "Merged at", html(r.merged_at));
  tr("Found by", html(r.found_by === "scan" ? "audit scan (the webhook was missed)" : "webhook"));
  out.push(`</table>`);

  // ---- approvals
  out.push(`<h2 id="approvals">Approvals: who approved which commit, and when</h2>`);
  out.push(
    `<p>Approvers (each reviewer's latest review approved), as <code>audit export</code> lists them: <span data-approvers="${html(r.approvers.join(" "))}">${r.approvers.length ? r.approvers.map((x) => `<b>${html(x)}</b>`).join(", ") : none("none")}</span>. Approvals rule: ${cell(r.approvals_result, "not judged")}.</p>`,
  );
  if (s && s.reviews.length > 0) {
    out.push(
      `<table><tr><th>Reviewer</th><th>Review</th><th>Commit reviewed</th><th>On the merged head</th><th>Submitted at</th></tr>`,
    );
    for (const v of s.reviews) {
      const onHead = v.commitOid !== null && v.commitOid === r.head_sha;
      out.push(
        `<tr data-review="${html(v.login ?? "")}"><td>${a(v.url, v.login ?? "(deleted user)")}</td><td>${html(v.state)}</td><td><code>${v.commitOid ? a(commitUrl(m, v.commitOid), v.commitOid) : none("unknown")}</code></td><td>${yes(onHead)}</td><td>${cell(v.submittedAt, "unknown")}</td></tr>`,
      );
    }
    out.push(`</table>`);
  } else
    out.push(
      `<p class="none">${html(s ? "No reviews were recorded." : r.change_type === "direct_push" ? "A direct push has no reviews." : "No evaluation was recorded for the merged head.")}</p>`,
    );

  // ---- CI
  out.push(`<h2 id="ci">CI checks and their sources</h2><p>CI rule: ${cell(r.ci_result, "not judged")}.</p>`);
  if (s && s.checks.length > 0) {
    out.push(`<table><tr><th>Check</th><th>Result</th><th>GitHub's word</th><th>Source</th></tr>`);
    for (const c of s.checks)
      out.push(
        `<tr><td>${a(c.url, c.name)}</td><td>${html(c.state)}</td><td>${html(c.raw)}</td><td>${cell(c.source, "unknown")}</td></tr>`,
      );
    out.push(`</table>`);
  } else out.push(`<p class="none">No CI checks were recorded.</p>`);

  // ---- tickets
  out.push(
    `<h2 id="tickets">Tickets and their states</h2><p>Tickets rule: ${cell(r.tickets_result, "not judged")}.</p>`,
  );
  if (r.tickets.length > 0) {
    out.push(
      `<table><tr><th>Ticket</th><th>State when judged</th></tr>${r.tickets.map((t) => `<tr><td>${html(t.key)}</td><td>${html(t.state)}</td></tr>`).join("")}</table>`,
    );
  } else out.push(`<p class="none">No tickets were referenced.</p>`);
  if (r.ticket_transitions.length > 0) {
    out.push(
      `<p>Moved on merge:</p><table><tr><th>Ticket</th><th>Result</th><th>Status</th><th>Message</th></tr>`,
    );
    for (const t of r.ticket_transitions)
      out.push(
        `<tr><td>${html(t.key)}</td><td>${html(t.result)}</td><td>${cell(t.status, "")}</td><td>${cell(t.message, "")}</td></tr>`,
      );
    out.push(`</table>`);
  }

  // ---- verdict and digest
  out.push(`<h2 id="verdict">The verdict and the digest at the merge</h2>`);
  out.push(
    `<p>changegate's check on the merged head at merge time: <b data-check-at-merge="${html(r.check_at_merge)}">${html(r.check_at_merge)}</b>${r.bypass ? ' <span class="bad">(merged without a passing check: bypass)</span>' : ""}. Merge record outcome: ${html(m.mergeOutcome)}.${r.as_of_merge ? ` Judged as of the merge by the scan: ${html(r.as_of_merge)}.` : ""}</p>`,
  );
  if (s?.verdict) {
    out.push(
      `<p>Standing evaluation ${html(s.record)} (recorded ${html(s.at)}, hash <code>${html(s.hash)}</code>) on head <code>${html(s.headSha)}</code>: <b>${html(s.verdict.conclusion)}</b>, “${html(s.verdict.title)}”.</p>`,
    );
    out.push(`<table><tr><th>Rule</th><th>Result</th><th>Digest line</th></tr>`);
    for (const x of s.verdict.rules)
      out.push(
        `<tr><td>${html(x.name ? `${x.rule}: ${x.name}` : x.rule)}</td><td>${html(x.status)}</td><td>${html(x.summary)}</td></tr>`,
      );
    out.push(`</table>`);
    out.push(
      `<p>Policy: ${cell(r.policy, "none")} (content hash <code>${cell(r.policy_hash, "none")}</code>).</p>`,
    );
  } else if (s)
    out.push(
      `<p class="bad">The standing evaluation ${html(s.record)} holds no verdict${s.error ? `: ${html(s.error)}` : ""}.</p>`,
    );
  else
    out.push(
      `<p class="none">${html(r.change_type === "direct_push" ? "A direct push is not evaluated: it is recorded as a bypass." : "No evaluation stood for the merged head.")}</p>`,
    );

  // ---- emergency
  out.push(`<h2 id="emergency">Emergency declaration and retroactive review</h2>`);
  if (r.emergency || s?.declaration) {
    const d = s?.declaration;
    out.push(`<table>`);
    tr("Emergency change", yes(r.emergency));
    tr("Declared by", cell(r.emergency_declared_by ?? d?.declarer ?? null, "unknown"));
    tr("Declared at", cell(r.emergency_declared_at ?? d?.at ?? null, "unknown"));
    if (d) tr("Declaration", `${d.accepted ? "accepted" : "ignored"}: ${html(d.reason)}`);
    tr("Retroactive review", cell(r.retro_review, "not applicable"));
    tr("Review due by", cell(r.retro_review_due_at, "no due time on record"));
    tr("Reviewed by", cell(r.retro_reviewed_by, "nobody yet"));
    tr("Reviewed at", cell(r.retro_reviewed_at, "not yet"));
    out.push(`</table>`);
  } else out.push(`<p class="none">Not an emergency change.</p>`);

  // ---- enforcement
  out.push(`<h2 id="enforcement">Enforcement of the branch at that moment</h2>`);
  const en = m.enforcement;
  if (!en) out.push(`<p class="none" data-enforcement="not observed">${html(ENFORCEMENT_NOT_OBSERVED)}</p>`);
  else {
    const words =
      en.state === "enforced"
        ? "in force: a required `changegate` check pinned to the changegate app"
        : en.state === "not_enforced"
          ? "NOT in force: merging was not blocked by the `changegate` check"
          : "not observed at that moment (a gap in changegate's observation of the branch)";
    out.push(
      `<p class="${en.state === "enforced" ? "ok" : "bad"}" data-enforcement="${en.state}"><code>${html(en.branch)}</code> at ${html(en.at)}: ${html(words)}</p>`,
    );
    if (en.missing.length > 0)
      out.push(`<ul data-enforcement-missing>${en.missing.map((x) => `<li>${html(x)}</li>`).join("")}</ul>`);
    out.push(
      `<p class="none">${en.record ? `As recorded by <code data-enforcement-record>${html(en.record)}</code> (hash <code>${html(en.hash ?? "")}</code>), the last branch_enforcement record before the change` : "No branch_enforcement record before the change"}; the same timeline as <code>changegate audit enforcement</code>.</p>`,
    );
  }

  // ---- record
  out.push(`<h2 id="record">The audit record</h2><table>`);
  tr("Chain", html(m.chain));
  tr("Position", html(m.seq));
  tr("Record", `<code data-record-id>${html(r.record)}</code>`);
  tr("Record hash", `<code data-record-hash>${html(r.record_hash)}</code>`);
  tr("Evaluation record", cell(r.evaluation_record, "none"));
  out.push(
    `</table><p>Check it: ${r.change_type === "merge" ? `<code>changegate audit show ${html(`${r.repo}#${r.pr}`)}</code> and ` : ""}<code>changegate audit verify</code>.</p>`,
  );
  out.push(`</body></html>\n`);
  return out.join("\n");
}
