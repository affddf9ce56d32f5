/**
 * GitHub's GraphQL API over the simulator's state: graphql-js executes every query against GitHub's
 * real schema (@octokit/graphql-schema's introspection result), so a query GitHub would reject
 * (unknown field, wrong argument, missing pagination bound, too many nodes) fails here too.
 * Resolvers are plain objects whose fields are values or functions of the field's arguments; fields
 * the simulator does not model resolve to null.
 */
import { schema as githubSchema } from "@octokit/graphql-schema";
import {
  buildClientSchema,
  execute,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type IntrospectionQuery,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import type {
  GitHubModel,
  SimApp,
  SimCheckRun,
  SimComment,
  SimInstallation,
  SimPull,
  SimRepo,
  SimReview,
  SimStatus,
  SimSuite,
} from "./model.js";
import { MAX_PR_FILES } from "./model.js";
import { filesAt, historyOf } from "./branches.js";

const SHA_REV = /^[0-9a-f]{40}$/;

let cachedSchema: GraphQLSchema | null = null;
export function githubGraphqlSchema(): GraphQLSchema {
  cachedSchema ??= buildClientSchema(githubSchema.json as unknown as IntrospectionQuery);
  return cachedSchema;
}

/** Blobs larger than this come back with isTruncated: true (GitHub's limit is undocumented). */
export const BLOB_TEXT_LIMIT = 512 * 1024;
export const MAX_NODES = 500_000;

export interface Viewer {
  installation: SimInstallation;
  app: SimApp;
  /** REST login of the app's bot user (slug[bot]). */
  botLogin: string;
}

export interface GraphqlResult {
  body: { data?: unknown; errors?: unknown[] };
  operation: string | null;
  repo: string | null;
}

class TypedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const documents = new Map<string, { doc: DocumentNode; errors: readonly GraphQLError[] }>();

function prepare(query: string): {
  doc: DocumentNode | null;
  errors: { message: string; locations?: unknown; extensions?: unknown }[];
} {
  const cached = documents.get(query);
  if (cached) return { doc: cached.doc, errors: cached.errors.map(formatValidation) };
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (err) {
    const e = err as GraphQLError;
    return { doc: null, errors: [{ message: e.message, locations: e.locations }] };
  }
  const errors = validate(githubGraphqlSchema(), doc);
  if (documents.size > 500) documents.clear();
  documents.set(query, { doc, errors });
  return { doc, errors: errors.map(formatValidation) };
}

function formatValidation(e: GraphQLError) {
  return { message: e.message, locations: e.locations, extensions: { code: "graphqlValidation" } };
}

function operationName(doc: DocumentNode | null, given: unknown): string | null {
  if (typeof given === "string" && given) return given;
  const op = doc?.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  return op && "name" in op && op.name ? op.name.value : null;
}

/** Upper bound of nodes a query can return, GitHub-style (product of first/last down each path). */
export function nodeCount(doc: DocumentNode, variables: Record<string, unknown>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const value = (v: ValueNode): number | null => {
    if (v.kind === Kind.INT) return Number(v.value);
    if (v.kind === Kind.VARIABLE) {
      const x = variables[v.name.value];
      return typeof x === "number" ? x : null;
    }
    return null;
  };
  const walk = (set: SelectionSetNode | undefined, mult: number, depth: number): number => {
    if (!set || depth > 50) return 0;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const arg = sel.arguments?.find((a) => a.name.value === "first" || a.name.value === "last");
        const n = arg ? value(arg.value) : null;
        if (n !== null) {
          total += mult * n;
          total += walk(sel.selectionSet, mult * n, depth + 1);
        } else {
          total += walk(sel.selectionSet, mult, depth + 1);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += walk(sel.selectionSet, mult, depth + 1);
      } else {
        total += walk(fragments.get(sel.name.value)?.selectionSet, mult, depth + 1);
      }
    }
    return total;
  };
  let total = 0;
  for (const d of doc.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION) total += walk(d.selectionSet, 1, 0);
  return total;
}

