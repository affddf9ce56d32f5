/**
 * `changegate audit report` as one self-contained HTML file: inline CSS, charts as inline SVG
 * rendered by echarts on the server (no script, no font, no image is fetched; a Content Security
 * Policy forbids any request), every figure a link to the rows behind it (anchor ids in the table
 * of the export's rows at the end). Every text from GitHub goes through escape.html. Pure.
 */
import * as echarts from "echarts";
import { html } from "./escape.js";
import {
  categoryOf,
  PERIOD_STATES,
  type EnforcementSection,
  type Figure,
  type ReportModel,
} from "./audit-report-model.js";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#1f2328;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #d0d7de;padding:.5em}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.none{color:#6e7781;font-style:italic}
.rows td{font-size:12px}.set a{margin-right:.6em}:target{background:#fff8c5}
`;

function svgChart(width: number, height: number, option: echarts.EChartsCoreOption): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

function figureCell(f: Figure, text: string = String(f.value)): string {
  return `<td class="n" data-figure="${html(f.id)}">${f.rows.length > 0 ? `<a href="#set-${html(f.id)}">${html(text)}</a>` : html(text)}</td>`;
}

function share(tenths: number, total: number): string {
  return total === 0 ? "–" : `${(tenths / 10).toFixed(1)} %`;
}

/** How a row is named: owner/name#N for a merged PR, owner/name direct push <sha> for a push. */
function changeName(m: ReportModel, i: number): string {
  const r = m.rows[i]!;
  return r.change_type === "direct_push"
    ? `${html(r.repo)} direct push ${html(r.head_sha.slice(0, 12))}`
    : `${html(r.repo)}#${r.pr}`;
}

function rowLink(m: ReportModel, i: number): string {
  return `<a href="#row-${i}">${changeName(m, i)}</a>`;
}

