/**
 * push-facts: what GitHub says about a push to a branch, in ONE GraphQL read: the policy files (the
 * repository's and the owner's `.github` one, as the pipeline reads them), the default branch, and
 * for each pushed commit the pull requests GitHub associates with it (aliases c0..cN on
 * `object(oid:)` → `associatedPullRequests`). GraphQL rather than REST commits/{sha}/pulls: one
 * request for up to MAX_PUSH_COMMITS commits instead of one per commit, and the policy comes in
 * the same read. Parsed with zod at the edge.
 */
import { z } from "zod";
import { CONFIG_PATH } from "../contract.js";
import type { ConfigFile } from "../config/load.js";
import type { PushedCommitFacts } from "../policy/direct-push.js";
import { GatherError } from "./gather.js";
import type { GraphqlReader } from "./reader.js";

/** GitHub's push payload lists at most 20 commits; `after` is added when not among them. */
export const MAX_PUSH_COMMITS = 21;
/** Pull requests asked per commit (a commit in more than this many PRs is rare; none merged → uncovered). */
export const PRS_PER_COMMIT = 10;

export const SHA = /^[0-9a-f]{40}$/;

export function pushFactsQuery(n: number): string {
  const vars = Array.from({ length: n }, (_, i) => `$c${i}: GitObjectID!`).join(", ");
  const commits = Array.from(
    { length: n },
    (_, i) =>
      `    c${i}: object(oid: $c${i}) { ... on Commit { oid associatedPullRequests(first: ${PRS_PER_COMMIT}) { nodes { number merged baseRefName } } } }`,
  ).join("\n");
  return `
query ChangegatePush($owner: String!, $name: String!, $policyExpr: String!, $readOrg: Boolean!${vars ? `, ${vars}` : ""}) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    defaultBranchRef { name }
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
${commits}
  }
  org: repository(owner: $owner, name: ".github") @include(if: $readOrg) {
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
  }
}`;
}

const blob = z.object({ text: z.string().nullable().optional(), isTruncated: z.boolean().optional() }).nullable().optional();
const commitNode = z
  .object({
    oid: z.string().regex(SHA),
    associatedPullRequests: z.object({ nodes: z.array(z.object({ number: z.number().int(), merged: z.boolean(), baseRefName: z.string() }).nullable()) }).nullable().optional(),
  })
  .nullable()
  .optional();

export interface PushFacts {
  configFiles: { repoFile: ConfigFile | null; orgFile: ConfigFile | null; defaultBranch: string };
  commits: PushedCommitFacts[];
}

export async function pushFacts(reader: GraphqlReader, repo: { owner: string; repo: string }, shas: string[]): Promise<PushFacts> {
  const list = shas.slice(0, MAX_PUSH_COMMITS);
  if (list.some((s) => !SHA.test(s))) throw new GatherError("a pushed commit id is not a 40-hex sha");
  const variables: Record<string, unknown> = { owner: repo.owner, name: repo.repo, policyExpr: `HEAD:${CONFIG_PATH}`, readOrg: repo.repo.toLowerCase() !== ".github" };
  list.forEach((s, i) => (variables[`c${i}`] = s));
  const answer = await reader.query(pushFactsQuery(list.length), variables);
  const unexpected = answer.errors.filter((e) => e.type !== "NOT_FOUND");
  if (unexpected.length > 0) throw new GatherError(`reading the push to ${repo.owner}/${repo.repo} failed: ${unexpected.map((e) => e.message).join("; ").slice(0, 500)}`);
  const shape = z.object({
    repository: z.looseObject({ nameWithOwner: z.string(), defaultBranchRef: z.object({ name: z.string() }).nullable().optional(), policy: blob }),
    org: z.object({ policy: blob }).nullable().optional(),
  });
  const parsed = shape.safeParse(answer.data);
  if (!parsed.success) throw new GatherError(`GitHub's answer about the push to ${repo.owner}/${repo.repo} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`);
  const r = parsed.data.repository;
  const text = (b: z.output<typeof blob>, label: string): string | null => {
    if (!b || typeof b.text !== "string") return null;
    if (b.isTruncated) throw new GatherError(`${label} is too large for GitHub to return in full`);
    return b.text;
  };
  const repoText = text(r.policy, `${r.nameWithOwner}:${CONFIG_PATH}`);
  const orgText = text(parsed.data.org?.policy, `${repo.owner}/.github:${CONFIG_PATH}`);
  const commits: PushedCommitFacts[] = list.map((sha, i) => {
    const node = commitNode.safeParse((r as Record<string, unknown>)[`c${i}`]);
    // Unknown to GitHub, or an answer we cannot read: no PR is known (fail closed: uncovered).
    if (!node.success || !node.data || node.data.oid !== sha || !node.data.associatedPullRequests) return { sha, prs: null };
    const prs = node.data.associatedPullRequests.nodes.filter((p): p is NonNullable<typeof p> => p !== null).map((p) => ({ number: p.number, merged: p.merged, baseRef: p.baseRefName }));
    return { sha, prs };
  });
  return {
    configFiles: {
      repoFile: repoText === null ? null : { repo: r.nameWithOwner, path: CONFIG_PATH, text: repoText },
      orgFile: orgText === null ? null : { repo: `${repo.owner}/.github`, path: CONFIG_PATH, text: orgText },
      defaultBranch: r.defaultBranchRef?.name ?? "main",
    },
    commits,
  };
}
