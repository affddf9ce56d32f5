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

/** Commits asked per GraphQL read (a push's commits are read in chunks of this many; `after` is added when not among them). */
export const MAX_PUSH_COMMITS = 21;
/** GitHub's push webhook lists at most this many commits ("The array includes a maximum of 2048 commits"). */
export const MAX_PUSH_PAYLOAD_COMMITS = 2048;
/** Pull requests asked per commit (a commit in more than this many PRs is rare; none merged → uncovered). */
export const PRS_PER_COMMIT = 10;

/**
 * What is asked of each associated pull request. `baseRepository`: GitHub can associate a commit
 * with pull requests of other repositories in its fork network; only one whose base repository is
 * this repository vouches for a push (policy/direct-push.ts).
 */
export const PUSH_PR_FIELDS = "number merged baseRefName baseRepository { nameWithOwner }";

/** One associated pull request as GitHub answers it (PUSH_PR_FIELDS). */
export const pushPrNode = z.object({
  number: z.number().int(),
  merged: z.boolean(),
  baseRefName: z.string(),
  baseRepository: z.object({ nameWithOwner: z.string() }).nullable().optional(),
});

/** GitHub's associated pull requests of a commit, as the policy reads them (a base repository GitHub did not name: null). */
export function toPushedPrs(
  nodes: (z.output<typeof pushPrNode> | null)[],
): NonNullable<PushedCommitFacts["prs"]> {
  return nodes
    .filter((p): p is NonNullable<typeof p> => p !== null)
    .map((p) => ({
      number: p.number,
      merged: p.merged,
      baseRef: p.baseRefName,
      baseRepo: p.baseRepository?.nameWithOwner ?? null,
    }));
}

export const SHA = /^[0-9a-f]{40}$/;

/** The default branch's newest commit at or before $startUntil (the scan: the policy at the start of its window). */
const START_FIELD = ` target @include(if: $readStart) { ... on Commit { history(first: 1, until: $startUntil) { nodes { oid } } } }`;

export function pushFactsQuery(n: number): string {
  const vars = Array.from({ length: n }, (_, i) => `$c${i}: GitObjectID!`).join(", ");
  const commits = Array.from(
    { length: n },
    (_, i) =>
      `    c${i}: object(oid: $c${i}) { ... on Commit { oid associatedPullRequests(first: ${PRS_PER_COMMIT}) { nodes { ${PUSH_PR_FIELDS} } } } }`,
  ).join("\n");
  return `
query ChangegatePush($owner: String!, $name: String!, $policyExpr: String!, $readOrg: Boolean!, $readBefore: Boolean = false, $beforeRev: String = "", $beforeExpr: String = "", $readStart: Boolean = false, $startUntil: GitTimestamp = "1970-01-01T00:00:00Z"${vars ? `, ${vars}` : ""}) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    defaultBranchRef { name${START_FIELD} }
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
    beforeCommit: object(expression: $beforeRev) @include(if: $readBefore) { ... on Commit { oid } }
    policyBefore: object(expression: $beforeExpr) @include(if: $readBefore) { ... on Blob { text isTruncated } }
${commits}
  }
  org: repository(owner: $owner, name: ".github") @include(if: $readOrg) {
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
  }
}`;
}

const blob = z
  .object({ text: z.string().nullable().optional(), isTruncated: z.boolean().optional() })
  .nullable()
  .optional();
const commitNode = z
  .object({
    oid: z.string().regex(SHA),
    associatedPullRequests: z
      .object({ nodes: z.array(pushPrNode.nullable()) })
      .nullable()
      .optional(),
  })
  .nullable()
  .optional();

export interface PushFacts {
  configFiles: { repoFile: ConfigFile | null; orgFile: ConfigFile | null; defaultBranch: string };
  commits: PushedCommitFacts[];
  /**
   * Asked with `before` (a sha): the repository's policy file at that commit, the policy before the
   * push (github/push-policy.ts). `known` false: GitHub does not know the commit (its file unknown).
   */
  before?: { sha: string; known: boolean; repoFile: ConfigFile | null };
  /** Asked with `startUntil`: the default branch's newest commit at or before it (null: none). */
  startSha?: string | null;
}

export interface PushFactsOptions {
  /** Also read the repository's policy file at this commit (in the same request). */
  before?: string;
  /** Also read which commit the default branch had at this time (the scan's window start). */
  startUntil?: string;
}

