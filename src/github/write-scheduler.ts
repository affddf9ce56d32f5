/**
 * write-scheduler: every write the app sends to GitHub (check runs, digests, the merge group's and
 * the retro-review checks, the bypass, overdue and checkpoint issues and their comments; see
 * scheduled-writer.ts), one installation at a time, paced by GitHub's documented limits
 * (write-limits.ts) instead of Probot's fixed guess (3 s between new comments).
 *
 * - One write in flight per installation, ≥ 1 s apart; creations within 80/min and 500/h (shared
 *   by replicas when the limiter is Redis's).
 * - Order inside an installation: urgent writes first, oldest first (a check that takes green away,
 *   an audit issue entry: never starved by a stream of newer writes); then check-run writes before
 *   digest writes (branch protection reads the check), the newest first.
 * - A queued write whose content is superseded before it leaves (a newer evaluation of its PR is
 *   already waiting, and will write what is true then) is dropped, not sent: WriteSuperseded.
 * - A secondary-limit answer (403/429 with retry-after or x-ratelimit-reset) pauses the whole
 *   installation until then, the full time GitHub asks for (up to limits.maxPauseMs, an hour and a
 *   minute: the longest any GitHub answer documents); the write is queued again in its place, never lost.
 * - Near the hourly cap (perHour - checkReserve creations) digests wait and checks go on; a
 *   warning is logged and `nearHourlyCap()` says so (for the metrics).
 * Reads do not come here (github/reader.ts), nor requests that create nothing in a repository
 * (app-level calls such as a delivery's redelivery: Probot's throttling keeps them).
 */
import type { Logger } from "pino";
import { secondaryLimitWait } from "./reader.js";
import type { WriteLimiter, WriteLimits } from "./write-limits.js";

/** A queued write dropped because a newer evaluation of its PR will write instead. */
export class WriteSuperseded extends Error {
  /** Writes of the same result already sent before this one was dropped (publish() sets it). */
  writesBefore = 0;
  constructor() {
    super("write superseded by a newer evaluation of the PR before it was sent");
    this.name = "WriteSuperseded";
  }
}

export function isWriteSuperseded(err: unknown): err is WriteSuperseded {
  return err instanceof WriteSuperseded;
}

export interface WriteRequest<T> {
  installationId: number;
  check: boolean;
  create: boolean;
  /**
   * Served before every non-urgent write, oldest first, so that no stream of newer writes can hold
   * it back: a check write that is not a success (failure, in progress), an audit issue entry.
   */
  urgent?: boolean;
  /** True once the write's content is superseded (checked just before it is sent). */
  stale(): boolean;
  /**
   * Sends the write. `leaving()`, called by the sender just as the request goes onto the wire (after
   * its own token and hook work), moves the lane's clock to that moment: GitHub sees when a write
   * arrives, not when this process meant to send it.
   */
  send(leaving: () => void): Promise<T>;
}

interface Queued {
  req: WriteRequest<unknown>;
  seq: number;
  secondaryRetries: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Lane {
  queue: Queued[];
  running: boolean;
  wake: (() => void) | null;
  /** A write was submitted since the round began: look again before sleeping. */
  dirty: boolean;
  nearCap: boolean;
  /** When this process last sent a write of the installation (local guard against event-loop lag). */
  lastSentAt: number;
}

export interface WriteSchedulerOptions {
  limiter: WriteLimiter;
  limits: WriteLimits;
  log: () => Pick<Logger, "warn" | "info"> | undefined;
  now?: () => number;
}

export class WriteScheduler {
  private readonly lanes = new Map<number, Lane>();
  private seq = 0;
  /** Writes sent, dropped as superseded, and secondary-limit answers met (for logs and tests). */
  readonly counts = { sent: 0, superseded: 0, secondaryLimits: 0, nearCapWarnings: 0 };

  constructor(private readonly options: WriteSchedulerOptions) {}

