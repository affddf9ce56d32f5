/**
 * merged-search: every PR merged in a window, by GitHub's issue search
 * (`is:pr is:merged repo:o/n|org:o [base:b] merged:FROM..TO`), for the scan and `audit completeness`.
 *
 * GitHub search returns at most 1,000 results per query and may answer `incomplete_results`: a
 * slice of time whose total_count is over the cap (or incomplete) is split in two halves, down to
 * one second; a one-second slice still over the cap fails (never a silently truncated population).
 * Pages are 100. Search allows 30 requests a minute: requests are spaced `paceMs` apart (2 s by
 * default). Every answer is parsed with zod at the edge.
 *
 * The window is half-open [from, to): GitHub's `merged:A..B` is inclusive of both ends and counts
 * whole seconds, so a slice [a, b) asks for a..(b − 1 s) and every time is on a whole second.
 */
import { z } from "zod";
import type { OctokitLike } from "./types.js";

/** GitHub search's result cap per query. */
export const SEARCH_RESULT_CAP = 1000;
export const SEARCH_PAGE_SIZE = 100;
/** 30 search requests per minute (authenticated): one every 2 s. */
export const SEARCH_PACE_MS = 2000;

export interface MergedSearchQuery {
  /** One repository ("owner/name") or every repository of an organisation or user. */
  scope: { repo: string } | { org: string } | { user: string };
  /** Only PRs merged into this branch (absent: any base). */
  base?: string;
  /** ISO instants, half-open [from, to). */
  from: string;
  to: string;
}

export interface MergedPr {
  /** "owner/name" as GitHub spells it. */
  repo: string;
  number: number;
  url: string;
  /** From the search item (pull_request.merged_at); null where GitHub left it out. */
  mergedAt: string | null;
  title: string;
}

export interface MergedSearchOptions {
  paceMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Told about each slice as it is read (progress) and each split. */
  onSlice?: (s: { from: string; to: string; total: number; split: boolean }) => void;
}

export class MergedSearchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MergedSearchError";
  }
}

const searchItem = z.object({
  number: z.number().int().positive(),
  html_url: z.string(),
  repository_url: z.string(),
  title: z.string().max(100_000),
  pull_request: z.object({ merged_at: z.string().nullable().optional() }).passthrough().optional(),
});
const searchAnswer = z.object({
  total_count: z.number().int().nonnegative(),
  incomplete_results: z.boolean(),
  items: z.array(z.unknown()).max(SEARCH_PAGE_SIZE),
});

const REPO = /^[\w.-]+\/[\w.-]+$/;
const OWNER = /^[\w.-]+$/;
const BRANCH = /^[\w./-]+$/;

/** The search query string for a slice [from, to) (whole seconds). */
export function mergedQuery(q: MergedSearchQuery, from: number, to: number): string {
  const scope =
    "repo" in q.scope
      ? `repo:${q.scope.repo}`
      : "org" in q.scope
        ? `org:${q.scope.org}`
        : `user:${q.scope.user}`;
  const base = q.base ? ` base:${q.base}` : "";
  return `is:pr is:merged ${scope}${base} merged:${isoSecond(from)}..${isoSecond(to - 1000)}`;
}

