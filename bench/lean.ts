/**
 * Issue 24's bench sections (bench/run.ts calls them):
 *   6. `--installations-only`: 20 installations × 10 PRs at once, production write limits: figures
 *      per installation (each has its own write queue: 1 s between writes, checks first).
 *   7. `--soak-only`: steady mixed traffic (~20 webhooks/s: PRs opened, CI, reviewed, merged, some
 *      Jira moves through the Jira webhook) for BENCH_SOAK_MINUTES (default 20), production write
 *      limits, with changegate's RSS, heap used and open handles sampled each minute; the figure is
 *      how much each grew after the first 5 minutes.
 *   0. RSS at rest: a fresh process, sampled after it has been idle (both sections print it).
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { expectedReport, mismatches, simTickets } from "../test/sim/oracle.js";
import type { SimPull } from "../test/sim/model.js";
import { burst, play } from "../test/sim/workload.js";
import { World } from "../test/sim/world.js";

type Say = (line?: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const load = () => loadavg()[0]!.toFixed(1);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "n/a");

function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** changegate's own view of itself from GET /metrics (prom-client's default process metrics). */
async function selfMetrics(
  w: World,
): Promise<{ heapUsed: number; heapTotal: number; external: number; handles: number }> {
  const text = await (await fetch(`${w.cg.url}/metrics`)).text();
  const val = (name: string) => {
    const m = new RegExp(`^changegate_${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    heapUsed: val("nodejs_heap_size_used_bytes"),
    // What V8 holds from the system for its heap (RSS counts it even when little of it is used).
    heapTotal: val("nodejs_heap_size_total_bytes"),
    external: val("nodejs_external_memory_bytes"),
    handles: val("nodejs_active_handles_total"),
  };
}

/** RSS at rest: a fresh production process, idle for `idleMs` after it listens (V8 shrinks what it does not use). */
export async function restSection(say: Say, idleMs = 45_000): Promise<number> {
  const w = await World.start({ logLevel: "info" });
  try {
    const early = rssOf(w.cg.child.pid);
    await sleep(idleMs);
    const rest = rssOf(w.cg.child.pid);
    say(`## 0. RSS at rest (production settings, SQLite; load average ${load()})`);
    say();
    say(`| figure | value |`);
    say(`| --- | --- |`);
    say(`| just listening | ${mib(early)} |`);
    say(`| after ${idleMs / 1000} s idle | ${mib(rest)} |`);
    say();
    return rest;
  } finally {
    await w.stop();
  }
}

/** 6. Twenty installations × ten PRs at once, production write limits: figures per installation. */
export async function installationsSection(say: Say, quick: boolean): Promise<void> {
  const nInst = quick ? 5 : 20;
  const perInst = 10;
  const w = await World.start({ logLevel: "info" });
  try {
    const loadBefore = load();
    const b = burst(w, { prs: nInst * perInst, orgs: nInst, reposPerOrg: 1, seed: 24 });
    const seq = w.sim.lastSeq;
    const t0 = Date.now();
    // Per installation: when all its PRs first showed what their evidence says (checks; checks and digests).
    const checksAt = new Map<number, number>();
    const allAt = new Map<number, number>();
    let done = false;
    const byInst = new Map<number, SimPull[]>();
    const watcher = (async () => {
      while (!done) {
        for (const [id, prs] of byInst) {
          const wrong = (await Promise.all(prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat();
          if (wrong.some((m) => !/digest/.test(m.problem))) checksAt.delete(id);
          else if (!checksAt.has(id)) checksAt.set(id, Date.now());
          if (wrong.length > 0) allAt.delete(id);
          else if (!allAt.has(id)) allAt.set(id, Date.now());
        }
        await sleep(250);
      }
    })();
    const instOfRepo = new Map(b.repos.map((r, i) => [r.fullName, b.installations[i]!.id]));
    await play(b, 50, (k) => {
      if (k !== 0) return;
      for (const pr of b.prs) {
        const inst = instOfRepo.get(pr.repo)!;
        byInst.set(inst, [...(byInst.get(inst) ?? []), pr]);
      }
    });
    await w.settle(900_000);
    done = true;
    await watcher;
    const settledAt = Date.now();
    const reqs = w.sim.since(seq);
    say(
      `## 6. ${nInst} installations × ${perInst} PRs at once (~5 events each), production write limits (load average ${loadBefore} → ${load()})`,
    );
    say();
    say(
      `Floor per installation: 1 s × ${perInst} checks = ${perInst} s for the checks, 1 s × ${perInst * 2} writes = ${perInst * 2} s for checks and digests (each installation has its own queue).`,
    );
    say();
    say(
      `| installation | PRs | webhooks | reads | check writes | comment writes | checks correct after | checks and digests correct after | wrong at the end |`,
    );
    say(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    const checkTimes: number[] = [];
    const allTimes: number[] = [];
    let k = 0;
    for (const [id, prs] of byInst) {
      const mine = reqs.filter((r) => r.target === "github" && r.installationId === id);
      const hooks = w.cg.deliveries.filter(
        (d) =>
          d.sentAt >= t0 &&
          (JSON.parse(d.body) as { installation?: { id?: number } }).installation?.id === id,
      ).length;
      const wrong = (await Promise.all(prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat().length;
      const c = (checksAt.get(id) ?? settledAt) - t0;
      const a = (allAt.get(id) ?? settledAt) - t0;
      checkTimes.push(c);
      allTimes.push(a);
      say(
        `| ${++k} | ${prs.length} | ${hooks} | ${mine.filter((r) => r.route === "POST /graphql").length} | ${mine.filter((r) => r.route.includes("check-runs") && r.method !== "GET").length} | ${mine.filter((r) => r.route.includes("comments") && r.method !== "GET").length} | ${sec(c)} | ${sec(a)} | ${wrong} |`,
      );
    }
    say();
    say(
      `Across installations: checks correct after p50 ${sec(pct(checkTimes, 50))} / max ${sec(Math.max(...checkTimes))}; checks and digests p50 ${sec(pct(allTimes, 50))} / max ${sec(Math.max(...allTimes))}; writes refused by the simulator's limits: ${w.sim.writeLimits.violations.length}; peak RSS ${mib(w.cg.peakRss)}.`,
    );
    say();
  } finally {
    await w.stop();
  }
}

const TICKETS =
  'tickets:\n  required: true\n  projects: [OPS]\n  allowed_states: ["Approved", "In Progress"]\n';

/** 7. The soak: steady mixed traffic, RSS / heap / open handles each minute. */
export async function soakSection(say: Say, quick: boolean): Promise<void> {
  const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? (quick ? 4 : 20));
  const nInst = 40; // 2 PRs/s × 2 creations each stay under 500/h per installation
  const secret = "jira-soak-secret-0123456789abcdef";
  const w = await World.start({ logLevel: "info", jira: "cloud", jiraWebhookSecret: secret });
  const timers = new Set<NodeJS.Timeout>();
  try {
    const orgs = Array.from({ length: nInst }, () => w.org());
    const repos = orgs.map(
      (org, i) => w.repo({ org, name: "svc", policy: i % 2 === 0 ? TICKETS : null }).repo,
    );
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        try {
          fn();
        } catch {
          // a step on a PR the workload already closed: skip
        }
      }, ms);
      timers.add(t);
    };
    let n = 0;
    /** One PR's life: open, CI starts and ends, a review, sometimes a Jira move, then the merge. */
    const life = () => {
      const i = n++;
      const repo = repos[i % repos.length]!;
      const ticketed = repo.files.has(".github/changegate.yml");
      const key = `OPS-${i + 1}`;
      if (ticketed) w.sim.jira.setIssue(key, i % 4 === 0 ? "To Do" : "In Progress");
      const pr = w.model.openPullRequest(repo, {
        author: `dev${i % 7}`,
        title: `${ticketed ? `${key} ` : ""}Change ${i}`,
      });
      let run: ReturnType<typeof w.model.ci> | null = null;
      later(1_000, () => (run = w.model.ci(pr, "build", { status: "in_progress" })));
      later(3_000, () => w.model.updateCheckRun(run!, { status: "completed", conclusion: "success" }));
      later(4_000, () => void w.model.review(pr, { author: i % 2 ? "alice" : "bob" }));
      if (ticketed && i % 4 === 0) later(6_000, () => void w.sim.jira.setIssue(key, "In Progress"));
      later(9_000, () => {
        if (pr.state === "open") w.model.merge(pr, "alice");
      });
    };
    const prsPerSec = Number(process.env.BENCH_SOAK_PRS_PER_SEC ?? 2);
    const samples: {
      minute: number;
      rss: number;
      heapUsed: number;
      heapTotal: number;
      external: number;
      handles: number;
      hooks: number;
      load: string;
    }[] = [];
    const t0 = Date.now();
    let hooksBefore = w.cg.deliveries.length;
    const pace = setInterval(life, 1000 / prsPerSec);
    try {
      for (let minute = 1; minute <= minutes; minute++) {
        await sleep(t0 + minute * 60_000 - Date.now());
        const m = await selfMetrics(w);
        const hooks = w.cg.deliveries.length - hooksBefore;
        samples.push({ minute, rss: rssOf(w.cg.child.pid), ...m, hooks, load: load() });
        console.error(`soak minute ${minute}: ${JSON.stringify(samples[samples.length - 1])}`);
        // The driver keeps every delivery and log line: drop the old ones (bench memory, not changegate's).
        w.cg.deliveries.splice(0, Math.max(0, w.cg.deliveries.length - 5000));
        w.cg.logs.splice(0, Math.max(0, w.cg.logs.length - 5000));
        hooksBefore = w.cg.deliveries.length;
      }
    } finally {
      clearInterval(pace);
    }
    for (const t of timers) clearTimeout(t);
    await w.settle(600_000);
    say(
      `## 7. Soak: ${minutes} min of steady mixed traffic (${prsPerSec} PRs/s opened, CI, reviewed, merged; ${nInst} installations, half with Jira tickets, 1 in 4 ticket PRs moved in Jira), production write limits`,
    );
    say();
    say(
      `| minute | webhooks that minute (/s) | RSS | heap used | heap held (V8) | outside the heap (RSS − heap held) | external | open handles | load average |`,
    );
    say(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    for (const s of samples)
      say(
        `| ${s.minute} | ${s.hooks} (${(s.hooks / 60).toFixed(1)}) | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.rss - s.heapTotal)} | ${mib(s.external)} | ${s.handles} | ${s.load} |`,
      );
    say();
    const at5 = samples.find((s) => s.minute === 5);
    const last = samples[samples.length - 1];
    if (at5 && last && last !== at5) {
      const rest = samples.filter((s) => s.minute > 5);
      say(
        `After minute 5 (target: no more than 5 MB of growth over the rest): RSS ${mib(last.rss - at5.rss)} (highest ${mib(Math.max(...rest.map((s) => s.rss)) - at5.rss)} above minute 5), heap used ${mib(last.heapUsed - at5.heapUsed)} (highest ${mib(Math.max(...rest.map((s) => s.heapUsed)) - at5.heapUsed)}), heap held ${mib(last.heapTotal - at5.heapTotal)}, outside the heap ${mib(last.rss - last.heapTotal - (at5.rss - at5.heapTotal))}, open handles ${last.handles - at5.handles}.`,
      );
    }
    const wrongOpen = (
      await Promise.all(
        [...w.model.pulls.values()]
          .filter((p) => p.state === "open")
          .map((pr) => mismatches(w.model, w.appId, pr, simTickets(w.sim.jira))),
      )
    ).flat();
    if (wrongOpen.length) console.error(JSON.stringify(wrongOpen.slice(0, 10), null, 1));
    // The first lines where a wrong PR's check summary and what its evidence says part.
    for (const label of [...new Set(wrongOpen.map((x) => x.pr))].slice(0, 3)) {
      const pr = [...w.model.pulls.values()].find((p) => `${p.repo}#${p.number}` === label)!;
      const want = (await expectedReport(w.model, w.appId, pr, simTickets(w.sim.jira)))?.check.summary ?? "";
      const got = (w.check(pr)?.summary ?? "").split("\n");
      const lines = want.split("\n");
      for (let i = 0, shown = 0; i < Math.max(got.length, lines.length) && shown < 4; i++)
        if (got[i] !== lines[i]) {
          shown++;
          console.error(`${label} line ${i}:\n  check:    ${got[i]}\n  evidence: ${lines[i]}`);
        }
    }
    say(
      `PRs opened: ${n}; open PRs wrong at the end: ${wrongOpen.length}; writes refused by the simulator's limits: ${w.sim.writeLimits.violations.length}; peak RSS ${mib(w.cg.peakRss)}.`,
    );
    say();
  } finally {
    for (const t of timers) clearTimeout(t);
    await w.stop();
  }
}
