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

  constructor(
    private readonly run: (key: string, job: J) => Promise<void>,
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
      this.evaluations++;
      try {
        await this.run(key, job);
      } catch (err) {
        try {
          this.options.onError(key, err);
        } catch {
          // A failing error handler must not end this loop: the slot would stay and wedge the key.
        }
      }
      waiters.forEach((w) => w());
      // Everything requested during that run is served by one follow-up run.
      job = slot.pending;
      slot.pending = null;
      waiters = slot.waiters.splice(0);
    }
    this.slots.delete(key);
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
