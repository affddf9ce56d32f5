import { describe, expect, test } from "@jest/globals";
import { loadSettings } from "../../src/settings.js";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { DEFAULT_MAX_CONCURRENT_EVALUATIONS, Scheduler } from "../../src/intake/scheduler.js";
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from "../../src/ops/heap.js";

/** A promise the test resolves or rejects when it chooses. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let every queued microtask (and promise chain) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

interface Call {
  key: string;
  job: string[];
  done: ReturnType<typeof deferred<void>>;
}

/** A scheduler whose runs finish only when the test says so; records concurrency per key. */
function harness() {
  const calls: Call[] = [];
  const active = new Map<string, number>();
  const maxActive = new Map<string, number>();
  let maxTotal = 0;
  let total = 0;
  const errors: [string, unknown][] = [];
  const scheduler = new Scheduler<string[]>(
    async (key, job) => {
      const done = deferred<void>();
      calls.push({ key, job, done });
      active.set(key, (active.get(key) ?? 0) + 1);
      total++;
      maxActive.set(key, Math.max(maxActive.get(key) ?? 0, active.get(key)!));
      maxTotal = Math.max(maxTotal, total);
      try {
        await done.promise;
      } finally {
        active.set(key, active.get(key)! - 1);
        total--;
      }
    },
    { coalesce: (a, b) => [...a, ...b], onError: (key, err) => errors.push([key, err]) },
  );
  return {
    scheduler,
    calls,
    errors,
    maxActive,
    get maxTotal() {
      return maxTotal;
    },
    /** Finish the oldest unfinished run of `key`. */
    finish(key: string, err?: unknown) {
      const c = calls.find((x) => x.key === key && !(x as { finished?: boolean }).finished) as
        (Call & { finished?: boolean }) | undefined;
      if (!c) throw new Error(`no run of ${key} to finish`);
      c.finished = true;
      if (err) c.done.reject(err);
      else c.done.resolve();
    },
  };
}

/** Track whether a promise has resolved yet. */
function track(p: Promise<void>) {
  const state = { done: false };
  void p.then(() => {
    state.done = true;
  });
  return state;
}

