/**
 * The write scheduler's figures in /metrics' exposition: queue depth, near the hourly cap (0/1)
 * and the warnings counted, read at scrape time (fake clock: no figure here is a speed).
 */
import { afterEach, beforeEach, expect, jest, test } from "@jest/globals";
import { GITHUB_WRITE_LIMITS, MemoryWriteLimiter, type WriteLimits } from "../../src/github/write-limits.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { Metrics } from "../../src/ops/metrics.js";
import { wireWriteMetrics } from "../../src/ops/write-metrics.js";

const L: WriteLimits = {
  ...GITHUB_WRITE_LIMITS,
  minGapMs: 1000,
  perMinute: 100,
  minuteMs: 60_000,
  perHour: 8,
  hourMs: 3_600_000,
  checkReserve: 3,
};

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

function value(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`changegate_${name} `));
  if (!line) throw new Error(`no ${name} in the exposition`);
  return Number(line.split(" ")[1]);
}

test("queue depth, near-cap flag and warning count follow the scheduler", async () => {
  const warnings: string[] = [];
  const s = new WriteScheduler({
    limiter: new MemoryWriteLimiter(L),
    limits: L,
    log: () => ({ warn: (_o: unknown, m?: string) => void warnings.push(m ?? ""), info: () => {} }),
  });
  const metrics = new Metrics({ defaultMetrics: false });
  wireWriteMetrics(metrics, s);
  const write = (check: boolean) =>
    s.submit({ installationId: 7, check, create: true, stale: () => false, send: async () => "ok" });

  let text = (await metrics.expose()).body;
  expect([
    value(text, "write_queue_depth"),
    value(text, "write_near_hourly_cap"),
    value(text, "write_cap_warnings_total"),
  ]).toEqual([0, 0, 0]);

  const checks = [1, 2, 3, 4, 5].map(() => write(true));
  text = (await metrics.expose()).body;
  expect(value(text, "write_queue_depth")).toBeGreaterThanOrEqual(4);
  await jest.advanceTimersByTimeAsync(10_000);
  await Promise.all(checks);

  // 5 of 8 creations this hour = perHour - checkReserve: near the cap, a digest waits.
  const digest = write(false);
  await jest.advanceTimersByTimeAsync(5_000);
  text = (await metrics.expose()).body;
  expect(value(text, "write_near_hourly_cap")).toBe(1);
  expect(value(text, "write_cap_warnings_total")).toBe(1);
  expect(value(text, "write_queue_depth")).toBe(1);
  // A monotonic count is a counter (rate() and increase() apply to it), not a gauge.
  expect(text).toContain("# TYPE changegate_write_cap_warnings_total counter");
  expect(warnings.filter((w) => /hourly cap/.test(w))).toHaveLength(1);

  await jest.advanceTimersByTimeAsync(3_700_000);
  await digest;
  text = (await metrics.expose()).body;
  expect(value(text, "write_queue_depth")).toBe(0);
  expect(value(text, "write_cap_warnings_total")).toBe(1);
});

test("without a scheduler the gauges read 0; a broken source reads NaN, never 0", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  expect(value((await metrics.expose()).body, "write_near_hourly_cap")).toBe(0);
  wireWriteMetrics(metrics, {
    depth: () => 0,
    nearHourlyCap: () => {
      throw new Error("x");
    },
    counts: { sent: 0, superseded: 0, secondaryLimits: 0, nearCapWarnings: 0 },
  });
  expect(value((await metrics.expose()).body, "write_near_hourly_cap")).toBeNaN();
});
