/** findForcePush (github/activity.ts) against a fake repository activity: pairing, the page bound, what GitHub refuses. */
import { describe, expect, test } from "@jest/globals";
import { findForcePush, MAX_ACTIVITY_PAGES, nextAfter } from "../../src/github/activity.js";

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
          (e.type ?? "force_push") === params.activity_type && (e.ref ?? "refs/heads/main") === params.ref,
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
