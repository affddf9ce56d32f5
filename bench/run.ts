/**
 * `npm run bench`: changegate (a real process, `node lib/main.js`) against the GitHub and Jira
 * simulator on this machine. Prints figures, never passes or fails:
 *
 *   1. webhook → final check latency for one PR at idle, production throttling on (and off: the
 *      latency changegate itself adds);
 *   2. sustained throughput with throttling off (CHANGEGATE_THROTTLE=off): N PRs receiving
 *      interleaved bursts at a paced rate; webhooks/s accepted, evaluations/s completed, latency
 *      under load, reads/writes and Jira requests per evaluation, every PR's final state checked;
 *   3. a 50-PR × ~5-event burst in one installation with throttling on: time until every PR's check
 *      is correct, against the floor set by the write spacing (1 s per write per installation, and
 *      Probot's 3 s between new comments);
 *   2b. webhooks sent on a clock at three paces (100, 200, 300/s), throttling off: accepted/s,
 *      evaluations/s, the latency changegate adds to each webhook;
 *   3b. a secondary-limit answer injected mid-burst; 3c. the 600-write hour on a 60× faster clock;
 *   4. peak RSS of each changegate process;
 *   5. fairness: one installation's 40 PRs whose reads meet secondary limits, another's 5 PRs: the
 *      second's webhook → check latency alone and beside the first.
 *
 *   0. RSS at rest; 6. 20 installations × 10 PRs at once, per installation; 7. the soak (bench/lean.ts;
 *      the soak runs only with --soak-only: 20 minutes, BENCH_SOAK_MINUTES).
 *
 * Flags: --quick (smaller sizes, for a smoke run); --rest-only (0), --installations-only (6), --soak-only (7); --sustained-only (1, 2, 2b, 4), --burst-only (3, 3b,
 * 3c, 4), --paced-only (2b, 4), --hour-only (3c), --fair-only (5). CHANGEGATE_E2E_ENTRY runs another build of
 * lib/main.js; CHANGEGATE_E2E_NODE_ARGS adds Node flags to it (e.g. --cpu-prof). BENCH_PACES=100,300
 * picks 2b's paces; BENCH_DUMP=1 writes 2b's per-webhook latencies and changegate's log lines (and, when
 * a PR ends wrong, the refused requests) to /tmp for analysis. EXP_ENV (JSON) adds environment
 * variables to the throttling-off process.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { availableParallelism, cpus, totalmem } from "node:os";
import { mismatches, simTickets } from "../test/sim/oracle.js";
import type { SimPull, SimWebhook } from "../test/sim/model.js";
import type { SimRequest } from "../test/sim/server.js";
import { burst, play, type Burst } from "../test/sim/workload.js";
import { World } from "../test/sim/world.js";
import { installationsSection, restSection, soakSection } from "./lean.js";

const quick = process.argv.includes("--quick");
/** --burst-only: section 3 (and the RSS of its process) alone, for the write scheduler's figures. */
const burstOnly = process.argv.includes("--burst-only");
/** --sustained-only: sections 1 (throttling off), 2 and 4, for the store-statement figures. */
const sustainedOnly = process.argv.includes("--sustained-only");
/** --paced-only: section 2b (three paces, added latency) and the RSS of its process. */
const pacedOnly = process.argv.includes("--paced-only");
/** --hour-only: section 3c (the 600-write hour on a 60x faster clock). */
const hourOnly = process.argv.includes("--hour-only");
/** --fair-only: section 5 (fairness between installations under a secondary limit). */
const fairOnly = process.argv.includes("--fair-only");
/** --rest-only: section 0 (RSS at rest). --installations-only: section 6. --soak-only: section 7 (bench/lean.ts). */
const restOnly = process.argv.includes("--rest-only");
const installationsOnly = process.argv.includes("--installations-only");
const soakOnly = process.argv.includes("--soak-only");
const out: string[] = [];
const say = (line = "") => {
  out.push(line);
  console.log(line);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : "n/a");
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

function latencyRow(name: string, xs: number[]): string {
  return `| ${name} | ${xs.length} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 95))} | ${ms(pct(xs, 99))} | ${ms(Math.max(...xs))} |`;
}

/** The PRs (repo#number) a webhook concerns, for changegate's purposes; [] for events it ignores. */
function prsOf(w: World, h: SimWebhook): string[] {
  const p = h.payload as Record<string, any>;
  const repo = p.repository?.full_name as string;
  if (h.name === "pull_request" || h.name === "pull_request_review")
    return [`${repo}#${p.pull_request.number}`];
  if (h.name === "check_run" && h.action === "completed" && p.check_run.app.id !== w.appId)
    return p.check_run.pull_requests.map((x: { number: number }) => `${repo}#${x.number}`);
  if (h.name === "check_suite" && h.action === "completed" && p.check_suite.app.id !== w.appId)
    return p.check_suite.pull_requests.map((x: { number: number }) => `${repo}#${x.number}`);
  if (h.name === "status") return w.model.openPullsWithHead(repo, p.sha).map((x) => `${repo}#${x.number}`);
  return [];
}

/**
 * Per PR: the time from the last webhook about it being sent to changegate having settled it — its
 * check's final write, or (when the last event changed nothing) the last evidence read for it.
 */
