/**
 * The merge queue's side of GitHub: which PRs a merge group holds (one GraphQL read of the base
 * branch's queue), and the `changegate` check on the group's head commit.
 *
 * Which PRs: GitHub builds a group's head commit from the queue's base plus every entry ahead of
 * the one that asked, in order; each MergeQueueEntry has `headCommit` (that group's head) and
 * `position`. The group whose head is `headSha` is the entry with that headCommit and every entry
 * before it. Its own PR is also named by the temporary branch (`gh-readonly-queue/<base>/pr-<N>-…`):
 * if the queue no longer lists the entry, or names another PR for that head, the group is unknown
 * and fails closed.
 */
import { z } from "zod";
import { CHECK_NAME } from "../contract.js";
import type { GroupMember } from "../policy/merge-group.js";
import type { GraphqlReader } from "./reader.js";
import type { OctokitLike } from "./types.js";

export const MERGE_QUEUE_QUERY = `
query ChangegateMergeQueue($owner: String!, $name: String!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    mergeQueue(branch: $branch) {
      entries(first: 100) {
        pageInfo { hasNextPage }
        nodes { position headCommit { oid } pullRequest { number headRefOid } }
      }
    }
  }
}`;

const answer = z.object({
  repository: z
    .object({
      mergeQueue: z
        .object({
          entries: z.object({
            pageInfo: z.object({ hasNextPage: z.boolean() }),
            nodes: z.array(
              z
                .object({
                  position: z.number().int(),
                  headCommit: z.object({ oid: z.string() }).nullable(),
                  pullRequest: z.object({ number: z.number().int(), headRefOid: z.string() }).nullable(),
                })
                .nullable(),
            ),
          }),
        })
        .nullable(),
    })
    .nullable(),
});

export class MergeGroupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MergeGroupError";
  }
}

/** The PRs of the group headed by `headSha`, in queue order; throws MergeGroupError when GitHub cannot say. */
export async function groupMembers(
  reader: GraphqlReader,
  repo: { owner: string; repo: string },
  base: string,
  headSha: string,
  namedPr: number,
): Promise<GroupMember[]> {
  const res = await reader.query(MERGE_QUEUE_QUERY, { owner: repo.owner, name: repo.repo, branch: base });
  if (res.errors.length > 0)
    throw new MergeGroupError(
      `GitHub answered the merge queue query with errors: ${res.errors.map((e) => e.message).join("; ")}`,
    );
  const parsed = answer.safeParse(res.data);
  if (!parsed.success)
    throw new MergeGroupError(
      `GitHub's answer to the merge queue query is not what changegate expects: ${z.prettifyError(parsed.error)}`,
    );
  const entries = parsed.data.repository?.mergeQueue?.entries;
  if (!entries) throw new MergeGroupError(`${base} has no merge queue that changegate can read`);
  const nodes = entries.nodes.filter((n) => n !== null).sort((a, b) => a.position - b.position);
  const own = nodes.find((n) => n.headCommit?.oid === headSha);
  if (!own) {
    const more = entries.pageInfo.hasNextPage ? " (the queue holds more than 100 entries)" : "";
    throw new MergeGroupError(
      `the merge queue of ${base} lists no entry with head ${headSha.slice(0, 12)}${more}: the group's pull requests are unknown`,
    );
  }
  if (own.pullRequest?.number !== namedPr) {
    throw new MergeGroupError(
      `the merge group's branch names #${namedPr}, but the queue's entry for ${headSha.slice(0, 12)} is ${own.pullRequest ? `#${own.pullRequest.number}` : "a pull request changegate cannot see"}`,
    );
  }
  const members: GroupMember[] = [];
  for (const n of nodes) {
    if (n.position > own.position) break;
    if (!n.pullRequest)
      throw new MergeGroupError(
        `an entry ahead of #${namedPr} in the merge queue is a pull request changegate cannot see`,
      );
    members.push({ number: n.pullRequest.number, headSha: n.pullRequest.headRefOid });
  }
  return members;
}

/** The group's check run: a new run on its head commit (every group has its own head). */
export async function postGroupCheck(
  octokit: OctokitLike,
  repo: { owner: string; repo: string },
  headSha: string,
  check: { conclusion: "success" | "failure"; title: string; summary: string },
): Promise<void> {
  await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
    owner: repo.owner,
    repo: repo.repo,
    name: CHECK_NAME,
    head_sha: headSha,
    status: "completed",
    conclusion: check.conclusion,
    output: { title: check.title, summary: check.summary },
  });
}
