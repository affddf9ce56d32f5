/**
 * The Redis write limiter against a real redis-server: the same decisions as the in-process one,
 * and two replicas (two schedulers, two Redis connections) serving one installation together stay
 * within one installation's limits. Limits are scaled down (50 ms spacing, 4 creations per 2 s) so
 * the windows turn over within the test; what is asserted is the limits, never a speed.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { RedisWriteLimiter } from "../../src/github/write-limiter-redis.js";
import { GITHUB_WRITE_LIMITS, type WriteLimits } from "../../src/github/write-limits.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { requireRedis, startRedis, type TestRedis } from "../support/redis.js";

const run = requireRedis(import.meta.url);
const d = run ? describe : describe.skip;

const L: WriteLimits = {
  ...GITHUB_WRITE_LIMITS,
  minGapMs: 50,
  perMinute: 4,
  minuteMs: 2000,
  perHour: 6,
  hourMs: 6000,
  checkReserve: 2,
  maxPauseMs: 5000,
};

let redis: TestRedis;
const limiters: RedisWriteLimiter[] = [];
function limiter(prefix: string): RedisWriteLimiter {
  const l = new RedisWriteLimiter(redis.url, L, prefix);
  limiters.push(l);
  return l;
}

beforeAll(async () => {
  if (run) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  await redis?.stop();
});

d("RedisWriteLimiter", () => {
  test("spacing, then the minute window for creations only, then the checks' reserve", async () => {
    const a = limiter("t1");
    expect(await a.acquire(1, { check: true, create: true })).toEqual({ ok: true, hourCount: 1 });
    const spaced = await a.acquire(1, { check: true, create: false });
    expect(spaced).toMatchObject({ ok: false, reason: "spacing" });
    expect((spaced as { waitMs: number }).waitMs).toBeLessThanOrEqual(50);
    // Another installation is not held.
    expect(await a.acquire(2, { check: true, create: true })).toMatchObject({ ok: true });
    for (let i = 2; i <= 4; i++) {
      await new Promise((r) => setTimeout(r, 60));
      expect(await a.acquire(1, { check: true, create: true })).toEqual({ ok: true, hourCount: i });
    }
    await new Promise((r) => setTimeout(r, 60));
    expect(await a.acquire(1, { check: true, create: true })).toMatchObject({
      ok: false,
      reason: "minute",
      hourCount: 4,
    });
    expect(await a.acquire(1, { check: false, create: false })).toMatchObject({ ok: true });
    // 4 creations this "hour" = perHour - checkReserve: digests wait, checks go on (once the minute turns over).
    await new Promise((r) => setTimeout(r, 2100));
    expect(await a.acquire(1, { check: false, create: true })).toMatchObject({
      ok: false,
      reason: "reserve",
    });
    expect(await a.acquire(1, { check: true, create: true })).toEqual({ ok: true, hourCount: 5 });
  }, 20_000);

  test("a pause holds every write of the installation, for every replica", async () => {
    const a = limiter("t2");
    const b = limiter("t2");
    await a.pause(7, Date.now() + 1000);
    expect(await b.acquire(7, { check: true, create: false })).toMatchObject({ ok: false, reason: "paused" });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await b.acquire(7, { check: true, create: false })).toMatchObject({ ok: true });
  }, 20_000);

  test("two replicas serving one installation: writes spaced and creations within the windows, all sent", async () => {
    const sent: { at: number; create: boolean; replica: string }[] = [];
    const schedulers = ["a", "b"].map((name) => ({
      name,
      s: new WriteScheduler({ limiter: limiter("t3"), limits: L, log: () => undefined }),
    }));
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      for (const { name, s } of schedulers) {
        const create = i % 2 === 0;
        all.push(
          s.submit({
            installationId: 9,
            check: true,
            create,
            stale: () => false,
            send: async () => void sent.push({ at: Date.now(), create, replica: name }),
          }),
        );
      }
    }
    await Promise.all(all);
    expect(sent).toHaveLength(16);
    expect(new Set(sent.map((x) => x.replica))).toEqual(new Set(["a", "b"]));
    const times = sent.map((x) => x.at).sort((p, q) => p - q);
    // Redis reserves each slot; the local clock sees it a few ms later at most.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(40);
    const creations = sent
      .filter((x) => x.create)
      .map((x) => x.at)
      .sort((p, q) => p - q);
    for (let i = 0; i + L.perMinute < creations.length; i++)
      expect(creations[i + L.perMinute]! - creations[i]!).toBeGreaterThanOrEqual(L.minuteMs - 20);
    for (let i = 0; i + L.perHour < creations.length; i++)
      expect(creations[i + L.perHour]! - creations[i]!).toBeGreaterThanOrEqual(L.hourMs - 20);
  }, 60_000);
});
