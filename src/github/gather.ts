/**
 * gather: everything GitHub knows about one PR, in one GraphQL read (plus a page read only for PRs
 * with more than 100 commits, reviews, comments or CI contexts, and one per `_extends`).
 * The answer is parsed with zod at this edge; the rest of the pipeline trusts the types.
 *
 * One file on purpose (over 400 lines): the zod schema of the one evidence answer and its parsing
 * into Evidence belong together, so a field added to the query is parsed next to where it is read.
 */
import { z } from "zod";
import { CHECK_NAME, CONFIG_PATH, DIGEST_MARKER } from "../contract.js";
import type { ConfigFile } from "../config/load.js";
import type {
  Actor,
  CiCheck,
  CiState,
  CommitInfo,
  Evidence,
  LabelHistory,
  ReviewInfo,
  ReviewState,
} from "../policy/types.js";
import type { PrRef } from "./types.js";
import { CODEOWNERS_MAX_BYTES, CODEOWNERS_PATHS } from "../policy/codeowners.js";
import { AUTHORS_PAGE_QUERY, CONTEXTS_PAGE_QUERY, EVIDENCE_QUERY, FILE_QUERY, prPageQuery } from "./query.js";
import type { GraphqlAnswer, GraphqlReader } from "./reader.js";

const page = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });
const actor = z.object({ __typename: z.string(), login: z.string() }).nullable();
const blob = z
  .object({ text: z.string().nullable().optional(), isTruncated: z.boolean().optional() })
  .nullable()
  .optional();
const sizedBlob = z
  .object({
    text: z.string().nullable().optional(),
    isTruncated: z.boolean().optional(),
    byteSize: z.number().optional(),
  })
  .nullable()
  .optional();
/** changeType (PatchStatus): RENAMED files also changed their old path, which GraphQL does not give (renamed-files.ts). */
export const fileNode = z.object({ path: z.string(), changeType: z.string() });
const filesConnection = z
  .object({ totalCount: z.number(), pageInfo: page, nodes: z.array(fileNode.nullable()) })
  .nullable()
  .optional();