describe("Scheduler", () => {
  test("one run at a time per key", async () => {
    const h = harness();
    const a = track(h.scheduler.request("pr1", ["e1"]));
    await settle();
    expect(h.calls.map((c) => c.job)).toEqual([["e1"]]);
    const b = track(h.scheduler.request("pr1", ["e2"]));
    await settle();
    expect(h.calls).toHaveLength(1); // e2 waits for e1's run
    h.finish("pr1");
    await settle();
    expect(h.calls.map((c) => c.job)).toEqual([["e1"], ["e2"]]);
    expect(b.done).toBe(false);
    h.finish("pr1");
    await settle();
    expect(a.done).toBe(true);
    expect(b.done).toBe(true);
    expect(h.maxActive.get("pr1")).toBe(1);
    expect(h.scheduler.active).toBe(0);
  });

  test("different keys run in parallel", async () => {
    const h = harness();
    const all = ["pr1", "pr2", "pr3"].map((k) => h.scheduler.request(k, [k]));
    await settle();
    expect(h.calls.map((c) => c.key)).toEqual(["pr1", "pr2", "pr3"]);
    expect(h.maxTotal).toBe(3);
    expect(h.scheduler.active).toBe(3);
    h.finish("pr2");
    h.finish("pr3");
    h.finish("pr1");
    await Promise.all(all);
    expect(h.scheduler.active).toBe(0);
  });

  test.each([1, 2, 10, 100])(
    "a burst of %i requests during a run → exactly one follow-up run with the merged job",
    async (n) => {
      const h = harness();
      const first = h.scheduler.request("pr", ["first"]);
      await settle();
      const burst = Array.from({ length: n }, (_, i) => track(h.scheduler.request("pr", [`e${i}`])));
      await settle();
      expect(h.calls).toHaveLength(1);
      h.finish("pr");
      await settle();
      expect(h.calls).toHaveLength(2);
      expect(h.calls[1]!.job).toEqual(Array.from({ length: n }, (_, i) => `e${i}`));
      expect(burst.every((b) => !b.done)).toBe(true);
      h.finish("pr");
      await first;
      await settle();
      expect(burst.every((b) => b.done)).toBe(true);
      expect(h.calls).toHaveLength(2);
      expect(h.scheduler.stats).toEqual({ evaluations: 2, coalesced: n - 1, active: 0 });
    },
  );

  test("requests during the follow-up run get a third run", async () => {
    const h = harness();
    void h.scheduler.request("pr", ["a"]);
    await settle();
    const b = track(h.scheduler.request("pr", ["b"]));
    h.finish("pr");
    await settle();
    const c = track(h.scheduler.request("pr", ["c"]));
    await settle();
    expect(h.calls.map((x) => x.job)).toEqual([["a"], ["b"]]);
    h.finish("pr");
    await settle();
    expect(b.done).toBe(true);
    expect(c.done).toBe(false);
    expect(h.calls.map((x) => x.job)).toEqual([["a"], ["b"], ["c"]]);
    h.finish("pr");
    await h.scheduler.idle();
    expect(c.done).toBe(true);
    expect(h.maxActive.get("pr")).toBe(1);
  });

  test("a request after completion starts a new run", async () => {
    const h = harness();
    const p1 = h.scheduler.request("pr", ["a"]);
    await settle();
    h.finish("pr");
    await p1;
    expect(h.scheduler.active).toBe(0);
    const p2 = track(h.scheduler.request("pr", ["b"]));
    await settle();
    expect(h.calls.map((c) => c.job)).toEqual([["a"], ["b"]]);
    expect(p2.done).toBe(false);
    h.finish("pr");
    await settle();
    expect(p2.done).toBe(true);
  });

  test("a throwing run goes to onError and the scheduler keeps working", async () => {
    const h = harness();
    const p1 = h.scheduler.request("pr", ["a"]);
    await settle();
    const p2 = h.scheduler.request("pr", ["b"]);
    const boom = new Error("boom");
    h.finish("pr", boom);
    await settle();
    expect(h.errors).toEqual([["pr", boom]]);
    expect(h.calls).toHaveLength(2); // the follow-up still ran
    h.finish("pr");
    await expect(p1).resolves.toBeUndefined();
    await expect(p2).resolves.toBeUndefined();
    const p3 = h.scheduler.request("pr", ["c"]);
    await settle();
    h.finish("pr");
    await expect(p3).resolves.toBeUndefined();
    expect(h.calls).toHaveLength(3);
  });

  test("a run that throws synchronously goes to onError too", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const s = new Scheduler<number>(
      ((_key: string, _job: number) => {
        runs++;
        throw new Error("sync");
      }) as unknown as (key: string, job: number) => Promise<void>,
      { coalesce: (_a, b) => b, onError: (_k, e) => errors.push(e) },
    );
    await s.request("k", 1);
    await s.request("k", 2);
    expect(runs).toBe(2);
    expect(errors).toHaveLength(2);
    expect(s.active).toBe(0);
  });

  test("an onError that throws does not wedge the key", async () => {
    let runs = 0;
    const s = new Scheduler<number>(
      async () => {
        runs++;
        throw new Error("run failed");
      },
      {
        coalesce: (_a, b) => b,
        onError: () => {
          throw new Error("logger failed");
        },
      },
    );
    await expect(s.request("k", 1)).resolves.toBeUndefined();
    await expect(s.request("k", 2)).resolves.toBeUndefined();
    await s.idle();
    expect(runs).toBe(2);
    expect(s.active).toBe(0);
  });

  test("request() resolves only after a run that started after it", async () => {
    const h = harness();
    const startedAfter: boolean[] = [];
    void h.scheduler.request("pr", ["a"]);
    await settle();
    const runsBefore = h.calls.length;
    const p = h.scheduler.request("pr", ["b"]).then(() => {
      // a run that started after the request (index ≥ runsBefore) has finished
      startedAfter.push(
        h.calls.length > runsBefore && (h.calls[runsBefore] as { finished?: boolean }).finished === true,
      );
    });
    h.finish("pr"); // finishing the run that was already going does not resolve it
    await settle();
    expect(startedAfter).toEqual([]);
    h.finish("pr");
    await p;
    expect(startedAfter).toEqual([true]);
  });

  test("idle() resolves when all runs, follow-ups included, are done", async () => {
    const h = harness();
    void h.scheduler.request("a", ["1"]);
    void h.scheduler.request("b", ["1"]);
    await settle();
    void h.scheduler.request("a", ["2"]);
    const idle = track(h.scheduler.idle());
    await settle();
    expect(idle.done).toBe(false);
    h.finish("a");
    h.finish("b");
    await settle();
    expect(idle.done).toBe(false); // a's follow-up is running
    expect(h.scheduler.active).toBe(1);
    h.finish("a");
    await settle();
    expect(idle.done).toBe(true);
    expect(h.scheduler.active).toBe(0);
    expect(h.scheduler.stats.evaluations).toBe(3);
  });

  test("idle() with nothing to do resolves at once", async () => {
    const h = harness();
    await expect(h.scheduler.idle()).resolves.toBeUndefined();
  });
});