export function renderAuditReport(m: ReportModel): string {
  const out: string[] = [];
  const total = m.total.value;
  out.push(
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>changegate audit report ${html(m.from.slice(0, 10))} – ${html(m.to.slice(0, 10))}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>Change management report</h1>`,
    `<p>Changes (merged pull requests, and direct pushes to gated branches) from <b data-period-from="${html(m.from)}">${html(m.from)}</b> (inclusive) to <b data-period-to="${html(m.to)}">${html(m.to)}</b> (exclusive)${m.repo ? ` in <b data-repo="${html(m.repo)}">${html(m.repo)}</b>` : ""}, as recorded by changegate; generated ${html(m.generatedAt)}. Every figure links to the rows behind it; the rows are exactly those of <code>changegate audit export --from ${html(m.from)} --to ${html(m.to)}${m.repo ? ` --repo ${html(m.repo)}` : ""}</code>, and every figure counts them.</p>`,
  );

  // ---- summary
  out.push(`<h2 id="summary">Summary</h2><table><tr><th>Figure</th><th>Changes</th><th>Share</th></tr>`);
  out.push(
    `<tr><td>${html(m.total.label)}</td>${figureCell(m.total)}<td class="n">${total === 0 ? "–" : "100.0 %"}</td></tr>`,
  );
  for (const c of m.categories) {
    out.push(
      `<tr><td>${html(c.label)}</td>${figureCell(c)}<td class="n" data-share="${html(c.id)}">${share(c.shareTenths, total)}</td></tr>`,
    );
  }
  out.push(`</table>`);
  out.push(
    `<p class="none">Each change is in exactly one category, and the shares sum to 100 %. compliant: merged into a gated branch with its own green verdict; emergency: merged into a gated branch under the emergency label; bypass: merged into a gated branch without a green verdict; direct push: commits pushed to a gated branch without a merged pull request (one row per push); other: merged into a branch the policy does not gate (the export's <code>gated</code> column is false), or with no verdict on record.</p>`,
  );

  // ---- charts
  out.push(`<h2 id="charts">Pictures</h2><div class="charts">`);
  out.push(
    `<div class="chart" id="chart-weeks">${svgChart(620, 280, {
      title: { text: "Changes per week", textStyle: { fontSize: 14 } },
      grid: { left: 40, right: 10, top: 40, bottom: 60 },
      xAxis: {
        type: "category",
        data: m.weeks.map((w) => w.label.replace("week of ", "")),
        axisLabel: { rotate: 45, fontSize: 10 },
      },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: m.weeks.map((w) => w.value), label: { show: true, position: "top" } }],
    })}</div>`,
  );
  const pieData = m.categories
    .filter((c) => c.value > 0)
    .map((c) => ({ name: `${c.label} (${c.value})`, value: c.value }));
  out.push(
    `<div class="chart" id="chart-categories">${svgChart(420, 280, {
      title: { text: "Share of changes", textStyle: { fontSize: 14 } },
      series: [
        {
          type: "pie",
          radius: ["30%", "60%"],
          top: 30,
          data: pieData.length > 0 ? pieData : [{ name: "no changes", value: 0 }],
          label: { formatter: "{b}" },
        },
      ],
    })}</div>`,
  );
  out.push(
    `<div class="chart" id="chart-approvals">${svgChart(420, 260, {
      title: { text: "Approvals per change", textStyle: { fontSize: 14 } },
      grid: { left: 40, right: 10, top: 40, bottom: 30 },
      xAxis: { type: "category", data: m.approvals.map((a) => a.label) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { type: "bar", data: m.approvals.map((a) => a.value), label: { show: true, position: "top" } },
      ],
    })}</div>`,
  );
  out.push(`</div>`);

  // ---- weeks table
  out.push(`<h2 id="weeks">Changes per week</h2><table><tr><th>Week (Monday, UTC)</th><th>Changes</th></tr>`);
  for (const w of m.weeks) out.push(`<tr><td>${html(w.label)}</td>${figureCell(w)}</tr>`);
  out.push(`</table>`);

  // ---- direct pushes (the export's direct_push rows: commits pushed to a gated branch without a merged PR)
  if (m.directPushes.length > 0) {
    out.push(
      `<h2 id="direct-pushes">Direct pushes</h2><table data-figure="direct-pushes" data-value="${m.directPushes.length}"><tr><th>Change</th><th>Pushed</th><th>By</th><th>Branch</th><th>What</th></tr>`,
    );
    for (const i of m.directPushes) {
      const d = m.rows[i]!;
      out.push(
        `<tr><td>${rowLink(m, i)}</td><td>${html(d.merged_at)}</td><td>${html(d.merged_by ?? "unknown")}</td><td>${html(d.base ?? "unknown")}</td><td>${html(d.title)}</td></tr>`,
      );
    }
    out.push(`</table>`);
  }

  // ---- approvals
  out.push(
    `<h2 id="approvals">Approvals per change</h2><table><tr><th>Approvals on the merged head's standing evaluation</th><th>Changes</th></tr>`,
  );
  for (const a of m.approvals) out.push(`<tr><td>${html(a.label)}</td>${figureCell(a)}</tr>`);
  out.push(
    `</table><p>Mean: <span data-figure="approvals-mean">${m.approvalsMean.toFixed(2)}</span> approvals per change.</p>`,
  );

  // ---- emergencies
  out.push(`<h2 id="emergencies">Emergency changes and their retro-reviews</h2>`);
  out.push(
    `<p data-retro-reviews="recorded">The due time is the one the merge record fixed (the policy's <code>emergency.review_within_hours</code> at the merge); the review and its status are the export's <code>retro_review_due_at</code>, <code>retro_review</code>, <code>retro_reviewed_by</code> and <code>retro_reviewed_at</code> columns (from the retro_review and retro_overdue records).</p>`,
  );
  if (m.emergencies.length === 0)
    out.push(`<p data-figure="emergencies" data-value="0">No emergency changes in the period.</p>`);
  else {
    out.push(
      `<table data-figure="emergencies" data-value="${m.emergencies.length}"><tr><th>Change</th><th>Merged</th><th>Retro-review due by</th><th>Retro-review</th><th>Lead time</th><th>Status</th></tr>`,
    );
    for (const e of m.emergencies) {
      out.push(
        `<tr data-retro-review="${html(e.retroReview ?? "none")}"><td>${rowLink(m, e.row)}</td><td>${html(e.mergedAt)}</td><td data-due-by>${e.dueBy ? html(e.dueBy) : '<span class="none">none on record</span>'}</td><td>${e.review ? `${html(e.review.at)} by ${html(e.review.reviewer ?? "unknown")}` : '<span class="none">none recorded</span>'}</td><td class="n">${e.review ? `${e.review.leadHours} h` : "–"}</td><td class="${e.status.startsWith("reviewed in time") ? "ok" : "bad"}">${html(e.status)}</td></tr>`,
      );
    }
    out.push(`</table>`);
  }

  // ---- completeness
  out.push(`<h2 id="completeness">Completeness of the population</h2>`);
  const c = m.completeness;
  if (!c)
    out.push(
      `<p class="none" data-completeness="not checked">Not checked: run <code>changegate audit completeness --from … --to … --out FILE</code> and pass <code>--completeness FILE</code>.</p>`,
    );
  else {
    const sameWindow = c.from === m.from && c.to === m.to;
    out.push(
      `<p data-completeness="${c.complete ? "complete" : "incomplete"}" class="${c.complete ? "ok" : "bad"}">${c.complete ? "Complete: every merge GitHub reports has its record, and no record is extra." : "Incomplete: see the differences below."} (checked ${html(c.generatedAt)} for ${html(c.from)} – ${html(c.to)}${sameWindow ? "" : ": NOT the window of this report"})</p>`,
    );
    out.push(
      `<table><tr><th>Repository</th><th>Merges on GitHub</th><th>Records</th><th>Missing records</th><th>Extra records</th></tr>`,
    );
    for (const r of c.repositories) {
      out.push(
        `<tr><td>${html(r.repo)}</td><td class="n">${r.githubMerges}</td><td class="n">${r.records}</td><td>${r.missing.map((x) => `#${x.number} (${html(x.mergedAt)})`).join(", ") || "none"}</td><td>${r.extra.map((x) => `#${x.number} (${html(x.mergedAt)})`).join(", ") || "none"}</td></tr>`,
      );
    }
    out.push(`</table>`);
  }

  // ---- enforcement: was the gate in force?
  out.push(...enforcementHtml(m));

  // ---- checkpoints
  out.push(`<h2 id="checkpoints">Checkpoints</h2>`);
  const k = m.checkpoints;
  if (k.kind === "not checked")
    out.push(
      `<p class="none" data-checkpoints="not checked">Not checked: pass <code>--checkpoints FILE</code> (or <code>--from-issue owner/name#N</code>) and the public key.</p>`,
    );
  else if (k.kind === "ok")
    out.push(
      `<p class="ok" data-checkpoints="ok">Every chain still extends its signed head: ${k.checkpoints} checkpoint${k.checkpoints === 1 ? "" : "s"} verified, newest #${k.newestSequence} at ${html(k.newestAt)} (key ${html(k.keyId)}).</p>`,
    );
  else
    out.push(
      `<p class="bad" data-checkpoints="failed">Checkpoint verification FAILED:</p><ul>${k.problems.map((p) => `<li>${html(p)}</li>`).join("")}</ul>`,
    );

  // ---- the sample drawn for this period
  out.push(`<h2 id="sample">Sample</h2>`);
  const sm = m.sample;
  if (!sm)
    out.push(
      `<p class="none" data-sample="none">No sample linked: draw one with <code>changegate audit sample</code> and pass <code>--sample DIR</code>.</p>`,
    );
  else
    out.push(
      `<p data-sample="linked">${sm.entries} of ${sm.population} change${sm.population === 1 ? "" : "s"} drawn${sm.stratify ? " (stratified by kind)" : ""} with seed <code>${html(sm.seed)}</code>: <a href="${html(sm.href)}" data-sample-manifest>the sample's manifest</a>, with one evidence file per change beside it. Check it with <code>changegate audit sample --verify --out DIR</code>.</p>`,
    );

  // ---- row sets behind the figures
  out.push(`<h2 id="sets">Rows behind each figure</h2>`);
  for (const f of [m.total, ...m.categories, ...m.weeks, ...m.approvals]) {
    if (f.rows.length === 0) continue;
    out.push(
      `<div class="set" id="set-${html(f.id)}"><b>${html(f.label)}</b> (${f.rows.length}): ${f.rows.map((i) => rowLink(m, i)).join(" ")}</div>`,
    );
  }

  // ---- the rows
  out.push(`<h2 id="rows">The changes (${m.rows.length} rows of the export)</h2>`);
  out.push(
    `<table class="rows"><tr><th>#</th><th>Change</th><th>Title</th><th>Author</th><th>Approvers</th><th>CI</th><th>Tickets</th><th>Merged (pushed) by</th><th>Merged (pushed) at</th><th>Gated</th><th>Category</th><th>Verdict at merge</th><th>Record</th></tr>`,
  );
  m.rows.forEach((r, i) => {
    const url = /^https:\/\/[^\s"'<>]+$/.test(r.url) ? r.url : null;
    out.push(
      `<tr id="row-${i}" data-record="${html(r.record)}"><td class="n">${i + 1}</td><td>${url ? `<a href="${html(url)}">${changeName(m, i)}</a>` : changeName(m, i)}</td><td>${html(r.title)}</td><td>${html(r.author ?? "")}</td><td>${html(r.approvers.join(", "))}</td><td>${html(r.ci_result ?? "")}</td><td>${html(r.tickets.map((t) => `${t.key}: ${t.state}`).join("; "))}</td><td>${html(r.merged_by ?? "")}</td><td>${html(r.merged_at)}</td><td data-gated="${r.gated}">${r.gated ? "yes" : "no"}</td><td data-category="${categoryOf(r)}">${categoryOf(r)}</td><td>${html(r.check_at_merge)}</td><td><code>${html(r.record)}</code></td></tr>`,
    );
  });
  out.push(`</table></body></html>\n`);
  return out.join("\n");
}

const STATE_WORDS = {
  enforced: "in force",
  not_enforced: "NOT in force",
  not_observed: "not observed",
} as const;
const STATE_COLOURS = { enforced: "#1a7f37", not_enforced: "#cf222e", not_observed: "#8c959f" } as const;

/**
 * The timeline figure: one horizontal bar per gated branch across the period, a segment per period
 * (stacked: the n-th series holds every branch's n-th period), coloured by state.
 */
function enforcementFigure(e: EnforcementSection, from: string, to: string): string {
  const start = Date.parse(from);
  const end = Date.parse(to);
  const names = e.branches.map((b) => `${b.repo} ${b.branch}`);
  const most = Math.max(0, ...e.branches.map((b) => b.periods.length));
  const series = [];
  for (let i = 0; i < most; i++)
    series.push({
      type: "bar",
      stack: "timeline",
      barWidth: 14,
      data: e.branches.map((b) => {
        const p = b.periods[i];
        if (!p) return 0;
        // The first period starts where the timeline starts (its offset is an invisible first segment).
        return { value: p.ms / 3_600_000, itemStyle: { color: STATE_COLOURS[p.state] } };
      }),
    });
  const offsets = e.branches.map((b) =>
    b.periods[0] ? (Date.parse(b.periods[0].from) - start) / 3_600_000 : 0,
  );
  const day = (h: number) => new Date(start + h * 3_600_000).toISOString().slice(0, 10);
  return svgChart(900, 60 + 26 * names.length, {
    grid: { left: 260, right: 30, top: 10, bottom: 40 },
    xAxis: {
      type: "value",
      min: 0,
      max: Math.max(1, (end - start) / 3_600_000),
      axisLabel: { formatter: (h: number) => day(h) },
    },
    yAxis: { type: "category", data: names, inverse: true },
    series: [
      { type: "bar", stack: "timeline", barWidth: 14, data: offsets, itemStyle: { color: "transparent" } },
      ...series,
    ],
  });
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${(h / 24).toFixed(1)} d` : `${h.toFixed(1)} h`;
}

function enforcementHtml(m: ReportModel): string[] {
  const out: string[] = [`<h2 id="enforcement">Enforcement: was the gate in force?</h2>`];
  const e = m.enforcement;
  if (!e) {
    out.push(
      `<p class="none" data-enforcement="not checked">Not given: <code>changegate audit enforcement --from … --to …</code> shows it.</p>`,
    );
    return out;
  }
  if (e.branches.length === 0) {
    out.push(
      `<p class="bad" data-enforcement="none observed">No gated branch was ever observed: nothing shows that a required <code>changegate</code> check blocked merging in this period.</p>`,
    );
    return out;
  }
  out.push(
    `<p data-enforcement="${e.inForce ? "in force" : "not in force"}" class="${e.inForce ? "ok" : "bad"}">${e.inForce ? "Every gated branch required the changegate check, pinned to the changegate app, for the whole period." : "Some gated branch did not require the changegate check (or was not observed) for part of the period: see the periods below."} A branch is in force while a required <code>changegate</code> status check pinned to the changegate app is in force on it (an active ruleset or classic branch protection), as changegate observed it (<code>branch_enforcement</code> records: on each change, on the hourly scan, on the ruleset and branch-protection webhooks). A stretch longer than the gap bound without an observation is <i>not observed</i>; the stretch in which a change happened counts as not in force. The same as <code>changegate audit enforcement --from ${html(m.from)} --to ${html(m.to)}${m.repo ? ` --repo ${html(m.repo)}` : ""}</code>.</p>`,
  );
  out.push(
    `<div class="chart" data-chart="enforcement-timeline">${enforcementFigure(e, m.from, m.to)}</div>`,
  );
  out.push(
    `<p class="none">${PERIOD_STATES.map((s) => `<span style="color:${STATE_COLOURS[s]}">■</span> ${STATE_WORDS[s]}`).join(" &nbsp; ")}</p>`,
  );
  out.push(
    `<table data-figure="enforcement"><tr><th>Repository</th><th>Branch</th><th>In force</th><th>Not in force</th><th>Not observed</th><th>First observation</th><th>Last observation</th></tr>`,
  );
  for (const b of e.branches)
    out.push(
      `<tr data-branch="${html(`${b.repo} ${b.branch}`)}" data-in-force="${b.inForce}"><td>${html(b.repo)}</td><td><code>${html(b.branch)}</code></td>${PERIOD_STATES.map((s) => `<td class="n" data-state="${s}">${hours(b.ms[s])} (${(b.shareTenths[s] / 10).toFixed(1)} %)</td>`).join("")}<td>${html(b.firstObservation ?? "never")}</td><td>${html(b.lastObservation ?? "never")}</td></tr>`,
    );
  out.push(`</table>`);
  for (const b of e.branches) {
    out.push(
      `<h3>${html(b.repo)} <code>${html(b.branch)}</code>: <span class="${b.inForce ? "ok" : "bad"}">${b.inForce ? "in force for the whole period" : "NOT in force for part of the period"}</span></h3>`,
      `<table data-periods="${html(`${b.repo} ${b.branch}`)}"><tr><th>From</th><th>To</th><th>State</th><th>Length</th><th>What was missing</th></tr>`,
    );
    for (const p of b.periods)
      out.push(
        `<tr data-period="${p.state}"><td>${html(p.from)}</td><td>${html(p.to)}</td><td class="${p.state === "enforced" ? "ok" : "bad"}">${STATE_WORDS[p.state]}</td><td class="n">${hours(p.ms)}</td><td>${html(p.missing.join("; "))}</td></tr>`,
      );
    out.push(`</table>`);
  }
  return out;
}
