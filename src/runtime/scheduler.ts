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
}

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
  private readonly waiting: (() => void)[] = [];

  constructor(
    /** `release` gives the run's maxRunning slot back early (it then only waits, e.g. on GitHub writes). */
    private readonly run: (key: string, job: J, release: () => void) => Promise<void>,
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
      await this.permit();
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
        this.release();
      };
      try {
        await this.run(key, job, release);
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

  private permit(): Promise<void> | void {
    const max = this.options.maxRunning ?? Infinity;
    if (this.running < max) {
      this.running++;
      return;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the permit to the longest-waiting run, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** Runs waiting for a permit (maxRunning). */
  get queued(): number {
    return this.waiting.length;
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

/** MAX_CONCURRENT_EVALUATIONS: evaluations running at once (1–1000); the rest wait as one job per PR. */
export function maxConcurrentEvaluationsFromEnv(env: Record<string, string | undefined>): number {
  const v = env.MAX_CONCURRENT_EVALUATIONS?.trim();
  if (!v) return DEFAULT_MAX_CONCURRENT_EVALUATIONS;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1000) throw new Error(`MAX_CONCURRENT_EVALUATIONS=${JSON.stringify(v)}: expected a whole number from 1 to 1000 (default ${DEFAULT_MAX_CONCURRENT_EVALUATIONS})`);
  return n;
}