function latencies(w: World, prs: SimPull[], hooks: SimWebhook[], reqs: SimRequest[]): number[] {
  const sent = new Map(w.cg.deliveries.map((d) => [d.id, d.sentAt]));
  const lastSent = new Map<string, number>();
  for (const h of hooks) {
    const at = sent.get(h.id);
    if (at === undefined) continue;
    for (const k of prsOf(w, h)) lastSent.set(k, Math.max(lastSent.get(k) ?? 0, at));
  }
  const lastRead = new Map<string, number>();
  for (const r of reqs) {
    if (r.operation !== "ChangegateEvidence" || r.doneAt === null) continue;
    const k = `${r.repo}#${(r.body as { number?: number }).number}`;
    lastRead.set(k, Math.max(lastRead.get(k) ?? 0, r.doneAt));
  }
  const out: number[] = [];
  for (const pr of prs) {
    const k = `${pr.repo}#${pr.number}`;
    const t0 = lastSent.get(k);
    const run = w.check(pr);
    if (t0 === undefined || !run) continue;
    const finalAt = run.history[run.history.length - 1]!.at;
    out.push(Math.max(finalAt, lastRead.get(k) ?? 0) - t0);
  }
  return out;
}

/** One PR, all evidence in place, then one event: time to the check's final write (and the digest's). */
async function idleSamples(
  w: World,
  n: number,
  gapMs: number,
): Promise<{ check: number[]; digest: number[] }> {
  const org = w.org();
  const { repo } = w.repo({ org });
  const check: number[] = [];
  const digest: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const pr = w.quietly(() => {
      const p = w.model.openPullRequest(repo, { author: "dev" });
      w.model.ci(p, "build", { conclusion: "success" });
      w.model.review(p, { author: "alice" });
      return p;
    });
    const before = w.model.webhooks.length;
    w.model.editPullRequest(pr, { body: `sample ${i}` });
    const hook = w.model.webhooks[before]!;
    await w.settle(60_000);
    const sentAt = w.cg.deliveries.find((d) => d.id === hook.id)!.sentAt;
    const run = w.check(pr);
    const comment = w.digest(pr);
    const commentAt = w.sim.requests.find(
      (r) =>
        r.route === "POST /repos/{owner}/{repo}/issues/{issue_number}/comments" &&
        r.repo === pr.repo &&
        r.path.endsWith(`/issues/${pr.number}/comments`),
    )?.doneAt;
    // The first two warm the installation (token, connections) and are not counted.
    if (i >= 2 && run?.conclusion === "success" && comment && commentAt) {
      check.push(run.history[run.history.length - 1]!.at - sentAt);
      digest.push(commentAt - sentAt);
    }
    // At idle: Probot's write spacing (1 s between writes, 3 s between new comments, per
    // installation) has fully elapsed before the next event.
    await sleep(gapMs);
  }
  return { check, digest };
}

interface BurstFigures {
  prs: number;
  webhooks: number;
  acceptedPerSec: number;
  offeredPerSec: number;
  evaluations: number;
  evalsPerSec: number;
  reads: number;
  writes: number;
  jira: number;
  maxReads: number;
  maxWrites: number;
  ticketEvaluations: number;
  wrong: number;
  lat: number[];
  /** The simulator's own time to answer an evidence query (it shares the machine with changegate). */
  simReadMs: number[];
  locateReads: number;
  settleMs: number;
  deliverySpanMs: number;
}

async function runBurst(w: World, b: Burst, gapMs: number, ticketRepos: Set<string>): Promise<BurstFigures> {
  const seq = w.sim.lastSeq;
  const logFrom = w.cg.logs.length;
  const deliveriesFrom = w.cg.deliveries.length;
  const hooksFrom = w.model.webhooks.length;
  const t0 = Date.now();
  await play(b, gapMs);
  await Promise.all([...w.cg.inFlight]);
  const deliveries = w.cg.deliveries.slice(deliveriesFrom);
  const lastAnswer = Math.max(...deliveries.map((d) => d.answeredAt ?? 0));
  const firstSent = Math.min(...deliveries.map((d) => d.sentAt));
  await w.settle(600_000);
  const settled = Date.now();
  const reqs = w.sim.since(seq);
  const evals = w.cg.logs
    .slice(logFrom)
    .filter((l) => typeof l.msg === "string" && l.msg.startsWith("evaluated "));
  const wrong = (
    await Promise.all(b.prs.map((pr) => mismatches(w.model, w.appId, pr, simTickets(w.sim.jira))))
  ).flat();
  if (wrong.length) console.error(wrong.slice(0, 10));
  const gh = reqs.filter((r) => r.target === "github" && !r.route.includes("access_tokens"));
  const span = (lastAnswer - firstSent) / 1000;
  return {
    prs: b.prs.length,
    webhooks: deliveries.length,
    acceptedPerSec:
      deliveries.filter((d) => d.status !== null && d.status >= 200 && d.status < 300).length / span,
    offeredPerSec:
      deliveries.length / ((Math.max(...deliveries.map((d) => d.sentAt)) - firstSent) / 1000 || 1),
    evaluations: evals.length,
    evalsPerSec: evals.length / ((settled - t0) / 1000),
    reads: gh.filter((r) => r.route === "POST /graphql").length,
    writes: gh.filter((r) => r.method !== "GET" && r.route !== "POST /graphql").length,
    jira: reqs.filter((r) => r.target === "jira").length,
    maxReads: Math.max(0, ...evals.map((l) => Number(l.reads))),
    maxWrites: Math.max(0, ...evals.map((l) => Number(l.writes))),
    ticketEvaluations: evals.filter((l) => ticketRepos.has(String(l.repo))).length,
    wrong: wrong.length,
    lat: latencies(w, b.prs, w.model.webhooks.slice(hooksFrom), reqs),
    simReadMs: gh
      .filter((r) => r.operation === "ChangegateEvidence" && r.doneAt !== null)
      .map((r) => r.doneAt! - r.at),
    locateReads: gh.filter((r) => r.route === "GET /repos/{owner}/{repo}/pulls").length,
    settleMs: settled - t0,
    deliverySpanMs: lastAnswer - firstSent,
  };
}