export async function pushFacts(
  reader: GraphqlReader,
  repo: { owner: string; repo: string },
  shas: string[],
  opts: PushFactsOptions = {},
): Promise<PushFacts> {
  const list = shas.slice(0, MAX_PUSH_COMMITS);
  if (list.some((s) => !SHA.test(s))) throw new GatherError("a pushed commit id is not a 40-hex sha");
  if (opts.before !== undefined && !SHA.test(opts.before))
    throw new GatherError("the push's before is not a 40-hex sha");
  const variables: Record<string, unknown> = {
    owner: repo.owner,
    name: repo.repo,
    policyExpr: `HEAD:${CONFIG_PATH}`,
    readOrg: repo.repo.toLowerCase() !== ".github",
  };
  if (opts.before !== undefined)
    Object.assign(variables, {
      readBefore: true,
      beforeRev: opts.before,
      beforeExpr: `${opts.before}:${CONFIG_PATH}`,
    });
  if (opts.startUntil !== undefined)
    Object.assign(variables, { readStart: true, startUntil: opts.startUntil });
  list.forEach((s, i) => (variables[`c${i}`] = s));
  const answer = await reader.query(pushFactsQuery(list.length), variables);
  const unexpected = answer.errors.filter((e) => e.type !== "NOT_FOUND");
  if (unexpected.length > 0)
    throw new GatherError(
      `reading the push to ${repo.owner}/${repo.repo} failed: ${unexpected
        .map((e) => e.message)
        .join("; ")
        .slice(0, 500)}`,
    );
  const shape = z.object({
    repository: z.looseObject({
      nameWithOwner: z.string(),
      defaultBranchRef: z
        .object({
          name: z.string(),
          target: z
            .object({
              history: z
                .object({ nodes: z.array(z.object({ oid: z.string().regex(SHA) }).nullable()).max(1) })
                .optional(),
            })
            .nullable()
            .optional(),
        })
        .nullable()
        .optional(),
      policy: blob,
      beforeCommit: z
        .object({ oid: z.string().regex(SHA).optional() })
        .nullable()
        .optional(),
      policyBefore: blob,
    }),
    org: z.object({ policy: blob }).nullable().optional(),
  });
  const parsed = shape.safeParse(answer.data);
  if (!parsed.success)
    throw new GatherError(
      `GitHub's answer about the push to ${repo.owner}/${repo.repo} is malformed: ${z.prettifyError(parsed.error).slice(0, 500)}`,
    );
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
    if (!node.success || !node.data || node.data.oid !== sha || !node.data.associatedPullRequests)
      return { sha, prs: null };
    return { sha, prs: toPushedPrs(node.data.associatedPullRequests.nodes) };
  });
  const out: PushFacts = {
    configFiles: {
      repoFile: repoText === null ? null : { repo: r.nameWithOwner, path: CONFIG_PATH, text: repoText },
      orgFile: orgText === null ? null : { repo: `${repo.owner}/.github`, path: CONFIG_PATH, text: orgText },
      defaultBranch: r.defaultBranchRef?.name ?? "main",
    },
    commits,
  };
  if (opts.before !== undefined) {
    // The commit unknown to GitHub (or not a commit): its policy file cannot be known (the caller gates).
    const known = r.beforeCommit?.oid === opts.before;
    const beforeText = known
      ? text(r.policyBefore, `${r.nameWithOwner}@${opts.before.slice(0, 12)}:${CONFIG_PATH}`)
      : null;
    out.before = {
      sha: opts.before,
      known,
      repoFile: beforeText === null ? null : { repo: r.nameWithOwner, path: CONFIG_PATH, text: beforeText },
    };
  }
  if (opts.startUntil !== undefined)
    out.startSha = r.defaultBranchRef?.target?.history?.nodes[0]?.oid ?? null;
  return out;
}

/**
 * Every commit of a push, MAX_PUSH_COMMITS per request: the first request also reads the policy
 * (and `opts`), the others only commits. ceil(n / 21) GraphQL requests for n commits (n ≤ 2,049:
 * the payload's 2,048 and `after`).
 */
export async function pushFactsAll(
  reader: GraphqlReader,
  repo: { owner: string; repo: string },
  shas: string[],
  opts: PushFactsOptions = {},
): Promise<PushFacts & { reads: number }> {
  const first = await pushFacts(reader, repo, shas.slice(0, MAX_PUSH_COMMITS), opts);
  const commits = [...first.commits];
  let reads = 1;
  for (let i = MAX_PUSH_COMMITS; i < shas.length; i += MAX_PUSH_COMMITS) {
    const more = await pushFacts(reader, repo, shas.slice(i, i + MAX_PUSH_COMMITS));
    commits.push(...more.commits);
    reads++;
  }
  return { ...first, commits, reads };
}
