/**
 * Two changegate processes (`node lib/main.js`) serving one installation, sharing GitHub's write
 * limits through one real redis-server (REDIS_URL): together they stay within the limits the
 * simulator enforces (test/sim/write-limits.ts), on a scaled "minute" so the test is short.
 * Each PR's webhooks go to one process (as a load balancer with sticky routing would; each
 * process keeps its own SQLite audit store here). What is asserted is limits, never a speed.
 */
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { ChangegateProcess } from "../sim/driver.js";
import { mismatches } from "../sim/oracle.js";
import type { SimRequest } from "../sim/server.js";
import { World } from "../sim/world.js";
import { requireRedis, startRedis, type TestRedis } from "../support/redis.js";

const haveRedis = requireRedis(import.meta.url);
const maybe = haveRedis ? test : test.skip;

let redis: TestRedis | null = null;
let w: World | null = null;
let second: ChangegateProcess | null = null;
beforeAll(async () => {
  if (haveRedis) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await second?.stop();
  await w?.stop();
  await redis?.stop();
});

const CHECK_CREATE = "POST /repos/{owner}/{repo}/check-runs";
const COMMENT_CREATE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";
const isWrite = (r: SimRequest) =>
  r.target === "github" &&
  r.method !== "GET" &&
  r.route !== "POST /graphql" &&
  !r.route.includes("access_tokens");

maybe(
  "two replicas with REDIS_URL: the installation's creations stay within the shared per-minute limit, writes stay spaced, nothing lost",
  async () => {
    const minuteMs = 10_000;
    const perMinute = 6;
    const env = {
      REDIS_URL: redis!.url,
      // The app's window is 10 % longer than the simulator's: a creation is stamped when its slot is
      // reserved, and reaches GitHub a little later (the default windows keep a 1 s margin for this).
      CHANGEGATE_WRITE_LIMITS: JSON.stringify({ perMinute, minuteMs: minuteMs + 1000, minGapMs: 400 }),
    };
    w = await World.start({
      logLevel: "info",
      autoDeliver: false,
      sim: { writeLimits: { perMinute, minuteMs, perHour: 500, hourMs: 3_600_000 } },
      env,
    });
    second = await ChangegateProcess.start({
      sim: w.sim,
      appId: w.appId,
      privateKey: w.privateKey,
      webhookSecret: w.secret,
      env,
      logLevel: "info",
    });
    const { repo, installation } = w.repo();
    const seq = w.sim.lastSeq;
    const prs = Array.from({ length: 8 }, () => w!.model.openPullRequest(repo, { author: "dev" }));
    // Sticky routing: a PR's webhooks go to one process, half the PRs to each.
    const procs = [w.cg, second];
    const hooks = w.held.splice(0);
    expect(hooks.length).toBeGreaterThanOrEqual(prs.length);
    await Promise.all(
      hooks.map((h) => {
        const n =
          (h.payload as { pull_request?: { number?: number }; number?: number }).pull_request?.number ?? 0;
        return procs[n % 2]!.deliver(h.name, h.payload, { id: h.id });
      }),
    );
    for (let round = 0; round < 2; round++)
      for (const p of procs) await p.quiesce({ idleMs: 1500, timeoutMs: 240_000 });

    const world = w;
    const problems = (await Promise.all(prs.map((pr) => mismatches(world.model, world.appId, pr)))).flat();
    expect(problems).toEqual([]);
    expect(w.sim.writeLimits.violations).toEqual([]);
    const writes = w.sim.since(seq, isWrite).filter((r) => r.installationId === installation.id);
    const creations = writes.filter((r) => r.route === CHECK_CREATE || r.route === COMMENT_CREATE);
    expect(creations.length).toBeGreaterThanOrEqual(2 * prs.length);
    // Both processes wrote (each served its PRs), and together never more than perMinute in a window.
    for (let i = 0; i + perMinute < creations.length; i++)
      expect(creations[i + perMinute]!.at - creations[i]!.at).toBeGreaterThanOrEqual(minuteMs - 100);
    // Spaced across both replicas: slots are 400 ms apart on Redis's clock. What the simulator sees is
    // arrival, and one replica's timer firing late on a busy CI machine brings two arrivals closer
    // (338 ms and 242 ms seen). Unshared spacing would show two replicas' writes back to back (gaps
    // near 0 ms) about half the time: no gap under 100 ms, and the typical gap is the slot.
    const gaps = writes
      .slice(1)
      .map((r, i) => r.at - writes[i]!.at)
      .sort((a, b) => a - b);
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThanOrEqual(380);
    expect(w.cg.logs.some((l) => /shared through Redis/.test(String(l.msg)))).toBe(true);
    expect(second.logs.some((l) => /shared through Redis/.test(String(l.msg)))).toBe(true);
  },
  400_000,
);
