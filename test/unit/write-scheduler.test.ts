/**
 * The write scheduler and its limits, on a fake clock (jest's modern fake timers move Date.now and
 * setTimeout together): order, spacing, windows, the checks' reserve, secondary-limit pauses, and
 * superseded writes. No figure here is a speed: every time asserted is the fake clock's.
 */
import { loadSettings } from "../../src/settings.js";
import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import {
  decide,
  GITHUB_WRITE_LIMITS,
  MemoryWriteLimiter,
  type WriteLimits,
} from "../../src/github/write-limits.js";
import { WriteScheduler, WriteSuperseded } from "../../src/github/write-scheduler.js";

const L: WriteLimits = {
  ...GITHUB_WRITE_LIMITS,
  minGapMs: 1000,
  perMinute: 5,
  minuteMs: 60_000,
  perHour: 8,
  hourMs: 3_600_000,
  checkReserve: 3,
};

describe("decide (pure)", () => {
  const fresh = { lastAt: null, pausedUntil: 0, creations: [] as number[] };
  test("the first write goes; the next waits for the 1 s spacing", () => {
    expect(decide(L, fresh, { check: true, create: true }, 10_000)).toEqual({ ok: true, hourCount: 1 });
    expect(decide(L, { ...fresh, lastAt: 9_400 }, { check: true, create: false }, 10_000)).toEqual({
      ok: false,
      waitMs: 400,
      reason: "spacing",
      hourCount: 0,
    });
  });
  test("a pause holds every write, updates too", () => {
    expect(
      decide(L, { ...fresh, pausedUntil: 15_000 }, { check: true, create: false }, 10_000),
    ).toMatchObject({ ok: false, reason: "paused", waitMs: 5000 });
  });
  test("the rolling minute holds creations only, until its oldest creation leaves it", () => {
    const creations = [1000, 2000, 3000, 4000, 5000];
    expect(decide(L, { ...fresh, creations }, { check: true, create: true }, 10_000)).toEqual({
      ok: false,
      waitMs: 51_000,
      reason: "minute",
      hourCount: 5,
    });
    expect(decide(L, { ...fresh, creations }, { check: true, create: false }, 10_000).ok).toBe(true);
    expect(decide(L, { ...fresh, creations }, { check: true, create: true }, 61_001).ok).toBe(true);
  });
  test("the rolling hour caps creations; near it digests wait and checks go on", () => {
    const five = [0, 100_000, 200_000, 300_000, 400_000];
    // 5 of 8 this hour = perHour - checkReserve: a digest creation waits until the oldest leaves the hour
    expect(decide(L, { ...fresh, creations: five }, { check: false, create: true }, 500_000)).toEqual({
      ok: false,
      waitMs: 3_100_000,
      reason: "reserve",
      hourCount: 5,
    });
    expect(decide(L, { ...fresh, creations: five }, { check: true, create: true }, 500_000)).toEqual({
      ok: true,
      hourCount: 6,
    });
    expect(decide(L, { ...fresh, creations: five }, { check: false, create: false }, 500_000).ok).toBe(true);
    const eight = [...five, 500_000, 600_000, 700_000];
    expect(decide(L, { ...fresh, creations: eight }, { check: true, create: true }, 800_000)).toMatchObject({
      ok: false,
      reason: "hour",
      waitMs: 2_800_000,
    });
  });
});

const writeLimitsFromEnv = (env: Record<string, string>) => loadSettings(env, ["writes"]).writes.limits;

