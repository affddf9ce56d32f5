/**
 * The periodic ticket re-check, driven by injected timers: off at 0, bounded per tick, round-robin
 * over a long list, no overlapping ticks, stop() for good, failures logged not thrown.
 */
import { describe, expect, jest, test } from "@jest/globals";
import type { PrRef } from "../../src/github/types.js";
import { RECHECK_REASON, startTicketRecheck, type RecheckTimers } from "../../src/jira/recheck.js";

function pr(n: number, repo = "payments"): PrRef {
  return { installationId: 77, owner: "acme", repo, number: n };
}

/** Timers the test fires by hand. */
function manualTimers() {
  const pending: { fn: () => void; ms: number; id: number }[] = [];
  let next = 1;
  const timers: RecheckTimers = {
    setTimeout: (fn, ms) => {
      const id = next++;
      pending.push({ fn, ms, id });
      return id;
    },
    clearTimeout: (h) => {
      const i = pending.findIndex((p) => p.id === h);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    pending,
    /** Fire the one scheduled timer and let the tick it starts finish. */
    async fire() {
      const t = pending.shift();
      if (!t) throw new Error("no timer scheduled");
      t.fn();
      for (let i = 0; i < 20; i++) await Promise.resolve();
      await new Promise((r) => setImmediate(r));
    },
  };
}

const silent = { info() {}, warn() {}, error() {} };

describe("startTicketRecheck", () => {
  test("intervalMs 0: off, no timer at all", async () => {
    const t = manualTimers();
    const list = jest.fn(async () => [pr(1)]);
    const recheck = startTicketRecheck({ intervalMs: 0, list, evaluate: () => {}, timers: t.timers });
    expect(recheck.enabled).toBe(false);
    expect(t.pending).toStrictEqual([]);
    expect(await recheck.tick()).toBe(0);
    expect(list).not.toHaveBeenCalled();
  });

  test("each tick re-evaluates at most maxPerTick PRs, walking a long list round-robin", async () => {
    const t = manualTimers();
    const evaluated: string[] = [];
    const refs = [pr(1), pr(2), pr(3), pr(4), pr(5)];
    const recheck = startTicketRecheck({
      intervalMs: 60_000,
      maxPerTick: 2,
      list: async () => refs,
      evaluate: (ref, reason) => void evaluated.push(`${ref.number}:${reason}`),
      timers: t.timers,
      log: silent,
    });
    expect(recheck.enabled).toBe(true);
    expect(t.pending.map((p) => p.ms)).toStrictEqual([60_000]);
    await t.fire();
    expect(evaluated).toStrictEqual([`1:${RECHECK_REASON}`, `2:${RECHECK_REASON}`]);
    expect(t.pending.map((p) => p.ms)).toStrictEqual([60_000]); // re-armed after the tick
    await t.fire();
    await t.fire();
    expect(evaluated.map((e) => Number(e.split(":")[0]))).toStrictEqual([1, 2, 3, 4, 5, 1]);
    recheck.stop();
  });

  test("the list changing between ticks: continues after the last PR re-checked", async () => {
    const t = manualTimers();
    const evaluated: number[] = [];
    let refs = [pr(1), pr(2), pr(3)];
    const recheck = startTicketRecheck({
      intervalMs: 30_000,
      maxPerTick: 2,
      list: async () => refs,
      evaluate: (r) => void evaluated.push(r.number),
      timers: t.timers,
    });
    await t.fire();
    refs = [pr(1), pr(3), pr(4)]; // #2 went green, #4 is new
    await t.fire();
    expect(evaluated).toStrictEqual([1, 2, 3, 4]);
    recheck.stop();
  });

  test("ticks never overlap: a tick while one is running does nothing", async () => {
    let release: () => void = () => {};
    const evaluated: number[] = [];
    const recheck = startTicketRecheck({
      intervalMs: 10_000,
      maxPerTick: 5,
      list: async () => [pr(1), pr(2)],
      evaluate: (r) => {
        evaluated.push(r.number);
        return new Promise<void>((resolve) => (release = resolve));
      },
      timers: manualTimers().timers,
    });
    const first = recheck.tick();
    await new Promise((r) => setImmediate(r));
    expect(await recheck.tick()).toBe(0);
    release();
    await new Promise((r) => setImmediate(r));
    release();
    expect(await first).toBe(2);
    expect(evaluated).toStrictEqual([1, 2]);
    recheck.stop();
  });

  test("evaluations run one after another (bounded rate), duplicates in the list count once", async () => {
    let active = 0;
    let peak = 0;
    const recheck = startTicketRecheck({
      intervalMs: 10_000,
      list: async () => [pr(1), pr(2), pr(1), pr(3, "web")],
      evaluate: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
      },
      timers: manualTimers().timers,
    });
    expect(await recheck.tick()).toBe(3);
    expect(peak).toBe(1);
    recheck.stop();
  });

  test("a failing list or evaluation is logged and the re-check carries on", async () => {
    const t = manualTimers();
    const logged: string[] = [];
    const log = {
      info() {},
      warn: (_o: object, m: string) => void logged.push(m),
      error: (_o: object, m: string) => void logged.push(m),
    };
    let calls = 0;
    const evaluated: number[] = [];
    const recheck = startTicketRecheck({
      intervalMs: 10_000,
      list: async () => {
        if (calls++ === 0) throw new Error("store offline");
        return [pr(1), pr(2)];
      },
      evaluate: (r) => {
        if (r.number === 1) throw new Error("boom");
        evaluated.push(r.number);
      },
      timers: t.timers,
      log,
    });
    await t.fire();
    await t.fire();
    expect(logged).toStrictEqual([
      "ticket re-check: could not list the PRs to re-check",
      "ticket re-check: re-evaluation failed",
    ]);
    expect(evaluated).toStrictEqual([2]);
    expect(t.pending).toHaveLength(1);
    recheck.stop();
  });

  test("stop() cancels the timer and no tick runs afterwards", async () => {
    const t = manualTimers();
    const list = jest.fn(async () => [pr(1)]);
    const recheck = startTicketRecheck({ intervalMs: 10_000, list, evaluate: () => {}, timers: t.timers });
    recheck.stop();
    expect(t.pending).toStrictEqual([]);
    expect(await recheck.tick()).toBe(0);
    expect(list).not.toHaveBeenCalled();
  });

  test("with real timers the handle is unref'd (never keeps the process alive) and fires", async () => {
    jest.useFakeTimers();
    try {
      const evaluated: number[] = [];
      const spy = jest.spyOn(globalThis, "setTimeout");
      const recheck = startTicketRecheck({
        intervalMs: 10_000,
        list: async () => [pr(7)],
        evaluate: (r) => void evaluated.push(r.number),
      });
      const handle = spy.mock.results[0]!.value as { hasRef(): boolean };
      spy.mockRestore();
      expect(handle.hasRef()).toBe(false);
      await jest.advanceTimersByTimeAsync(9_999);
      expect(evaluated).toStrictEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(evaluated).toStrictEqual([7]);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(evaluated).toStrictEqual([7, 7]);
      recheck.stop();
      await jest.advanceTimersByTimeAsync(30_000);
      expect(evaluated).toStrictEqual([7, 7]);
    } finally {
      jest.useRealTimers();
    }
  });
});