function isoSecond(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function checkQuery(q: MergedSearchQuery): { from: number; to: number } {
  if ("repo" in q.scope && !REPO.test(q.scope.repo))
    throw new MergedSearchError(`not a repository: ${JSON.stringify(q.scope.repo)} (expected owner/name)`);
  if ("org" in q.scope && !OWNER.test(q.scope.org))
    throw new MergedSearchError(`not an organisation: ${JSON.stringify(q.scope.org)}`);
  if ("user" in q.scope && !OWNER.test(q.scope.user))
    throw new MergedSearchError(`not a user: ${JSON.stringify(q.scope.user)}`);
  if (q.base !== undefined && !BRANCH.test(q.base))
    throw new MergedSearchError(`not a branch name: ${JSON.stringify(q.base)}`);
  // Whole seconds: the start rounds down, the end up, so the window is never narrowed.
  const from = Math.floor(Date.parse(q.from) / 1000) * 1000;
  const to = Math.ceil(Date.parse(q.to) / 1000) * 1000;
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new MergedSearchError(`not a time window: ${q.from} .. ${q.to}`);
  if (from >= to) throw new MergedSearchError(`the window ${q.from} .. ${q.to} is empty`);
  return { from, to };
}

/**
 * Every PR merged in the window, each once, in no particular order. Throws MergedSearchError when
 * GitHub's answer is not a search answer or a one-second slice is over the cap.
 */
export async function searchMergedPrs(
  client: OctokitLike,
  q: MergedSearchQuery,
  opts: MergedSearchOptions = {},
): Promise<MergedPr[]> {
  const window = checkQuery(q);
  const paceMs = opts.paceMs ?? SEARCH_PACE_MS;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let requests = 0;
  const request = async (query: string, page: number) => {
    if (requests++ > 0 && paceMs > 0) await sleep(paceMs);
    const res = await client.request("GET /search/issues", { q: query, per_page: SEARCH_PAGE_SIZE, page });
    const parsed = searchAnswer.safeParse(res.data);
    if (!parsed.success)
      throw new MergedSearchError(
        `GitHub's search answer is not what changegate expects: ${z.prettifyError(parsed.error)}`,
      );
    return parsed.data;
  };

  const found = new Map<string, MergedPr>();
  const stack: [number, number][] = [[window.from, window.to]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    const query = mergedQuery(q, from, to);
    const first = await request(query, 1);
    if (first.total_count > SEARCH_RESULT_CAP || first.incomplete_results) {
      if (to - from <= 1000) {
        throw new MergedSearchError(
          `more than ${SEARCH_RESULT_CAP} PRs merged within one second (${isoSecond(from)}), or GitHub's search stays incomplete there: the population cannot be listed completely`,
        );
      }
      opts.onSlice?.({ from: isoSecond(from), to: isoSecond(to), total: first.total_count, split: true });
      const mid = from + Math.floor((to - from) / 2000) * 1000;
      stack.push([mid, to], [from, mid]);
      continue;
    }
    const items = [...first.items];
    const pages = Math.ceil(first.total_count / SEARCH_PAGE_SIZE);
    let incomplete = false;
    for (let page = 2; page <= pages && first.items.length === SEARCH_PAGE_SIZE; page++) {
      const next = await request(query, page);
      if (next.incomplete_results) incomplete = true;
      items.push(...next.items);
      if (next.items.length < SEARCH_PAGE_SIZE) break;
    }
    if (incomplete || items.length < first.total_count) {
      // Results moved while paging (or GitHub timed out): read this slice again in halves.
      if (to - from <= 1000) throw new MergedSearchError(`GitHub's search of ${query} stayed incomplete`);
      const mid = from + Math.floor((to - from) / 2000) * 1000;
      stack.push([mid, to], [from, mid]);
      opts.onSlice?.({ from: isoSecond(from), to: isoSecond(to), total: first.total_count, split: true });
      continue;
    }
    opts.onSlice?.({ from: isoSecond(from), to: isoSecond(to), total: first.total_count, split: false });
    for (const raw of items) {
      const item = searchItem.safeParse(raw);
      if (!item.success)
        throw new MergedSearchError(`a search result is not a pull request: ${z.prettifyError(item.error)}`);
      const m = /\/repos\/([^/]+\/[^/]+)$/.exec(item.data.repository_url);
      if (!m || !REPO.test(m[1]!))
        throw new MergedSearchError(
          `a search result names no repository: ${JSON.stringify(item.data.repository_url)}`,
        );
      const pr: MergedPr = {
        repo: m[1]!,
        number: item.data.number,
        url: item.data.html_url,
        mergedAt: item.data.pull_request?.merged_at ?? null,
        title: item.data.title,
      };
      found.set(`${pr.repo.toLowerCase()}#${pr.number}`, pr);
    }
  }
  return [...found.values()];
}