describe("writeLimitsFromEnv", () => {
  test("unset: GitHub's documented limits", () => {
    expect(writeLimitsFromEnv({})).toEqual(GITHUB_WRITE_LIMITS);
    // GitHub's 80 a minute and 500 an hour, each window kept 1 s longer for the time a write spends in transit.
    expect(GITHUB_WRITE_LIMITS).toMatchObject({
      minGapMs: 1000,
      perMinute: 80,
      minuteMs: 61_000,
      perHour: 500,
      hourMs: 3_601_000,
    });
  });
  test("overrides are checked, with a message naming the key", () => {
    expect(writeLimitsFromEnv({ CHANGEGATE_WRITE_LIMITS: '{"perHour": 60, "hourMs": 60000}' })).toMatchObject(
      { perHour: 60, hourMs: 60_000, perMinute: 80 },
    );
    expect(() => writeLimitsFromEnv({ CHANGEGATE_WRITE_LIMITS: "{nope" })).toThrow(/not JSON/);
    expect(() => writeLimitsFromEnv({ CHANGEGATE_WRITE_LIMITS: '{"perHour": -1}' })).toThrow(/perHour/);
    expect(() => writeLimitsFromEnv({ CHANGEGATE_WRITE_LIMITS: '{"perhour": 5}' })).toThrow(
      /CHANGEGATE_WRITE_LIMITS/,
    );
    expect(() =>
      writeLimitsFromEnv({ CHANGEGATE_WRITE_LIMITS: '{"perHour": 5, "checkReserve": 5}' }),
    ).toThrow(/checkReserve/);
  });
});

