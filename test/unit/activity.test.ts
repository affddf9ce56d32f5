/** findForcePush (github/activity.ts) against a fake repository activity: pairing, the page bound, what GitHub refuses. */
import { describe, expect, test } from "@jest/globals";
import {
  findForcePush,
  findPushChain,
  MAX_ACTIVITY_PAGES,
  nextAfter,
  pushOfCommit,
} from "../../src/github/activity.js";

const sha = (c: string) => c.repeat(40);
const OLD = sha("a");
const NOW = sha("b");

interface Entry {
  before: string;
  after: string;
  timestamp: string;
  type?: string;
  actor?: string | null;
  ref?: string;
}

/** GitHub's activity of `entries` (newest first), `perPage` a page, `after` cursors in the Link header. */
function fakeActivity(entries: Entry[], perPage = 100) {
  const calls: Record<string, unknown>[] = [];
  const client = {
    async request(route: string, params: Record<string, unknown>) {
      expect(route).toBe("GET /repos/{owner}/{repo}/activity");
      calls.push(params);
      const list = entries.filter(
        (e) =>
          (params.activity_type === undefined || (e.type ?? "force_push") === params.activity_type) &&
          (e.ref ?? "refs/heads/main") === params.ref,
      );
      const start = params.after ? Number(params.after) : 0;
      const page = list.slice(start, start + perPage);
      const more = start + perPage < list.length;
      return {
        data: page.map((e, i) => ({
          id: start + i,
          node_id: `RA_${start + i}`,
          before: e.before,
          after: e.after,
          ref: e.ref ?? "refs/heads/main",
          timestamp: e.timestamp,
          activity_type: e.type ?? "force_push",
          actor: e.actor === null ? null : { login: e.actor ?? "mallory", id: 1, type: "User" },
        })),
        headers: more
          ? {
              link: `<https://api.github.com/repositories/1/activity?per_page=100&after=${start + perPage}>; rel="next"`,
            }
          : {},
      };
    },
  };
  return { client, calls };
}

const refusing = (status: number, message = "Not Found") => ({
  async request(): Promise<never> {
    throw Object.assign(new Error(message), { status });
  },
});