const TICKETS =
  'tickets:\n  required: true\n  projects: [OPS]\n  allowed_states: ["Approved", "In Progress"]\n';

async function main(): Promise<void> {
  const started = new Date();
  say(`# changegate benchmark`);
  say();
  say(
    `${started.toISOString()} · ${cpus()[0]?.model ?? "cpu"} · nproc ${availableParallelism()} · ${mb(totalmem())} RAM · Node ${process.version}${quick ? " · --quick" : ""}`,
  );
  say();
  if (restOnly || installationsOnly || soakOnly) {
    if (restOnly) await restSection(say);
    if (installationsOnly) await installationsSection(say, quick);
    if (soakOnly) await soakSection(say, quick);
    return;
  }
  if (!burstOnly && !sustainedOnly && !pacedOnly && !hourOnly && !fairOnly) await restSection(say);

  // ---------------------------------------------------------------- 1. idle latency
  const prod = await World.start({ logLevel: "info" });
  const off = await World.start({
    logLevel: "info",
    jira: "cloud",
    env: { CHANGEGATE_THROTTLE: "off", ...(process.env.EXP_ENV ? JSON.parse(process.env.EXP_ENV) : {}) },
  });
  try {
    if (hourOnly) {
      await hourSection();
      return;
    }
    if (fairOnly) {
      await fairSection();
      return;
    }
    if (!burstOnly && !pacedOnly) await idleAndSustained(prod, off);
    if (!burstOnly) await pacedSection(off);
    if (!sustainedOnly && !pacedOnly) {
      await burstSection(prod);
      await hourSection();
      await installationsSection(say, quick);
    }
    say(`## 4. Peak RSS of the changegate process`);
    say();
    say(`| process | peak RSS |`);
    say(`| --- | --- |`);
    say(`| production limits (sections 1 and 3) | ${mb(prod.cg.peakRss)} |`);
    if (!burstOnly)
      say(
        `| throttling off, Jira on (sections ${pacedOnly ? "2b" : "1, 2 and 2b"}) | ${mb(off.cg.peakRss)} |`,
      );
    say();
    say(
      `Command: \`npm run bench${quick ? " -- --quick" : ""}${burstOnly ? " -- --burst-only" : ""}${pacedOnly ? " -- --paced-only" : ""}${sustainedOnly ? " -- --sustained-only" : ""}\`${process.env.CHANGEGATE_E2E_ENTRY ? ` (CHANGEGATE_E2E_ENTRY=${process.env.CHANGEGATE_E2E_ENTRY})` : ""}; ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s.`,
    );
  } finally {
    await prod.stop();
    await off.stop();
  }
}

