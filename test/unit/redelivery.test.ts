/**
 * The redelivery of failed webhook deliveries: which events are asked for again (grouped by guid;
 * succeeded, processed, unsubscribed and before-the-window ones skipped; a bound per run), where
 * the next run starts, REDELIVERY_INTERVAL, and the listing's cursor paging.
 */
import { loadSettings } from "../../src/settings.js";
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import {
  listDeliveriesSince,
  nextCursor,
  type AppOctokit,
  type DeliveryAttempt,
} from "../../src/github/deliveries.js";
import {
  DEFAULT_REDELIVERY_INTERVAL_MS,
  GITHUB_KEEPS_DELIVERIES_MS,
  OVERLAP_MS,
  REDELIVERED_EVENTS,
  decodePosition,
  encodePosition,
  selectRedeliveries,
  startRedelivery,
  type RedeliveryDeps,
} from "../../src/background/redelivery.js";

const T0 = Date.parse("2026-12-06T10:00:00Z");
const iso = (min: number) => new Date(T0 + min * 60_000).toISOString();
let ids = 0;
function attempt(
  guid: string,
  min: number,
  statusCode: number,
  o: Partial<DeliveryAttempt> = {},
): DeliveryAttempt {
  return {
    id: ++ids,
    guid,
    deliveredAt: iso(min),
    redelivery: false,
    statusCode,
    event: "pull_request",
    action: "closed",
    installationId: 7,
    repositoryId: 9,
    ...o,
  };
}
const events = new Set(REDELIVERED_EVENTS);
const select = (
  attempts: DeliveryAttempt[],
  o: { processed?: string[]; max?: number; cutoffMin?: number } = {},
) =>
  selectRedeliveries(attempts, {
    cutoff: new Date(T0 + (o.cutoffMin ?? -60) * 60_000),
    events,
    processed: new Set(o.processed ?? []),
    max: o.max ?? 100,
  });

describe("selectRedeliveries", () => {
  test("groups attempts by guid: a guid with any 2xx attempt is not redelivered, one that failed on every attempt is", () => {
    const s = select([
      attempt("a", 1, 502),
      attempt("a", 2, 200, { redelivery: true }), // redelivered by hand: succeeded
      attempt("b", 3, 503),
      attempt("b", 4, 0, { redelivery: true }), // a redelivery that failed too
      attempt("c", 5, 204),
    ]);
    expect(s.found.map((c) => c.guid)).toEqual(["b"]);
    expect(s.skipped).toMatchObject({ succeeded: 2 });
    // The newest attempt of b is what GitHub is asked to deliver again; the event is the original's.
    expect(s.found[0]).toMatchObject({
      guid: "b",
      attemptId: ids - 1,
      event: "pull_request",
      action: "closed",
      installationId: 7,
      firstDeliveredAt: iso(3),
    });
  });

  test("3xx and 4xx are failures (GitHub counts only 2xx as delivered to us)", () => {
    expect(
      select([attempt("r", 1, 301), attempt("f", 2, 400), attempt("t", 3, 413)]).found.map((c) => c.guid),
    ).toEqual(["r", "f", "t"]);
  });

  test("a guid the delivery ledger claimed is skipped (another replica or an earlier attempt processed it)", () => {
    const s = select([attempt("x", 1, 502), attempt("y", 2, 502)], { processed: ["x"] });
    expect(s.found.map((c) => c.guid)).toEqual(["y"]);
    expect(s.skipped.processed).toBe(1);
  });

  test("events changegate does not subscribe to are not redelivered", () => {
    const s = select([
      attempt("i", 1, 502, { event: "installation", action: "created" }),
      attempt("p", 2, 502, { event: "push", action: null }),
    ]);
    expect(s.found.map((c) => c.guid)).toEqual(["p"]);
    expect(s.skipped.unsubscribed).toBe(1);
  });

  test("a guid whose original attempt is before the window is left alone (an earlier run saw it): no endless redelivery", () => {
    // Only a redelivery of "old" is in the listed window; its original is older than the cutoff.
    const s = select(
      [attempt("old", 5, 502, { redelivery: true }), attempt("early", -90, 502), attempt("new", 6, 502)],
      { cutoffMin: 0 },
    );
    expect(s.found.map((c) => c.guid)).toEqual(["new"]);
    expect(s.skipped.beforeWindow).toBe(2);
  });

  test("bounded per run, oldest first: the rest is left for the next run", () => {
    const list = Array.from({ length: 7 }, (_, i) => attempt(`g${i}`, 10 - i, 502)); // newest first, as GitHub lists
    const s = select(list, { max: 3 });
    expect(s.found).toHaveLength(7);
    expect(s.chosen.map((c) => c.guid)).toEqual(["g6", "g5", "g4"]);
  });
});

