/**
 * activity: when a force push the scan found happened, and who made it, from GitHub's repository
 * activity (REST `GET /repos/{owner}/{repo}/activity`, `activity_type=force_push`, `ref` the
 * branch, newest first, cursor pagination by the `Link` header; repository Contents: read, which
 * the app has). The scan only sees that a head on record is no longer in the branch's history; the
 * activity says when today's head reached it. Parsed with zod at the edge; at most
 * MAX_ACTIVITY_PAGES pages of 100 are read. An activity GitHub will not give (403 without
 * permission, 404/410 where the endpoint does not exist, e.g. an older GitHub Enterprise Server,
 * 422) is null: the caller records the time it found the push and says so. Other failures (a
 * rate limit, 5xx, a malformed answer) throw like the scan's other reads.
 *
 * findPushChain: the branch updates (every activity type: push, force_push, pr_merge, …; a merged
 * pull request between two lost pushes is a link of the chain) that led from the head on record
 * to today's head, so the scan dates each commit it found by the push that brought it.
 */
import { z } from "zod";
import { GatherError } from "./gather.js";
import { SHA } from "./push-facts.js";
import { nextPageParam } from "./deliveries.js";
import type { OctokitLike } from "./types.js";

/** Pages of activity read per force push (100 each): a bound, not GitHub's. */
export const MAX_ACTIVITY_PAGES = 5;
export const ACTIVITY_PAGE_SIZE = 100;

export interface ForcePushActivity {
  /** When GitHub says the force push happened (ISO). */
  at: string;
  /** Who made it (login), null when GitHub names no one. */
  actor: string | null;
  /** The activity's before and after matched the head on record and today's (else: only its after did). */
  exact: boolean;
}

const item = z.object({
  before: z.string().max(64),
  after: z.string().max(64),
  timestamp: z.string().max(64),
  activity_type: z.string().max(64),
  actor: z
    .object({ login: z.string().max(100) })
    .nullable()
    .optional(),
});
const answer = z.array(item).max(ACTIVITY_PAGE_SIZE);

/** Statuses that say the activity is not GitHub's to give here (permission, version, validation): no lookup, not a failure. */
const UNAVAILABLE = new Set([403, 404, 410, 422]);

type ActivityItem = z.infer<typeof item>;

/**
 * The activity of `repo` `branch`, newest first, a page (≤ 100) at a time, at most `maxPages`:
 * null for the whole when GitHub does not give it (403 without permission, 404/410 where the
 * endpoint does not exist, 422); a rate limit, 5xx or a malformed page throws.
 */
