/**
 * GET /search/issues for merged pull requests, with GitHub's rules
 * (docs.github.com/rest/search/search): at most 1,000 results per query (a page past them is 422
 * "Only the first 1000 search results are available"), per_page at most 100 (larger is clamped),
 * 30 requests a minute per token (then 403 with x-ratelimit-remaining 0 and the reset time).
 * Qualifiers understood: is:pr, is:merged, repo:, org:, user:, base:, merged:A..B (inclusive,
 * dates or whole-second times). Only what the caller's installation can see is searched.
 * `rules` is mutable so a test can lower the cap (to slice with few PRs) or the rate.
 */
import type { GitHubModel, SimPull } from "./model.js";
import { userJson } from "./json.js";

export class SearchRules {
  cap = 1000;
  perMinute = 30;
  /** Request times (ms) per caller, for the rate limit. */
  readonly calls = new Map<string, number[]>();
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function range(v: string, end: boolean): number {
  // A day bound covers that whole day; a time bound is that second.
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`) + (end ? 86_399_000 : 0);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Refusal(422, `Validation Failed: merged:${v} is not a date`);
  return t;
}

export function searchIssues(
  m: GitHubModel,
  rules: SearchRules,
  caller: { key: string; account: string },
  query: URLSearchParams,
): Answer {
  const now = Date.now();
  const recent = (rules.calls.get(caller.key) ?? []).filter((t) => t > now - 60_000);
  if (recent.length >= rules.perMinute) {
    const reset = Math.ceil((recent[0]! + 60_000) / 1000);
    return {
      status: 403,
      headers: {
        "x-ratelimit-limit": String(rules.perMinute),
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(reset),
        "x-ratelimit-resource": "search",
      },
      body: {
        message: "API rate limit exceeded for installation.",
        documentation_url: "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
      },
    };
  }
  recent.push(now);
  rules.calls.set(caller.key, recent);
  try {
    const q = query.get("q") ?? "";
    const perPage = Math.min(Math.max(Number(query.get("per_page") ?? 30) || 30, 1), 100);
    const page = Math.max(Number(query.get("page") ?? 1) || 1, 1);
    let from = -Infinity;
    let to = Infinity;
    const filters: ((p: SimPull) => boolean)[] = [];
    for (const token of q.split(/\s+/).filter(Boolean)) {
      const [key, ...rest] = token.split(":");
      const value = rest.join(":");
      if (token === "is:pr" || token === "type:pr") continue;
      else if (token === "is:merged") filters.push((p) => p.merged);
      else if (key === "repo") filters.push((p) => p.repo.toLowerCase() === value.toLowerCase());
      else if (key === "org" || key === "user")
        filters.push((p) => p.repo.toLowerCase().startsWith(`${value.toLowerCase()}/`));
      else if (key === "base") filters.push((p) => p.baseRef === value);
      else if (key === "merged") {
        const [a, b] = value.split("..");
        if (a === undefined || b === undefined)
          throw new Refusal(422, "Validation Failed: merged: needs a range A..B");
        from = range(a, false);
        to = range(b, true);
      } else throw new Refusal(422, `Validation Failed: the simulator does not model the qualifier ${token}`);
    }
    const hits = [...m.pulls.values()]
      .filter((p) => p.repo.toLowerCase().startsWith(`${caller.account.toLowerCase()}/`))
      .filter((p) => filters.every((f) => f(p)))
      .filter((p) => p.mergedAt !== null && Date.parse(p.mergedAt) >= from && Date.parse(p.mergedAt) <= to)
      .sort((a, b) => Date.parse(b.mergedAt!) - Date.parse(a.mergedAt!) || b.number - a.number);
    const start = (page - 1) * perPage;
    if (start >= rules.cap)
      throw new Refusal(422, `Only the first ${rules.cap} search results are available`);
    const items = hits
      .slice(0, rules.cap)
      .slice(start, start + perPage)
      .map((p) => issueItem(m, p));
    return { status: 200, body: { total_count: hits.length, incomplete_results: false, items } };
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    return {
      status: err.status,
      body: { message: err.message, documentation_url: "https://docs.github.com/rest/search/search" },
    };
  }
}

function issueItem(m: GitHubModel, p: SimPull): Record<string, unknown> {
  const api = `${m.apiBase}/repos/${p.repo}`;
  const web = `${m.webBase}/${p.repo}`;
  return {
    url: `${api}/issues/${p.number}`,
    repository_url: api,
    html_url: `${web}/pull/${p.number}`,
    id: p.id,
    node_id: p.nodeId,
    number: p.number,
    title: p.title,
    user: userJson(m, p.author),
    state: p.state,
    locked: false,
    comments: 0,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    closed_at: p.closedAt,
    body: p.body === "" ? null : p.body,
    score: 1,
    pull_request: {
      url: `${api}/pulls/${p.number}`,
      html_url: `${web}/pull/${p.number}`,
      diff_url: `${web}/pull/${p.number}.diff`,
      patch_url: `${web}/pull/${p.number}.patch`,
      merged_at: p.mergedAt,
    },
  };
}