const gitActor = z.object({
  name: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
  user: z.object({ login: z.string() }).nullable(),
});
const commitNode = z.object({
  commit: z.object({
    id: z.string(),
    oid: z.string(),
    messageHeadline: z.string(),
    message: z.string(),
    url: z.string(),
    parents: z.object({ totalCount: z.number() }),
    committer: gitActor.nullable(),
    authors: z.object({ pageInfo: page, nodes: z.array(gitActor.nullable()) }),
  }),
});
const labeledEvent = z.object({
  __typename: z.literal("LabeledEvent"),
  createdAt: z.string(),
  actor: actor,
  label: z.object({ name: z.string() }),
});
const reviewNode = z.object({
  author: actor,
  state: z.enum(["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]),
  submittedAt: z.string().nullable(),
  url: z.string(),
  commit: z.object({ oid: z.string() }).nullable(),
  authorCanPushToRepository: z.boolean(),
});
const commentNode = z.object({
  databaseId: z.number().nullable(),
  body: z.string(),
  viewerDidAuthor: z.boolean(),
});
const contextNode = z.discriminatedUnion("__typename", [
  z.object({
    __typename: z.literal("CheckRun"),
    databaseId: z.number().nullable(),
    name: z.string(),
    status: z.string(),
    conclusion: z.string().nullable(),
    detailsUrl: z.string().nullable(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable().optional(),
    checkSuite: z
      .object({ app: z.object({ databaseId: z.number().nullable(), slug: z.string() }).nullable() })
      .nullable(),
  }),
  z.object({
    __typename: z.literal("StatusContext"),
    context: z.string(),
    state: z.string(),
    targetUrl: z.string().nullable(),
    createdAt: z.string().nullable().optional(),
    creator: z.object({ __typename: z.string(), login: z.string() }).nullable(),
  }),
]);
const sharedHeadNode = z.object({
  number: z.number(),
  state: z.enum(["OPEN", "CLOSED", "MERGED"]),
  baseRefName: z.string(),
  headRefOid: z.string(),
  baseRepository: z.object({ nameWithOwner: z.string() }).nullable(),
});
const sharedHeadConnection = z
  .object({ pageInfo: z.object({ hasNextPage: z.boolean() }), nodes: z.array(sharedHeadNode.nullable()) })
  .nullable()
  .optional();
const connection = <T extends z.ZodTypeAny>(node: T) =>
  z.object({ pageInfo: page, nodes: z.array(node.nullable()) });

const ownRun = z.object({
  databaseId: z.number(),
  status: z.string(),
  conclusion: z.string().nullable(),
  title: z.string().nullable(),
  summary: z.string().nullable(),
});

const evidenceAnswer = z.object({
  repository: z
    .object({
      nameWithOwner: z.string(),
      defaultBranchRef: z.object({ name: z.string() }).nullable(),
      policy: blob,
      codeownersGithub: sizedBlob,
      codeownersRoot: sizedBlob,
      codeownersDocs: sizedBlob,
      pullRequest: z
        .object({
          id: z.string(),
          number: z.number(),
          title: z.string(),
          body: z.string(),
          url: z.string(),
          state: z.enum(["OPEN", "CLOSED", "MERGED"]),
          isDraft: z.boolean(),
          author: actor,
          baseRefName: z.string(),
          headRefName: z.string(),
          headRefOid: z.string(),
          mergedAt: z.string().nullable(),
          mergedBy: z.object({ login: z.string() }).nullable(),
          mergeCommit: z.object({ oid: z.string() }).nullable(),
          labels: z.object({ nodes: z.array(z.object({ name: z.string() }).nullable()) }).nullable(),
          headRef: z.object({ associatedPullRequests: sharedHeadConnection }).nullable().optional(),
          labelEvents: z.object({
            pageInfo: z.object({ hasPreviousPage: z.boolean() }),
            nodes: z.array(labeledEvent.nullable()),
          }),
          commits: connection(commitNode),
          reviews: connection(reviewNode).nullable(),
          comments: connection(commentNode),
          files: filesConnection,
          /** The PR's own count of changed files: a files list claiming fewer is not complete (fail closed). */
          changedFiles: z.number().optional(),
          head: z.object({
            nodes: z.array(
              z
                .object({
                  commit: z.object({
                    id: z.string(),
                    oid: z.string(),
                    statusCheckRollup: z.object({ contexts: connection(contextNode) }).nullable(),
                    ownSuites: z
                      .object({
                        nodes: z.array(
                          z
                            .object({ checkRuns: z.object({ nodes: z.array(ownRun.nullable()) }).nullable() })
                            .nullable(),
                        ),
                      })
                      .nullable(),
                    associatedPullRequests: sharedHeadConnection,
                  }),
                })
                .nullable(),
            ),
          }),
        })
        .nullable(),
    })
    .nullable(),
  org: z.object({ policy: blob }).nullable().optional(),
});

/** changegate's own check run on the head commit, as GitHub has it now. */
export interface ExistingCheck {
  id: number;
  status: string;
  conclusion: string | null;
  title: string | null;
  summary: string | null;
}

/** Another open PR of the same repository whose head is this PR's head: they share one check run. */
export interface SharedHeadPr {
  number: number;
  baseRef: string;
}

export interface Gathered {
  evidence: Omit<Evidence, "tickets">;
  /** Open PRs of this repository with the same head commit (this PR excluded). */
  sharedHead: SharedHeadPr[];
  configFiles: { repoFile: ConfigFile | null; orgFile: ConfigFile | null; defaultBranch?: string };
  ownCheck: ExistingCheck | null;
  digestComment: { id: number; body: string } | null;
  /** Where the changed files continue past the first 100 (paged only when a rule needs them: rule-facts.ts). */
  filesNext?: { prId: string; after: string };
}

export class GatherError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GatherError";
  }
}

export async function gather(reader: GraphqlReader, ref: PrRef, appId: number): Promise<Gathered> {
  const answer = await reader.query(EVIDENCE_QUERY, {
    owner: ref.owner,
    name: ref.repo,
    number: ref.number,
    policyExpr: `HEAD:${CONFIG_PATH}`,
    appId,
    checkName: CHECK_NAME,
    // The owner's `.github` repository is read beside every other one; for itself, its own file is the org file.
    readOrg: !isOrgRepo(ref.repo),
  });
  // The owner's `.github` repository may well not exist: that NOT_FOUND is expected, nothing else is.
  // So may PRs of other repositories listed beside the head (a fork network): they are not sharers.
  const unexpected = answer.errors.filter(
    (e) => !(e.type === "NOT_FOUND" && e.path?.[0] === "org") && !aboutOtherPrs(e.path),
  );
  if (unexpected.length > 0) {
    throw new GatherError(
      `GitHub answered the evidence query with errors: ${unexpected.map((e) => e.message).join("; ")}`,
    );
  }
  const parsed = evidenceAnswer.safeParse(answer.data);
  if (!parsed.success) {
    throw new GatherError(
      `GitHub's answer to the evidence query is not what changegate expects: ${z.prettifyError(parsed.error)}`,
    );
  }
  const repo = parsed.data.repository;
  if (!repo)
    throw new GatherError(`repository ${ref.owner}/${ref.repo} not found or not accessible to the app`);
  const pr = repo.pullRequest;
  if (!pr) throw new GatherError(`pull request ${ref.owner}/${ref.repo}#${ref.number} not found`);

  const commits = await rest(reader, pr.id, "commits", pr.commits, commitNode);
  for (const c of commits) await allAuthors(reader, c);
  const reviews = pr.reviews ? await rest(reader, pr.id, "reviews", pr.reviews, reviewNode) : [];
  const comments = await restComments(reader, pr.id, pr.comments);

  const headNode = pr.head.nodes[0]?.commit ?? null;
  const headMatches = headNode?.oid === pr.headRefOid;
  let contexts: z.output<typeof contextNode>[] = [];
  if (headMatches && headNode.statusCheckRollup) {
    contexts = compact(headNode.statusCheckRollup.contexts.nodes);
    let info = headNode.statusCheckRollup.contexts.pageInfo;
    while (info.hasNextPage && info.endCursor) {
      const next = await pageOf(
        reader,
        CONTEXTS_PAGE_QUERY,
        headNode.id,
        info.endCursor,
        ["node", "statusCheckRollup", "page"],
        contextNode,
      );
      contexts.push(...next.nodes);
      info = next.pageInfo;
    }
  }
  const ownRuns = headMatches
    ? compact((headNode.ownSuites?.nodes ?? []).flatMap((s) => s?.checkRuns?.nodes ?? [])).sort(
        (a, b) => b.databaseId - a.databaseId,
      )
    : [];

  const nameWithOwner = repo.nameWithOwner;
  const sharedHead = sharedHeadPrs(nameWithOwner, pr.number, pr.headRefOid, [
    headMatches ? headNode.associatedPullRequests : null,
    pr.headRef?.associatedPullRequests,
  ]);
  const [owner, name] = nameWithOwner.split("/") as [string, string];
  const repoText = blobText(repo.policy, `${nameWithOwner}:${CONFIG_PATH}`);
  const orgText = isOrgRepo(ref.repo)
    ? repoText
    : blobText(parsed.data.org?.policy, `${owner}/.github:${CONFIG_PATH}`);
  const digest = comments.find(
    (c) => c.viewerDidAuthor && c.body.includes(DIGEST_MARKER) && c.databaseId !== null,
  );

  return {
    evidence: {
      repo: { owner, name, defaultBranch: repo.defaultBranchRef?.name ?? "main" },
      pr: {
        number: pr.number,
        title: pr.title,
        body: pr.body,
        url: pr.url,
        state: pr.state,
        isDraft: pr.isDraft,
        author: toActor(pr.author),
        baseRef: pr.baseRefName,
        headRef: pr.headRefName,
        headSha: pr.headRefOid,
        labels: compact(pr.labels?.nodes ?? []).map((l) => l.name),
        mergedAt: pr.mergedAt,
        mergedBy: pr.mergedBy?.login ?? null,
        mergeCommitSha: pr.mergeCommit?.oid ?? null,
      },
      commits: commits.map(toCommit),
      reviews: reviews.map(toReview),
      checks: toChecks(contexts, appId),
      labelHistory: toLabelHistory(pr.labelEvents),
      ...changedFiles(pr.files, pr.changedFiles),
      ...codeownersOf(repo),
    },
    ...(pr.files?.pageInfo.hasNextPage && pr.files.pageInfo.endCursor
      ? { filesNext: { prId: pr.id, after: pr.files.pageInfo.endCursor } }
      : {}),
    sharedHead,
    configFiles: {
      repoFile: repoText === null ? null : { repo: nameWithOwner, path: CONFIG_PATH, text: repoText },
      orgFile: orgText === null ? null : { repo: `${owner}/.github`, path: CONFIG_PATH, text: orgText },
      defaultBranch: repo.defaultBranchRef?.name ?? "main",
    },
    ownCheck: ownRuns[0]
      ? {
          id: ownRuns[0].databaseId,
          status: ownRuns[0].status,
          conclusion: ownRuns[0].conclusion,
          title: ownRuns[0].title,
          summary: ownRuns[0].summary,
        }
      : null,
    digestComment: digest ? { id: digest.databaseId!, body: digest.body } : null,
  };
}

/** The owner's `.github` repository: its policy file is the org file (GitHub names are case-insensitive). */
function isOrgRepo(name: string): boolean {
  return name.toLowerCase() === ".github";
}

/** The first page of changed files; complete when it is all of them. Absent when GitHub did not answer it. */
function changedFiles(files: z.output<typeof filesConnection>, prCount?: number): Pick<Evidence, "files"> {
  if (!files) return {};
  // Never trust a list that counts fewer files than the PR says it changes (e.g. a count capped at 3,000).
  if (prCount !== undefined && prCount > files.totalCount) files = { ...files, totalCount: prCount };
  const paths = compact(files.nodes).map((f) => f.path);
  const renamed = compact(files.nodes)
    .filter((f) => f.changeType === "RENAMED")
    .map((f) => f.path);
  return {
    files: {
      paths,
      total: files.totalCount,
      complete: !files.pageInfo.hasNextPage && paths.length >= files.totalCount,
      renamed,
    },
  };
}

/** The CODEOWNERS GitHub would use (first of .github/, root, docs/); absent when none of them was asked. */
function codeownersOf(repo: {
  codeownersGithub?: z.output<typeof sizedBlob>;
  codeownersRoot?: z.output<typeof sizedBlob>;
  codeownersDocs?: z.output<typeof sizedBlob>;
}): Pick<Evidence, "codeowners"> {
  const candidates = [
    [CODEOWNERS_PATHS[0], repo.codeownersGithub],
    [CODEOWNERS_PATHS[1], repo.codeownersRoot],
    [CODEOWNERS_PATHS[2], repo.codeownersDocs],
  ] as const;
  if (candidates.every(([, b]) => b === undefined)) return {};
  for (const [path, b] of candidates) {
    if (!b) continue;
    const tooLarge =
      !!b.isTruncated || (b.byteSize ?? 0) > CODEOWNERS_MAX_BYTES || typeof b.text !== "string";
    return { codeowners: { path, text: tooLarge ? "" : b.text!, tooLarge } };
  }
  return { codeowners: null };
}

/** An error under the PR lists of the head commit or head branch (a fork's branch, another repository's PR). */
function aboutOtherPrs(path: (string | number)[] | undefined): boolean {
  if (!path) return false;
  return (
    path.includes("associatedPullRequests") ||
    (path[0] === "repository" && path[1] === "pullRequest" && path[2] === "headRef")
  );
}

/**
 * The other open PRs of this repository whose head is `head`. GitHub lists them on the head commit
 * (PRs containing it, while it is not on the default branch) and on the head branch (PRs from it);
 * the union covers a release PR from the default branch too. Past 100 it cannot tell: fail.
 */
function sharedHeadPrs(
  repo: string,
  own: number,
  head: string,
  lists: z.output<typeof sharedHeadConnection>[],
): SharedHeadPr[] {
  const out = new Map<number, SharedHeadPr>();
  for (const list of lists) {
    if (!list) continue;
    if (list.pageInfo.hasNextPage) {
      throw new GatherError(
        `more than 100 pull requests are associated with head ${head.slice(0, 12)}: changegate cannot tell which share its check`,
      );
    }
    for (const p of compact(list.nodes)) {
      if (p.number === own || p.state !== "OPEN" || p.headRefOid !== head) continue;
      if (p.baseRepository?.nameWithOwner.toLowerCase() !== repo.toLowerCase()) continue;
      out.set(p.number, { number: p.number, baseRef: p.baseRefName });
    }
  }
  return [...out.values()].sort((a, b) => a.number - b.number);
}

/** Reads a file from a repository's default branch; null when it does not exist. */
export async function readFile(
  reader: GraphqlReader,
  fullName: string,
  path: string,
): Promise<string | null> {
  const [owner, name] = fullName.split("/");
  const answer = await reader.query(FILE_QUERY, { owner, name, expr: `HEAD:${path}` });
  const unexpected = answer.errors.filter((e) => e.type !== "NOT_FOUND");
  if (unexpected.length > 0)
    throw new GatherError(
      `reading ${fullName}:${path} failed: ${unexpected.map((e) => e.message).join("; ")}`,
    );
  const parsed = z.object({ repository: z.object({ object: blob }).nullable() }).safeParse(answer.data);
  if (!parsed.success)
    throw new GatherError(
      `GitHub's answer for ${fullName}:${path} is malformed: ${z.prettifyError(parsed.error)}`,
    );
  return blobText(parsed.data.repository?.object, `${fullName}:${path}`);
}

function blobText(b: z.output<typeof blob>, label: string): string | null {
  if (!b || typeof b.text !== "string") return null;
  if (b.isTruncated) throw new GatherError(`${label} is too large for GitHub to return in full`);
  return b.text;
}

function compact<T>(xs: (T | null | undefined)[]): T[] {
  return xs.filter((x): x is T => x !== null && x !== undefined);
}

async function rest<T extends z.ZodTypeAny>(
  reader: GraphqlReader,
  prId: string,
  name: "commits" | "reviews" | "comments",
  first: { pageInfo: z.output<typeof page>; nodes: (z.output<T> | null)[] },
  node: T,
): Promise<z.output<T>[]> {
  const out = compact(first.nodes);
  let info = first.pageInfo;
  while (info.hasNextPage && info.endCursor) {
    const next = await pageOf(reader, prPageQuery(name), prId, info.endCursor, ["node", "page"], node);
    out.push(...next.nodes);
    info = next.pageInfo;
  }
  return out;
}

/** Comments: stop paging as soon as our digest comment is found. */
async function restComments(
  reader: GraphqlReader,
  prId: string,
  first: { pageInfo: z.output<typeof page>; nodes: (z.output<typeof commentNode> | null)[] },
): Promise<z.output<typeof commentNode>[]> {
  const out = compact(first.nodes);
  let info = first.pageInfo;
  const ours = () => out.some((c) => c.viewerDidAuthor && c.body.includes(DIGEST_MARKER));
  while (!ours() && info.hasNextPage && info.endCursor) {
    const next = await pageOf(
      reader,
      prPageQuery("comments"),
      prId,
      info.endCursor,
      ["node", "page"],
      commentNode,
    );
    out.push(...next.nodes);
    info = next.pageInfo;
  }
  return out;
}

async function pageOf<T extends z.ZodTypeAny>(
  reader: GraphqlReader,
  query: string,
  id: string,
  after: string,
  path: string[],
  node: T,
): Promise<{ pageInfo: z.output<typeof page>; nodes: z.output<T>[] }> {
  const answer: GraphqlAnswer = await reader.query(query, { id, after });
  if (answer.errors.length > 0)
    throw new GatherError(
      `GitHub answered a page query with errors: ${answer.errors.map((e) => e.message).join("; ")}`,
    );
  let value: unknown = answer.data;
  for (const p of path) value = (value as Record<string, unknown> | null)?.[p];
  const parsed = connection(node).safeParse(value);
  if (!parsed.success)
    throw new GatherError(`GitHub's answer to a page query is malformed: ${z.prettifyError(parsed.error)}`);
  return { pageInfo: parsed.data.pageInfo, nodes: compact(parsed.data.nodes) };
}

function toActor(a: z.output<typeof actor>): Actor | null {
  if (!a) return null;
  return { login: a.login, isBot: a.__typename === "Bot" || a.login.endsWith("[bot]") };
}

/** Pages of co-authors read per commit at most (100 each): past that a commit cannot be judged. */
export const MAX_AUTHOR_PAGES = 10;

/**
 * Co-authors past the first page: read them all, or the contributor rule would miss a reviewer
 * listed 101st. Co-author trailers are free text: a commit naming more than 1,000 people costs no
 * more than ten reads; it fails the evaluation (closed) rather than being judged blind.
 */
async function allAuthors(reader: GraphqlReader, n: z.output<typeof commitNode>): Promise<void> {
  const authors = n.commit.authors;
  let info = authors.pageInfo;
  for (let pages = 0; info.hasNextPage && info.endCursor; pages++) {
    if (pages >= MAX_AUTHOR_PAGES) {
      throw new GatherError(
        `commit ${n.commit.oid.slice(0, 12)} names more than ${(MAX_AUTHOR_PAGES + 1) * 100} authors: changegate cannot tell who contributed to it`,
      );
    }
    const next = await pageOf(
      reader,
      AUTHORS_PAGE_QUERY,
      n.commit.id,
      info.endCursor,
      ["node", "page"],
      gitActor,
    );
    authors.nodes.push(...next.nodes);
    info = next.pageInfo;
  }
}

function identity(a: z.output<typeof gitActor> | null): string {
  const name = a?.name?.trim();
  const email = a?.email?.trim();
  if (name && email) return `${name} <${email}>`;
  return name || (email ? `<${email}>` : "(no name or e-mail)");
}

function toCommit(n: z.output<typeof commitNode>): CommitInfo {
  const c = n.commit;
  const unlinked: string[] = [];
  for (const a of c.authors.nodes) if (!a?.user) unlinked.push(`author ${identity(a)}`);
  if (!c.committer?.user) unlinked.push(`committer ${identity(c.committer)}`);
  return {
    oid: c.oid,
    headline: c.messageHeadline,
    message: c.message,
    url: c.url,
    isMerge: c.parents.totalCount > 1,
    committer: c.committer?.user?.login ?? null,
    authors: c.authors.nodes.map((a) => a?.user?.login ?? null),
    ...(unlinked.length > 0 ? { unlinked } : {}),
  };
}

/** The newest LabeledEvent per label name (case-insensitive), from the last 100 label events. */
function toLabelHistory(t: {
  pageInfo: { hasPreviousPage: boolean };
  nodes: (z.output<typeof labeledEvent> | null)[];
}): LabelHistory {
  const newest = new Map<string, LabelHistory["events"][number]>();
  for (const ev of compact(t.nodes)) {
    const key = ev.label.name.toLowerCase();
    const prev = newest.get(key);
    if (!prev || ev.createdAt >= prev.at)
      newest.set(key, { label: ev.label.name, actor: toActor(ev.actor), at: ev.createdAt });
  }
  return { events: [...newest.values()], truncated: t.pageInfo.hasPreviousPage };
}

function toReview(r: z.output<typeof reviewNode>): ReviewInfo {
  return {
    author: toActor(r.author),
    state: r.state as ReviewState,
    submittedAt: r.submittedAt,
    commitOid: r.commit?.oid ?? null,
    authorCanPush: r.authorCanPushToRepository,
    url: r.url,
  };
}

const PASSING_CONCLUSIONS = new Set(["SUCCESS", "NEUTRAL", "SKIPPED"]);

/**
 * Normalise the rollup: changegate's own runs are left out (they are the gate, not CI), and of
 * several runs with one name from one app the newest counts.
 */
export function toChecks(contexts: z.output<typeof contextNode>[], appId: number): CiCheck[] {
  const newest = new Map<string, { id: number; check: CiCheck }>();
  const out: CiCheck[] = [];
  for (const c of contexts) {
    if (c.__typename === "StatusContext") {
      const raw = c.state.toLowerCase();
      const state: CiState =
        c.state === "SUCCESS"
          ? "success"
          : c.state === "PENDING" || c.state === "EXPECTED"
            ? "pending"
            : "failure";
      // GraphQL spells a GitHub App's bot without "[bot]", like a user who took the same name: keep
      // the REST spelling for bots, so a `creator` pin names one of them only.
      const source = c.creator
        ? c.creator.__typename === "Bot" && !c.creator.login.endsWith("[bot]")
          ? `${c.creator.login}[bot]`
          : c.creator.login
        : null;
      // A status is never updated: a new one replaces it, so it was in this state from createdAt on.
      const at = c.createdAt === undefined ? {} : { createdAt: c.createdAt, completedAt: c.createdAt };
      out.push({ kind: "status", name: c.context, state, raw, source, url: c.targetUrl, ...at });
      continue;
    }
    const app = c.checkSuite?.app ?? null;
    if (app?.databaseId === appId) continue;
    const completed = c.status === "COMPLETED";
    const state: CiState = !completed
      ? "pending"
      : PASSING_CONCLUSIONS.has(c.conclusion ?? "")
        ? "success"
        : "failure";
    const raw = (completed ? (c.conclusion ?? "unknown") : c.status).toLowerCase();
    // When it started and (completed) when it reached its conclusion: what the scan judges as of a merge.
    const at =
      c.completedAt === undefined
        ? {}
        : { createdAt: c.startedAt, completedAt: completed ? c.completedAt : null };
    const check: CiCheck = {
      kind: "check_run",
      name: c.name,
      state,
      raw,
      source: app?.slug ?? null,
      url: c.detailsUrl,
      ...at,
    };
    const key = `${app?.databaseId ?? "?"}\u0000${c.name}`;
    const id = c.databaseId ?? 0;
    const prev = newest.get(key);
    if (!prev || id > prev.id) newest.set(key, { id, check });
  }
  return [...[...newest.values()].map((v) => v.check), ...out];
}
