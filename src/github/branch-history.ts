/**
 * branch-history: a branch's commits in a window (GraphQL `history(since, until)` on the branch's
 * head commit, 100 a page, at most MAX_HISTORY_PAGES pages: the scan's bound), each with the pull
 * requests GitHub associates with it. Parsed with zod at the edge; a window with more commits than
 * the bound is reported truncated (the caller narrows the window), never silently cut. The scan's
 * first look at a branch only: afterwards it walks refs (`listBranches`, `comparePage`: the commits
 * reachable from today's head and not from the head it saw last, whatever their dates).
 */
import { z } from "zod";
import type { PushedCommitFacts } from "../policy/direct-push.js";
import { GatherError } from "./gather.js";
import { PRS_PER_COMMIT, PUSH_PR_FIELDS, pushPrNode, SHA, toPushedPrs } from "./push-facts.js";
import type { GraphqlReader } from "./reader.js";
import type { OctokitLike } from "./types.js";

export const MAX_HISTORY_PAGES = 20;

export const BRANCH_HISTORY_QUERY = `
query ChangegateBranchHistory($owner: String!, $name: String!, $ref: String!, $since: GitTimestamp!, $until: GitTimestamp!, $after: String) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) {
      target {
        ... on Commit {
          history(first: 100, since: $since, until: $until, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes {
              oid
              committedDate
              author { name user { login } }
              associatedPullRequests(first: ${PRS_PER_COMMIT}) { nodes { ${PUSH_PR_FIELDS} } }
            }
          }
        }
      }
    }
  }
}`;

