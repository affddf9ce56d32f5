import { describe, expect, test } from "@jest/globals";
import { HeadIndex, openPullsForSha, type PullsLister } from "../../src/handlers/locate.js";
import type { PrRef } from "../../src/github/types.js";

const SHA = "a".repeat(40);
const OTHER = "b".repeat(40);
const ref = (number: number, repo = "payments", owner = "acme"): PrRef => ({
  installationId: 7,
  owner,
  repo,
  number,
});

function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe("HeadIndex", () => {
  test("set/get", () => {
    const i = new HeadIndex();
    expect(i.get("acme/payments", SHA)).toBeUndefined();
    i.set(ref(1), SHA);
    i.set(ref(2), SHA);
    expect(i.get("acme/payments", SHA)).toEqual([ref(1), ref(2)]);
    expect(i.get("acme/other", SHA)).toBeUndefined();
    expect(i.get("acme/payments", OTHER)).toBeUndefined();
  });

  test("repository names compare case-insensitively", () => {
    const i = new HeadIndex();
    i.set(ref(1, "Payments", "ACME"), SHA);
    expect(i.get("acme/payments", SHA)).toEqual([ref(1, "Payments", "ACME")]);
  });

  test("setting a PR twice on one sha lists it once", () => {
    const i = new HeadIndex();
    i.set(ref(1), SHA);
    i.set(ref(1), SHA);
    expect(i.get("acme/payments", SHA)).toEqual([ref(1)]);
  });

  test("a new head forgets the PR under its previous head", () => {
    const i = new HeadIndex();
    i.set(ref(1), SHA);
    i.set(ref(2), SHA);
    i.set(ref(1), OTHER);
    expect(i.get("acme/payments", OTHER)).toEqual([ref(1)]);
    expect(i.get("acme/payments", SHA)).toEqual([ref(2)]);
    i.set(ref(2), OTHER);
    expect(i.get("acme/payments", SHA)).toBeUndefined();
    expect(i.get("acme/payments", OTHER)).toEqual([ref(1), ref(2)]);
  });

  test("the same number in another repository is another PR", () => {
    const i = new HeadIndex();
    i.set(ref(1, "a"), SHA);
    i.set(ref(1, "b"), OTHER);
    expect(i.get("acme/a", SHA)).toEqual([ref(1, "a")]);
  });

  test("a negative entry expires after its TTL (injected clock)", () => {
    const c = clock();
    const i = new HeadIndex(100, 60_000, c.now);
    i.setNone("acme/payments", SHA);
    expect(i.get("acme/payments", SHA)).toEqual([]);
    c.advance(60_000);
    expect(i.get("acme/payments", SHA)).toEqual([]);
    c.advance(1);
    expect(i.get("acme/payments", SHA)).toBeUndefined();
  });

  test("a positive entry does not expire", () => {
    const c = clock();
    const i = new HeadIndex(100, 60_000, c.now);
    i.set(ref(1), SHA);
    c.advance(24 * 3600_000);
    expect(i.get("acme/payments", SHA)).toEqual([ref(1)]);
  });

  test("set after setNone replaces the negative entry", () => {
    const i = new HeadIndex();
    i.setNone("acme/payments", SHA);
    i.set(ref(3), SHA);
    expect(i.get("acme/payments", SHA)).toEqual([ref(3)]);
  });

  test("bounded size: the oldest entries go first", () => {
    const i = new HeadIndex(3);
    for (let n = 1; n <= 5; n++) i.set(ref(n), `${n}`.repeat(40));
    expect(i.size).toBe(3);
    expect(i.get("acme/payments", "1".repeat(40))).toBeUndefined();
    expect(i.get("acme/payments", "2".repeat(40))).toBeUndefined();
    expect(i.get("acme/payments", "5".repeat(40))).toEqual([ref(5)]);
  });

  test("bounded size holds for negative entries too", () => {
    const i = new HeadIndex(10);
    for (let n = 0; n < 1000; n++) i.setNone("acme/payments", n.toString(16).padStart(40, "0"));
    expect(i.size).toBe(10);
  });

  test("bounded under a mix of moves, and re-setting refreshes an entry", () => {
    const i = new HeadIndex(2);
    i.set(ref(1), SHA);
    i.set(ref(2), OTHER);
    i.set(ref(1), SHA); // refreshed: now the newest
    i.set(ref(3), "c".repeat(40)); // evicts OTHER, the oldest
    expect(i.get("acme/payments", SHA)).toEqual([ref(1)]);
    expect(i.get("acme/payments", OTHER)).toBeUndefined();
    expect(i.size).toBe(2);
    for (let n = 0; n < 500; n++) i.set(ref(n % 7), n.toString(16).padStart(40, "0"));
    expect(i.size).toBeLessThanOrEqual(2);
  });
});

