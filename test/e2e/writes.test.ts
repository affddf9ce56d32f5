/**
 * The write scheduler in production settings (a real changegate process against the simulator,
 * which enforces GitHub's write limits: test/sim/write-limits.ts). A burst in one installation:
 * writes ≥ 1 s apart, checks ahead of digests, a secondary-limit answer injected mid-burst honoured
 * for the whole installation with no write lost; and, on a scaled-down hour, the hourly cap never
 * crossed while checks keep flowing and digests wait. What is asserted is order and limits, never a speed.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { mismatches } from "../sim/oracle.js";
import type { SimRequest } from "../sim/server.js";
import { burst, play } from "../sim/workload.js";
import { World } from "../sim/world.js";

let w: World | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const isWrite = (r: SimRequest) =>
  r.target === "github" &&
  r.method !== "GET" &&
  r.route !== "POST /graphql" &&
  !r.route.includes("access_tokens");
const CHECK_CREATE = "POST /repos/{owner}/{repo}/check-runs";
const COMMENT_CREATE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";

describe("write scheduler (production limits)", () => {
  test("a 10-PR burst with a secondary limit mid-burst: spaced writes, checks first, nothing sent before retry-after, nothing lost", async () => {
    w = await World.start({ logLevel: "info" });
    const b = burst(w, { prs: 10, orgs: 1, reposPerOrg: 2, seed: 11 });
    const installationId = b.installations[0]!.id;
    const seq = w.sim.lastSeq;
    // The 5th digest creation is answered with a secondary limit (retry-after 3 s).
    const fault = w.sim.fault({
      route: COMMENT_CREATE,
      installationId,
      kind: "secondary",
      retryAfterSeconds: 3,
      after: 4,
      times: 1,
    });
    await play(b, 20);
    await w.settle(300_000);
    const world = w;
    const problems = (await Promise.all(b.prs.map((pr) => mismatches(world.model, world.appId, pr)))).flat();
    expect(problems).toEqual([]);
    expect(fault.hits).toBe(1);
    expect(w.sim.writeLimits.violations).toEqual([]);

    const writes = w.sim.since(seq, isWrite).filter((r) => r.installationId === installationId);
    // ≥ 1 s apart (as they reach the simulator; a few ms of jitter between leaving and arriving).
    for (let i = 1; i < writes.length; i++)
      expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(950);
    // Nothing of this installation between the secondary-limit answer and its retry-after.
    const limited = writes.find((r) => r.fault === "secondary")!;
    const next = writes[writes.indexOf(limited) + 1]!;
    expect(next.at - limited.at).toBeGreaterThanOrEqual(3000);
    // Checks first: the first writes of the burst are mostly check runs (the digests queue behind them).
    const comments = writes.filter((r) => r.route.includes("comments"));
    expect(comments.length).toBeGreaterThanOrEqual(10);
    const checksBeforeDigests = writes.slice(0, 8).filter((r) => r.route.includes("check-runs")).length;
    expect(checksBeforeDigests).toBeGreaterThanOrEqual(6);
    // The limited write was sent again (the oracle above found one digest per PR, none missing).
    expect(
      w.cg.logs.some((l) => /rate limit: every write of this installation waits/.test(String(l.msg))),
    ).toBe(true);
  }, 400_000);
});

describe("write scheduler near the hourly cap (a 40 s 'hour' of 10 creations)", () => {
  test("the cap is never crossed; checks go on while digests wait, and it is said", async () => {
    const hourMs = 40_000;
    w = await World.start({
      logLevel: "info",
      sim: { writeLimits: { perMinute: 80, minuteMs: 60_000, perHour: 10, hourMs } },
      // Fewer evaluation slots than PRs: an evaluation whose digest waits for the hour gives its slot
      // back, or the next PRs' checks would wait behind it.
      env: {
        CHANGEGATE_WRITE_LIMITS: JSON.stringify({ perHour: 10, hourMs, checkReserve: 3, minGapMs: 300 }),
        MAX_CONCURRENT_EVALUATIONS: "2",
      },
    });
    const { repo } = w.repo();
    const seq = w.sim.lastSeq;
    const prs = Array.from({ length: 6 }, () => w!.model.openPullRequest(repo, { author: "dev" }));
    await w.settle(300_000);
    const world = w;
    const problems = (await Promise.all(prs.map((pr) => mismatches(world.model, world.appId, pr)))).flat();
    expect(problems).toEqual([]);
    expect(w.sim.writeLimits.violations).toEqual([]);
    const creations = w.sim
      .since(seq, isWrite)
      .filter((r) => r.route === CHECK_CREATE || r.route === COMMENT_CREATE);
    expect(creations.filter((r) => r.route === CHECK_CREATE)).toHaveLength(6);
    expect(creations.filter((r) => r.route === COMMENT_CREATE)).toHaveLength(6);
    // Never more than 10 creations in any 40 s.
    for (let i = 0; i + 10 < creations.length; i++)
      expect(creations[i + 10]!.at - creations[i]!.at).toBeGreaterThanOrEqual(hourMs - 50);
    // Every check was created before the digests that had to wait for the hour to turn over.
    const lastCheck = Math.max(...creations.filter((r) => r.route === CHECK_CREATE).map((r) => r.at));
    const digests = creations.filter((r) => r.route === COMMENT_CREATE).map((r) => r.at);
    expect(digests.filter((t) => t > lastCheck).length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...digests) - creations[0]!.at).toBeGreaterThanOrEqual(hourMs - 50);
    expect(w.cg.logs.some((l) => /near GitHub's hourly cap/.test(String(l.msg)))).toBe(true);
  }, 400_000);
});