async function* activityPages(
  octokit: OctokitLike,
  repo: string,
  branch: string,
  query: { activity_type?: string },
  maxPages: number,
): AsyncGenerator<ActivityItem[] | null> {
  const [owner, name] = repo.split("/") as [string, string];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    let res: { data: unknown; headers?: Record<string, unknown> };
    try {
      res = (await octokit.request("GET /repos/{owner}/{repo}/activity", {
        owner,
        repo: name,
        ref: `refs/heads/${branch}`,
        ...query,
        direction: "desc",
        per_page: ACTIVITY_PAGE_SIZE,
        ...(cursor ? { after: cursor } : {}),
      })) as { data: unknown; headers?: Record<string, unknown> };
    } catch (err) {
      if (unavailable(err)) {
        yield null;
        return;
      }
      throw err;
    }
    const parsed = answer.safeParse(res.data);
    if (!parsed.success)
      throw new GatherError(
        `GitHub's activity of ${repo} ${branch} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
      );
    yield parsed.data;
    cursor = nextAfter(res.headers?.link);
    if (!cursor) return;
  }
}

/**
 * The force push of `repo` (owner/name) `branch` from `before` (the head on record) to `after`
 * (today's head); failing that exact pair, the newest force push whose after is `after`; null when
 * neither is in the pages read, or GitHub does not give the activity.
 */
export async function findForcePush(
  octokit: OctokitLike,
  repo: string,
  branch: string,
  heads: { before: string; after: string },
  maxPages = MAX_ACTIVITY_PAGES,
): Promise<ForcePushActivity | null> {
  if (!SHA.test(heads.after)) return null;
  let newest: { at: string; actor: string | null; ms: number } | null = null;
  for await (const page of activityPages(octokit, repo, branch, { activity_type: "force_push" }, maxPages)) {
    if (!page) return null;
    for (const a of page) {
      if (a.activity_type !== "force_push" || a.after.toLowerCase() !== heads.after.toLowerCase()) continue;
      const ms = Date.parse(a.timestamp);
      if (!Number.isFinite(ms)) continue;
      const found = { at: new Date(ms).toISOString(), actor: a.actor?.login ?? null };
      if (a.before.toLowerCase() === heads.before.toLowerCase()) return { ...found, exact: true };
      if (!newest || ms > newest.ms) newest = { ...found, ms };
    }
  }
  return newest ? { at: newest.at, actor: newest.actor, exact: false } : null;
}

export interface ChainPush {
  /** The branch's head after this update. */
  after: string;
  /** When GitHub says the branch was updated (ISO). */
  at: string;
  /** Who updated it (login), null when GitHub names no one. */
  actor: string | null;
}

/**
 * The branch updates of `repo` `branch` leading from `heads.before` (the head on record) to
 * `heads.after` (today's head), oldest first: the newest update whose after is today's head, then
 * the newest older one whose after is its before, and so on until one's before is the head on
 * record. Null when the chain is not complete within `maxPages` pages (newest first), or GitHub
 * does not give the activity (403 without permission, 404, 410, 422; a rate limit or 5xx throws).
 */
export async function findPushChain(
  octokit: OctokitLike,
  repo: string,
  branch: string,
  heads: { before: string; after: string },
  maxPages = MAX_ACTIVITY_PAGES,
): Promise<ChainPush[] | null> {
  if (!SHA.test(heads.after) || !SHA.test(heads.before)) return null;
  const stop = heads.before.toLowerCase();
  if (stop === heads.after.toLowerCase()) return [];
  const chain: ChainPush[] = []; // newest first while walking
  let need = heads.after.toLowerCase();
  for await (const page of activityPages(octokit, repo, branch, {}, maxPages)) {
    if (!page) return null;
    for (const a of page) {
      if (a.after.toLowerCase() !== need) continue;
      const ms = Date.parse(a.timestamp);
      if (!Number.isFinite(ms)) return null;
      chain.push({ after: a.after, at: new Date(ms).toISOString(), actor: a.actor?.login ?? null });
      need = a.before.toLowerCase();
      if (need === stop) return chain.reverse();
    }
  }
  return null;
}

/**
 * The push of `chain` (oldest first, its last update's after today's head) that brought `sha`, a
 * commit of `graph` (compare's commits from the head on record, or a rewrite's merge base, to
 * today's head, each with its parents): the first update whose after reaches `sha` through
 * parents within `graph` (the commits reachable from it and not from the previous update's after:
 * ancestry, never compare's order, which follows the commits' dates, the pusher's to choose). An
 * update whose after is not in `graph` is skipped (rewritten away by a later force push). When
 * `graph` stops short (`complete` false: the walk's bound) only a chain of one update dates: it
 * brought every commit listed. Undefined when no update is found (the caller does not date it).
 */
export function pushOfCommit(
  chain: readonly ChainPush[],
  graph: ReadonlyMap<string, readonly string[]>,
  sha: string,
  complete = true,
): ChainPush | undefined {
  return pushesOfCommits(chain, graph, complete).get(sha.toLowerCase());
}

/**
 * pushOfCommit for every commit of `graph` at once (keys lower case), in one walk of the graph: a
 * commit reached from an earlier update is that update's, and so are its ancestors, so a later
 * update's walk stops there. O(commits + parents) whatever the number of updates.
 */
export function pushesOfCommits(
  chain: readonly ChainPush[],
  graph: ReadonlyMap<string, readonly string[]>,
  complete = true,
): Map<string, ChainPush> {
  const brought = new Map<string, ChainPush>();
  if (!complete) {
    if (chain.length === 1) for (const sha of graph.keys()) brought.set(sha, chain[0]!);
    return brought;
  }
  for (const p of chain) {
    const start = p.after.toLowerCase();
    if (!graph.has(start) || brought.has(start)) continue;
    brought.set(start, p);
    const stack = [start];
    while (stack.length > 0) {
      for (const parent of graph.get(stack.pop()!) ?? []) {
        const q = parent.toLowerCase();
        if (graph.has(q) && !brought.has(q)) {
          brought.set(q, p);
          stack.push(q);
        }
      }
    }
  }
  return brought;
}

function unavailable(err: unknown): boolean {
  const e = err as { status?: unknown; message?: unknown };
  if (typeof e.status !== "number" || !UNAVAILABLE.has(e.status)) return false;
  // A 403 that is a rate limit is a failure to retry, not a missing permission.
  return !(e.status === 403 && typeof e.message === "string" && /rate limit/i.test(e.message));
}

/** The `after` cursor of the `rel="next"` link, or null on the last page. */
export function nextAfter(link: unknown): string | null {
  return nextPageParam(link, "after");
}
