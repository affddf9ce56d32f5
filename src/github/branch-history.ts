/**
 * branch-history: a branch's commits in a window (GraphQL `history(since, until)` on the branch's
 * head commit, 100 a page, at most MAX_HISTORY_PAGES pages: the scan's bound), each with the pull
 * requests GitHub associates with it. Parsed with zod at the edge; a window with more commits than
 * the bound is reported truncated (the caller narrows the window), never silently cut.
 */
import { z } from "zod";
import type { PushedCommitFacts } from "../policy/direct-push.js";
import { GatherError } from "./gather.js";
import { PRS_PER_COMMIT, PUSH_PR_FIELDS, pushPrNode, SHA, toPushedPrs } from "./push-facts.js";
import type { GraphqlReader } from "./reader.js";

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
  author: z.object({ name: z.string().max(300).nullable().optional(), user: z.object({ login: z.string().max(100) }).nullable().optional() }).nullable().optional(),
  associatedPullRequests: z.object({ nodes: z.array(pushPrNode.nullable()) }).nullable().optional(),
});
const answer = z.object({
  repository: z
    .object({
      ref: z
        .object({
          target: z
            .object({ history: z.object({ pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }), nodes: z.array(node.nullable()) }).optional() })
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
    const res = await reader.query(BRANCH_HISTORY_QUERY, { owner, name, ref: `refs/heads/${branch}`, since: window.from, until: window.to, after });
    if (res.errors.length > 0) throw new GatherError(`reading the history of ${repo} ${branch} failed: ${res.errors.map((e) => e.message).join("; ").slice(0, 500)}`);
    const parsed = answer.safeParse(res.data);
    if (!parsed.success) throw new GatherError(`GitHub's history of ${repo} ${branch} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`);
    const history = parsed.data.repository?.ref?.target?.history;
    if (!history) return { commits, truncated: false }; // no such branch
    for (const n of history.nodes) {
      if (!n) continue;
      const prs = n.associatedPullRequests ? toPushedPrs(n.associatedPullRequests.nodes) : null;
      commits.push({ sha: n.oid, prs, committedAt: n.committedDate, author: n.author?.user?.login ?? n.author?.name ?? null });
    }
    if (!history.pageInfo.hasNextPage || !history.pageInfo.endCursor) return { commits, truncated: false };
    after = history.pageInfo.endCursor;
  }
  return { commits, truncated: true };
}