async function idleAndSustained(prod: World, off: World): Promise<void> {
  {
    const n = quick ? 8 : 30;
    const on = sustainedOnly ? { check: [], digest: [] } : await idleSamples(prod, n, 3100);
    const unthrottled = await idleSamples(off, n, 100);
    say(`## 1. One PR at idle: webhook sent → changegate's write reaches GitHub`);
    say();
    say(`| | samples | p50 | p95 | p99 | max |`);
    say(`| --- | --- | --- | --- | --- | --- |`);
    say(latencyRow("check, throttling on (production)", on.check));
    say(latencyRow("digest, throttling on (production)", on.digest));
    say(latencyRow("check, throttling off (changegate's own overhead)", unthrottled.check));
    say(latencyRow("digest, throttling off", unthrottled.digest));
    say();

    // ---------------------------------------------------------------- 2. sustained throughput
    const nPrs = quick ? 40 : 200;
    const nOrgs = quick ? 4 : 10;
    say(
      `## 2. Sustained load, throttling off: ${nPrs} PRs in ${nOrgs} installations (half the repositories require Jira tickets)`,
    );
    say();
    say(
      `| round gap | webhooks | offered/s | accepted/s | evaluations | evaluations/s | latency p50 / p95 / p99 | GitHub reads/eval | writes/eval | max reads, writes in one eval | REST PR lookups (locate) | Jira req/eval (ticket PRs) | PRs wrong at the end | settle | simulator's own read time p50 / p95 |`,
    );
    say(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    for (const [k, gap] of (quick ? [200] : [1000, 400, 150]).entries()) {
      const ticketRepos = new Set<string>();
      for (let i = 0; i < nPrs; i++)
        off.sim.jira.setIssue(`OPS-${k * 10000 + i + 1}`, i % 5 === 0 ? "To Do" : "In Progress");
      const b = burst(off, {
        prs: nPrs,
        orgs: nOrgs,
        reposPerOrg: 2,
        seed: 100 + k,
        policies: [TICKETS, null],
        titlePrefix: (i, repo) => {
          if (!repo.files.has(".github/changegate.yml")) return "";
          ticketRepos.add(repo.fullName);
          return `OPS-${k * 10000 + i + 1} `;
        },
      });
      const r = await runBurst(off, b, gap, ticketRepos);
      say(
        `| ${gap} ms | ${r.webhooks} | ${f1(r.offeredPerSec)} | ${f1(r.acceptedPerSec)} | ${r.evaluations} | ${f1(r.evalsPerSec)} | ${ms(pct(r.lat, 50))} / ${ms(pct(r.lat, 95))} / ${ms(pct(r.lat, 99))} | ${f2(r.reads / r.evaluations)} | ${f2(r.writes / r.evaluations)} | ${r.maxReads}, ${r.maxWrites} | ${r.locateReads} | ${f2(r.jira / Math.max(1, r.ticketEvaluations))} | ${r.wrong} of ${r.prs} | ${(r.settleMs / 1000).toFixed(1)} s | ${ms(pct(r.simReadMs, 50))} / ${ms(pct(r.simReadMs, 95))} |`,
      );
    }
    say();
  }
}

async function burstSection(prod: World): Promise<void> {
  {
    // ---------------------------------------------------------------- 3. the 50-PR burst, throttling on
    const bigN = quick ? 12 : 50;
    say(`## 3. ${bigN} PRs × ~5 events in one installation, throttling on (production)`);
    say();
    const b = burst(prod, { prs: bigN, orgs: 1, reposPerOrg: 3, seed: 7 });
    const seq = prod.sim.lastSeq;
    const logFrom = prod.cg.logs.length;
    const hooksFrom = prod.model.webhooks.length;
    const t0 = Date.now();
    await play(b, 50);
    const playedAt = Date.now();
    // Watch from the end of the burst: the first moment every PR shows what its evidence says (and
    // keeps showing it until changegate is idle).
    let allCorrectAt = 0;
    // The issue's figure is the checks (what branch protection reads); digests trail them, since
    // Probot spaces new comments 3 s apart.
    let checksCorrectAt = 0;
    let done = false;
    const watcher = (async () => {
      while (!done) {
        const wrong = (await Promise.all(b.prs.map((pr) => mismatches(prod.model, prod.appId, pr)))).flat();
        if (wrong.length === 0 && prod.cg.inFlight.size === 0) allCorrectAt ||= Date.now();
        else allCorrectAt = 0;
        if (!wrong.some((m) => !/digest/.test(m.problem))) checksCorrectAt ||= Date.now();
        else checksCorrectAt = 0;
        await sleep(250);
      }
    })();
    await prod.settle(900_000);
    done = true;
    await watcher;
    const settledAt = Date.now();
    const wrongAtEnd = (await Promise.all(b.prs.map((pr) => mismatches(prod.model, prod.appId, pr)))).flat();
    const reqs = prod.sim.since(seq);
    const writes = reqs.filter(
      (r) =>
        r.target === "github" &&
        r.method !== "GET" &&
        r.route !== "POST /graphql" &&
        !r.route.includes("access_tokens"),
    );
    const reads = reqs.filter((r) => r.route === "POST /graphql").length;
    const evals = prod.cg.logs
      .slice(logFrom)
      .filter((l) => typeof l.msg === "string" && l.msg.startsWith("evaluated "));
    // Every evaluation, including those superseded before they wrote (their writes dropped).
    const finished = prod.cg.logs.slice(logFrom).filter((l) => l.msg === "evaluation finished");
    const firstSent = Math.min(...prod.cg.deliveries.filter((d) => d.sentAt >= t0).map((d) => d.sentAt));
    const correctAfter = (allCorrectAt || settledAt) - firstSent;
    const checksCorrectAfter = (checksCorrectAt || settledAt) - firstSent;
    // Probot's throttling spaces writes 1 s apart per installation, and content-creating writes (a new
    // comment) 3 s apart: the least time the writes can take.
    const created = writes.filter(
      (r) => r.route === "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ).length;
    // Issue 14's floors: 1 s × the writes needed (a check per PR; a check and a digest per PR), and
    // 0.75 s × new comments (80 per minute).
    const checksFloor = bigN * 1000;
    const issueFloor = Math.max(bigN * 2 * 1000, bigN * 750);
    const madeFloor = Math.max(writes.length * 1000, created * 750);
    const writeGaps = writes.slice(1).map((r, i) => r.at - writes[i]!.at);
    const lat = latencies(prod, b.prs, prod.model.webhooks.slice(hooksFrom), reqs);
    say(`| figure | value |`);
    say(`| --- | --- |`);
    say(
      `| events (person/CI actions) | ${b.actions} (${f1(b.actions / bigN)} per PR); ${prod.cg.deliveries.filter((d) => d.sentAt >= t0).length} webhooks, played over ${((playedAt - t0) / 1000).toFixed(1)} s |`,
    );
    say(
      `| evaluations | ${finished.length}, of which ${evals.length} published (${reads} reads: ${f2(reads / finished.length)} per evaluation) |`,
    );
    say(
      `| writes made | ${writes.length} (${f2(writes.length / evals.length)} per published evaluation; ${writes.filter((r) => r.route.includes("check-runs")).length} check-run writes, ${writes.filter((r) => r.route.includes("comments")).length} comment writes of which ${created} new digests) |`,
    );
    say(
      `| time until every PR's final check was correct | ${(checksCorrectAfter / 1000).toFixed(1)} s → ratio ${f2(checksCorrectAfter / checksFloor)} to its floor, 1 s × ${bigN} checks (${(checksFloor / 1000).toFixed(0)} s) |`,
    );
    say(
      `| time until every PR's check and digest were correct | ${(correctAfter / 1000).toFixed(1)} s → ratio ${f2(correctAfter / issueFloor)} to its floor, max(1 s × 2 per PR, 0.75 s × 1 new comment per PR) (${(issueFloor / 1000).toFixed(0)} s) |`,
    );
    say(
      `| floor of the writes changegate made: max(1 s × ${writes.length}, 0.75 s × ${created} new comments) | ${(madeFloor / 1000).toFixed(0)} s → ratio ${f2(correctAfter / madeFloor)} |`,
    );
    say(
      `| gaps between consecutive writes (min / p50) | ${ms(Math.min(...writeGaps))} / ${ms(pct(writeGaps, 50))} |`,
    );
    say(
      `| writes refused by the simulator's enforced limits (80/min, 500/h, early after retry-after) | ${prod.sim.writeLimits.violations.length} |`,
    );
    say(
      `| per-PR latency, last event → final check (p50 / p95 / p99) | ${ms(pct(lat, 50))} / ${ms(pct(lat, 95))} / ${ms(pct(lat, 99))} |`,
    );
    say(`| PRs wrong at the end | ${wrongAtEnd.length} of ${bigN} |`);
    say();
    await secondaryMidBurst(prod);
  }
}

/** 3b. A secondary-limit answer injected mid-burst: nothing lost, nothing sent before retry-after. */
async function secondaryMidBurst(prod: World): Promise<void> {
  const n = quick ? 6 : 20;
  const retryAfter = 5;
  const b = burst(prod, { prs: n, orgs: 1, reposPerOrg: 2, seed: 21 });
  const installationId = b.installations[0]!.id;
  const seq = prod.sim.lastSeq;
  const violationsBefore = prod.sim.writeLimits.violations.length;
  const fault = prod.sim.fault({
    route: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    installationId,
    kind: "secondary",
    retryAfterSeconds: retryAfter,
    after: Math.floor(n / 3),
    times: 1,
  });
  await play(b, 50);
  await prod.settle(900_000);
  const wrong = (await Promise.all(b.prs.map((pr) => mismatches(prod.model, prod.appId, pr)))).flat();
  const writes = prod.sim.since(
    seq,
    (r) =>
      r.target === "github" &&
      r.installationId === installationId &&
      r.method !== "GET" &&
      r.route !== "POST /graphql",
  );
  const limited = writes.findIndex((r) => r.fault === "secondary");
  const nextGap = limited >= 0 && writes[limited + 1] ? writes[limited + 1]!.at - writes[limited]!.at : NaN;
  say(
    `## 3b. ${n} PRs in one installation, a secondary-limit answer (retry-after ${retryAfter} s) injected mid-burst`,
  );
  say();
  say(`| figure | value |`);
  say(`| --- | --- |`);
  say(`| secondary-limit answers injected | ${fault.hits} |`);
  say(
    `| next write of the installation after it | ${ms(nextGap)} later (retry-after ${retryAfter * 1000} ms) |`,
  );
  say(
    `| writes refused for coming early or over a window | ${prod.sim.writeLimits.violations.length - violationsBefore} |`,
  );
  say(`| PRs wrong at the end (a lost write would leave one wrong) | ${wrong.length} of ${n} |`);
  say();
}

/**
 * 2b. Webhooks at a steady pace, throttling off: the steps of a 200-PR burst are run just in time
 * and their webhooks delivered at `rate` per second (held, then sent on a clock). Per webhook that
 * concerns a PR, the added latency is from its sending to the end of the first evaluation of that PR
 * that started after changegate had answered it (so it saw the event): changegate's own time, the
 * simulator's answers included.
 */
async function paced(
  w: World,
  b: Burst,
  rate: number,
): Promise<{
  sent: number;
  acceptedPerSec: number;
  offeredPerSec: number;
  evalsPerSec: number;
  lat: number[];
  wrong: number;
  settleMs: number;
  durations: number[];
}> {
  const steps = b.rounds.flat();
  const seqFrom = w.sim.lastSeq;
  const logFrom = w.cg.logs.length;
  const deliveriesFrom = w.cg.deliveries.length;
  w.autoDeliver = false;
  const hooks: SimWebhook[] = [];
  // The simulator and driver share this process: its own stalls delay every answer changegate waits for.
  const benchLoop = monitorEventLoopDelay({ resolution: 10 });
  benchLoop.enable();
  const t0 = performance.now();
  let i = 0;
  try {
    for (;;) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1 - hooks.length;
      for (let k = 0; k < due; k++) {
        while (w.held.length === 0 && i < steps.length) steps[i++]!();
        const h = w.held.shift();
        if (!h) break;
        hooks.push(h);
        void w.cg.deliver(h.name, h.payload, { id: h.id });
      }
      if (w.held.length === 0 && i >= steps.length) break;
      await sleep(2);
    }
  } finally {
    w.autoDeliver = true;
  }
  await Promise.all([...w.cg.inFlight]);
  benchLoop.disable();
  const deliveries = w.cg.deliveries.slice(deliveriesFrom);
  const cpuBench = process.cpuUsage();
  const firstSent = Math.min(...deliveries.map((d) => d.sentAt));
  const lastAnswer = Math.max(...deliveries.map((d) => d.answeredAt ?? 0));
  const lastSent = Math.max(...deliveries.map((d) => d.sentAt));
  await w.settle(600_000);
  {
    const reqs = w.sim.since(seqFrom).filter((r) => r.target === "github" && r.doneAt !== null);
    const reads = reqs.filter((r) => r.route === "POST /graphql").map((r) => r.doneAt! - r.at);
    const writes = reqs
      .filter((r) => r.method !== "GET" && r.route !== "POST /graphql")
      .map((r) => r.doneAt! - r.at);
    const jira = w.sim
      .since(seqFrom)
      .filter((r) => r.target === "jira" && r.doneAt !== null)
      .map((r) => r.doneAt! - r.at);
    const created = new Map<number, number>();
    for (const r of reqs)
      if (
        r.method === "POST" &&
        (r.route.endsWith("/check-runs") || r.route.endsWith("/comments")) &&
        r.status !== null &&
        r.status < 300
      )
        created.set(r.installationId!, (created.get(r.installationId!) ?? 0) + 1);
    console.error(
      `rate ${rate}: creations per installation ${JSON.stringify([...created.values()])}; violations ${JSON.stringify(w.sim.writeLimits.violations.slice(-5))} total ${w.sim.writeLimits.violations.length}`,
    );
    console.error(
      `rate ${rate}: sim graphql p50/p95 ${pct(reads, 50)}/${pct(reads, 95)} ms (${reads.length}); writes ${pct(writes, 50)}/${pct(writes, 95)} (${writes.length}); jira ${pct(jira, 50)}/${pct(jira, 95)} (${jira.length}); bench cpu user+sys ${((cpuBench.user + cpuBench.system) / 1e6).toFixed(1)} s; the simulator's own event-loop delay p99 / max ${(benchLoop.percentile(99) / 1e6).toFixed(0)} / ${(benchLoop.max / 1e6).toFixed(0)} ms`,
    );
  }
  if (process.env.BENCH_DUMP)
    (await import("node:fs")).writeFileSync(
      `/tmp/paced-cg-${rate}.jsonl`,
      w.cg.logs
        .slice(logFrom)
        .map((l) => JSON.stringify(l))
        .join("\n"),
    );
  const wrong = (
    await Promise.all(b.prs.map((pr) => mismatches(w.model, w.appId, pr, simTickets(w.sim.jira))))
  ).flat();
  if (wrong.length) console.error(wrong.slice(0, 10));
  if (wrong.length && process.env.BENCH_DUMP) {
    const orgs = new Set(wrong.map((x) => x.pr.split("/")[0]));
    const lines = w.cg.logs
      .slice(logFrom)
      .filter((l) => l.level >= 40 || [...orgs].some((o) => JSON.stringify(l).includes(o!)));
    (await import("node:fs")).writeFileSync(
      "/tmp/bench-wrong-logs.json",
      lines.map((l) => JSON.stringify(l)).join("\n"),
    );
    const inst = new Set(
      w.sim
        .since(seqFrom)
        .filter((r) => r.target === "github" && r.installationId !== null && r.status === 403)
        .map((r) => r.installationId),
    );
    (await import("node:fs")).writeFileSync(
      "/tmp/bench-wrong-reqs.json",
      JSON.stringify({
        violations: w.sim.writeLimits.violations,
        reqs: w.sim
          .since(seqFrom)
          .filter((r) => inst.has(r.installationId))
          .map((r) => ({
            at: r.at,
            route: r.route,
            method: r.method,
            status: r.status,
            op: r.operation,
            inst: r.installationId,
            fault: r.fault,
          })),
      }),
    );
  }
  const evals = w.cg.logs.slice(logFrom).filter((l) => l.msg === "evaluation finished");
  // An evaluation carries the delivery id of the newest request it serves (coalesced requests keep
  // the newest): it saw every webhook of its PR sent no later than that delivery.
  const sentAt = new Map(w.cg.deliveries.map((d) => [d.id, d.sentAt]));
  const byPr = new Map<string, { served: number; end: number }[]>();
  for (const l of evals) {
    const served = sentAt.get(String(l.delivery));
    if (served === undefined) continue;
    const k = `${l.repo}#${l.pr}`;
    const list = byPr.get(k) ?? [];
    list.push({ served, end: Number(l.time) });
    byPr.set(k, list);
  }
  const answered = new Map(deliveries.map((d) => [d.id, d]));
  const lat: number[] = [];
  const latDump: { t: number; name: string; lat: number }[] = [];
  for (const h of hooks) {
    const d = answered.get(h.id);
    if (!d || d.status === null || d.status < 200 || d.status >= 300) continue;
    for (const k of prsOf(w, h)) {
      const ends = (byPr.get(k) ?? []).filter((x) => x.served >= d.sentAt).map((x) => x.end);
      if (ends.length) {
        lat.push(Math.min(...ends) - d.sentAt);
        if (process.env.BENCH_DUMP)
          latDump.push({
            t: d.sentAt - firstSent,
            name: `${h.name}.${h.action ?? ""}`,
            lat: Math.min(...ends) - d.sentAt,
          });
      }
    }
  }
  if (process.env.BENCH_DUMP)
    (await import("node:fs")).writeFileSync(`/tmp/paced-lat-${rate}.json`, JSON.stringify(latDump));
  const span = (lastAnswer - firstSent) / 1000;
  return {
    sent: deliveries.length,
    offeredPerSec: deliveries.length / ((lastSent - firstSent) / 1000 || 1),
    acceptedPerSec:
      deliveries.filter((d) => d.status !== null && d.status >= 200 && d.status < 300).length / span,
    evalsPerSec: evals.length / ((Date.now() - firstSent) / 1000),
    lat,
    wrong: wrong.length,
    settleMs: Date.now() - firstSent,
    durations: evals.map((l) => Number(l.durationMs)),
  };
}

async function pacedSection(off: World): Promise<void> {
  const nPrs = quick ? 40 : 200;
  const paces = process.env.BENCH_PACES
    ? process.env.BENCH_PACES.split(",").map(Number)
    : quick
      ? [100]
      : [100, 200, 300];
  say(
    `## 2b. Webhooks at a steady pace, throttling off: ${nPrs} PRs in 10 installations, their ~${nPrs * 11} webhooks sent on a clock`,
  );
  say();
  say(
    `| pace | webhooks | offered/s | accepted/s | evaluations/s | added latency p50 / p95 / p99 (webhook sent → end of the evaluation that saw it) | evaluation's own duration p50 / p95 | PRs wrong at the end | idle again after the last webhook |`,
  );
  say(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  // A process just started compiles its code and signs its first installation tokens while the
  // first webhooks arrive: that is a start-up figure, not the steady pace's. A process that ran
  // sections 1 and 2 is warm already; alone (--paced-only), a short round warms it first, and its
  // figures are printed as the cold start.
  const cold = pacedOnly ? await warmUp(off, nPrs) : null;
  for (const [k, rate] of paces.entries()) {
    for (let i = 0; i < nPrs; i++)
      off.sim.jira.setIssue(`OPS-${50000 + k * 10000 + i + 1}`, i % 5 === 0 ? "To Do" : "In Progress");
    const b = burst(off, {
      prs: nPrs,
      orgs: quick ? 4 : 10,
      reposPerOrg: 2,
      seed: 300 + k,
      policies: [TICKETS, null],
      titlePrefix: (i, repo) =>
        repo.files.has(".github/changegate.yml") ? `OPS-${50000 + k * 10000 + i + 1} ` : "",
    });
    const lastSentBefore = off.cg.deliveries.length;
    const r = await paced(off, b, rate);
    const lastSent = Math.max(...off.cg.deliveries.slice(lastSentBefore).map((d) => d.sentAt));
    say(
      `| ${rate}/s | ${r.sent} | ${f1(r.offeredPerSec)} | ${f1(r.acceptedPerSec)} | ${f1(r.evalsPerSec)} | ${ms(pct(r.lat, 50))} / ${ms(pct(r.lat, 95))} / ${ms(pct(r.lat, 99))} (${r.lat.length} webhooks) | ${ms(pct(r.durations, 50))} / ${ms(pct(r.durations, 95))} | ${r.wrong} of ${nPrs} | ${((r.settleMs - (lastSent - Math.min(...off.cg.deliveries.slice(lastSentBefore).map((d) => d.sentAt)))) / 1000).toFixed(1)} s |`,
    );
  }
  say();
  if (cold)
    say(
      `Cold start (--paced-only: the process had just started): a first round of ${cold.prs} PRs in other installations at 50/s, unmeasured above, gave p50 / p95 / p99 ${ms(pct(cold.lat, 50))} / ${ms(pct(cold.lat, 95))} / ${ms(pct(cold.lat, 99))} (${cold.lat.length} webhooks).`,
    );
  if (cold) say();
}

/** An unmeasured first round at 50/s (its own installations): the JIT warm and tokens signed. */
async function warmUp(off: World, nPrs: number): Promise<{ prs: number; lat: number[] }> {
  const prs = Math.max(10, Math.round(nPrs / 10));
  for (let i = 0; i < prs; i++) off.sim.jira.setIssue(`OPS-${90000 + i + 1}`, "In Progress");
  const b = burst(off, {
    prs,
    orgs: quick ? 4 : 10,
    reposPerOrg: 2,
    seed: 299,
    policies: [TICKETS, null],
    titlePrefix: (i, repo) => (repo.files.has(".github/changegate.yml") ? `OPS-${90000 + i + 1} ` : ""),
  });
  const r = await paced(off, b, 50);
  return { prs, lat: r.lat };
}

/**
 * 3c. The 600-write hour, on a clock 60× faster (an "hour" of 60 s, a "minute" of 1 s, writes ≥ 17 ms
 * apart; changegate's windows keep their 1 s margin): 300 PRs opened in one installation need 300
 * check runs and 300 digests, 600 creations against GitHub's cap of 500 an hour. The simulator
 * enforces the scaled cap (a refusal is a violation).
 */
async function hourSection(): Promise<void> {
  const n = quick ? 60 : 300;
  const perHour = quick ? 100 : 500;
  const reserve = quick ? 10 : 50;
  const hourMs = 60_000;
  const w = await World.start({
    logLevel: "info",
    sim: { writeLimits: { perMinute: 80, minuteMs: 1000, perHour, hourMs } },
    env: {
      CHANGEGATE_WRITE_LIMITS: JSON.stringify({
        perMinute: 80,
        minuteMs: 2000,
        perHour,
        hourMs: hourMs + 1000,
        checkReserve: reserve,
        minGapMs: 17,
      }),
    },
  });
  try {
    const org = w.org();
    const repos = [w.repo({ org, name: "h0" }).repo, w.repo({ org, name: "h1" }).repo];
    const seq = w.sim.lastSeq;
    const t0 = Date.now();
    const prs = Array.from({ length: n }, (_, i) =>
      w.model.openPullRequest(repos[i % 2]!, { author: "dev" }),
    );
    let checksAt = 0;
    let done = false;
    const watcher = (async () => {
      while (!done) {
        const wrong = (await Promise.all(prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat();
        if (!wrong.some((m) => !/digest/.test(m.problem))) checksAt ||= Date.now();
        await sleep(250);
      }
    })();
    await w.settle(900_000);
    done = true;
    await watcher;
    const wrong = (await Promise.all(prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat();
    const creations = w.sim.since(
      seq,
      (r) =>
        r.method === "POST" &&
        (r.route === "POST /repos/{owner}/{repo}/check-runs" ||
          r.route === "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"),
    );
    let maxInHour = 0;
    for (let a = 0, b = 0; b < creations.length; b++) {
      while (creations[b]!.at - creations[a]!.at >= hourMs) a++;
      maxInHour = Math.max(maxInHour, b - a + 1);
    }
    const checks = creations.filter((r) => r.route.includes("check-runs"));
    const digests = creations.filter((r) => r.route.includes("comments"));
    const lastCheck = Math.max(...checks.map((r) => r.at));
    const waited = digests.filter((r) => r.at > lastCheck).length;
    const warned = w.cg.logs.filter((l) => /near GitHub's hourly cap/.test(String(l.msg))).length;
    say(
      `## 3c. The 600-write hour: ${n} new PRs in one installation (${n} check runs + ${n} digests = ${2 * n} creations against ${perHour} an hour), clock 60× faster`,
    );
    say();
    say(`| figure | value |`);
    say(`| --- | --- |`);
    say(
      `| creations made (check runs / digests) | ${creations.length} (${checks.length} / ${digests.length}) |`,
    );
    say(
      `| most creations in any rolling "hour" (60 s), as GitHub saw them | ${maxInHour} (cap ${perHour}) |`,
    );
    say(`| refused by the simulator's enforced limits | ${w.sim.writeLimits.violations.length} |`);
    say(
      `| every check correct after | ${((checksAt - t0) / 1000).toFixed(1)} s ("minutes": ${((checksAt - t0) / 1000).toFixed(1)}) |`,
    );
    say(
      `| digests created after the last check run (they waited for the "hour" to turn over) | ${waited} of ${digests.length} |`,
    );
    say(`| every check and digest correct after | ${((Date.now() - t0) / 1000).toFixed(1)} s |`);
    say(`| "near GitHub's hourly cap" warnings logged | ${warned} |`);
    say(`| PRs wrong at the end | ${wrong.length} of ${n} |`);
    say();
  } finally {
    await w.stop();
  }
}

/**
 * 5. Fairness between installations: MAX_CONCURRENT_EVALUATIONS=4, one installation ("busy") opens 40
 * PRs whose GraphQL reads meet secondary limits (retry-after 3 s), another ("quiet") opens 5 PRs just
 * after. The quiet installation's latency from opening a PR to its completed check, alone and beside
 * the busy one (the target: within 2× of alone).
 */
async function fairSection(): Promise<void> {
  const busyPrs = quick ? 12 : 40;
  const quietPrs = 5;
  const retryAfter = 3;
  const w = await World.start({
    logLevel: "info",
    env: { CHANGEGATE_THROTTLE: "off", MAX_CONCURRENT_EVALUATIONS: "4" },
  });
  /** Open `n` PRs in `repo` at once; resolves with each one's open → completed check latency (ms). */
  const openAndTime = async (
    repo: Parameters<typeof w.model.openPullRequest>[0],
    n: number,
  ): Promise<number[]> => {
    const t0 = Date.now();
    const prs = Array.from({ length: n }, () => w.model.openPullRequest(repo, { author: "dev" }));
    const at = new Map<number, number>();
    while (at.size < prs.length && Date.now() - t0 < 600_000) {
      for (const pr of prs)
        if (!at.has(pr.number) && w.check(pr)?.status === "completed") at.set(pr.number, Date.now() - t0);
      await sleep(20);
    }
    return prs.map((pr) => at.get(pr.number) ?? NaN);
  };
  try {
    const busy = w.repo({ name: "busy" });
    const quiet = w.repo({ name: "quiet" });
    // Warm up (first token, first read of each installation), then measure the quiet one alone.
    await openAndTime(quiet.repo, 1);
    await openAndTime(busy.repo, 1);
    await w.settle(600_000);
    const alone = await openAndTime(quiet.repo, quietPrs);
    await w.settle(600_000);
    const fault = w.sim.fault({
      route: "POST /graphql",
      installationId: busy.installation.id,
      kind: "secondary",
      retryAfterSeconds: retryAfter,
      times: busyPrs,
    });
    const busyDone = openAndTime(busy.repo, busyPrs);
    await sleep(300);
    const beside = await openAndTime(quiet.repo, quietPrs);
    const busyLat = await busyDone;
    await w.settle(600_000);
    say(
      `## 5. Fairness: ${busyPrs} PRs of one installation whose reads meet secondary limits (retry-after ${retryAfter} s), ${quietPrs} of another, MAX_CONCURRENT_EVALUATIONS=4`,
    );
    say();
    say(`| figure | PRs | p50 | p95 | max |`);
    say(`| --- | --- | --- | --- | --- |`);
    say(
      `| quiet installation alone: open → completed check | ${alone.length} | ${ms(pct(alone, 50))} | ${ms(pct(alone, 95))} | ${ms(Math.max(...alone))} |`,
    );
    say(
      `| quiet installation beside the busy one | ${beside.length} | ${ms(pct(beside, 50))} | ${ms(pct(beside, 95))} | ${ms(Math.max(...beside))} |`,
    );
    say(
      `| busy installation (its reads paused) | ${busyLat.length} | ${ms(pct(busyLat, 50))} | ${ms(pct(busyLat, 95))} | ${ms(Math.max(...busyLat))} |`,
    );
    say();
    say(
      `Secondary-limit answers given to the busy installation: ${fault.hits}. Quiet p95 beside / alone: ${f2(pct(beside, 95) / pct(alone, 95))}× (target ≤ 2×).`,
    );
    say();
  } finally {
    await w.stop();
  }
}

await main();