export function executeGraphql(model: GitHubModel, viewer: Viewer, body: unknown): GraphqlResult {
  const b = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof b.query !== "string")
    return {
      body: { errors: [{ message: "A query attribute must be specified and must be a string." }] },
      operation: null,
      repo: null,
    };
  const variables = (b.variables && typeof b.variables === "object" ? b.variables : {}) as Record<
    string,
    unknown
  >;
  const { doc, errors } = prepare(b.query);
  const operation = operationName(doc, b.operationName);
  const repo =
    typeof variables.owner === "string" && typeof variables.name === "string"
      ? `${variables.owner}/${variables.name}`
      : null;
  if (!doc || errors.length > 0) return { body: { errors }, operation, repo };
  const nodes = nodeCount(doc, variables);
  if (nodes > MAX_NODES) {
    return {
      body: {
        errors: [
          {
            message: `This query requests up to ${nodes} possible nodes which exceeds the maximum limit of ${MAX_NODES}.`,
            type: "MAX_NODE_LIMIT_EXCEEDED",
          },
        ],
      },
      operation,
      repo,
    };
  }
  const result = execute({
    schema: githubGraphqlSchema(),
    document: doc,
    rootValue: new Resolvers(model, viewer).root(),
    variableValues: variables,
    fieldResolver,
    operationName: typeof b.operationName === "string" ? b.operationName : undefined,
  });
  if (result instanceof Promise) throw new Error("simulator resolvers must be synchronous");
  const out: GraphqlResult["body"] = {};
  if (result.data !== undefined) out.data = result.data;
  if (result.errors?.length) {
    out.errors = result.errors.map((e) => {
      const original = e.originalError as (Error & { type?: string }) | undefined;
      return {
        ...(original instanceof TypedError ? { type: original.type } : {}),
        path: e.path,
        locations: e.locations,
        message: e.message,
      };
    });
  }
  return { body: out, operation, repo };
}

interface ConnArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

const cursorOf = (i: number) => Buffer.from(`cursor:v2:${i}`).toString("base64");
function indexOf(cursor: string): number {
  const m = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  if (!m)
    throw new TypedError("INVALID_CURSOR_ARGUMENTS", `\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(m[1]);
}

/** The field being resolved (execution is synchronous): connections look at what it selects. */
let currentInfo: GraphQLResolveInfo | null = null;

function fieldResolver(
  source: unknown,
  args: Record<string, unknown>,
  context: unknown,
  info: GraphQLResolveInfo,
): unknown {
  const value = (source as Record<string, unknown> | null)?.[info.fieldName];
  if (typeof value !== "function") return value;
  currentInfo = info;
  return (value as (a: unknown, c: unknown, i: unknown) => unknown)(args, context, info);
}

/** Does the field select nodes or edges (GitHub requires first/last only then; totalCount alone is fine)? */
function selectsNodes(info: GraphQLResolveInfo | null): boolean {
  if (!info) return true;
  const visit = (set: SelectionSetNode | undefined): boolean =>
    !!set &&
    set.selections.some((sel) =>
      sel.kind === Kind.FIELD
        ? sel.name.value === "nodes" || sel.name.value === "edges"
        : sel.kind === Kind.INLINE_FRAGMENT
          ? visit(sel.selectionSet)
          : visit(info.fragments[sel.name.value]?.selectionSet),
    );
  return info.fieldNodes.some((f) => visit(f.selectionSet));
}

function connection<T>(
  name: string,
  items: T[],
  args: ConnArgs,
  toNode: (t: T) => unknown,
): Record<string, unknown> {
  const { first, last, after, before } = args;
  const info = currentInfo;
  if ((first === undefined || first === null) && (last === undefined || last === null)) {
    if (!selectsNodes(info))
      return {
        totalCount: items.length,
        nodes: [],
        edges: [],
        pageInfo: {
          hasNextPage: items.length > 0,
          hasPreviousPage: false,
          startCursor: null,
          endCursor: null,
        },
      };
    throw new TypedError(
      "MISSING_PAGINATION_BOUNDARIES",
      `You must provide a \`first\` or \`last\` value to properly paginate the \`${name}\` connection.`,
    );
  }
  for (const [k, v] of [
    ["first", first],
    ["last", last],
  ] as const) {
    if (v !== undefined && v !== null && (v < 0 || v > 100)) {
      throw new TypedError(
        "EXCESSIVE_PAGINATION",
        `Requesting ${v} records on the \`${name}\` connection exceeds the \`${k}\` limit of 100 records.`,
      );
    }
  }
  let start = after ? indexOf(after) + 1 : 0;
  let end = before ? Math.min(indexOf(before), items.length) : items.length;
  start = Math.min(start, items.length);
  end = Math.max(end, start);
  let from = start;
  let to = end;
  if (first !== undefined && first !== null) to = Math.min(to, from + first);
  if (last !== undefined && last !== null) from = Math.max(from, to - last);
  const slice = items.slice(from, to).map((item, k) => ({ i: from + k, item }));
  const nodes = slice.map((s) => toNode(s.item));
  return {
    totalCount: items.length,
    nodes,
    edges: slice.map((s, k) => ({ cursor: cursorOf(s.i), node: nodes[k] })),
    pageInfo: {
      hasNextPage: to < end,
      hasPreviousPage: from > start,
      startCursor: slice.length ? cursorOf(slice[0]!.i) : null,
      endCursor: slice.length ? cursorOf(slice[slice.length - 1]!.i) : null,
    },
  };
}