  submit<T>(req: WriteRequest<T>): Promise<T> {
    const lane = this.lane(req.installationId);
    const p = new Promise<T>((resolve, reject) => {
      lane.queue.push({
        req,
        seq: ++this.seq,
        secondaryRetries: 0,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
    });
    lane.dirty = true;
    lane.wake?.();
    if (!lane.running) {
      lane.running = true;
      void this.pump(req.installationId, lane);
    }
    return p;
  }

  /** Writes queued and not yet sent, over every installation. */
  depth(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.length;
    return n;
  }

  /** True while any installation is near its hourly cap of creations (digests wait there). */
  nearHourlyCap(): boolean {
    for (const lane of this.lanes.values()) if (lane.nearCap) return true;
    return false;
  }

  /** Resolves when nothing is queued (tests). */
  async idle(): Promise<void> {
    while ([...this.lanes.values()].some((l) => l.running)) await new Promise((r) => setTimeout(r, 20));
  }

  private lane(id: number): Lane {
    let lane = this.lanes.get(id);
    if (!lane) {
      lane = { queue: [], running: false, wake: null, dirty: false, nearCap: false, lastSentAt: 0 };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  /** Urgent writes first, oldest first (never starved); then checks, then the rest, the newest first. */
  private static order(a: Queued, b: Queued): number {
    const ua = a.req.urgent === true;
    const ub = b.req.urgent === true;
    if (ua !== ub) return ua ? -1 : 1;
    if (ua) return a.seq - b.seq;
    if (a.req.check !== b.req.check) return a.req.check ? -1 : 1;
    return b.seq - a.seq;
  }

  private async pump(id: number, lane: Lane): Promise<void> {
    try {
      while (lane.queue.length > 0) {
        lane.dirty = false;
        this.dropStale(lane);
        if (lane.queue.length === 0) break;
        let chosen: Queued | null = null;
        let wait = Infinity;
        for (const q of [...lane.queue].sort(WriteScheduler.order)) {
          let grant;
          try {
            grant = await this.options.limiter.acquire(id, { check: q.req.check, create: q.req.create });
          } catch (err) {
            // The limiter (Redis) failed: this write fails rather than go out unlimited.
            lane.queue.splice(lane.queue.indexOf(q), 1);
            q.reject(err);
            wait = 0;
            break;
          }
          this.noteCap(id, lane, grant.hourCount);
          if (grant.ok) {
            chosen = q;
            break;
          }
          wait = Math.min(wait, grant.waitMs);
          // Paused or spaced: nothing may go; a creation window only holds creations.
          if (grant.reason === "paused" || grant.reason === "spacing") break;
        }
        if (!chosen) {
          if (wait > 0 && !lane.dirty) await this.sleep(lane, Math.min(wait, 60_000));
          continue;
        }
        lane.queue.splice(lane.queue.indexOf(chosen), 1);
        if (chosen.req.stale()) {
          // Superseded while the slot was reserved: the slot is spent, the write is not sent.
          this.counts.superseded++;
          chosen.reject(new WriteSuperseded());
          continue;
        }
        await this.send(id, lane, chosen);
      }
    } finally {
      lane.running = false;
      if (lane.queue.length > 0) {
        lane.running = true;
        void this.pump(id, lane);
      } else if (!lane.nearCap && Date.now() - lane.lastSentAt >= this.options.limits.minGapMs) {
        this.lanes.delete(id);
      }
    }
  }

  private async send(id: number, lane: Lane, q: Queued): Promise<void> {
    // The slot was reserved at acquire time; a busy event loop may have sent the previous write
    // late: keep the spacing between what actually leaves this process too.
    const gap = lane.lastSentAt + this.options.limits.minGapMs - Date.now();
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    lane.lastSentAt = Date.now();
    try {
      this.counts.sent++;
      q.resolve(
        await q.req.send(() => {
          lane.lastSentAt = Math.max(lane.lastSentAt, Date.now());
        }),
      );
    } catch (err) {
      const waitS = secondaryLimitWait(err, this.options.limits.maxPauseMs / 1000);
      if (waitS === null || q.secondaryRetries >= this.options.limits.maxSecondaryRetries) {
        q.reject(err);
        return;
      }
      this.counts.secondaryLimits++;
      q.secondaryRetries++;
      const now = (this.options.now ?? Date.now)();
      // At least one spacing interval, even for a retry-after of 0.
      const until = now + Math.max(waitS * 1000, this.options.limits.minGapMs);
      const asked = secondaryLimitWait(err, Infinity);
      if (asked !== null && asked > waitS) {
        this.options
          .log()
          ?.warn(
            { installation: id, askedSeconds: Math.round(asked), waitSeconds: waitS },
            "GitHub asked for a longer wait than any documented limit: waiting the longest documented one",
          );
      }
      this.options
        .log()
        ?.warn(
          { installation: id, retryAfterSeconds: waitS, queued: lane.queue.length + 1 },
          "GitHub answered a write with a rate limit: every write of this installation waits",
        );
      try {
        await this.options.limiter.pause(id, until);
      } catch (e) {
        q.reject(e);
        return;
      }
      lane.queue.push(q);
    }
  }

  private dropStale(lane: Lane): void {
    for (const q of [...lane.queue]) {
      let stale: boolean;
      try {
        stale = q.req.stale();
      } catch {
        stale = false;
      }
      if (!stale) continue;
      lane.queue.splice(lane.queue.indexOf(q), 1);
      this.counts.superseded++;
      q.reject(new WriteSuperseded());
    }
  }

  private noteCap(id: number, lane: Lane, hourCount: number): void {
    const { perHour, checkReserve } = this.options.limits;
    const near = hourCount >= perHour - checkReserve;
    if (near && !lane.nearCap) {
      this.counts.nearCapWarnings++;
      this.options
        .log()
        ?.warn(
          { installation: id, creationsThisHour: hourCount, hourlyCap: perHour },
          `near GitHub's hourly cap of ${perHour} content-creating writes: digests wait, checks go on`,
        );
    } else if (!near && lane.nearCap) {
      this.options
        .log()
        ?.info(
          { installation: id, creationsThisHour: hourCount },
          "below GitHub's hourly cap again: digests go on",
        );
    }
    lane.nearCap = near;
  }

  /** Sleep, but wake early when a write is submitted (it may be a check that can go now). */
  private sleep(lane: Lane, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        lane.wake = null;
        resolve();
      }
      lane.wake = done;
    });
  }
}