const node = z.object({
  oid: z.string().regex(SHA),
  committedDate: z.string().max(64),
  author: z
    .object({
      name: z.string().max(300).nullable().optional(),
      user: z
        .object({ login: z.string().max(100) })
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
  associatedPullRequests: z
    .object({ nodes: z.array(pushPrNode.nullable()) })
    .nullable()
    .optional(),
});
const answer = z.object({
  repository: z
    .object({
      ref: z
        .object({
          target: z
            .object({
              history: z
                .object({
                  pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
                  nodes: z.array(node.nullable()),
                })
                .optional(),
            })
            .nullable(),
        })
        .nullable(),
    })
    .nullable(),
});

export interface HistoryCommit extends PushedCommitFacts {
  committedAt: string;
  author: string | null;
}

export async function branchHistory(
  reader: GraphqlReader,
  repo: string,
  branch: string,
  window: { from: string; to: string },
  maxPages = MAX_HISTORY_PAGES,
): Promise<{ commits: HistoryCommit[]; truncated: boolean }> {
  const [owner, name] = repo.split("/") as [string, string];
  const commits: HistoryCommit[] = [];
  let after: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const res = await reader.query(BRANCH_HISTORY_QUERY, {
      owner,
      name,
      ref: `refs/heads/${branch}`,
      since: window.from,
      until: window.to,
      after,
    });
    if (res.errors.length > 0)
      throw new GatherError(
        `reading the history of ${repo} ${branch} failed: ${res.errors
          .map((e) => e.message)
          .join("; ")
          .slice(0, 500)}`,
      );
    const parsed = answer.safeParse(res.data);
    if (!parsed.success)
      throw new GatherError(
        `GitHub's history of ${repo} ${branch} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
      );
    const history = parsed.data.repository?.ref?.target?.history;
    if (!history) return { commits, truncated: false }; // no such branch
    for (const n of history.nodes) {
      if (!n) continue;
      const prs = n.associatedPullRequests ? toPushedPrs(n.associatedPullRequests.nodes) : null;
      commits.push({
        sha: n.oid,
        prs,
        committedAt: n.committedDate,
        author: n.author?.user?.login ?? n.author?.name ?? null,
      });
    }
    if (!history.pageInfo.hasNextPage || !history.pageInfo.endCursor) return { commits, truncated: false };
    after = history.pageInfo.endCursor;
  }
  return { commits, truncated: true };
}

/** Branches listed per run: GET /repos/{o}/{r}/branches, 100 a page; more than this is refused (never a silently cut list). */
export const MAX_BRANCH_PAGES = 100;
/** Compare pages (100 commits each) walked per branch per run; a longer walk is continued by the next run. */
export const MAX_COMPARE_PAGES = 20;
export const COMPARE_PAGE_SIZE = 100;

const branchItem = z.object({
  name: z.string().min(1).max(255),
  commit: z.object({ sha: z.string().regex(SHA) }),
});

/** Every branch of `repo` and its head (REST, paged; every branch: a glob in the policy is matched against this list). */
export async function listBranches(
  octokit: OctokitLike,
  repo: string,
): Promise<{ name: string; sha: string }[]> {
  const [owner, name] = repo.split("/") as [string, string];
  const out: { name: string; sha: string }[] = [];
  for (let page = 1; page <= MAX_BRANCH_PAGES; page++) {
    const res = await octokit.request("GET /repos/{owner}/{repo}/branches", {
      owner,
      repo: name,
      per_page: 100,
      page,
    });
    const parsed = z.array(branchItem).max(100).safeParse(res.data);
    if (!parsed.success)
      throw new GatherError(
        `GitHub's branch list of ${repo} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
      );
    for (const b of parsed.data) out.push({ name: b.name, sha: b.commit.sha });
    if (parsed.data.length < 100) return out;
  }
  throw new GatherError(
    `${repo} has more than ${MAX_BRANCH_PAGES * 100} branches: not listed (the scan cannot tell which are gated)`,
  );
}

export interface ComparePage {
  /** identical, ahead (head descends from base), behind (head is an ancestor of base), diverged. */
  status: "identical" | "ahead" | "behind" | "diverged";
  /** Commits reachable from head and not from base (GitHub counts them all; the page lists up to 100, oldest first). */
  totalCommits: number;
  mergeBase: string | null;
  /** `parents`: the commit's parents as GitHub lists them (absent when it did not). */
  commits: { sha: string; committedAt: string; author: string | null; parents?: string[] }[];
}

const compareAnswer = z.object({
  status: z.enum(["identical", "ahead", "behind", "diverged"]),
  total_commits: z.number().int().nonnegative(),
  merge_base_commit: z
    .object({ sha: z.string().regex(SHA) })
    .nullable()
    .optional(),
  commits: z
    .array(
      z.object({
        sha: z.string().regex(SHA),
        commit: z.object({
          committer: z
            .object({ date: z.string().max(64).optional() })
            .nullable()
            .optional(),
          author: z
            .object({ name: z.string().max(300).optional() })
            .nullable()
            .optional(),
        }),
        author: z
          .object({ login: z.string().max(100) })
          .nullable()
          .optional(),
        parents: z
          .array(z.object({ sha: z.string().regex(SHA) }))
          .max(1000)
          .optional(),
      }),
    )
    .max(250),
});

/**
 * One page of GitHub's compare `base...head` (commits reachable from head and not from base,
 * oldest first, GitHub's pagination: `page`, per_page 100). null: GitHub does not know `base`
 * (404: the commit is gone, e.g. garbage-collected after a force push).
 */
export async function comparePage(
  octokit: OctokitLike,
  repo: string,
  base: string,
  head: string,
  page: number,
): Promise<ComparePage | null> {
  const [owner, name] = repo.split("/") as [string, string];
  let res: { data: unknown };
  try {
    res = await octokit.request("GET /repos/{owner}/{repo}/compare/{basehead}", {
      owner,
      repo: name,
      basehead: `${base}...${head}`,
      per_page: COMPARE_PAGE_SIZE,
      page,
    });
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
  const parsed = compareAnswer.safeParse(res.data);
  if (!parsed.success)
    throw new GatherError(
      `GitHub's comparison of ${repo} ${base.slice(0, 12)}...${head.slice(0, 12)} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
    );
  const d = parsed.data;
  return {
    status: d.status,
    totalCommits: d.total_commits,
    mergeBase: d.merge_base_commit?.sha ?? null,
    commits: d.commits.map((c) => ({
      sha: c.sha,
      committedAt: c.commit.committer?.date ?? "",
      author: c.author?.login ?? c.commit.author?.name ?? null,
      ...(c.parents ? { parents: c.parents.map((x) => x.sha) } : {}),
    })),
  };
}