const upper = (s: string | null) => (s === null ? null : s.toUpperCase());

class Resolvers {
  constructor(
    private readonly m: GitHubModel,
    private readonly viewer: Viewer,
  ) {}

  private visible(repo: SimRepo): boolean {
    return repo.owner.toLowerCase() === this.viewer.installation.account.toLowerCase();
  }

  root(): Record<string, unknown> {
    return {
      repository: ({ owner, name }: { owner: string; name: string }) => {
        const r = this.m.repo(`${owner}/${name}`);
        if (!r || !this.visible(r))
          throw new TypedError(
            "NOT_FOUND",
            `Could not resolve to a Repository with the name '${owner}/${name}'.`,
          );
        return this.repository(r);
      },
      node: ({ id }: { id: string }) => this.node(id),
      nodes: ({ ids }: { ids: string[] }) => ids.map((id) => this.node(id)),
      viewer: () => this.actor(this.viewer.botLogin),
      organization: ({ login }: { login: string }) => this.organization(login),
      // Mutation.pinIssue: the issue must be visible to the caller (its installation's repositories);
      // GitHub pins at most 3 issues per repository.
      pinIssue: ({ input }: { input: { issueId: string } }) => {
        const issue = [...this.m.issues.values()].find((i) => i.nodeId === input.issueId);
        const repo = issue ? this.m.repo(issue.repo) : undefined;
        if (!issue || !repo || !this.visible(repo))
          throw new TypedError(
            "NOT_FOUND",
            `Could not resolve to a node with the global id of '${input.issueId}'`,
          );
        const pinned = [...this.m.issues.values()].filter(
          (i) => i.repo === issue.repo && i.pinned && i !== issue,
        ).length;
        if (pinned >= 3)
          throw new TypedError("UNPROCESSABLE", "You can only pin up to 3 issues per repository.");
        issue.pinned = true;
        return {
          __typename: "PinIssuePayload",
          clientMutationId: null,
          issue: { __typename: "Issue", id: issue.nodeId, number: issue.number, title: issue.title },
        };
      },
      rateLimit: () => ({
        __typename: "RateLimit",
        limit: 5000,
        cost: 1,
        remaining: 4999,
        used: 1,
        nodeCount: 1,
        resetAt: new Date(Date.now() + 3600_000).toISOString(),
      }),
    };
  }

  private node(id: string): unknown {
    const m = /^([A-Z]+)_kw(.+)$/.exec(id);
    if (!m) throw new TypedError("NOT_FOUND", `Could not resolve to a node with the global id of '${id}'`);
    const raw = Buffer.from(m[2]!, "base64url").toString("utf8");
    const prefix = m[1];
    if (prefix === "PR") {
      const pr = [...this.m.pulls.values()].find((p) => String(p.id) === raw);
      if (pr && this.visible(this.m.mustRepo(pr.repo))) return this.pullRequest(pr);
    } else if (prefix === "C") {
      const [, sha] = raw.split(":");
      const c = sha ? this.m.commits.get(sha) : undefined;
      if (c && this.visible(this.m.mustRepo(c.repo))) return this.commit(c.sha);
    } else if (prefix === "T") {
      const [org, slug] = raw.split("/");
      const t = org && slug ? this.team(org, slug) : null;
      if (t) return t;
    } else if (prefix === "R") {
      const r = [...this.m.repos.values()].find((x) => String(x.id) === raw);
      if (r && this.visible(r)) return this.repository(r);
    }
    throw new TypedError("NOT_FOUND", `Could not resolve to a node with the global id of '${id}'`);
  }

  /** Only the installation's own organisation is visible (as for the REST membership route). */
  private organization(login: string): Record<string, unknown> {
    const u = this.m.users.get(login.toLowerCase());
    if (
      !u ||
      u.type !== "Organization" ||
      login.toLowerCase() !== this.viewer.installation.account.toLowerCase()
    ) {
      throw new TypedError("NOT_FOUND", `Could not resolve to an Organization with the login of '${login}'.`);
    }
    return {
      __typename: "Organization",
      id: u.nodeId,
      login: u.login,
      team: ({ slug }: { slug: string }) => this.team(login, slug),
    };
  }