describe("WriteScheduler", () => {
  const warnings: string[] = [];
  const log = { warn: (_o: unknown, m?: string) => void warnings.push(m ?? ""), info: () => {} };
  let sent: { name: string; at: number }[];

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    sent = [];
    warnings.length = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function scheduler(limits: WriteLimits = L): WriteScheduler {
    return new WriteScheduler({ limiter: new MemoryWriteLimiter(limits), limits, log: () => log });
  }
  function write(
    s: WriteScheduler,
    name: string,
    o: {
      check: boolean;
      create: boolean;
      stale?: () => boolean;
      fail?: () => unknown;
      installationId?: number;
    },
  ) {
    return s.submit({
      installationId: o.installationId ?? 1,
      check: o.check,
      create: o.create,
      stale: o.stale ?? (() => false),
      send: async () => {
        const failure = o.fail?.();
        if (failure) throw failure;
        sent.push({ name, at: Date.now() });
        return { data: name };
      },
    });
  }

  test("checks go before digests, newest first, every write ≥ 1 s after the previous one", async () => {
    const s = scheduler();
    const all = [
      write(s, "digest-1", { check: false, create: false }),
      write(s, "check-1", { check: true, create: false }),
      write(s, "digest-2", { check: false, create: false }),
      write(s, "check-2", { check: true, create: false }),
      write(s, "check-3", { check: true, create: false }),
    ];
    expect(s.depth()).toBe(5);
    await jest.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    // The first submitted goes at once (nothing else queued yet); then checks, newest first, then digests.
    expect(sent.map((x) => x.name)).toEqual(["digest-1", "check-3", "check-2", "check-1", "digest-2"]);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    expect(s.depth()).toBe(0);
  });

  test("spacing counts from when a write left, not when it was meant to: a slow first send does not crowd the next", async () => {
    const s = scheduler();
    const left: number[] = [];
    // The first write spends 300 ms on its token and hooks before it goes onto the wire; the second none.
    const send = (delayMs: number) => async (leaving: () => void) => {
      await new Promise((r) => setTimeout(r, delayMs));
      leaving();
      left.push(Date.now());
      return { data: null };
    };
    const a = s.submit({
      installationId: 1,
      check: true,
      create: false,
      stale: () => false,
      send: send(300),
    });
    const b = s.submit({ installationId: 1, check: true, create: false, stale: () => false, send: send(0) });
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all([a, b]);
    expect(left).toHaveLength(2);
    expect(left[1]! - left[0]!).toBeGreaterThanOrEqual(1000);
  });

  test("installations have their own lanes: one's spacing does not hold another", async () => {
    const s = scheduler();
    await Promise.all([
      write(s, "a", { check: true, create: false, installationId: 1 }),
      write(s, "b", { check: true, create: false, installationId: 2 }),
    ]);
    expect(sent.map((x) => x.at)).toEqual([1_000_000, 1_000_000]);
  });

  test("a superseded write is dropped, not sent", async () => {
    const s = scheduler();
    let newer = false;
    const first = write(s, "first", { check: true, create: true });
    const stale = write(s, "stale", { check: true, create: false, stale: () => newer }).catch(
      (e: unknown) => e,
    );
    newer = true;
    await jest.advanceTimersByTimeAsync(5000);
    await expect(first).resolves.toEqual({ data: "first" });
    expect(await stale).toBeInstanceOf(WriteSuperseded);
    expect(sent.map((x) => x.name)).toEqual(["first"]);
    expect(s.counts.superseded).toBe(1);
  });

  test("a secondary-limit answer pauses the whole installation until retry-after; the write is sent again, not lost", async () => {
    const s = scheduler();
    let limited = true;
    const secondary = () => {
      if (!limited) return null;
      limited = false;
      return {
        status: 403,
        message: "You have exceeded a secondary rate limit",
        response: { headers: { "retry-after": "30" } },
      };
    };
    const a = write(s, "a", { check: true, create: true, fail: secondary });
    const b = write(s, "b", { check: false, create: false });
    await jest.advanceTimersByTimeAsync(29_000);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all([a, b]);
    expect(sent.map((x) => x.name)).toEqual(["a", "b"]);
    expect(sent[0]!.at).toBeGreaterThanOrEqual(1_000_000 + 30_000);
    expect(s.counts.secondaryLimits).toBe(1);
    expect(warnings.some((w) => /rate limit/.test(w))).toBe(true);
  });

  test("other failures are the caller's: not retried here", async () => {
    const s = scheduler();
    const p = write(s, "x", {
      check: true,
      create: false,
      fail: () => Object.assign(new Error("boom"), { status: 502 }),
    });
    await expect(p).rejects.toThrow("boom");
  });

  test("near the hourly cap digests wait, checks go on, and it is said once", async () => {
    const s = scheduler({ ...L, perMinute: 100 });
    const checks = [1, 2, 3, 4, 5].map((i) => write(s, `check-${i}`, { check: true, create: true }));
    await jest.advanceTimersByTimeAsync(10_000);
    await Promise.all(checks);
    expect(s.nearHourlyCap()).toBe(true);
    expect(warnings.filter((w) => /hourly cap/.test(w))).toHaveLength(1);
    const digest = write(s, "digest", { check: false, create: true });
    const update = write(s, "digest-update", { check: false, create: false });
    const late = write(s, "check-6", { check: true, create: true });
    await jest.advanceTimersByTimeAsync(70_000);
    expect(sent.map((x) => x.name).slice(5)).toEqual(["check-6", "digest-update"]);
    expect(s.depth()).toBe(1);
    await late;
    // The digest goes once the oldest creation has left the hour.
    await jest.advanceTimersByTimeAsync(3_600_000);
    await digest;
    expect(sent.at(-1)!.name).toBe("digest");
    expect(sent.at(-1)!.at).toBeGreaterThanOrEqual(1_000_000 + 3_600_000);
    await update;
  });

  test("the rolling minute: the 6th creation waits a minute after the 1st", async () => {
    const s = scheduler({ ...L, perHour: 100, checkReserve: 0 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => write(s, `c${i}`, { check: true, create: true }));
    await jest.advanceTimersByTimeAsync(120_000);
    await Promise.all(all);
    expect(sent[5]!.at - sent[0]!.at).toBeGreaterThanOrEqual(60_000);
  });
});

describe("WriteScheduler: no starvation, the full reset honoured (issue 20 item 7)", () => {
  let sent: { name: string; at: number }[];
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    sent = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });
  const limits: WriteLimits = {
    ...GITHUB_WRITE_LIMITS,
    minGapMs: 1000,
    perMinute: 1000,
    perHour: 10_000,
    checkReserve: 0,
  };
  function scheduler(l: WriteLimits = limits): WriteScheduler {
    return new WriteScheduler({ limiter: new MemoryWriteLimiter(l), limits: l, log: () => undefined });
  }
  function write(
    s: WriteScheduler,
    name: string,
    o: { check: boolean; create: boolean; urgent?: boolean; fail?: () => unknown },
  ) {
    return s.submit({
      installationId: 1,
      check: o.check,
      create: o.create,
      urgent: o.urgent,
      stale: () => false,
      send: async () => {
        const failure = o.fail?.();
        if (failure) throw failure;
        sent.push({ name, at: Date.now() });
        return { data: name };
      },
    });
  }

  test("an older failure write is sent within a couple of slots while newer checks keep arriving faster than they can go", async () => {
    const s = scheduler();
    const first = write(s, "first", { check: true, create: true });
    const failure = write(s, "failure", { check: true, create: false, urgent: true });
    const stream: Promise<unknown>[] = [];
    // Two new green checks a second (GitHub takes one a second): newest-first alone would never reach the failure.
    for (let i = 0; i < 60; i++) {
      stream.push(write(s, `green-${i}`, { check: true, create: true }));
      await jest.advanceTimersByTimeAsync(500);
    }
    // Judged while the stream still runs (newest-first would only reach it once the stream stops).
    const at = sent.findIndex((x) => x.name === "failure");
    expect(at).toBeGreaterThanOrEqual(1);
    expect(at).toBeLessThanOrEqual(2);
    expect(sent[at]!.at - 1_000_000).toBeLessThanOrEqual(2000);
    await jest.advanceTimersByTimeAsync(120_000);
    await Promise.all([first, failure, ...stream]);
  });

  test("urgent writes among themselves go oldest first, ahead of newer checks and digests", async () => {
    const s = scheduler();
    const all = [
      write(s, "head", { check: true, create: false }),
      write(s, "urgent-1", { check: false, create: true, urgent: true }),
      write(s, "digest", { check: false, create: false }),
      write(s, "check", { check: true, create: false }),
      write(s, "urgent-2", { check: true, create: false, urgent: true }),
      write(s, "urgent-3", { check: false, create: true, urgent: true }),
    ];
    await jest.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(sent.map((x) => x.name)).toEqual(["head", "urgent-1", "urgent-2", "urgent-3", "check", "digest"]);
  });

  test("a 40-minute reset is honoured in full: nothing of the installation is sent before it", async () => {
    const s = scheduler();
    const resetAt = Math.floor((1_000_000 + 40 * 60_000) / 1000);
    let limited = true;
    const primary = () => {
      if (!limited) return null;
      limited = false;
      return {
        status: 403,
        message: "API rate limit exceeded",
        response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(resetAt) } },
      };
    };
    const a = write(s, "a", { check: true, create: true, fail: primary });
    const b = write(s, "b", { check: false, create: true });
    await jest.advanceTimersByTimeAsync(39 * 60_000);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(2 * 60_000);
    await Promise.all([a, b]);
    expect(sent.map((x) => x.name)).toEqual(["a", "b"]);
    expect(sent[0]!.at).toBeGreaterThanOrEqual(resetAt * 1000);
  });

  test("a wait longer than any GitHub answer documents is cut at an hour and a minute, not 15 minutes", async () => {
    expect(GITHUB_WRITE_LIMITS.maxPauseMs).toBe(61 * 60_000);
    const s = scheduler();
    let limited = true;
    const a = write(s, "a", {
      check: true,
      create: true,
      fail: () =>
        limited
          ? ((limited = false),
            { status: 429, message: "slow down", response: { headers: { "retry-after": String(5 * 3600) } } })
          : null,
    });
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(2 * 60_000);
    await a;
    expect(sent[0]!.at - 1_000_000).toBeGreaterThanOrEqual(61 * 60_000);
  });
});