describe("findForcePush", () => {
  test("the force push from the head on record to today's head: its time and actor; the query GitHub documents", async () => {
    const { client, calls } = fakeActivity([
      { before: sha("c"), after: sha("d"), timestamp: "2026-03-02T10:00:00Z" },
      { before: OLD, after: NOW, timestamp: "2026-03-01T09:30:00Z", actor: "eve" },
    ]);
    expect(await findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).toEqual({
      at: "2026-03-01T09:30:00.000Z",
      actor: "eve",
      exact: true,
    });
    expect(calls).toEqual([
      {
        owner: "acme",
        repo: "svc",
        ref: "refs/heads/main",
        activity_type: "force_push",
        direction: "desc",
        per_page: 100,
      },
    ]);
  });

  test("no exact pair: the newest force push to today's head (its after), across pages; the actor may be unknown", async () => {
    const filler = Array.from({ length: 150 }, (_, i) => ({
      before: sha("c"),
      after: sha("d"),
      timestamp: `2026-03-0${1 + (i % 5)}T00:00:00Z`,
    }));
    const { client, calls } = fakeActivity([
      ...filler,
      { before: sha("e"), after: NOW, timestamp: "2026-02-10T00:00:00Z", actor: null },
      { before: sha("f"), after: NOW, timestamp: "2026-02-01T00:00:00Z", actor: "old" },
    ]);
    expect(await findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).toEqual({
      at: "2026-02-10T00:00:00.000Z",
      actor: null,
      exact: false,
    });
    expect(calls.map((c) => c.after ?? null)).toEqual([null, "100"]);
  });

  test("the exact pair wins over a newer force push to the same head", async () => {
    const { client } = fakeActivity([
      { before: sha("e"), after: NOW, timestamp: "2026-02-10T00:00:00Z", actor: "later" },
      { before: OLD, after: NOW, timestamp: "2026-02-01T00:00:00Z", actor: "first" },
    ]);
    expect(await findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).toMatchObject({
      actor: "first",
      exact: true,
    });
  });

  test("at most MAX_ACTIVITY_PAGES pages are read: an entry past them is not found (null)", async () => {
    const filler = Array.from({ length: MAX_ACTIVITY_PAGES * 100 }, () => ({
      before: sha("c"),
      after: sha("d"),
      timestamp: "2026-03-01T00:00:00Z",
    }));
    const { client, calls } = fakeActivity([
      ...filler,
      { before: OLD, after: NOW, timestamp: "2026-02-01T00:00:00Z" },
    ]);
    expect(await findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).toBeNull();
    expect(calls).toHaveLength(MAX_ACTIVITY_PAGES);
  });

  test("other branches, other activity types and other heads are not it", async () => {
    const { client } = fakeActivity([
      { before: OLD, after: NOW, timestamp: "2026-02-01T00:00:00Z", ref: "refs/heads/dev" },
      { before: OLD, after: NOW, timestamp: "2026-02-01T00:00:00Z", type: "push" },
      { before: OLD, after: sha("d"), timestamp: "2026-02-01T00:00:00Z" },
    ]);
    expect(await findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).toBeNull();
  });

  test.each([403, 404, 410, 422])(
    "%i (no permission, not on this GitHub version, refused): null, never a throw",
    async (status) => {
      expect(
        await findForcePush(refusing(status), "acme/svc", "main", { before: OLD, after: NOW }),
      ).toBeNull();
    },
  );

  test("a rate limit (403 saying so) or a server error is thrown, like the scan's other reads", async () => {
    await expect(
      findForcePush(refusing(403, "API rate limit exceeded for installation"), "acme/svc", "main", {
        before: OLD,
        after: NOW,
      }),
    ).rejects.toThrow(/rate limit/);
    await expect(
      findForcePush(refusing(502, "Bad Gateway"), "acme/svc", "main", { before: OLD, after: NOW }),
    ).rejects.toThrow(/Bad Gateway/);
  });

  test("a malformed answer is an error, not a silent null", async () => {
    const client = { request: async () => ({ data: { message: "not a list" } }) };
    await expect(findForcePush(client, "acme/svc", "main", { before: OLD, after: NOW })).rejects.toThrow(
      /malformed/,
    );
  });

  test("nextAfter: the `after` cursor of rel=next only", () => {
    expect(
      nextAfter(
        '<https://x/repos/a/b/activity?before=P>; rel="prev", <https://x/repos/a/b/activity?per_page=100&after=Y3Vy>; rel="next"',
      ),
    ).toBe("Y3Vy");
    expect(nextAfter('<https://x/repos/a/b/activity?before=P>; rel="prev"')).toBeNull();
    expect(nextAfter(undefined)).toBeNull();
  });
});