  /** A team: its active members (pending invitations are not members). */
  private team(org: string, slug: string): Record<string, unknown> | null {
    if (org.toLowerCase() !== this.viewer.installation.account.toLowerCase()) return null;
    const members = this.m.teams.get(`${org}/${slug}`.toLowerCase());
    if (!members) return null;
    const active = [...members]
      .filter(([, st]) => st === "active")
      .map(([login]) => login)
      .sort();
    return {
      __typename: "Team",
      id: this.m.nodeId("T", `${org}/${slug}`.toLowerCase()),
      slug,
      name: slug,
      members: (args: ConnArgs) => connection("members", active, args, (l) => this.actor(l)),
    };
  }

  actor(login: string | null): Record<string, unknown> | null {
    if (!login) return null;
    const u = this.m.user(login);
    const typename = u.type === "Bot" ? "Bot" : u.type === "Organization" ? "Organization" : "User";
    const shown = u.type === "Bot" ? u.login.replace(/\[bot\]$/, "") : u.login;
    return {
      __typename: typename,
      id: u.nodeId,
      databaseId: u.id,
      login: shown,
      url: `${this.m.webBase}/${u.type === "Bot" ? `apps/${shown}` : u.login}`,
      resourcePath: `/${u.login}`,
      avatarUrl: () => `${this.m.webBase}/avatars/u/${u.id}`,
      name: null,
    };
  }

  private app(app: SimApp): Record<string, unknown> {
    return {
      __typename: "App",
      id: app.nodeId,
      databaseId: app.id,
      slug: app.slug,
      name: app.name,
      url: `${this.m.webBase}/apps/${app.slug}`,
    };
  }

