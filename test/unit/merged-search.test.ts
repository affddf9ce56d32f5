/** searchMergedPrs against a fake search that keeps GitHub's rules (1,000 cap, 100 a page). */
import { describe, expect, test } from "@jest/globals";
import {
  mergedQuery,
  MergedSearchError,
  searchMergedPrs,
  SEARCH_PACE_MS,
} from "../../src/github/merged-search.js";

interface Pr {
  repo: string;
  number: number;
  mergedAt: string;
}

/** GitHub's search over `prs`: parses repo:/org:/merged:A..B (inclusive), caps at `cap` results, 422 past it. */
function fakeSearch(prs: Pr[], cap = 1000) {
  const calls: { q: string; page: number; per_page: number }[] = [];
  const client = {
    async request(route: string, params: Record<string, unknown>) {
      expect(route).toBe("GET /search/issues");
      const q = String(params.q);
      const page = Number(params.page);
      const perPage = Math.min(Number(params.per_page), 100);
      calls.push({ q, page, per_page: Number(params.per_page) });
      const m = /merged:(\S+)\.\.(\S+)/.exec(q)!;
      const [a, b] = [Date.parse(m[1]!), Date.parse(m[2]!)];
      const repo = /repo:(\S+)/.exec(q)?.[1];
      const org = /org:(\S+)/.exec(q)?.[1];
      const hits = prs.filter((p) => {
        const t = Math.floor(Date.parse(p.mergedAt) / 1000) * 1000;
        return t >= a && t <= b && (!repo || p.repo === repo) && (!org || p.repo.startsWith(`${org}/`));
      });
      if ((page - 1) * perPage >= cap && hits.length > 0)
        throw Object.assign(new Error("Only the first 1000 search results are available"), { status: 422 });
      const items = hits.slice(0, cap).slice((page - 1) * perPage, page * perPage);
      return {
        data: {
          total_count: hits.length,
          incomplete_results: false,
          items: items.map((p) => ({
            number: p.number,
            title: `PR ${p.number}`,
            html_url: `https://github.com/${p.repo}/pull/${p.number}`,
            repository_url: `https://api.github.com/repos/${p.repo}`,
            pull_request: { merged_at: p.mergedAt },
          })),
        },
      };
    },
  };
  return { client, calls };
}

const start = Date.parse("2026-03-01T00:00:00Z");
const spread = (n: number, repo = "acme/payments", everyMs = 60_000): Pr[] =>
  Array.from({ length: n }, (_, i) => ({
    repo,
    number: i + 1,
    mergedAt: new Date(start + i * everyMs).toISOString(),
  }));

describe("searchMergedPrs", () => {
  test("the query is GitHub's, with an inclusive whole-second end one second before the exclusive end", () => {
    expect(
      mergedQuery(
        { scope: { repo: "acme/payments" }, base: "main", from: "", to: "" },
        start,
        start + 86_400_000,
      ),
    ).toBe("is:pr is:merged repo:acme/payments base:main merged:2026-03-01T00:00:00Z..2026-03-01T23:59:59Z");
  });

  test("a window larger than one page is read page by page, 100 a page, every PR once", async () => {
    const prs = spread(250);
    const { client, calls } = fakeSearch(prs);
    const found = await searchMergedPrs(
      client,
      { scope: { repo: "acme/payments" }, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z" },
      { paceMs: 0 },
    );
    expect(found.map((f) => f.number).sort((a, b) => a - b)).toEqual(prs.map((p) => p.number));
    expect(calls.map((c) => c.page)).toEqual([1, 2, 3]);
    expect(calls.every((c) => c.per_page === 100)).toBe(true);
    expect(found[0]).toMatchObject({
      repo: "acme/payments",
      url: "https://github.com/acme/payments/pull/1",
      mergedAt: prs[0]!.mergedAt,
    });
  });

  test("more than 1,000 results: the window is split into slices until each fits, and nothing is lost", async () => {
    const prs = spread(2500, "acme/payments", 30_000);
    const { client, calls } = fakeSearch(prs);
    const splits: string[] = [];
    const found = await searchMergedPrs(
      client,
      { scope: { org: "acme" }, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z" },
      { paceMs: 0, onSlice: (s) => s.split && splits.push(s.from) },
    );
    expect(new Set(found.map((f) => f.number)).size).toBe(2500);
    expect(splits.length).toBeGreaterThanOrEqual(2);
    // No page past the cap was ever asked for.
    expect(calls.every((c) => c.page <= 10)).toBe(true);
  });

  test("the edges: a PR merged at `from` is in, one merged at `to` is out", async () => {
    const prs: Pr[] = [
      { repo: "acme/payments", number: 1, mergedAt: "2026-03-01T00:00:00Z" },
      { repo: "acme/payments", number: 2, mergedAt: "2026-03-01T23:59:59Z" },
      { repo: "acme/payments", number: 3, mergedAt: "2026-03-02T00:00:00Z" },
    ];
    const found = await searchMergedPrs(
      fakeSearch(prs).client,
      { scope: { repo: "acme/payments" }, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z" },
      { paceMs: 0 },
    );
    expect(found.map((f) => f.number).sort()).toEqual([1, 2]);
  });

  test("requests are spaced for search's 30 a minute", async () => {
    const waits: number[] = [];
    const { client } = fakeSearch(spread(250));
    await searchMergedPrs(
      client,
      { scope: { repo: "acme/payments" }, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z" },
      { sleep: async (ms) => void waits.push(ms) },
    );
    expect(waits).toEqual([SEARCH_PACE_MS, SEARCH_PACE_MS]);
    expect(SEARCH_PACE_MS * 30).toBeGreaterThanOrEqual(60_000);
  });

  test("over 1,000 within one second cannot be listed: it fails instead of truncating", async () => {
    const prs = Array.from({ length: 1001 }, (_, i) => ({
      repo: "acme/payments",
      number: i + 1,
      mergedAt: "2026-03-01T10:00:00Z",
    }));
    await expect(
      searchMergedPrs(
        fakeSearch(prs).client,
        { scope: { repo: "acme/payments" }, from: "2026-03-01T10:00:00Z", to: "2026-03-01T10:00:02Z" },
        { paceMs: 0 },
      ),
    ).rejects.toThrow(/more than 1000 PRs merged within one second/);
  });

  test("an answer that is not a search answer, and hostile names, are refused with a message", async () => {
    const bad = { request: async () => ({ data: { items: "nope" } }) };
    await expect(
      searchMergedPrs(
        bad,
        { scope: { repo: "acme/payments" }, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z" },
        { paceMs: 0 },
      ),
    ).rejects.toThrow(MergedSearchError);
    await expect(
      searchMergedPrs(bad, {
        scope: { repo: "acme/payments merged:*" },
        from: "2026-03-01T00:00:00Z",
        to: "2026-03-02T00:00:00Z",
      }),
    ).rejects.toThrow(/not a repository/);
    await expect(
      searchMergedPrs(bad, {
        scope: { org: "acme" },
        from: "2026-03-02T00:00:00Z",
        to: "2026-03-01T00:00:00Z",
      }),
    ).rejects.toThrow(/empty/);
  });
});