describe("findPushChain", () => {
  const C = sha("c");
  const D = sha("d");
  const E = sha("e");

  test("follows before to the previous update's after, every activity type, from today's head back to the head on record; oldest first", async () => {
    const { client, calls } = fakeActivity([
      // newest first; an update of another branch and an unrelated older push to the same after are not links
      { before: D, after: NOW, timestamp: "2026-12-03T10:00:00Z", type: "push", actor: "mallory" },
      { before: C, after: D, timestamp: "2026-12-02T10:00:00Z", type: "pr_merge", actor: "alice" },
      {
        before: OLD,
        after: C,
        timestamp: "2026-12-01T10:00:00Z",
        type: "push",
        actor: "eve",
        ref: "refs/heads/dev",
      },
      { before: OLD, after: C, timestamp: "2026-12-01T09:00:00Z", type: "push", actor: "bob" },
      { before: E, after: C, timestamp: "2026-11-01T09:00:00Z", type: "push", actor: "old" },
    ]);
    expect(await findPushChain(client, "acme/payments", "main", { before: OLD, after: NOW })).toEqual([
      { after: C, at: "2026-12-01T09:00:00.000Z", actor: "bob" },
      { after: D, at: "2026-12-02T10:00:00.000Z", actor: "alice" },
      { after: NOW, at: "2026-12-03T10:00:00.000Z", actor: "mallory" },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ ref: "refs/heads/main", direction: "desc", per_page: 100 });
    expect(calls[0]!.activity_type).toBeUndefined();
  });

  test("a broken chain (a link missing from the activity) is null", async () => {
    const { client } = fakeActivity([
      { before: D, after: NOW, timestamp: "2026-12-03T10:00:00Z", type: "push" },
      // no update whose after is D
      { before: OLD, after: C, timestamp: "2026-12-01T09:00:00Z", type: "push" },
    ]);
    expect(await findPushChain(client, "acme/payments", "main", { before: OLD, after: NOW })).toBeNull();
  });

  test("reads at most MAX_ACTIVITY_PAGES pages: a chain that ends beyond them is null, within them is found", async () => {
    const filler = Array.from({ length: MAX_ACTIVITY_PAGES * 100 }, (_, i) => ({
      before: sha("f"),
      after: sha("9"),
      timestamp: new Date(Date.UTC(2026, 11, 3) - i * 1000).toISOString(),
      type: "push",
    }));
    const link = { before: OLD, after: NOW, timestamp: "2026-01-01T00:00:00Z", type: "push" };
    const far = fakeActivity([...filler, link]);
    expect(await findPushChain(far.client, "acme/payments", "main", { before: OLD, after: NOW })).toBeNull();
    expect(far.calls).toHaveLength(MAX_ACTIVITY_PAGES);
    const near = fakeActivity([...filler.slice(1), link]);
    expect(await findPushChain(near.client, "acme/payments", "main", { before: OLD, after: NOW })).toEqual([
      { after: NOW, at: "2026-01-01T00:00:00.000Z", actor: "mallory" },
    ]);
    expect(near.calls).toHaveLength(MAX_ACTIVITY_PAGES);
  });

  test("an activity GitHub does not give (403, 404, 410, 422) is null; a rate limit and a 5xx throw", async () => {
    for (const status of [403, 404, 410, 422])
      expect(
        await findPushChain(refusing(status), "acme/payments", "main", { before: OLD, after: NOW }),
      ).toBeNull();
    await expect(
      findPushChain(refusing(403, "API rate limit exceeded"), "acme/payments", "main", {
        before: OLD,
        after: NOW,
      }),
    ).rejects.toThrow(/rate limit/);
    await expect(
      findPushChain(refusing(502, "Bad Gateway"), "acme/payments", "main", { before: OLD, after: NOW }),
    ).rejects.toThrow(/Bad Gateway/);
  });
});

describe("pushOfCommit", () => {
  // The head on record (0), then 1 <- 2 (pushed by bob), then 3 <- 4 (pushed by mallory, today's head).
  const chain = [
    { after: sha("2"), at: "2026-12-01T00:00:00.000Z", actor: "bob" },
    { after: sha("4"), at: "2026-12-02T00:00:00.000Z", actor: "mallory" },
  ];
  const graph = new Map([
    [sha("1"), [sha("0")]],
    [sha("2"), [sha("1")]],
    [sha("3"), [sha("2")]],
    [sha("4"), [sha("3")]],
  ]);

  test("a commit is brought by the first push whose after reaches it through parents (not by compare's order, which follows dates)", () => {
    // Compare lists the back-dated commits of mallory's push first: the map's order does not matter.
    const byDate = new Map([...graph].reverse());
    expect(["1", "2", "3", "4"].map((c) => pushOfCommit(chain, byDate, sha(c))?.actor)).toEqual([
      "bob",
      "bob",
      "mallory",
      "mallory",
    ]);
  });

  test("a push whose after is not listed (rewritten away) is skipped; a commit not listed, or reached by no push, has none", () => {
    const three = [{ after: sha("9"), at: "2026-11-30T00:00:00.000Z", actor: "eve" }, ...chain];
    expect(pushOfCommit(three, graph, sha("1"))?.actor).toBe("bob");
    expect(pushOfCommit(chain, graph, sha("5"))).toBeUndefined();
    const stray = new Map([...graph, [sha("6"), [sha("0")]]]);
    expect(pushOfCommit(chain, stray, sha("6"))).toBeUndefined();
  });

  test("a list stopped short at the bound dates only by a chain of one push (it brought every commit listed)", () => {
    const prefix = new Map([...graph].slice(0, 2));
    expect(pushOfCommit([chain[1]!], prefix, sha("1"), false)?.actor).toBe("mallory");
    expect(pushOfCommit(chain, prefix, sha("1"), false)).toBeUndefined();
  });
});