  repository(r: SimRepo): Record<string, unknown> {
    const web = `${this.m.webBase}/${r.fullName}`;
    const ref = (name: string, sha: string) => ({
      __typename: "Ref",
      id: this.m.nodeId("REF", `${r.id}:${name}`),
      name,
      prefix: "refs/heads/",
      target: () => this.commit(sha),
    });
    return {
      __typename: "Repository",
      id: r.nodeId,
      databaseId: r.id,
      name: r.name,
      nameWithOwner: r.fullName,
      owner: this.actor(r.owner),
      isPrivate: r.private,
      isArchived: false,
      isFork: false,
      visibility: r.private ? "PRIVATE" : "PUBLIC",
      url: web,
      resourcePath: `/${r.fullName}`,
      viewerPermission: "WRITE",
      defaultBranchRef: () => ref(r.defaultBranch, r.baseSha),
      ref: ({ qualifiedName }: { qualifiedName: string }) => {
        const name = qualifiedName.replace(/^refs\/heads\//, "");
        if (name === r.defaultBranch) return ref(name, r.baseSha);
        const branch = r.branches.get(name);
        if (branch) return ref(name, branch);
        const pr = [...this.m.pulls.values()].find((p) => p.repo === r.fullName && p.headRef === name);
        return pr ? ref(name, this.m.headSha(pr)) : null;
      },
      object: ({ expression, oid }: { expression?: string; oid?: string }) =>
        this.object(r, expression ?? oid ?? ""),
      mergeQueue: ({ branch }: { branch?: string }) => {
        const name = branch ?? r.defaultBranch;
        const entries = this.m.queueOf(r.fullName, name);
        return {
          __typename: "MergeQueue",
          id: this.m.nodeId("MQ", `${r.id}:${name}`),
          entries: (args: ConnArgs) =>
            connection("entries", entries, args, (e) => ({
              __typename: "MergeQueueEntry",
              id: this.m.nodeId("MQE", `${r.id}:${e.pr.number}`),
              position: entries.indexOf(e) + 1,
              state: "AWAITING_CHECKS",
              headCommit: () => this.commit(e.headSha),
              baseCommit: () => this.commit(e.baseSha),
              pullRequest: () => this.pullRequest(e.pr),
            })),
        };
      },
      pullRequest: ({ number }: { number: number }) => {
        const pr = this.m.pull(r.fullName, number);
        if (!pr)
          throw new TypedError(
            "NOT_FOUND",
            `Could not resolve to a PullRequest with the number of ${number}.`,
          );
        return this.pullRequest(pr);
      },
      pullRequests: (args: ConnArgs & { states?: string[]; headRefName?: string; baseRefName?: string }) => {
        const all = [...this.m.pulls.values()]
          .filter((p) => p.repo === r.fullName)
          .filter((p) => !args.states || args.states.includes(p.merged ? "MERGED" : p.state.toUpperCase()))
          .filter((p) => !args.headRefName || p.headRef === args.headRefName)
          .filter((p) => !args.baseRefName || p.baseRef === args.baseRefName)
          .sort((a, b) => a.number - b.number);
        return connection("pullRequests", all, args, (p) => this.pullRequest(p));
      },
    };
  }

  private object(r: SimRepo, expression: string): Record<string, unknown> | null {
    const colon = expression.indexOf(":");
    const rev = colon >= 0 ? expression.slice(0, colon) : expression;
    const path = colon >= 0 ? expression.slice(colon + 1) : null;
    const onDefault =
      rev === "HEAD" ||
      rev === r.defaultBranch ||
      rev === `refs/heads/${r.defaultBranch}` ||
      rev === r.baseSha;
    if (path === null) {
      const sha = onDefault ? r.baseSha : this.m.commits.get(rev)?.repo === r.fullName ? rev : null;
      return sha ? this.commit(sha) : null;
    }
    // `<sha>:<path>`: the files at that commit (branches.ts filesAt); other revisions: not modelled.
    const files = onDefault ? r.files : SHA_REV.test(rev) ? filesAt(this.m, r, rev) : null;
    if (!files) return null;
    const text = files.get(path);
    if (text === undefined) {
      const prefix = path.replace(/\/?$/, "/");
      const entries = [...files.keys()].filter((p) => p.startsWith(prefix) || path === "");
      if (entries.length === 0) return null;
      return {
        __typename: "Tree",
        id: this.m.nodeId("T", `${r.id}:${path}`),
        oid: "0".repeat(40),
        entries: entries.map((p) => ({
          __typename: "TreeEntry",
          name: p.slice(prefix.length).split("/")[0],
          path: p,
          type: "blob",
        })),
      };
    }
    const bytes = Buffer.byteLength(text);
    const truncated = bytes > BLOB_TEXT_LIMIT;
    return {
      __typename: "Blob",
      id: this.m.nodeId("B", `${r.id}:${path}`),
      oid: Buffer.from(text).toString("hex").slice(0, 40).padEnd(40, "0"),
      abbreviatedOid: "0000000",
      byteSize: bytes,
      isBinary: false,
      isTruncated: truncated,
      text: truncated ? Buffer.from(text).subarray(0, BLOB_TEXT_LIMIT).toString("utf8") : text,
    };
  }

  pullRequest(pr: SimPull): Record<string, unknown> {
    const repo = this.m.mustRepo(pr.repo);
    const web = `${this.m.webBase}/${pr.repo}/pull/${pr.number}`;
    const state = pr.merged ? "MERGED" : pr.state === "open" ? "OPEN" : "CLOSED";
    const ref = (name: string, sha: string) => ({
      __typename: "Ref",
      id: this.m.nodeId("REF", `${repo.id}:${name}`),
      name,
      prefix: "refs/heads/",
      target: () => this.commit(sha),
      // PRs with this ref as their head ref, as GitHub lists them on a Ref.
      associatedPullRequests: (args: ConnArgs & { states?: string[] | null }) => {
        const prs = [...this.m.pulls.values()]
          .filter((p) => p.repo === pr.repo && p.headRef === name)
          .filter(
            (p) =>
              !args.states ||
              args.states.includes(p.merged ? "MERGED" : p.state === "open" ? "OPEN" : "CLOSED"),
          )
          .sort((a, b) => a.number - b.number);
        return connection("associatedPullRequests", prs, args, (p) => this.pullRequest(p));
      },
    });
    // GitHub lists at most the first MAX_PR_FILES changed files; totalCount still counts them all.
    const listed = (pr.files ?? []).slice(0, MAX_PR_FILES);
    return {
      __typename: "PullRequest",
      files: (args: ConnArgs) => {
        const conn = connection("files", listed, args, (path) => ({
          __typename: "PullRequestChangedFile",
          path,
          additions: 1,
          deletions: 0,
          changeType: pr.renames && Object.hasOwn(pr.renames, path) ? "RENAMED" : "MODIFIED",
        }));
        return { ...conn, totalCount: pr.files?.length ?? 0 };
      },
      id: pr.nodeId,
      databaseId: pr.id,
      fullDatabaseId: String(pr.id),
      number: pr.number,
      title: pr.title,
      body: pr.body,
      bodyText: pr.body,
      url: web,
      permalink: web,
      resourcePath: `/${pr.repo}/pull/${pr.number}`,
      state,
      closed: pr.state === "closed",
      merged: pr.merged,
      isDraft: pr.draft,
      locked: false,
      author: this.actor(pr.author),
      baseRefName: pr.baseRef,
      headRefName: pr.headRef,
      headRefOid: this.m.headSha(pr),
      baseRefOid: repo.baseSha,
      baseRef: () => ref(pr.baseRef, repo.baseSha),
      headRef: () => (pr.state === "open" ? ref(pr.headRef, this.m.headSha(pr)) : null),
      baseRepository: () => this.repository(repo),
      headRepository: () => this.repository(repo),
      repository: () => this.repository(repo),
      createdAt: pr.createdAt,
      updatedAt: pr.updatedAt,
      closedAt: pr.closedAt,
      mergedAt: pr.mergedAt,
      mergedBy: () => this.actor(pr.mergedBy),
      mergeCommit: () => (pr.mergeCommitSha ? this.commit(pr.mergeCommitSha) : null),
      mergeable: pr.state === "open" ? "MERGEABLE" : "UNKNOWN",
      additions: pr.commits.length * 3,
      deletions: pr.commits.length,
      changedFiles: pr.files?.length ?? 0, // the same count as `files.totalCount` (changegate checks they agree)
      labels: (args: ConnArgs) =>
        connection("labels", pr.labels, args, (name) => ({
          __typename: "Label",
          id: this.m.nodeId("LA", `${repo.id}:${name}`),
          name,
          color: "d73a4a",
          description: null,
        })),
      commits: (args: ConnArgs) =>
        connection("commits", pr.commits, args, (sha) => ({
          __typename: "PullRequestCommit",
          id: this.m.nodeId("PURC", `${pr.id}:${sha}`),
          url: `${web}/commits/${sha}`,
          resourcePath: `/${pr.repo}/pull/${pr.number}/commits/${sha}`,
          commit: this.commit(sha),
          pullRequest: () => this.pullRequest(pr),
        })),
      reviews: (args: ConnArgs & { states?: string[]; author?: string }) => {
        const all = this.m
          .reviewsOf(pr)
          .filter((r) => !args.states || args.states.includes(r.state))
          .filter((r) => !args.author || r.author.toLowerCase() === args.author.toLowerCase());
        return connection("reviews", all, args, (r) => this.review(r, pr));
      },
      latestReviews: (args: ConnArgs) => {
        const latest = new Map<string, SimReview>();
        for (const r of this.m.reviewsOf(pr))
          if (r.state !== "COMMENTED" && r.state !== "PENDING") latest.set(r.author.toLowerCase(), r);
        return connection("latestReviews", [...latest.values()], args, (r) => this.review(r, pr));
      },
      comments: (args: ConnArgs) =>
        connection("comments", this.m.commentsOf(pr.repo, pr.number), args, (c) => this.comment(c)),
      // Only LabeledEvents are modelled; asking for other item types alone returns none.
      timelineItems: (args: ConnArgs & { itemTypes?: string[] | null; since?: string | null }) => {
        const wanted = !args.itemTypes || args.itemTypes.includes("LABELED_EVENT");
        const events = wanted ? (pr.labelEvents ?? []).filter((e) => !args.since || e.at >= args.since) : [];
        return connection("timelineItems", events, args, (e) => ({
          __typename: "LabeledEvent",
          id: this.m.nodeId("LE", e.id),
          createdAt: e.at,
          actor: this.actor(e.actor),
          label: {
            __typename: "Label",
            id: this.m.nodeId("LA", `${repo.id}:${e.label}`),
            name: e.label,
            color: "d73a4a",
            description: null,
          },
          labelable: () => this.pullRequest(pr),
        }));
      },
      participants: (args: ConnArgs) => connection("participants", [pr.author], args, (l) => this.actor(l)),
      totalCommentsCount: this.m.commentsOf(pr.repo, pr.number).length,
    };
  }

  private review(r: SimReview, pr: SimPull): Record<string, unknown> {
    const repo = this.m.mustRepo(pr.repo);
    return {
      __typename: "PullRequestReview",
      id: r.nodeId,
      databaseId: r.id,
      fullDatabaseId: String(r.id),
      author: this.actor(r.author),
      state: r.state,
      body: r.body,
      bodyText: r.body,
      submittedAt: r.state === "PENDING" ? null : r.submittedAt,
      createdAt: r.submittedAt,
      updatedAt: r.submittedAt,
      url: `${this.m.webBase}/${pr.repo}/pull/${pr.number}#pullrequestreview-${r.id}`,
      commit: () => (this.m.commits.has(r.commitId) ? this.commit(r.commitId) : null),
      authorCanPushToRepository: this.m.canPush(repo, r.author),
      authorAssociation: "MEMBER",
      pullRequest: () => this.pullRequest(pr),
    };
  }

  private comment(c: SimComment): Record<string, unknown> {
    return {
      __typename: "IssueComment",
      id: c.nodeId,
      databaseId: c.id,
      fullDatabaseId: String(c.id),
      body: c.body,
      bodyText: c.body,
      author: this.actor(c.author),
      viewerDidAuthor: c.author.toLowerCase() === this.viewer.botLogin.toLowerCase(),
      viewerCanUpdate: true,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      url: `${this.m.webBase}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
      isMinimized: false,
    };
  }

  commit(sha: string): Record<string, unknown> {
    const c = this.m.commits.get(sha)!;
    const repo = this.m.mustRepo(c.repo);
    const gitActor = (login: string | null) => ({
      __typename: "GitActor",
      name: login ?? c.unlinkedName ?? "Someone",
      email: `${login ?? "someone"}@users.noreply.example.com`,
      date: c.date,
      user: login ? this.actor(login) : null,
    });
    const runs = () => this.m.runsOn(c.repo, sha);
    const statuses = () => this.m.latestStatuses(c.repo, sha);
    const lines = c.message.split("\n");
    return {
      __typename: "Commit",
      id: c.nodeId,
      oid: sha,
      abbreviatedOid: sha.slice(0, 7),
      message: c.message,
      messageHeadline: lines[0] ?? "",
      messageBody: lines.slice(1).join("\n").trim(),
      url: `${this.m.webBase}/${c.repo}/commit/${sha}`,
      commitUrl: `${this.m.webBase}/${c.repo}/commit/${sha}`,
      resourcePath: `/${c.repo}/commit/${sha}`,
      committedDate: c.date,
      authoredDate: c.date,
      repository: () => this.repository(repo),
      parents: (args: ConnArgs) => connection("parents", c.parents, args, (p) => this.commit(p)),
      author: () => gitActor(c.authors[0] ?? null),
      committer: () => gitActor(c.committer),
      authors: (args: ConnArgs) => connection("authors", c.authors, args, (a) => gitActor(a)),
      // The commits reachable from this one, newest first; since/until bound the commit date (inclusive).
      history: (args: ConnArgs & { since?: string | null; until?: string | null }) => {
        const since = args.since ? Date.parse(args.since) : -Infinity;
        const until = args.until ? Date.parse(args.until) : Infinity;
        if (Number.isNaN(since) || Number.isNaN(until))
          throw new TypedError("INVALID_ARGUMENT", "since and until must be ISO-8601 timestamps");
        const list = historyOf(this.m, sha).filter(
          (h) => Date.parse(h.date) >= since && Date.parse(h.date) <= until,
        );
        return connection("history", list, args, (h) => this.commit(h.sha));
      },
      // GitHub: the merged PR that introduced the commit (its merge commit and its own commits);
      // while it is not on the default branch, also the open PRs that contain it. PRs of other
      // repositories of the fork network that contain the commit are named too (GitHub can).
      associatedPullRequests: (args: ConnArgs) => {
        const prs = [...this.m.pulls.values()]
          .filter(
            (p) =>
              (p.repo === c.repo || this.m.sameNetwork(p.repo, c.repo)) &&
              (((p.state === "open" || p.merged) && p.commits.includes(sha)) || p.mergeCommitSha === sha),
          )
          .sort((a, b) => a.number - b.number);
        return connection("associatedPullRequests", prs, args, (p) => this.pullRequest(p));
      },
      statusCheckRollup: () => {
        const latest = latestRuns(runs());
        const sts = statuses();
        if (latest.length === 0 && sts.length === 0) return null;
        const items: (SimCheckRun | SimStatus)[] = [...latest, ...sts];
        return {
          __typename: "StatusCheckRollup",
          id: this.m.nodeId("SCR", `${repo.id}:${sha}`),
          state: rollupState(latest, sts),
          commit: () => this.commit(sha),
          contexts: (args: ConnArgs) =>
            connection("contexts", items, args, (x) =>
              "context" in x ? this.statusContext(x) : this.checkRun(x),
            ),
        };
      },
      status: () => {
        const sts = statuses();
        if (sts.length === 0) return null;
        return {
          __typename: "Status",
          id: this.m.nodeId("ST", `${repo.id}:${sha}`),
          state: rollupState([], sts),
          contexts: sts.map((s) => this.statusContext(s)),
        };
      },
      checkSuites: (
        args: ConnArgs & { filterBy?: { appId?: number | null; checkName?: string | null } | null },
      ) => {
        const suites = [...this.m.suites.values()]
          .filter((s) => s.repo === c.repo && s.headSha === sha)
          .filter(
            (s) =>
              args.filterBy?.appId === undefined ||
              args.filterBy.appId === null ||
              s.appId === args.filterBy.appId,
          )
          .filter(
            (s) =>
              !args.filterBy?.checkName ||
              this.m.runsOfSuite(s).some((r) => r.name === args.filterBy!.checkName),
          )
          .sort((a, b) => a.id - b.id);
        return connection("checkSuites", suites, args, (s) => this.suite(s));
      },
    };
  }

  private suite(s: SimSuite): Record<string, unknown> {
    return {
      __typename: "CheckSuite",
      id: s.nodeId,
      databaseId: s.id,
      status: upper(s.status),
      conclusion: upper(s.conclusion),
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      url: `${this.m.webBase}/${s.repo}/commit/${s.headSha}/checks?check_suite_id=${s.id}`,
      resourcePath: `/${s.repo}/commit/${s.headSha}/checks?check_suite_id=${s.id}`,
      app: () => this.app(this.m.app(s.appId)),
      commit: () => this.commit(s.headSha),
      repository: () => this.repository(this.m.mustRepo(s.repo)),
      branch: null,
      checkRuns: (
        args: ConnArgs & {
          filterBy?: {
            checkName?: string | null;
            checkType?: string | null;
            appId?: number | null;
            status?: string | null;
            statuses?: string[] | null;
            conclusions?: string[] | null;
          } | null;
        },
      ) => {
        const f = args.filterBy ?? {};
        let runs = this.m
          .runsOfSuite(s)
          .filter((r) => !f.checkName || r.name === f.checkName)
          .filter((r) => f.appId === undefined || f.appId === null || r.appId === f.appId)
          .filter((r) => !f.status || upper(r.status) === f.status)
          .filter((r) => !f.statuses || f.statuses.includes(upper(r.status)!))
          .filter(
            (r) => !f.conclusions || (r.conclusion !== null && f.conclusions.includes(upper(r.conclusion)!)),
          );
        if (f.checkType === "LATEST") runs = latestRuns(runs);
        return connection("checkRuns", runs, args, (r) => this.checkRun(r));
      },
    };
  }

  private checkRun(r: SimCheckRun): Record<string, unknown> {
    return {
      __typename: "CheckRun",
      id: r.nodeId,
      databaseId: r.id,
      name: r.name,
      status: upper(r.status),
      conclusion: upper(r.conclusion),
      title: r.title,
      summary: r.summary,
      text: r.text,
      detailsUrl: r.detailsUrl,
      externalId: r.externalId || null,
      startedAt: r.startedAt,
      completedAt: r.completedAt,
      url: `${this.m.webBase}/${r.repo}/runs/${r.id}`,
      permalink: `${this.m.webBase}/${r.repo}/runs/${r.id}`,
      resourcePath: `/${r.repo}/runs/${r.id}`,
      isRequired: () => false,
      checkSuite: () => this.suite(this.m.suites.get(r.suiteId)!),
      repository: () => this.repository(this.m.mustRepo(r.repo)),
      annotations: (args: ConnArgs) => connection("annotations", [], args, (x) => x),
    };
  }

  private statusContext(s: SimStatus): Record<string, unknown> {
    return {
      __typename: "StatusContext",
      id: s.nodeId,
      context: s.context,
      state: upper(s.state),
      description: s.description,
      targetUrl: s.targetUrl,
      createdAt: s.createdAt,
      creator: () => this.actor(s.creator),
      avatarUrl: () => null,
      isRequired: () => false,
      commit: () => this.commit(s.sha),
    };
  }
}

/** The newest run of each name in each suite (what the rollup and checkType: LATEST show). */
function latestRuns(runs: SimCheckRun[]): SimCheckRun[] {
  const newest = new Map<string, SimCheckRun>();
  for (const r of runs) {
    const k = `${r.suiteId}\u0000${r.name}`;
    const prev = newest.get(k);
    if (!prev || r.id > prev.id) newest.set(k, r);
  }
  return [...newest.values()].sort((a, b) => a.id - b.id);
}

function rollupState(runs: SimCheckRun[], statuses: SimStatus[]): string {
  const bad = new Set(["failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"]);
  if (statuses.some((s) => s.state === "error")) return "ERROR";
  if (
    statuses.some((s) => s.state === "failure") ||
    runs.some((r) => r.conclusion !== null && bad.has(r.conclusion))
  )
    return "FAILURE";
  if (statuses.some((s) => s.state === "pending") || runs.some((r) => r.status !== "completed"))
    return "PENDING";
  return "SUCCESS";
}
