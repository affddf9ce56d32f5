/**
 * The in-process schedule of the scan and the stale-check reconcile: AUDIT_SCAN_INTERVAL (on by
 * default with APP_ID: hourly; `0` or `off` turns it off). Each tick claims the tick's id in the
 * delivery ledger (`audit-scan:<interval>:<bucket>`, the bucket being now / interval), which the
 * store grants to one replica only, then scans the last `lookback` (twice the interval, at least a
 * day) and reconciles open PRs. The first tick comes FIRST_TICK_DELAY_MS after start, then one
 * every interval: a process restarted more often than the interval still scans (once per bucket
 * across restarts and replicas). The timer is unref'd (it never keeps the process alive).
 */
import type { DeliveryLedger } from "../refs.js";

export interface ScanScheduleDeps {
  intervalMs: number;
  ledger: DeliveryLedger;
  now: () => Date;
  /** Scan [from, to) and reconcile open PRs; errors are logged by the caller. */
  run: (window: { from: string; to: string }) => Promise<unknown>;
  log: { info(o: object, m: string): void; error(o: object, m: string): void };
}

const DAY = 86_400_000;
/** The scan's default interval (AUDIT_SCAN_INTERVAL unset). */
export const DEFAULT_SCAN_INTERVAL_MS = 3_600_000;
/** The first tick after start: after the start-up work (resume, reconcile), before the first interval. */
export const FIRST_TICK_DELAY_MS = 20_000;

/** One tick: runs only if this replica claims the tick. Exported for tests. */
export async function scanTick(deps: ScanScheduleDeps): Promise<boolean> {
  const now = deps.now().getTime();
  const bucket = Math.floor(now / deps.intervalMs);
  if (!(await deps.ledger.claim(`audit-scan:${deps.intervalMs}:${bucket}`))) return false;
  const lookback = Math.max(2 * deps.intervalMs, DAY);
  const window = { from: new Date(now - lookback).toISOString(), to: new Date(now).toISOString() };
  try {
    await deps.run(window);
  } catch (err) {
    deps.log.error(
      { err: (err as Error).message },
      "the scheduled audit scan failed; the next tick tries again",
    );
  }
  return true;
}

export function startScanSchedule(deps: ScanScheduleDeps & { firstTickMs?: number }): { stop(): void } {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    void scanTick(deps)
      .catch((err: unknown) =>
        deps.log.error({ err: (err as Error).message }, "the scheduled audit scan could not start"),
      )
      .finally(() => (running = false));
  };
  const first = setTimeout(tick, deps.firstTickMs ?? FIRST_TICK_DELAY_MS);
  first.unref();
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  deps.log.info(
    { intervalMs: deps.intervalMs },
    `audit scan scheduled every ${Math.round(deps.intervalMs / 60_000)} min (first in ${Math.round((deps.firstTickMs ?? FIRST_TICK_DELAY_MS) / 1000)} s unless this interval's scan ran already; AUDIT_SCAN_INTERVAL=0 turns it off)`,
  );
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