describe("MemoryDeliveryLedger", () => {
  test("an id is claimed once", async () => {
    const l = new MemoryDeliveryLedger();
    expect(await l.claim("d1")).toBe(true);
    expect(await l.claim("d1")).toBe(false);
    expect(await l.claim("d1")).toBe(false);
    expect(await l.claim("d2")).toBe(true);
  });

  test("concurrent claims of one id: exactly one wins", async () => {
    const l = new MemoryDeliveryLedger();
    const results = await Promise.all(Array.from({ length: 10 }, () => l.claim("same")));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test("memory is bounded: the oldest ids are forgotten", async () => {
    const l = new MemoryDeliveryLedger(3);
    for (const id of ["a", "b", "c", "d"]) expect(await l.claim(id)).toBe(true);
    // a was evicted; b, c, d are remembered
    expect(await l.claim("b")).toBe(false);
    expect(await l.claim("c")).toBe(false);
    expect(await l.claim("d")).toBe(false);
    expect(await l.claim("a")).toBe(true);
    expect((l as unknown as { seen: Set<string> }).seen.size).toBeLessThanOrEqual(3);
  });

  test("bounded under many ids", async () => {
    const l = new MemoryDeliveryLedger(100);
    for (let i = 0; i < 10_000; i++) await l.claim(`id-${i}`);
    expect((l as unknown as { seen: Set<string> }).seen.size).toBe(100);
    expect(await l.claim("id-9999")).toBe(false);
    expect(await l.claim("id-0")).toBe(true);
  });
});

describe("BoundedMap", () => {
  test("keeps the most recently written entries, up to its bound", async () => {
    const { BoundedMap } = await import("../../src/bounded-map.js");
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1).set("b", 2).set("a", 3).set("c", 4);
    expect([...m.entries()]).toEqual([
      ["a", 3],
      ["c", 4],
    ]);
  });
});

describe("Scheduler limits (MAX_CONCURRENT_EVALUATIONS) and the heap", () => {
  describe("maxRunning: a bounded backlog", () => {
    function gated() {
      const started: string[] = [];
      const release = new Map<string, () => void>();
      let running = 0;
      let peak = 0;
      const s = new Scheduler<string[]>(
        async (key, job) => {
          started.push(`${key}:${job.join("+")}`);
          running++;
          peak = Math.max(peak, running);
          await new Promise<void>((r) => release.set(key, r));
          running--;
        },
        { coalesce: (a, b) => [...a, ...b], onError: () => {}, maxRunning: 2 },
      );
      const tick = () => new Promise((r) => setImmediate(r));
      return { s, started, release, peak: () => peak, tick };
    }

    test("at most maxRunning runs at once; the others wait first come first served", async () => {
      const g = gated();
      const done = ["a", "b", "c", "d"].map((k) => g.s.request(k, [k]));
      await g.tick();
      expect(g.started).toEqual(["a:a", "b:b"]);
      expect(g.s.queued).toBe(2);
      g.release.get("b")!();
      await g.tick();
      expect(g.started).toEqual(["a:a", "b:b", "c:c"]);
      g.release.get("a")!();
      await g.tick();
      g.release.get("c")!();
      await g.tick();
      g.release.get("d")!();
      await Promise.all(done);
      expect(g.started).toEqual(["a:a", "b:b", "c:c", "d:d"]);
      expect(g.peak()).toBe(2);
      expect(g.s.queued).toBe(0);
      expect(g.s.active).toBe(0);
    });

    test("requests for a PR waiting for its turn join its one job (the backlog is one job per PR)", async () => {
      const g = gated();
      const first = [g.s.request("a", ["a1"]), g.s.request("b", ["b1"])];
      const waiting = [g.s.request("c", ["c1"]), g.s.request("c", ["c2"]), g.s.request("c", ["c3"])];
      await g.tick();
      expect(g.s.queued).toBe(1);
      g.release.get("a")!();
      await g.tick();
      // c's three requests are served by its first run, which started after all of them.
      expect(g.started).toEqual(["a:a1", "b:b1", "c:c1+c2+c3"]);
      g.release.get("b")!();
      g.release.get("c")!();
      await Promise.all([...first, ...waiting]);
      expect(g.started).toHaveLength(3);
      expect(g.s.stats.evaluations).toBe(3);
    });
  });

  test("a run that gives its slot back early (it only waits on writes now) lets the next one start", async () => {
    const started: number[] = [];
    const finish = new Map<number, () => void>();
    const s = new Scheduler<number>(
      async (_key, job, release) => {
        started.push(job);
        if (job === 1) {
          release(); // publishing: waits on GitHub's write limits without a slot
          release(); // idempotent: one slot given back, not two
        }
        await new Promise<void>((r) => finish.set(job, r));
      },
      { coalesce: (_a, b) => b, onError: () => {}, maxRunning: 1 },
    );
    const all = [s.request("a", 1), s.request("b", 2), s.request("c", 3)];
    await new Promise((r) => setImmediate(r));
    // 1 gave its slot to 2 while still running; 2 holds it, so 3 waits.
    expect(started).toEqual([1, 2]);
    expect(s.queued).toBe(1);
    finish.get(2)!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3]);
    finish.get(1)!();
    finish.get(3)!();
    await Promise.all(all);
    expect(s.queued).toBe(0);
  });

  describe("fair shares between installations", () => {
    /** Keys "<installation>/<pr>"; runs finish when the test says so. */
    function shared(maxRunning: number) {
      const started: string[] = [];
      const finish = new Map<string, () => void>();
      const controls = new Map<string, import("../../src/intake/scheduler.js").SlotControl>();
      const s = new Scheduler<string>(
        async (key, _job, slot) => {
          started.push(key);
          controls.set(key, slot);
          await new Promise<void>((r) => finish.set(key, r));
        },
        { coalesce: (_a, b) => b, onError: () => {}, maxRunning, share: (key) => key.split("/")[0]! },
      );
      const tick = () => new Promise((r) => setImmediate(r));
      return { s, started, finish, controls, tick };
    }

    test("a freed slot goes to the installation holding the fewest, not to the flood's next PR", async () => {
      const g = shared(2);
      const flood = Array.from({ length: 6 }, (_, i) => g.s.request(`big/${i}`, "x"));
      await g.tick();
      expect(g.started).toEqual(["big/0", "big/1"]);
      const small = g.s.request("small/1", "x");
      await g.tick();
      // The flood asked first, but small holds no slot: the next freed slot is small's.
      g.finish.get("big/0")!();
      await g.tick();
      expect(g.started).toEqual(["big/0", "big/1", "small/1"]);
      expect(g.s.heldBy("big")).toBe(1);
      expect(g.s.heldBy("small")).toBe(1);
      g.finish.get("small/1")!();
      await small;
      for (let i = 1; i < 6; i++) {
        await g.tick();
        g.finish.get(`big/${i}`)!();
      }
      await Promise.all(flood);
      expect(g.started.filter((k) => k.startsWith("big/"))).toHaveLength(6);
      expect(g.s.queued).toBe(0);
    });

    test("one installation alone uses every slot", async () => {
      const g = shared(3);
      const all = Array.from({ length: 5 }, (_, i) => g.s.request(`one/${i}`, "x"));
      await g.tick();
      expect(g.started).toEqual(["one/0", "one/1", "one/2"]);
      for (let i = 0; i < 5; i++) {
        g.finish.get(`one/${i}`)!();
        await g.tick();
      }
      await Promise.all(all);
      expect(g.started).toHaveLength(5);
    });

    test("shares with as many slots are served in turn (round robin)", async () => {
      const g = shared(1);
      const all = [
        g.s.request("a/1", "x"),
        g.s.request("a/2", "x"),
        g.s.request("a/3", "x"),
        g.s.request("b/1", "x"),
        g.s.request("b/2", "x"),
        g.s.request("c/1", "x"),
      ];
      await g.tick();
      const order = () => g.started.slice();
      for (const key of ["a/1", "b/1", "c/1", "a/2", "b/2", "a/3"]) {
        expect(order().at(-1)).toBe(key);
        g.finish.get(key)!();
        await g.tick();
      }
      await Promise.all(all);
      expect(g.started).toEqual(["a/1", "b/1", "c/1", "a/2", "b/2", "a/3"]);
    });

    test("a run waiting out a rate-limit pause gives its slot back, and takes one again after", async () => {
      const g = shared(1);
      const paused = g.s.request("slow/1", "x");
      await g.tick();
      const other = g.s.request("quick/1", "x");
      await g.tick();
      expect(g.started).toEqual(["slow/1"]);
      let pauseOver!: () => void;
      const afterPause = g.controls.get("slow/1")!.pause(() => new Promise<void>((r) => (pauseOver = r)));
      await g.tick();
      // slow/1 sleeps without its slot: quick/1 runs meanwhile.
      expect(g.started).toEqual(["slow/1", "quick/1"]);
      let resumed = false;
      void afterPause.then(() => (resumed = true));
      pauseOver();
      await g.tick();
      // The pause is over, but the only slot is quick/1's: slow/1 waits for it.
      expect(resumed).toBe(false);
      expect(g.s.queued).toBe(1);
      g.finish.get("quick/1")!();
      await other;
      await g.tick();
      expect(resumed).toBe(true);
      g.finish.get("slow/1")!();
      await paused;
      expect(g.s.queued).toBe(0);
      expect(g.s.heldBy("slow")).toBe(0);
    });
  });

  const maxConcurrentEvaluationsFromEnv = (env: Record<string, string>) =>
    loadSettings(env, ["writes"]).writes.maxConcurrentEvaluations;

  test("MAX_CONCURRENT_EVALUATIONS: default, a valid value, and clear refusals", () => {
    expect(maxConcurrentEvaluationsFromEnv({})).toBe(DEFAULT_MAX_CONCURRENT_EVALUATIONS);
    expect(maxConcurrentEvaluationsFromEnv({ MAX_CONCURRENT_EVALUATIONS: " 8 " })).toBe(8);
    for (const bad of ["0", "-1", "2.5", "1001", "lots"]) {
      expect(() => maxConcurrentEvaluationsFromEnv({ MAX_CONCURRENT_EVALUATIONS: bad })).toThrow(
        /MAX_CONCURRENT_EVALUATIONS=.*whole number from 1 to 1000/,
      );
    }
  });

  test("the heap growing factor is set unless the operator set one", () => {
    expect(limitHeapGrowth(["--heap-growing-percent=30"], "")).toMatch(/operator's own/);
    expect(limitHeapGrowth([], "--max-old-space-size=512 --heap_growing_percent=50")).toMatch(
      /operator's own/,
    );
    expect(limitHeapGrowth([], "")).toBe(`heap growing factor: ${1 + HEAP_GROWING_PERCENT / 100}×`);
  });
});
