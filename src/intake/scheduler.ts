/**
 * schedule: one evaluation at a time per PR. Requests that arrive while a PR is being evaluated
 * coalesce into a single follow-up run, so a burst of N events costs at most two evaluations and
 * the last one always sees evidence newer than every event of the burst.
 */
export interface SchedulerOptions<J> {
  /** Combine the pending job with a newly requested one (e.g. keep the newest head sha, collect reasons). */
  coalesce: (pending: J, next: J) => J;
  /** Called for errors `run` lets escape (it should not): logged, never crash the process. */
  onError: (key: string, err: unknown) => void;
  /**
   * At most this many runs at once across all keys (default: unbounded). The others wait, first come
   * first served, as their (coalesced) job alone: a burst's backlog is one small job per PR, not a
   * half-finished evaluation per PR holding its clients, answers and renderings.
   */
  maxRunning?: number;
  /**
   * The share a run belongs to (the installation): while runs of several shares wait for a slot, a
   * freed slot goes to the waiting share holding the fewest slots (round robin among equals), so one
   * installation's burst cannot hold every slot while another's PR waits. Default: one share.
   */
  share?: (key: string, job: J) => string;
}

/**
 * What a run gets besides its job: calling it gives the run's slot back early (it then only waits,
 * e.g. on GitHub writes); `pause(fn)` gives the slot back while `fn` runs (a rate-limit pause) and
 * takes one again, fairly, before returning.
 */
export type SlotControl = (() => void) & { pause<T>(fn: () => Promise<T>): Promise<T> };

interface Slot<J> {
  running: Promise<void>;
  pending: J | null;
  waiters: (() => void)[];
}

export class Scheduler<J> {
  private readonly slots = new Map<string, Slot<J>>();
  private evaluations = 0;
  private coalesced = 0;
  private running = 0;
  /** Runs waiting for a slot, per share, first come first served within a share. */
  private readonly waiting = new Map<string, (() => void)[]>();
  /** Slots held per share. */
  private readonly held = new Map<string, number>();
  /** Shares in the order they were last served (round robin among shares holding as many slots). */
  private served = 0;
  private readonly lastServed = new Map<string, number>();

  constructor(
    /** `slot()` gives the run's maxRunning slot back early; `slot.pause(fn)` gives it back while fn runs. */
    private readonly run: (key: string, job: J, slot: SlotControl) => Promise<void>,
    private readonly options: SchedulerOptions<J>,
  ) {}

  /**
   * Ask for an evaluation of `key`. Resolves once an evaluation that started after this request has
   * finished (the returned promise never rejects).
   */
  request(key: string, job: J): Promise<void> {
    const slot = this.slots.get(key);
    if (slot) {
      this.coalesced += slot.pending ? 1 : 0;
      slot.pending = slot.pending ? this.options.coalesce(slot.pending, job) : job;
      return new Promise((resolve) => slot.waiters.push(resolve));
    }
    const fresh: Slot<J> = { running: Promise.resolve(), pending: null, waiters: [] };
    this.slots.set(key, fresh);
    fresh.running = this.loop(key, fresh, job);
    return fresh.running;
  }

  private async loop(key: string, slot: Slot<J>, first: J): Promise<void> {
    let job: J | null = first;
    let waiters: (() => void)[] = [];
    while (job) {
      const share = this.options.share?.(key, job) ?? "";
      await this.permit(share);
      // Everything requested while this waited for its turn is served by this run.
      if (slot.pending) {
        job = this.options.coalesce(job, slot.pending);
        slot.pending = null;
        waiters.push(...slot.waiters.splice(0));
      }
      this.evaluations++;
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        this.release(share);
      };
      const control: SlotControl = Object.assign(release, {
        pause: async <T>(fn: () => Promise<T>): Promise<T> => {
          if (!held) return fn();
          release();
          try {
            return await fn();
          } finally {
            await this.permit(share);
            held = true;
          }
        },
      });
      try {
        await this.run(key, job, control);
      } catch (err) {
        try {
          this.options.onError(key, err);
        } catch {
          // A failing error handler must not end this loop: the slot would stay and wedge the key.
        }
      } finally {
        release();
      }
      waiters.forEach((w) => w());
      // Everything requested during that run is served by one follow-up run.
      job = slot.pending;
      slot.pending = null;
      waiters = slot.waiters.splice(0);
    }
    this.slots.delete(key);
  }

  private permit(share: string): Promise<void> | void {
    const max = this.options.maxRunning ?? Infinity;
    // A free slot is taken at once only when nobody waits: arrivals never overtake the queue.
    if (this.running < max && this.queuedRuns === 0) {
      this.running++;
      this.take(share);
      return;
    }
    this.queuedRuns++;
    return new Promise<void>((resolve) => {
      const list = this.waiting.get(share);
      if (list) list.push(resolve);
      else this.waiting.set(share, [resolve]);
    });
  }

  private queuedRuns = 0;

  private take(share: string): void {
    this.held.set(share, (this.held.get(share) ?? 0) + 1);
    this.lastServed.set(share, ++this.served);
  }

  /**
   * Hands the slot to a waiting run: of the shares with runs waiting, the one holding the fewest
   * slots, and among those the one served longest ago (round robin). No one waiting: the slot is free.
   */
  private release(share: string): void {
    const n = (this.held.get(share) ?? 1) - 1;
    if (n > 0) this.held.set(share, n);
    else {
      this.held.delete(share);
      if (!this.waiting.has(share)) this.lastServed.delete(share);
    }
    let best: string | null = null;
    for (const s of this.waiting.keys()) {
      if (best === null) {
        best = s;
        continue;
      }
      const d = (this.held.get(s) ?? 0) - (this.held.get(best) ?? 0);
      if (d < 0 || (d === 0 && (this.lastServed.get(s) ?? 0) < (this.lastServed.get(best) ?? 0))) best = s;
    }
    if (best === null) {
      this.running--;
      return;
    }
    const list = this.waiting.get(best)!;
    const next = list.shift()!;
    if (list.length === 0) this.waiting.delete(best);
    this.queuedRuns--;
    this.take(best);
    next();
  }

  /** Runs waiting for a permit (maxRunning). */
  get queued(): number {
    return this.queuedRuns;
  }

  /** Slots held now, per share (metrics, tests). */
  heldBy(share: string): number {
    return this.held.get(share) ?? 0;
  }

  /** The follow-up job waiting for `key` while it is being evaluated, if any (a newer request). */
  pending(key: string): J | null {
    return this.slots.get(key)?.pending ?? null;
  }

  /** PRs being evaluated now. */
  get active(): number {
    return this.slots.size;
  }

  get stats(): { evaluations: number; coalesced: number; active: number } {
    return { evaluations: this.evaluations, coalesced: this.coalesced, active: this.slots.size };
  }

  /** Resolves when nothing is running or pending (graceful shutdown, tests). */
  async idle(): Promise<void> {
    while (this.slots.size > 0) {
      await Promise.all([...this.slots.values()].map((s) => s.running));
    }
  }
}

/** MAX_CONCURRENT_EVALUATIONS' default: enough to keep every installation's serial read busy. */
export const DEFAULT_MAX_CONCURRENT_EVALUATIONS = 32;