const redeliveryIntervalFromEnv = (env: Record<string, string>) =>
  loadSettings(env, ["background"]).background.redeliveryIntervalMs;

describe("REDELIVERY_INTERVAL", () => {
  test("default 5 minutes; 0 or off turns it off; seconds or a unit", () => {
    expect(redeliveryIntervalFromEnv({})).toBe(DEFAULT_REDELIVERY_INTERVAL_MS);
    expect(DEFAULT_REDELIVERY_INTERVAL_MS).toBe(300_000);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: " " })).toBe(300_000);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "0" })).toBe(0);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "off" })).toBe(0);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "90" })).toBe(90_000);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "10m" })).toBe(600_000);
    expect(redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "1h" })).toBe(3_600_000);
  });

  test("a bad value is refused with a message naming the variable", () => {
    expect(() => redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "5 minutes" })).toThrow(
      /REDELIVERY_INTERVAL="5 minutes": expected seconds or a number with s, m, h or d/,
    );
    expect(() => redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "-5" })).toThrow(/REDELIVERY_INTERVAL/);
    expect(() => redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "5" })).toThrow(
      /between 30 seconds and 1 day/,
    );
    expect(() => redeliveryIntervalFromEnv({ REDELIVERY_INTERVAL: "3d" })).toThrow(
      /between 30 seconds and 1 day/,
    );
  });

  test("the events redelivered are exactly the events app.yml subscribes to", () => {
    const manifest = parseYaml(readFileSync("app.yml", "utf8")) as { default_events: string[] };
    expect([...REDELIVERED_EVENTS].sort()).toEqual([...manifest.default_events].sort());
  });
});

describe("listDeliveriesSince: GitHub's cursor paging", () => {
  test("nextCursor reads the rel=next link's cursor", () => {
    expect(
      nextCursor('<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_12345>; rel="next"'),
    ).toBe("v1_12345");
    expect(
      nextCursor(
        '<https://x/app/hook/deliveries?cursor=a>; rel="prev", <https://x/app/hook/deliveries?cursor=b&per_page=100>; rel="next"',
      ),
    ).toBe("b");
    expect(nextCursor(undefined)).toBeNull();
    expect(nextCursor('<https://x/app/hook/deliveries?cursor=a>; rel="prev"')).toBeNull();
  });

  const raw = (id: number, min: number, o: Record<string, unknown> = {}) => ({
    id,
    guid: `g${id}`,
    delivered_at: iso(min).replace(/\.\d{3}Z$/, "Z"),
    redelivery: false,
    duration: 0.1,
    status: "OK",
    status_code: 200,
    event: "push",
    action: null,
    installation_id: 1,
    repository_id: 2,
    ...o,
  });

  function fakeGitHub(pages: unknown[][]): AppOctokit & { calls: Record<string, unknown>[] } {
    const calls: Record<string, unknown>[] = [];
    return {
      calls,
      async request(route, params) {
        expect(route).toBe("GET /app/hook/deliveries");
        calls.push(params);
        const i = params.cursor ? Number(String(params.cursor).slice(1)) : 0;
        const link =
          i + 1 < pages.length
            ? `<http://gh/api/v3/app/hook/deliveries?per_page=100&cursor=c${i + 1}>; rel="next"`
            : undefined;
        return { data: pages[i], headers: link ? { link } : {} };
      },
    };
  }

  test("follows the cursor at 100 per page and stops at the first page that reaches `since`", async () => {
    const gh = fakeGitHub([[raw(9, 30), raw(8, 20)], [raw(7, 10), raw(6, -10)], [raw(5, -20)]]);
    const r = await listDeliveriesSince(gh, new Date(T0), 10);
    expect(r.attempts.map((a) => a.id)).toEqual([9, 8, 7]);
    expect(r).toMatchObject({ complete: true, pages: 2, malformed: 0 });
    expect(gh.calls).toEqual([{ per_page: 100 }, { per_page: 100, cursor: "c1" }]);
  });

  test("entries of another shape are dropped and counted, never guessed at; the page bound says the list is incomplete", async () => {
    const gh = fakeGitHub([
      [raw(9, 30), { id: "x" }, raw(8, 20, { status_code: "500" })],
      [raw(7, 10)],
      [raw(6, 5)],
    ]);
    const r = await listDeliveriesSince(gh, new Date(T0), 2);
    expect(r.attempts.map((a) => a.id)).toEqual([9, 7]);
    expect(r).toMatchObject({ complete: false, malformed: 2, pages: 2 });
  });

  test("an answer that is not a list is an error", async () => {
    await expect(
      listDeliveriesSince({ request: async () => ({ data: { message: "nope" } }) }, new Date(T0), 2),
    ).rejects.toThrow(/did not answer a list/);
  });
});

