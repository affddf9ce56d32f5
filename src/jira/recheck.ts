/**
 * Periodic re-check for installations without Jira webhooks: every `intervalMs`, re-evaluate open
 * PRs whose only failing rule is tickets (the caller's `list`), at most `maxPerTick` per tick, one
 * after another. Ticks never overlap; a long list is walked round-robin across ticks so every PR
 * gets its turn. Off when intervalMs is 0. The timer is unref'd: it never keeps the process alive.
 */
import { prKey, prLabel, type PrRef } from "../refs.js";

export interface RecheckTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TicketRecheckOptions {
  intervalMs: number;
  list: () => Promise<PrRef[]>;
  /** Re-evaluate one PR; awaited, so a tick costs at most maxPerTick evaluations in sequence. */
  evaluate: (ref: PrRef, reason: string) => Promise<void> | void;
  maxPerTick?: number;
  log?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  timers?: RecheckTimers;
}

export interface TicketRecheck {
  readonly enabled: boolean;
  /** Run one tick now (tests; also what the timer calls). Resolves with the number of PRs re-evaluated. */
  tick(): Promise<number>;
  stop(): void;
}

export const RECHECK_REASON = "ticket re-check";
export const DEFAULT_RECHECK_PER_TICK = 20;

const realTimers: RecheckTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export function startTicketRecheck(options: TicketRecheckOptions): TicketRecheck {
  const intervalMs = options.intervalMs;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    return { enabled: false, tick: async () => 0, stop: () => {} };
  }
  const maxPerTick = Math.max(1, Math.floor(options.maxPerTick ?? DEFAULT_RECHECK_PER_TICK));
  const timers = options.timers ?? realTimers;
  let stopped = false;
  let running = false;
  let handle: unknown = null;
  /** The last PR re-checked: the next tick continues after it. */
  let last: string | null = null;

  async function tick(): Promise<number> {
    if (running || stopped) return 0;
    running = true;
    try {
      let refs: PrRef[];
      try {
        refs = await options.list();
      } catch (err) {
        options.log?.error(
          { err: (err as Error)?.message ?? String(err) },
          "ticket re-check: could not list the PRs to re-check",
        );
        return 0;
      }
      const byKey = new Map(refs.map((r) => [prKey(r), r]));
      const ordered = [...byKey.keys()].sort();
      if (ordered.length === 0) return 0;
      const start = last === null ? 0 : ordered.findIndex((k) => k > last!);
      const from = start < 0 ? 0 : start;
      const batch: string[] = [];
      for (let i = 0; i < Math.min(maxPerTick, ordered.length); i++)
        batch.push(ordered[(from + i) % ordered.length]!);
      let done = 0;
      for (const key of batch) {
        if (stopped) break;
        const ref = byKey.get(key)!;
        try {
          await options.evaluate(ref, RECHECK_REASON);
        } catch (err) {
          options.log?.warn(
            { err: (err as Error)?.message ?? String(err), pr: prLabel(ref) },
            "ticket re-check: re-evaluation failed",
          );
        }
        last = key;
        done++;
      }
      if (done > 0)
        options.log?.info(
          { prs: done, waiting: ordered.length },
          `ticket re-check: re-evaluated ${done} of ${ordered.length} PRs waiting on tickets`,
        );
      return done;
    } finally {
      running = false;
    }
  }

  function schedule(): void {
    if (stopped) return;
    handle = timers.setTimeout(() => {
      void tick().finally(schedule);
    }, intervalMs);
  }
  schedule();

  return {
    enabled: true,
    tick,
    stop() {
      stopped = true;
      if (handle !== null) timers.clearTimeout(handle);
      handle = null;
    },
  };
}