/** A fake REST lister: open PRs in pages of 100, recording each call. */
function lister(
  pulls: { number: number; sha: string }[],
): PullsLister & { calls: Record<string, unknown>[] } {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    async request(route, params) {
      expect(route).toBe("GET /repos/{owner}/{repo}/pulls");
      calls.push(params);
      const page = params.page as number;
      const per = params.per_page as number;
      const slice = pulls.slice((page - 1) * per, page * per);
      return {
        data: slice.map((p) => ({
          number: p.number,
          state: "open",
          head: { sha: p.sha },
          base: { repo: { full_name: "acme/payments" } },
        })),
      };
    },
  };
}

describe("openPullsForSha", () => {
  test("hinted numbers are used without a call", async () => {
    const l = lister([{ number: 9, sha: SHA }]);
    const out = await openPullsForSha(l, new HeadIndex(), 7, "acme", "payments", SHA, [3, 4]);
    expect(out).toEqual([ref(3), ref(4)]);
    expect(l.calls).toEqual([]);
  });

  test("an index hit answers without a call", async () => {
    const l = lister([{ number: 9, sha: SHA }]);
    const i = new HeadIndex();
    i.set(ref(5), SHA);
    expect(await openPullsForSha(l, i, 7, "acme", "payments", SHA, [])).toEqual([ref(5)]);
    expect(l.calls).toEqual([]);
  });

  test("a fresh negative entry answers [] without a call; an expired one lists again", async () => {
    const c = clock();
    const i = new HeadIndex(100, 1000, c.now);
    const l = lister([]);
    expect(await openPullsForSha(l, i, 7, "acme", "payments", SHA, [])).toEqual([]);
    expect(l.calls).toHaveLength(1);
    expect(await openPullsForSha(l, i, 7, "acme", "payments", SHA, [])).toEqual([]);
    expect(l.calls).toHaveLength(1);
    c.advance(1001);
    await openPullsForSha(l, i, 7, "acme", "payments", SHA, []);
    expect(l.calls).toHaveLength(2);
  });

  test("lists open PRs, matches on head.sha only, and remembers the answer", async () => {
    const l = lister([
      { number: 1, sha: OTHER },
      { number: 2, sha: SHA },
      { number: 3, sha: "c".repeat(40) },
      { number: 4, sha: SHA },
    ]);
    const i = new HeadIndex();
    expect(await openPullsForSha(l, i, 7, "acme", "payments", SHA, [])).toEqual([ref(2), ref(4)]);
    expect(l.calls).toEqual([{ owner: "acme", repo: "payments", state: "open", per_page: 100, page: 1 }]);
    expect(i.get("acme/payments", SHA)).toEqual([ref(2), ref(4)]);
    // the sha of a PR's base is not its head
    const l2 = {
      calls: [] as unknown[],
      async request() {
        return {
          data: [
            {
              number: 8,
              state: "open",
              head: { sha: OTHER },
              base: { sha: SHA, repo: { full_name: "acme/payments" } },
            },
          ],
        };
      },
    };
    expect(await openPullsForSha(l2, new HeadIndex(), 7, "acme", "payments", SHA, [])).toEqual([]);
  });

  test.each<[number, number]>([
    [0, 1],
    [99, 1],
    [100, 2],
    [150, 2],
    [200, 3],
    [250, 3],
  ])("%i open PRs → %i page reads (stops on a page under 100)", async (count, pages) => {
    const pulls = Array.from({ length: count }, (_, n) => ({
      number: n + 1,
      sha: n === count - 1 ? SHA : OTHER,
    }));
    const l = lister(pulls);
    const out = await openPullsForSha(l, new HeadIndex(), 7, "acme", "payments", SHA, []);
    expect(l.calls.map((c) => c.page)).toEqual(Array.from({ length: pages }, (_, n) => n + 1));
    expect(out).toEqual(count === 0 ? [] : [ref(count)]);
  });

  test("paging is bounded", async () => {
    const l = lister(Array.from({ length: 5000 }, (_, n) => ({ number: n + 1, sha: OTHER })));
    await openPullsForSha(l, new HeadIndex(), 7, "acme", "payments", SHA, []);
    expect(l.calls.length).toBe(20);
  });

  test("a listing error propagates (and nothing is cached)", async () => {
    const i = new HeadIndex();
    const failing: PullsLister = {
      async request() {
        throw new Error("502");
      },
    };
    await expect(openPullsForSha(failing, i, 7, "acme", "payments", SHA, [])).rejects.toThrow("502");
    expect(i.get("acme/payments", SHA)).toBeUndefined();
  });
});