describe("a run", () => {
  function harness(
    attempts: DeliveryAttempt[],
    o: {
      position?: string | null;
      processed?: string[];
      refuse?: Record<number, number>;
      maxPerRun?: number;
      leased?: boolean;
    } = {},
  ) {
    const state = {
      position: o.position ?? null,
      held: false,
      listedSince: [] as string[],
      asked: [] as number[],
      lines: [] as { level: string; o: Record<string, unknown>; m: string }[],
      metrics: [] as string[],
    };
    const log = (level: string) => (obj: object, m: string) =>
      void state.lines.push({ level, o: obj as Record<string, unknown>, m });
    const deps: RedeliveryDeps = {
      intervalMs: 0,
      github: {
        list: async (since) => {
          state.listedSince.push(since.toISOString());
          return {
            attempts: attempts.filter((a) => a.deliveredAt >= since.toISOString()),
            complete: true,
            malformed: 0,
            pages: 1,
          };
        },
        redeliver: async (id) => {
          const status = o.refuse?.[id];
          if (status !== undefined) throw Object.assign(new Error(`HTTP ${status}`), { status });
          state.asked.push(id);
        },
      },
      processed: async (guids) => new Set(guids.filter((g) => o.processed?.includes(g))),
      lease: {
        acquire: async () => {
          if (o.leased === false || state.held) return null;
          state.held = true;
          return { position: state.position };
        },
        release: async (p) => {
          state.held = false;
          if (p !== undefined) state.position = p;
        },
      },
      now: () => new Date(T0 + 60 * 60_000),
      log: { info: log("info"), warn: log("warn"), error: log("error") },
      metrics: { redelivery: (r, n = 1) => void state.metrics.push(`${r}:${n}`) },
      maxPerRun: o.maxPerRun,
    };
    return { state, r: startRedelivery(deps) };
  }

  test("the first run lists back 3 days; the redeliveries are logged with guid, event and action and counted", async () => {
    const list = [attempt("ok", 20, 200), attempt("lost", 10, 502, { event: "push", action: null })];
    const { state, r } = harness(list);
    const res = await r.runOnce();
    expect(res).toMatchObject({ ran: true, found: 1, redelivered: ["lost"], refused: [] });
    expect(state.listedSince).toEqual([
      new Date(T0 + 60 * 60_000 - GITHUB_KEEPS_DELIVERIES_MS).toISOString(),
    ]);
    expect(state.asked).toEqual([list[1]!.id]);
    const line = state.lines.find((l) => l.m.includes("redeliver a webhook delivery"))!;
    expect(line.o).toMatchObject({ delivery: "lost", event: "push", action: null });
    expect(JSON.stringify(state.lines)).not.toContain("payload");
    expect(state.metrics).toEqual(["found:1", "redelivered:1"]);
    // The next run starts from the newest attempt listed, less the overlap; "lost" was redelivered once.
    expect(decodePosition(state.position)).toEqual({ at: iso(20), tries: new Map([["lost", 1]]) });
    await r.runOnce();
    expect(state.listedSince[1]).toBe(new Date(T0 + 20 * 60_000 - OVERLAP_MS).toISOString());
  });

  test("the per-run bound: the next run continues from the oldest event not yet asked for", async () => {
    const list = Array.from({ length: 5 }, (_, i) => attempt(`g${i}`, 50 - i, 502));
    const { state, r } = harness(list, { maxPerRun: 2 });
    expect((await r.runOnce()).redelivered).toEqual(["g4", "g3"]);
    expect(decodePosition(state.position).at).toBe(iso(48)); // g2's first attempt
    // GitHub now shows the two redeliveries as delivered; the next run takes the next two.
    list.push(attempt("g4", 55, 200, { redelivery: true }), attempt("g3", 55, 200, { redelivery: true }));
    expect((await r.runOnce()).redelivered).toEqual(["g2", "g1"]);
    list.push(attempt("g2", 56, 200, { redelivery: true }), attempt("g1", 56, 200, { redelivery: true }));
    expect((await r.runOnce()).redelivered).toEqual(["g0"]);
    expect(state.asked).toHaveLength(5);
  });

  test("processed guids are not asked for; a refusal is counted and logged; a transient failure keeps the event in the next window", async () => {
    const list = [
      attempt("done", 10, 502),
      attempt("gone", 11, 502),
      attempt("busy", 12, 502),
      attempt("fine", 13, 502),
    ];
    const { state, r } = harness(list, {
      processed: ["done"],
      refuse: { [list[1]!.id]: 422, [list[2]!.id]: 503 },
    });
    const res = await r.runOnce();
    expect(res).toMatchObject({ found: 3, redelivered: ["fine"], refused: ["gone", "busy"] });
    expect(state.metrics).toEqual(["found:3", "refused:1", "refused:1", "redelivered:1"]);
    expect(decodePosition(state.position).at).toBe(iso(12)); // busy's first attempt: asked again next run
    expect(state.lines.filter((l) => l.level === "warn").map((l) => l.o.status)).toEqual([422, 503]);
  });

  test("a redelivery that fails too is asked again by the next runs, up to the bound, then given up on once, loudly", async () => {
    const list = [attempt("flaky", 10, 502)];
    const { state, r } = harness(list);
    const maxTries = 8;
    for (let i = 1; i <= maxTries; i++) {
      const res = await r.runOnce();
      expect(res.redelivered).toEqual(["flaky"]);
      expect(decodePosition(state.position).tries.get("flaky")).toBe(i);
      // GitHub's log now holds the redelivery, which failed as well (later than every earlier attempt).
      list.push(attempt("flaky", 10 + i * 5, 502, { redelivery: true }));
    }
    const giveUp = await r.runOnce();
    expect(giveUp).toMatchObject({ redelivered: [], refused: ["flaky"] });
    const errors = state.lines.filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.o).toMatchObject({ delivery: "flaky", redeliveries: maxTries });
    // Still in the window on the next run: neither asked again nor said again.
    const after = await r.runOnce();
    expect(after).toMatchObject({ redelivered: [], refused: [] });
    expect(state.lines.filter((l) => l.level === "error")).toHaveLength(1);
    expect(state.asked).toHaveLength(maxTries);
  });

  test("a redelivery that succeeds ends the count; a position written before the counts is still read", async () => {
    const list = [attempt("once", 10, 502)];
    const { state, r } = harness(list, { position: iso(5) });
    expect((await r.runOnce()).redelivered).toEqual(["once"]);
    list.push(attempt("once", 30, 200, { redelivery: true }));
    expect((await r.runOnce()).redelivered).toEqual([]);
    expect(decodePosition(state.position)).toEqual({ at: iso(30), tries: new Map() });
    expect(state.position).toBe(iso(30)); // no counts: the plain form
    expect(decodePosition("not json {")).toEqual({ at: null, tries: new Map() });
    expect(decodePosition(encodePosition({ at: iso(1), tries: new Map([["g", 2]]) }))).toEqual({
      at: iso(1),
      tries: new Map([["g", 2]]),
    });
  });

  test("another replica holds the lease: nothing is listed or asked", async () => {
    const { state, r } = harness([attempt("x", 1, 502)], { leased: false });
    expect(await r.runOnce()).toMatchObject({ ran: false, found: 0 });
    expect(state.listedSince).toEqual([]);
  });

  test("a listing that fails is logged; the lease is let go and the position kept", async () => {
    const { state, r } = harness([], { position: iso(5) });
    const failing = startRedelivery({
      intervalMs: 0,
      github: {
        list: async () => Promise.reject(Object.assign(new Error("boom"), { status: 500 })),
        redeliver: async () => {},
      },
      processed: async () => new Set(),
      lease: {
        acquire: async () => ({ position: state.position }),
        release: async (p) => void (p !== undefined && (state.position = p)),
      },
      now: () => new Date(T0),
      log: {
        info() {},
        warn() {},
        error: (o, m) => void state.lines.push({ level: "error", o: o as Record<string, unknown>, m }),
      },
    });
    expect(await failing.runOnce()).toMatchObject({ ran: true, found: 0 });
    expect(state.position).toBe(iso(5));
    expect(state.lines.map((l) => l.m)).toEqual(["webhook redelivery run failed; the next run tries again"]);
    void r;
  });
});
