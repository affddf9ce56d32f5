/**
 * write-limits: GitHub's documented limits on one installation's writes, and the in-process limiter
 * that keeps them (the Redis one, for replicas, is write-limiter-redis.ts; both answer alike).
 *
 * GitHub (REST "Rate limits", "Best practices"): at most 80 content-creating requests per minute and
 * 500 per hour, about one second between writes, and on a secondary limit an answer of 403/429 with
 * `retry-after` (or `x-ratelimit-reset`). Content creation here is a new comment or a new check run.
 * The windows are rolling (timestamps, not Bottleneck's fixed-interval reservoir refresh, which would
 * let 160 creations through across a window boundary).
 */
import { z } from "zod";

export interface WriteLimits {
  /** Least time between the starts of two writes of one installation (ms). */
  minGapMs: number;
  /** Content-creating writes per rolling minute, and that window's length (ms). */
  perMinute: number;
  minuteMs: number;
  /** Content-creating writes per rolling hour, and that window's length (ms). */
  perHour: number;
  hourMs: number;
  /** Creations of the hour kept for checks: at `perHour - checkReserve` digests wait ("near the cap"). */
  checkReserve: number;
  /**
   * Longest pause honoured for one rate-limit answer (ms): GitHub's `x-ratelimit-reset` is at most
   * an hour away, so an hour and a minute honours every real answer in full; a longer claim (a broken
   * proxy) is cut there, logged, and the write tried again then.
   */
  maxPauseMs: number;
  /** How many times one write is retried after secondary-limit answers before it fails. */
  maxSecondaryRetries: number;
}

/**
 * GitHub's documented limits. The two windows are kept 1 s longer than GitHub's: a creation is
 * counted when its slot is taken, and reaches GitHub a little later (the event loop, the spacing
 * wait, the connection), so a window of exactly 60 s let an 81st creation land inside GitHub's minute.
 */
export const GITHUB_WRITE_LIMITS: WriteLimits = {
  minGapMs: 1000,
  perMinute: 80,
  minuteMs: 61_000,
  perHour: 500,
  hourMs: 3_601_000,
  checkReserve: 50,
  maxPauseMs: 61 * 60_000,
  maxSecondaryRetries: 5,
};

export const limitsSchema = z
  .object({
    minGapMs: z.number().int().min(0).max(60_000),
    perMinute: z.number().int().min(1).max(10_000),
    minuteMs: z.number().int().min(1).max(3_600_000),
    perHour: z.number().int().min(1).max(100_000),
    hourMs: z.number().int().min(1).max(86_400_000),
    checkReserve: z.number().int().min(0),
    maxPauseMs: z.number().int().min(0).max(86_400_000),
    maxSecondaryRetries: z.number().int().min(0).max(100),
  })
  .partial()
  .strict();

/** CHANGEGATE_WRITE_LIMITS (tests and the bench only: a scaled-down hour) is parsed by src/settings.ts with `limitsSchema`. */

/** What a write is, for the limits: a check or a digest, creating content or not. */
export interface WriteKind {
  check: boolean;
  create: boolean;
}

export type Grant =
  | { ok: true; hourCount: number }
  | {
      ok: false;
      /** ms until this write could go (a hint: another write may take the slot first). */
      waitMs: number;
      /** paused and spacing hold every write; minute, hour and reserve only creations. */
      reason: "paused" | "spacing" | "minute" | "hour" | "reserve";
      hourCount: number;
    };

/** Reserves a write slot of one installation, or says how long until one is free. */
export interface WriteLimiter {
  acquire(installationId: number, kind: WriteKind): Promise<Grant>;
  /** Hold every write of the installation until `untilMs` (epoch ms; a secondary-limit answer). */
  pause(installationId: number, untilMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The decision shared by both limiters (the Redis one runs the same steps in Lua). */
export function decide(
  limits: WriteLimits,
  state: { lastAt: number | null; pausedUntil: number; creations: number[] },
  kind: WriteKind,
  now: number,
): Grant {
  const hourly = state.creations.filter((t) => t > now - limits.hourMs);
  const hourCount = hourly.length;
  if (state.pausedUntil > now)
    return { ok: false, waitMs: state.pausedUntil - now, reason: "paused", hourCount };
  if (state.lastAt !== null && now - state.lastAt < limits.minGapMs)
    return { ok: false, waitMs: state.lastAt + limits.minGapMs - now, reason: "spacing", hourCount };
  if (kind.create) {
    const minutely = hourly.filter((t) => t > now - limits.minuteMs);
    if (minutely.length >= limits.perMinute)
      return {
        ok: false,
        waitMs: minutely[minutely.length - limits.perMinute]! + limits.minuteMs - now,
        reason: "minute",
        hourCount,
      };
    if (hourCount >= limits.perHour)
      return {
        ok: false,
        waitMs: hourly[hourCount - limits.perHour]! + limits.hourMs - now,
        reason: "hour",
        hourCount,
      };
    const digestCap = limits.perHour - limits.checkReserve;
    if (!kind.check && hourCount >= digestCap)
      return {
        ok: false,
        waitMs: hourly[hourCount - digestCap]! + limits.hourMs - now,
        reason: "reserve",
        hourCount,
      };
  }
  return { ok: true, hourCount: hourCount + (kind.create ? 1 : 0) };
}

/** One process's limiter: the state of each installation in memory. */
export class MemoryWriteLimiter implements WriteLimiter {
  private readonly state = new Map<
    number,
    { lastAt: number | null; pausedUntil: number; creations: number[] }
  >();

  constructor(
    private readonly limits: WriteLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(installationId: number, kind: WriteKind): Promise<Grant> {
    const now = this.now();
    const s = this.state.get(installationId) ?? { lastAt: null, pausedUntil: 0, creations: [] };
    this.state.set(installationId, s);
    // Creations older than the hour are forgotten: the list never holds more than perHour entries.
    s.creations = s.creations.filter((t) => t > now - this.limits.hourMs);
    const grant = decide(this.limits, s, kind, now);
    if (grant.ok) {
      s.lastAt = now;
      if (kind.create) s.creations.push(now);
    }
    return grant;
  }

  async pause(installationId: number, untilMs: number): Promise<void> {
    const s = this.state.get(installationId) ?? { lastAt: null, pausedUntil: 0, creations: [] };
    s.pausedUntil = Math.max(s.pausedUntil, untilMs);
    this.state.set(installationId, s);
  }

  async close(): Promise<void> {}
}
