/**
 * The simulator's in-memory GitHub: apps, installations, users, repositories (default-branch files),
 * pull requests with their commits, reviews, labels and comments, check suites and runs, commit
 * statuses. Every state change that GitHub would announce produces the webhook GitHub would send
 * (to the installations whose app subscribes to that event), handed to the listeners.
 *
 * Mutations made by changegate arrive through the HTTP layer (rest.ts, graphql.ts); mutations made
 * by "people" and CI come from the test or benchmark through the methods below.
 */
import { createHash, randomUUID, type KeyObject } from "node:crypto";
import { historyOf, pushedCommits, type SimPush } from "./branches.js";
import type { SimIssue } from "./issues.js";
import {
  ADMIN_EVENTS,
  newRuleset,
  protectionKey,
  type RulesetSpec,
  type SimProtection,
  type SimRequiredCheck,
  type SimRuleset,
} from "./rulesets.js";
import { buildWebhook, orgRulesetWebhook, type WebhookContext } from "./webhooks.js";

export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface SimApp {
  id: number;
  slug: string;
  name: string;
  owner: string;
  /** Verifies the app's JWTs; null = any well-formed JWT naming the app is accepted. */
  publicKey: KeyObject | null;
  /** Webhook events the app subscribes to; null = it receives no webhooks (e.g. a CI app). */
  events: string[] | null;
  permissions: Record<string, string>;
  nodeId: string;
}

export interface SimInstallation {
  id: number;
  appId: number;
  account: string;
  nodeId: string;
  suspended: boolean;
  /** The permissions the installation was granted (null: the app's; an organisation may not have accepted new ones yet). */
  permissions: Record<string, string> | null;
}

export interface SimUser {
  login: string;
  id: number;
  nodeId: string;
  type: "User" | "Bot" | "Organization";
}

export interface SimRepo {
  id: number;
  nodeId: string;
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  private: boolean;
  /** Files on the default branch (path → text). */
  files: Map<string, string>;
  /** Head of the default branch. */
  baseSha: string;
  /** Tips of the other branches a test named (name → sha); see branchTip, createBranch, directPush. */
  branches: Map<string, string>;
  /** Logins without write access (everyone else can push). */
  readOnly: Set<string>;
  createdAt: string;
  nextIssueNumber: number;
  /** The fork network's root ("owner/name"): the repository itself unless it is a fork (forkRepo). */
  network: string;
  /** branch_protection_configuration disabled: classic protection is off for the whole repository (rules kept). */
  protectionDisabled?: boolean;
}

/** GitHub's repository activity (GET /repos/{o}/{r}/activity): one entry per branch update, oldest first. */
export interface SimActivity {
  id: number;
  nodeId: string;
  /** "owner/name" */
  repo: string;
  before: string;
  after: string;
  /** refs/heads/<branch> */
  ref: string;
  /** ISO, the model's clock when the branch moved. */
  timestamp: string;
  activityType:
    "push" | "force_push" | "branch_creation" | "branch_deletion" | "pr_merge" | "merge_queue_merge";
  actor: string | null;
}

export interface SimCommit {
  sha: string;
  nodeId: string;
  repo: string;
  message: string;
  authors: (string | null)[];
  /** The git name of an author linked to no GitHub user (authors[i] null); default "Someone". Git names are free text (control characters too). */
  unlinkedName?: string;
  committer: string | null;
  parents: string[];
  date: string;
  /** Creation order (orders commits of the same second in a branch's history). */
  seq: number;
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface SimReview {
  id: number;
  nodeId: string;
  repo: string;
  prNumber: number;
  author: string;
  state: ReviewState;
  body: string;
  commitId: string;
  submittedAt: string;
}

export interface SimPull {
  id: number;
  nodeId: string;
  repo: string;
  number: number;
  title: string;
  body: string;
  author: string;
  state: "open" | "closed";
  merged: boolean;
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  draft: boolean;
  baseRef: string;
  headRef: string;
  /** Commit shas, oldest first; the last is the head. */
  commits: string[];
  labels: string[];
  /** Every time a label was applied, oldest first: the timeline's LabeledEvents (actor null = deleted account). */
  labelEvents: SimLabelEvent[];
  createdAt: string;
  updatedAt: string;
  /** Changed paths (approvals.rules); GitHub lists at most the first MAX_PR_FILES. */
  files?: string[];
  /** Renamed files among `files`: new path → previous path (GraphQL changeType RENAMED; REST previous_filename). */
  renames?: Record<string, string>;
}

/** GitHub lists at most this many changed files of a PR (REST and GraphQL). */
export const MAX_PR_FILES = 3000;

export interface SimLabelEvent {
  id: number;
  label: string;
  actor: string | null;
  at: string;
  /** The PR's head when the label was applied (the truth the oracle holds changegate to; not in GitHub's read). */
  headSha: string;
}

export interface SimComment {
  id: number;
  nodeId: string;
  repo: string;
  issueNumber: number;
  body: string;
  author: string;
  /** The app whose installation token created it (performed_via_github_app). */
  appId: number | null;
  createdAt: string;
  updatedAt: string;
  /** Every version of the body, with when it was written (Date.now()). */
  history: { at: number; body: string }[];
}

export type CheckStatus = "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";
export const CHECK_STATUSES: CheckStatus[] = [
  "queued",
  "in_progress",
  "completed",
  "waiting",
  "requested",
  "pending",
];
export const CHECK_CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
  "startup_failure",
] as const;
export type CheckConclusion = (typeof CHECK_CONCLUSIONS)[number];

export interface SimSuite {
  id: number;
  nodeId: string;
  repo: string;
  headSha: string;
  headBranch: string | null;
  appId: number;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  createdAt: string;
  updatedAt: string;
}

export interface SimCheckAction {
  label: string;
  description: string;
  identifier: string;
}

export interface SimCheckRun {
  id: number;
  nodeId: string;
  repo: string;
  headSha: string;
  suiteId: number;
  appId: number;
  name: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  title: string | null;
  summary: string | null;
  text: string | null;
  detailsUrl: string | null;
  externalId: string;
  startedAt: string;
  completedAt: string | null;
  actions: SimCheckAction[];
  /** Every state the run went through (tests assert no stale verdict overwrote a newer one). */
  history: { at: number; status: CheckStatus; conclusion: CheckConclusion | null; title: string | null }[];
}

export type StatusState = "error" | "failure" | "pending" | "success";

export interface SimStatus {
  id: number;
  nodeId: string;
  repo: string;
  sha: string;
  context: string;
  state: StatusState;
  targetUrl: string | null;
  description: string | null;
  creator: string;
  createdAt: string;
}

export interface SimWebhook {
  /** X-GitHub-Delivery */
  id: string;
  name: string;
  action: string | null;
  installationId: number;
  appId: number;
  payload: Record<string, unknown>;
}

export interface CommitSpec {
  message?: string;
  /** Logins; null = an author email that maps to no GitHub user. Default: the PR author. */
  authors?: (string | null)[];
  /** The git name of the null authors (an email that maps to no GitHub user); default "Someone". */
  unlinkedName?: string;
  /** Default: the first author; "web-flow" for web edits. */
  committer?: string | null;
  /** Two or more parents make a merge commit (merging the base branch in). */
  merge?: boolean;
  /** The commit's date (author and committer), ISO: the pusher chooses it (e.g. back-dated to 2019). Default: now. */
  date?: string;
}

export interface OpenPullSpec {
  author?: string;
  title?: string;
  body?: string;
  headRef?: string;
  baseRef?: string;
  draft?: boolean;
  labels?: string[];
  commits?: CommitSpec[];
  /** Open the PR from another PR's branch: same head ref, same commits (so the same head commit). */
  sameHeadAs?: SimPull;
  /** Existing commits (oldest first) as the PR's commits, e.g. commits of another repository of its fork network. */
  commitShas?: string[];
  /** Changed paths (default: none listed). */
  files?: string[];
  /** Which of `files` are renames: new path → previous path. */
  renames?: Record<string, string>;
}

const GITHUB_ACTIONS = { id: 15368, slug: "github-actions", name: "GitHub Actions" };

/** The state and the state changes. */
/** A pull request in a merge queue: its group's head commit holds the base, every entry ahead, and it. */
export interface SimQueueEntry {
  pr: SimPull;
  headSha: string;
  baseSha: string;
  headRef: string;
}

export class GitHubModel {
  readonly apps = new Map<number, SimApp>();
  readonly installations = new Map<number, SimInstallation>();
  readonly users = new Map<string, SimUser>();
  readonly repos = new Map<string, SimRepo>();
  readonly commits = new Map<string, SimCommit>();
  /** The default branch's files as they were at a former tip (sha → path → text): GraphQL's `<sha>:<path>` (branches.ts filesAt). */
  readonly fileSnapshots = new Map<string, Map<string, string>>();
  readonly pulls = new Map<string, SimPull>();
  /** Merge queues ("owner/name#branch", lower-cased) → entries in order (the front merges first). */
  readonly mergeQueues = new Map<string, SimQueueEntry[]>();
  readonly reviews = new Map<number, SimReview>();
  readonly comments = new Map<number, SimComment>();
  readonly suites = new Map<number, SimSuite>();
  readonly checkRuns = new Map<number, SimCheckRun>();
  readonly statuses: SimStatus[] = [];
  /** Teams ("org/slug", lower case) → member login (lower case) → membership state. */
  readonly teams = new Map<string, Map<string, "active" | "pending">>();
  /** Repository roles other than write ("owner/repo" lower case → login lower case → role); see setRole. */
  readonly roles = new Map<string, Map<string, "admin" | "maintain" | "triage" | "read">>();
  /** Plain issues ("owner/name#n", lower-cased; test/sim/issues.ts), e.g. changegate's audit issue. */
  readonly issues = new Map<string, SimIssue>();
  /** Rulesets of repositories and organisations (test/sim/rulesets.ts), by id. */
  readonly rulesets = new Map<number, SimRuleset>();
  /** Classic branch protection ("owner/name#branch", lower-cased; rulesets.ts protectionKey). */
  readonly protections = new Map<string, SimProtection>();
  /** Webhooks produced so far, in order. */
  readonly webhooks: SimWebhook[] = [];
  /** Repository activity (branch updates), oldest first; a test may remove entries (GitHub's activity without them). */
  readonly activities: SimActivity[] = [];
  /** Base URLs, set by the HTTP server once it listens. */
  apiBase = "http://127.0.0.1/api/v3";
  webBase = "http://127.0.0.1";

  private nextId = 1000;
  private clock = Math.floor(Date.now() / 1000) * 1000;
  private readonly listeners: ((hook: SimWebhook) => void)[] = [];

  constructor() {
    this.addApp({ ...GITHUB_ACTIONS, owner: "github", events: null });
  }

  // ---------------------------------------------------------------- identity and time

  id(): number {
    return this.nextId++;
  }

  nodeId(prefix: string, id: number | string): string {
    return `${prefix}_kw${Buffer.from(String(id)).toString("base64url")}`;
  }

  /** A new logical second: events get distinct, increasing timestamps (GitHub's are second-precision). */
  tick(): string {
    this.clock = Math.max(this.clock + 1000, Math.floor(Date.now() / 1000) * 1000);
    return iso(this.clock);
  }

  stamp(): string {
    return iso(this.clock);
  }

  onWebhook(listener: (hook: SimWebhook) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  // ---------------------------------------------------------------- apps, installations, users, repos

  addApp(a: {
    id: number;
    slug: string;
    name?: string;
    owner?: string;
    publicKey?: KeyObject | null;
    events?: string[] | null;
    permissions?: Record<string, string>;
  }): SimApp {
    const app: SimApp = {
      id: a.id,
      slug: a.slug,
      name: a.name ?? a.slug,
      owner: a.owner ?? "acme",
      publicKey: a.publicKey ?? null,
      events: a.events ?? null,
      permissions: a.permissions ?? {
        checks: "write",
        pull_requests: "write",
        issues: "write",
        contents: "read",
        statuses: "read",
        metadata: "read",
      },
      nodeId: this.nodeId("A", a.id),
    };
    this.apps.set(app.id, app);
    this.user(`${app.slug}[bot]`);
    return app;
  }

  app(id: number): SimApp {
    const a = this.apps.get(id);
    if (!a) throw new Error(`simulator: no app ${id}`);
    return a;
  }

  addInstallation(appId: number, account: string, id = this.id()): SimInstallation {
    this.app(appId);
    const inst: SimInstallation = {
      id,
      appId,
      account,
      nodeId: this.nodeId("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", id),
      suspended: false,
      permissions: null,
    };
    this.installations.set(id, inst);
    this.user(account, "Organization");
    return inst;
  }

  user(login: string, type?: SimUser["type"]): SimUser {
    const key = login.toLowerCase();
    let u = this.users.get(key);
    if (!u) {
      const id = this.id();
      u = {
        login,
        id,
        nodeId: this.nodeId("U", id),
        type: type ?? (login.endsWith("[bot]") ? "Bot" : "User"),
      };
      this.users.set(key, u);
    }
    return u;
  }

  addRepo(r: {
    owner: string;
    name: string;
    defaultBranch?: string;
    private?: boolean;
    files?: Record<string, string>;
  }): SimRepo {
    const id = this.id();
    const fullName = `${r.owner}/${r.name}`;
    const repo: SimRepo = {
      id,
      nodeId: this.nodeId("R", id),
      owner: r.owner,
      name: r.name,
      fullName,
      defaultBranch: r.defaultBranch ?? "main",
      private: r.private ?? true,
      files: new Map(Object.entries(r.files ?? {})),
      baseSha: "",
      branches: new Map(),
      readOnly: new Set(),
      createdAt: this.stamp(),
      nextIssueNumber: 1,
      network: fullName,
    };
    this.user(r.owner, "Organization");
    this.repos.set(fullName.toLowerCase(), repo);
    repo.baseSha = this.addCommit(
      repo,
      { message: "Initial commit", authors: [r.owner], committer: "web-flow" },
      [],
    ).sha;
    return repo;
  }

  /**
   * A fork of `upstream` owned by `owner`: the same fork network (GraphQL's Commit.associatedPullRequests
   * may then name the fork's pull requests for a commit of the upstream, as GitHub can), its default
   * branch at the upstream's tip, the upstream's files. No installation of it unless a test adds one.
   */
  forkRepo(upstream: SimRepo, owner: string, name = upstream.name): SimRepo {
    const fork = this.addRepo({
      owner,
      name,
      defaultBranch: upstream.defaultBranch,
      private: upstream.private,
      files: Object.fromEntries(upstream.files),
    });
    this.user(owner, "User");
    fork.network = upstream.network;
    fork.baseSha = upstream.baseSha;
    return fork;
  }

  /** Two repositories of one fork network (a repository and its forks). */
  sameNetwork(a: string, b: string): boolean {
    const ra = this.repo(a);
    const rb = this.repo(b);
    return !!ra && !!rb && ra.network.toLowerCase() === rb.network.toLowerCase();
  }

  repo(fullName: string): SimRepo | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  mustRepo(fullName: string): SimRepo {
    const r = this.repo(fullName);
    if (!r) throw new Error(`simulator: no repository ${fullName}`);
    return r;
  }

  /** Write (or with null delete) a file on the default branch. */
  setFile(repo: SimRepo, path: string, text: string | null): void {
    this.fileSnapshots.set(repo.baseSha, new Map(repo.files));
    if (text === null) repo.files.delete(path);
    else repo.files.set(path, text);
    repo.baseSha = this.addCommit(
      repo,
      { message: `Update ${path}`, authors: [repo.owner], committer: "web-flow" },
      [repo.baseSha],
    ).sha;
  }

  /** Team members change (GitHub sends `membership` added/removed to the org's installations). */
  setTeamMember(org: string, slug: string, login: string, member: boolean): void {
    const team = this.teams.get(`${org}/${slug}`.toLowerCase());
    if (!team) throw new Error(`no team ${org}/${slug}`);
    this.user(login);
    if (member) team.set(login.toLowerCase(), "active");
    else team.delete(login.toLowerCase());
    // GitHub's `membership` webhook, to each installation on the organisation whose app subscribes.
    const orgUser = this.user(org, "Organization");
    const member_ = this.user(login);
    for (const inst of this.installations.values()) {
      if (inst.account.toLowerCase() !== org.toLowerCase()) continue;
      const app = this.app(inst.appId);
      if (!app.events || !app.events.includes("membership")) continue;
      const action = member ? "added" : "removed";
      const payload = {
        action,
        scope: "team",
        member: { login: member_.login, id: member_.id, node_id: member_.nodeId, type: "User" },
        sender: { login: org, id: orgUser.id, type: "Organization" },
        team: { name: slug, id: 1, node_id: this.nodeId("T", `${org}/${slug}`.toLowerCase()), slug },
        organization: { login: orgUser.login, id: orgUser.id, node_id: orgUser.nodeId },
        installation: { id: inst.id, node_id: inst.nodeId },
      };
      const hook: SimWebhook = {
        id: randomUUID(),
        name: "membership",
        action,
        installationId: inst.id,
        appId: app.id,
        payload,
      };
      this.webhooks.push(hook);
      for (const l of [...this.listeners]) l(hook);
    }
  }

  /** A team of an organisation, with its members (state active unless said). */
  addTeam(
    org: string,
    slug: string,
    members: (string | { login: string; state: "active" | "pending" })[] = [],
  ): void {
    this.user(org, "Organization");
    const team = new Map<string, "active" | "pending">();
    for (const mem of members) {
      const { login, state } = typeof mem === "string" ? { login: mem, state: "active" as const } : mem;
      this.user(login);
      team.set(login.toLowerCase(), state);
    }
    this.teams.set(`${org}/${slug}`.toLowerCase(), team);
  }

  /**
   * A repository role. triage and read take write access away (triage can still label); admin and
   * maintain keep it. Without a role everyone can push (the simulator's default).
   */
  setRole(repo: SimRepo, login: string, role: "admin" | "maintain" | "write" | "triage" | "read"): void {
    const key = repo.fullName.toLowerCase();
    const roles = this.roles.get(key) ?? new Map<string, "admin" | "maintain" | "triage" | "read">();
    if (role === "write") roles.delete(login.toLowerCase());
    else roles.set(login.toLowerCase(), role);
    this.roles.set(key, roles);
    this.setWriteAccess(repo, login, role === "admin" || role === "maintain" || role === "write");
  }

  /** The collaborator permission GitHub reports: its base role and legacy permission. */
  permissionOf(repo: SimRepo, login: string): { role: string; permission: string } {
    const role =
      this.roles.get(repo.fullName.toLowerCase())?.get(login.toLowerCase()) ??
      (this.canPush(repo, login) ? "write" : "read");
    const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    return { role, permission };
  }

  canPush(repo: SimRepo, login: string): boolean {
    return !repo.readOnly.has(login.toLowerCase());
  }

  setWriteAccess(repo: SimRepo, login: string, canPush: boolean): void {
    if (canPush) repo.readOnly.delete(login.toLowerCase());
    else repo.readOnly.add(login.toLowerCase());
  }

  installationsFor(repo: SimRepo): SimInstallation[] {
    return [...this.installations.values()].filter(
      (i) => i.account.toLowerCase() === repo.owner.toLowerCase() && !i.suspended,
    );
  }

  // ---------------------------------------------------------------- commits and pull requests

  addCommit(repo: SimRepo, spec: CommitSpec, parents: string[], fallbackAuthor = repo.owner): SimCommit {
    const n = this.id();
    const message = spec.message ?? `Commit ${n}`;
    const sha = createHash("sha1").update(`${repo.fullName}\u0000${n}\u0000${message}`).digest("hex");
    const authors = spec.authors ?? [fallbackAuthor];
    const committer = spec.committer === undefined ? (authors[0] ?? null) : spec.committer;
    for (const a of [...authors, committer]) if (a) this.user(a);
    const c: SimCommit = {
      sha,
      nodeId: this.nodeId("C", `${repo.id}:${sha}`),
      repo: repo.fullName,
      message,
      authors,
      ...(spec.unlinkedName !== undefined ? { unlinkedName: spec.unlinkedName } : {}),
      committer,
      parents,
      date: spec.date ? new Date(spec.date).toISOString().replace(/\.\d{3}Z$/, "Z") : this.stamp(),
      seq: n,
    };
    this.commits.set(sha, c);
    return c;
  }

  pullKey(repo: string, number: number): string {
    return `${repo.toLowerCase()}#${number}`;
  }

  pull(repo: string, number: number): SimPull | undefined {
    return this.pulls.get(this.pullKey(repo, number));
  }

  mustPull(repo: string, number: number): SimPull {
    const p = this.pull(repo, number);
    if (!p) throw new Error(`simulator: no pull request ${repo}#${number}`);
    return p;
  }

  headSha(pr: SimPull): string {
    return pr.commits[pr.commits.length - 1]!;
  }

  openPullRequest(repo: SimRepo, spec: OpenPullSpec = {}): SimPull {
    const author = spec.author ?? "dev";
    this.user(author);
    const number = repo.nextIssueNumber++;
    const id = this.id();
    const at = this.tick();
    const shas: string[] = spec.sameHeadAs
      ? [...spec.sameHeadAs.commits]
      : spec.commitShas
        ? [...spec.commitShas]
        : [];
    let parent = repo.baseSha;
    for (const c of spec.sameHeadAs || spec.commitShas
      ? []
      : (spec.commits ?? [{ message: `Change ${number}` }])) {
      const commit = this.addCommit(repo, c, c.merge ? [parent, repo.baseSha] : [parent], author);
      shas.push(commit.sha);
      parent = commit.sha;
    }
    const pr: SimPull = {
      id,
      nodeId: this.nodeId("PR", id),
      repo: repo.fullName,
      number,
      title: spec.title ?? `Change number ${number}`,
      body: spec.body ?? "",
      author,
      state: "open",
      merged: false,
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      ...(spec.files ? { files: [...spec.files] } : {}),
      ...(spec.renames ? { renames: { ...spec.renames } } : {}),
      closedAt: null,
      draft: spec.draft ?? false,
      baseRef: spec.baseRef ?? repo.defaultBranch,
      headRef: spec.headRef ?? spec.sameHeadAs?.headRef ?? `feature-${number}`,
      commits: shas,
      labels: [],
      labelEvents: [],
      createdAt: at,
      updatedAt: at,
    };
    this.pulls.set(this.pullKey(repo.fullName, number), pr);
    this.emit("pull_request", "opened", { repo, sender: author, pr });
    for (const l of spec.labels ?? []) this.addLabel(pr, l, author);
    return pr;
  }

  /** Push commits to the PR's branch (force: replace them). */
  push(pr: SimPull, commits: CommitSpec[] = [{}], opts: { by?: string; force?: boolean } = {}): string {
    const repo = this.mustRepo(pr.repo);
    const before = this.headSha(pr);
    let parent = opts.force ? repo.baseSha : before;
    const shas: string[] = opts.force ? [] : [...pr.commits];
    for (const c of commits) {
      const commit = this.addCommit(
        repo,
        c,
        c.merge ? [parent, repo.baseSha] : [parent],
        opts.by ?? pr.author,
      );
      shas.push(commit.sha);
      parent = commit.sha;
    }
    pr.commits = shas;
    pr.updatedAt = this.tick();
    this.emit("pull_request", "synchronize", {
      repo,
      sender: opts.by ?? pr.author,
      pr,
      before,
      after: this.headSha(pr),
    });
    return this.headSha(pr);
  }

  editPullRequest(
    pr: SimPull,
    change: { title?: string; body?: string; baseRef?: string },
    by = pr.author,
  ): void {
    const repo = this.mustRepo(pr.repo);
    const changes: Record<string, unknown> = {};
    if (change.title !== undefined) {
      changes.title = { from: pr.title };
      pr.title = change.title;
    }
    if (change.body !== undefined) {
      changes.body = { from: pr.body };
      pr.body = change.body;
    }
    if (change.baseRef !== undefined) {
      changes.base = { ref: { from: pr.baseRef }, sha: { from: repo.baseSha } };
      pr.baseRef = change.baseRef;
    }
    pr.updatedAt = this.tick();
    this.emit("pull_request", "edited", { repo, sender: by, pr, changes });
  }

  addLabel(pr: SimPull, name: string, by = pr.author): void {
    if (!pr.labels.includes(name)) pr.labels.push(name);
    pr.updatedAt = this.tick();
    this.user(by);
    pr.labelEvents.push({
      id: this.id(),
      label: name,
      actor: by,
      at: pr.updatedAt,
      headSha: this.headSha(pr),
    });
    this.emit("pull_request", "labeled", { repo: this.mustRepo(pr.repo), sender: by, pr, label: name });
  }

  removeLabel(pr: SimPull, name: string, by = pr.author): void {
    pr.labels = pr.labels.filter((l) => l !== name);
    pr.updatedAt = this.tick();
    this.emit("pull_request", "unlabeled", { repo: this.mustRepo(pr.repo), sender: by, pr, label: name });
  }

  setDraft(pr: SimPull, draft: boolean): void {
    pr.draft = draft;
    pr.updatedAt = this.tick();
    this.emit("pull_request", draft ? "converted_to_draft" : "ready_for_review", {
      repo: this.mustRepo(pr.repo),
      sender: pr.author,
      pr,
    });
  }

  /** A review. GitHub refuses approving or requesting changes on your own PR (force: pretend it did not). */
  review(
    pr: SimPull,
    spec: { author: string; state?: ReviewState; body?: string; commit?: string; force?: boolean },
  ): SimReview {
    const state = spec.state ?? "APPROVED";
    if (
      !spec.force &&
      spec.author.toLowerCase() === pr.author.toLowerCase() &&
      (state === "APPROVED" || state === "CHANGES_REQUESTED")
    ) {
      throw new SimHttpError(
        422,
        `Unprocessable Entity: "Review ${state === "APPROVED" ? "Can not approve" : "Can not request changes on"} your own pull request"`,
      );
    }
    this.user(spec.author);
    const id = this.id();
    const r: SimReview = {
      id,
      nodeId: this.nodeId("PRR", id),
      repo: pr.repo,
      prNumber: pr.number,
      author: spec.author,
      state,
      body: spec.body ?? "",
      commitId: spec.commit ?? this.headSha(pr),
      submittedAt: this.tick(),
    };
    this.reviews.set(id, r);
    pr.updatedAt = r.submittedAt;
    this.emit("pull_request_review", "submitted", {
      repo: this.mustRepo(pr.repo),
      sender: spec.author,
      pr,
      review: r,
    });
    return r;
  }

  dismissReview(review: SimReview, by: string): void {
    const pr = this.mustPull(review.repo, review.prNumber);
    review.state = "DISMISSED";
    pr.updatedAt = this.tick();
    this.emit("pull_request_review", "dismissed", { repo: this.mustRepo(pr.repo), sender: by, pr, review });
  }

  reviewsOf(pr: SimPull): SimReview[] {
    return [...this.reviews.values()]
      .filter((r) => r.repo === pr.repo && r.prNumber === pr.number)
      .sort((a, b) => a.id - b.id);
  }

  merge(pr: SimPull, by: string): string {
    if (pr.state !== "open") throw new SimHttpError(405, "Pull Request is not mergeable");
    const repo = this.mustRepo(pr.repo);
    const before = this.branchTip(repo, pr.baseRef);
    const c = this.addCommit(
      repo,
      { message: `Merge pull request #${pr.number}`, authors: [by], committer: "web-flow" },
      [before, this.headSha(pr)],
    );
    this.setBranchTip(repo, pr.baseRef, c.sha);
    const at = this.tick();
    Object.assign(pr, {
      state: "closed",
      merged: true,
      mergedAt: at,
      mergedBy: by,
      mergeCommitSha: c.sha,
      closedAt: at,
      updatedAt: at,
    });
    this.user(by);
    this.emit("pull_request", "closed", { repo, sender: by, pr });
    this.recordActivity(repo, pr.baseRef, before, c.sha, "pr_merge", by);
    // GitHub's push for the merge commit: the PR's commits new to the base, and the merge commit.
    this.emitPush(repo, pr.baseRef, before, c.sha, by, false);
    return c.sha;
  }

  // ---------------------------------------------------------------- branches and pushes (branches.ts)

  /** A branch's tip: the default branch's is baseSha; another branch is created from it when first named. */
  branchTip(repo: SimRepo, branch: string): string {
    if (branch === repo.defaultBranch) return repo.baseSha;
    return repo.branches.get(branch) ?? this.createBranch(repo, branch);
  }

  /** Create a branch at `from` (default: the default branch's tip); no webhook. */
  createBranch(repo: SimRepo, branch: string, from = repo.baseSha): string {
    if (branch === repo.defaultBranch) throw new SimHttpError(422, "Reference already exists");
    repo.branches.set(branch, from);
    this.recordActivity(repo, branch, "0".repeat(40), from, "branch_creation", repo.owner);
    return from;
  }

  private setBranchTip(repo: SimRepo, branch: string, sha: string): void {
    if (branch === repo.defaultBranch) {
      this.fileSnapshots.set(repo.baseSha, new Map(repo.files));
      repo.baseSha = sha;
    } else repo.branches.set(branch, sha);
  }

  /** A branch's commits, newest first (GraphQL Commit.history). */
  history(repo: SimRepo, branch: string): SimCommit[] {
    return historyOf(this, this.branchTip(repo, branch));
  }

  /**
   * Commits pushed straight to a branch, as `git push` by `by` (default: the repository's owner).
   * Appended to the tip; with `force`, a new line of history replaces it: built on `onto` (default
   * the old tip's first parent, i.e. the tip is rewritten), forced: true, before = the old tip.
   * `files` are written by the push (the default branch's files: what GraphQL's HEAD: answers).
   * Sends GitHub's `push` webhook. Returns before, after and the new commits (oldest first).
   */
  directPush(
    repo: SimRepo,
    branch: string,
    commits: CommitSpec[] = [{}],
    opts: {
      by?: string;
      force?: boolean;
      onto?: string;
      /** Files the push writes (null: deletes) on the default branch. */ files?: Record<
        string,
        string | null
      >;
    } = {},
  ): { before: string; after: string; shas: string[] } {
    if (commits.length === 0) throw new Error("simulator: directPush needs at least one commit");
    const by = opts.by ?? repo.owner;
    this.user(by);
    const before = this.branchTip(repo, branch);
    let parent = opts.force ? (opts.onto ?? this.commits.get(before)?.parents[0] ?? before) : before;
    const shas: string[] = [];
    for (const spec of commits) {
      const c = this.addCommit(repo, { authors: [by], ...spec }, [parent], by);
      shas.push(c.sha);
      parent = c.sha;
    }
    this.setBranchTip(repo, branch, parent);
    if (branch === repo.defaultBranch)
      for (const [path, text] of Object.entries(opts.files ?? {}))
        text === null ? repo.files.delete(path) : repo.files.set(path, text);
    this.tick();
    this.recordActivity(repo, branch, before, parent, opts.force ? "force_push" : "push", by);
    this.emitPush(repo, branch, before, parent, by, !!opts.force);
    return { before, after: parent, shas };
  }

  /** A branch update in the repository's activity, at the model's clock. */
  private recordActivity(
    repo: SimRepo,
    branch: string,
    before: string,
    after: string,
    activityType: SimActivity["activityType"],
    actor: string | null,
  ): SimActivity {
    const id = this.id();
    const a: SimActivity = {
      id,
      nodeId: this.nodeId("RA", id),
      repo: repo.fullName,
      before,
      after,
      ref: `refs/heads/${branch}`,
      timestamp: this.stamp(),
      activityType,
      actor,
    };
    this.activities.push(a);
    return a;
  }

  private emitPush(
    repo: SimRepo,
    branch: string,
    before: string,
    after: string,
    pusher: string,
    forced: boolean,
  ): void {
    const push: SimPush = {
      ref: `refs/heads/${branch}`,
      before,
      after,
      created: false,
      deleted: false,
      forced,
      commits: pushedCommits(this, before, after),
      pusher,
    };
    this.emit("push", null, { repo, sender: pusher, push });
  }

  close(pr: SimPull, by = pr.author): void {
    const at = this.tick();
    Object.assign(pr, { state: "closed", closedAt: at, updatedAt: at });
    this.emit("pull_request", "closed", { repo: this.mustRepo(pr.repo), sender: by, pr });
  }

  reopen(pr: SimPull, by = pr.author): void {
    Object.assign(pr, { state: "open", closedAt: null, updatedAt: this.tick() });
    this.emit("pull_request", "reopened", { repo: this.mustRepo(pr.repo), sender: by, pr });
  }

  queueOf(repo: string, branch: string): SimQueueEntry[] {
    const key = `${repo}#${branch}`.toLowerCase();
    let q = this.mergeQueues.get(key);
    if (!q) this.mergeQueues.set(key, (q = []));
    return q;
  }

  /**
   * Add an open PR to its base's merge queue, as GitHub does: a merge group whose head commit is
   * built on the entry ahead (or the base), on branch gh-readonly-queue/<base>/pr-<N>-<base sha>,
   * announced with merge_group checks_requested.
   */
  enqueue(pr: SimPull, by = pr.author): SimQueueEntry {
    if (pr.state !== "open") throw new SimHttpError(422, "Pull request is not open");
    const repo = this.mustRepo(pr.repo);
    const q = this.queueOf(repo.fullName, pr.baseRef);
    if (q.some((e) => e.pr === pr)) throw new SimHttpError(422, "Pull request is already queued");
    const parent = q.at(-1)?.headSha ?? repo.baseSha;
    const c = this.addCommit(
      repo,
      {
        message: `Merge pull request #${pr.number} into merge queue`,
        authors: ["github-merge-queue[bot]"],
        committer: "web-flow",
      },
      [parent, this.headSha(pr)],
    );
    const entry: SimQueueEntry = {
      pr,
      headSha: c.sha,
      baseSha: repo.baseSha,
      headRef: `refs/heads/gh-readonly-queue/${pr.baseRef}/pr-${pr.number}-${repo.baseSha}`,
    };
    q.push(entry);
    this.emit("merge_group", "checks_requested", { repo, sender: by, mergeGroup: entry });
    return entry;
  }

  /** Take a PR out of the queue: its group is destroyed ("dequeued"). */
  dequeue(pr: SimPull, reason: "dequeued" | "invalidated" = "dequeued"): void {
    const repo = this.mustRepo(pr.repo);
    const q = this.queueOf(repo.fullName, pr.baseRef);
    const i = q.findIndex((e) => e.pr === pr);
    if (i < 0) throw new SimHttpError(422, "Pull request is not queued");
    const [entry] = q.splice(i, 1);
    this.emit("merge_group", "destroyed", {
      repo,
      sender: "github-merge-queue[bot]",
      mergeGroup: entry!,
      reason,
    });
  }

  /** The front entry's group passed its checks: GitHub merges it and destroys its group ("merged"). */
  mergeQueueFront(repoName: string, branch: string): SimPull {
    const q = this.queueOf(repoName, branch);
    const entry = q.shift();
    if (!entry) throw new SimHttpError(422, "The merge queue is empty");
    this.merge(entry.pr, "github-merge-queue[bot]");
    this.emit("merge_group", "destroyed", {
      repo: this.mustRepo(repoName),
      sender: "github-merge-queue[bot]",
      mergeGroup: entry,
      reason: "merged",
    });
    return entry.pr;
  }

  openPullsWithHead(repo: string, sha: string): SimPull[] {
    return [...this.pulls.values()].filter(
      (p) => p.repo === repo && p.state === "open" && this.headSha(p) === sha,
    );
  }

  // ---------------------------------------------------------------- comments

  addComment(
    repo: SimRepo,
    issueNumber: number,
    body: string,
    author: string,
    appId: number | null,
  ): SimComment {
    if (!this.pull(repo.fullName, issueNumber) && !this.issues.has(this.pullKey(repo.fullName, issueNumber)))
      throw new SimHttpError(404, "Not Found");
    if (body.length > 65536)
      throw new SimHttpError(422, "Validation Failed", {
        errors: [
          {
            resource: "IssueComment",
            code: "custom",
            field: "body",
            message: "body is too long (maximum is 65536 characters)",
          },
        ],
      });
    const id = this.id();
    const at = this.tick();
    const c: SimComment = {
      id,
      nodeId: this.nodeId("IC", id),
      repo: repo.fullName,
      issueNumber,
      body,
      author,
      appId,
      createdAt: at,
      updatedAt: at,
      history: [{ at: Date.now(), body }],
    };
    this.comments.set(id, c);
    this.emit("issue_comment", "created", {
      repo,
      sender: author,
      pr: this.pull(repo.fullName, issueNumber),
      comment: c,
    });
    return c;
  }

  updateComment(comment: SimComment, body: string, by: string): void {
    if (body.length > 65536)
      throw new SimHttpError(422, "Validation Failed", {
        errors: [
          {
            resource: "IssueComment",
            code: "custom",
            field: "body",
            message: "body is too long (maximum is 65536 characters)",
          },
        ],
      });
    const from = comment.body;
    comment.body = body;
    comment.history.push({ at: Date.now(), body });
    comment.updatedAt = this.tick();
    this.emit("issue_comment", "edited", {
      repo: this.mustRepo(comment.repo),
      sender: by,
      pr: this.pull(comment.repo, comment.issueNumber),
      comment,
      changes: { body: { from } },
    });
  }

  deleteComment(comment: SimComment, by: string): void {
    this.comments.delete(comment.id);
    this.emit("issue_comment", "deleted", {
      repo: this.mustRepo(comment.repo),
      sender: by,
      pr: this.pull(comment.repo, comment.issueNumber),
      comment,
    });
  }

  commentsOf(repo: string, issueNumber: number): SimComment[] {
    return [...this.comments.values()]
      .filter((c) => c.repo === repo && c.issueNumber === issueNumber)
      .sort((a, b) => a.id - b.id);
  }

  // ---------------------------------------------------------------- checks and statuses

  private suiteFor(repo: SimRepo, sha: string, appId: number): SimSuite {
    for (const s of this.suites.values())
      if (s.repo === repo.fullName && s.headSha === sha && s.appId === appId) return s;
    const id = this.id();
    const pr = [...this.pulls.values()].find((p) => p.repo === repo.fullName && p.commits.includes(sha));
    const s: SimSuite = {
      id,
      nodeId: this.nodeId("CS", id),
      repo: repo.fullName,
      headSha: sha,
      headBranch: pr?.headRef ?? null,
      appId,
      status: "queued",
      conclusion: null,
      createdAt: this.stamp(),
      updatedAt: this.stamp(),
    };
    this.suites.set(id, s);
    return s;
  }

  runsOfSuite(suite: SimSuite): SimCheckRun[] {
    return [...this.checkRuns.values()].filter((r) => r.suiteId === suite.id).sort((a, b) => a.id - b.id);
  }

  runsOn(repo: string, sha: string): SimCheckRun[] {
    return [...this.checkRuns.values()]
      .filter((r) => r.repo === repo && r.headSha === sha)
      .sort((a, b) => a.id - b.id);
  }

  /** Create a check run as app `appId` (REST POST check-runs, or CI in tests). */
  createCheckRun(
    repo: SimRepo,
    appId: number,
    input: {
      name: string;
      headSha: string;
      status?: CheckStatus;
      conclusion?: CheckConclusion | null;
      title?: string | null;
      summary?: string | null;
      text?: string | null;
      detailsUrl?: string | null;
      externalId?: string;
      actions?: SimCheckAction[];
      startedAt?: string;
      completedAt?: string | null;
    },
  ): SimCheckRun {
    const commit = this.commits.get(input.headSha);
    if (!commit || commit.repo !== repo.fullName)
      throw new SimHttpError(422, `No commit found for SHA: ${input.headSha}`);
    const status = input.conclusion && !input.status ? "completed" : (input.status ?? "queued");
    if (status === "completed" && !input.conclusion)
      throw new SimHttpError(422, "Invalid request.\n\nconclusion is required when status is completed.");
    const suite = this.suiteFor(repo, input.headSha, appId);
    const id = this.id();
    const now = this.stamp();
    const run: SimCheckRun = {
      id,
      nodeId: this.nodeId("CR", id),
      repo: repo.fullName,
      headSha: input.headSha,
      suiteId: suite.id,
      appId,
      name: input.name,
      status,
      conclusion: status === "completed" ? (input.conclusion ?? null) : null,
      title: input.title ?? null,
      summary: input.summary ?? null,
      text: input.text ?? null,
      detailsUrl: input.detailsUrl ?? null,
      externalId: input.externalId ?? "",
      startedAt: input.startedAt ?? now,
      completedAt: status === "completed" ? (input.completedAt ?? now) : null,
      actions: input.actions ?? [],
      history: [],
    };
    run.history.push({ at: Date.now(), status: run.status, conclusion: run.conclusion, title: run.title });
    this.checkRuns.set(id, run);
    const sender = `${this.app(appId).slug}[bot]`;
    this.emit("check_run", "created", { repo, sender, run });
    if (run.status === "completed") this.emit("check_run", "completed", { repo, sender, run });
    this.refreshSuite(repo, suite, sender);
    return run;
  }

  /** PATCHes that asked a completed check run to go back to queued/in_progress (GitHub ignores the status). */
  ignoredReopens = 0;

  updateCheckRun(
    run: SimCheckRun,
    change: Partial<
      Pick<
        SimCheckRun,
        | "name"
        | "status"
        | "conclusion"
        | "title"
        | "summary"
        | "text"
        | "detailsUrl"
        | "externalId"
        | "actions"
        | "completedAt"
      >
    >,
  ): void {
    const wasCompleted = run.status === "completed";
    // GitHub: "Once a check run transitions from the in_progress state to completed state, it's not
    // possible to modify its status" (GitHub staff, community forum). The request is accepted and the
    // run stays completed with its conclusion (reports: Mergify #1989, tektoncd/pipelines-as-code
    // #2305); its output still changes. Counted, so tests can see a reopen that did not happen.
    if (wasCompleted && change.status !== undefined && change.status !== "completed") {
      this.ignoredReopens++;
      change = { ...change, status: undefined, conclusion: undefined };
    }
    if (change.conclusion && !change.status) change.status = "completed";
    if (change.status === "completed" && !(change.conclusion ?? run.conclusion))
      throw new SimHttpError(422, "Invalid request.\n\nconclusion is required when status is completed.");
    Object.assign(run, Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)));
    if (run.status !== "completed") run.conclusion = null;
    if (run.status === "completed" && !run.completedAt) run.completedAt = this.stamp();
    run.history.push({ at: Date.now(), status: run.status, conclusion: run.conclusion, title: run.title });
    const repo = this.mustRepo(run.repo);
    const sender = `${this.app(run.appId).slug}[bot]`;
    if (run.status === "completed" && !wasCompleted)
      this.emit("check_run", "completed", { repo, sender, run });
    this.refreshSuite(repo, this.suites.get(run.suiteId)!, sender);
  }

  private refreshSuite(repo: SimRepo, suite: SimSuite, sender: string): void {
    const runs = this.runsOfSuite(suite);
    const was = suite.status;
    if (runs.every((r) => r.status === "completed")) {
      suite.status = "completed";
      const cs = runs.map((r) => r.conclusion);
      const bad = ["failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"].find(
        (c) => cs.includes(c as CheckConclusion),
      );
      suite.conclusion =
        (bad as CheckConclusion | undefined) ??
        (cs.every((c) => c === "skipped")
          ? "skipped"
          : cs.every((c) => c === "neutral" || c === "skipped")
            ? "neutral"
            : "success");
    } else {
      suite.status = runs.some((r) => r.status !== "queued") ? "in_progress" : "queued";
      suite.conclusion = null;
    }
    suite.updatedAt = this.stamp();
    if (suite.status === "completed" && was !== "completed")
      this.emit("check_suite", "completed", { repo, sender, suite });
  }

  /** CI reports a check run (by default as GitHub Actions). */
  ci(
    pr: SimPull | { repo: string; sha: string },
    name: string,
    opts: { status?: CheckStatus; conclusion?: CheckConclusion; appId?: number; detailsUrl?: string } = {},
  ): SimCheckRun {
    const repoName = "number" in pr ? pr.repo : pr.repo;
    const sha = "number" in pr ? this.headSha(pr) : pr.sha;
    return this.createCheckRun(this.mustRepo(repoName), opts.appId ?? GITHUB_ACTIONS.id, {
      name,
      headSha: sha,
      status: opts.status ?? (opts.conclusion ? "completed" : "in_progress"),
      conclusion: opts.conclusion ?? null,
      detailsUrl: opts.detailsUrl ?? `https://ci.example.com/${encodeURIComponent(name)}`,
    });
  }

  setStatus(
    repo: SimRepo,
    sha: string,
    s: {
      context: string;
      state: StatusState;
      creator?: string;
      targetUrl?: string | null;
      description?: string | null;
    },
  ): SimStatus {
    const commit = this.commits.get(sha);
    if (!commit || commit.repo !== repo.fullName)
      throw new SimHttpError(422, `No commit found for SHA: ${sha}`);
    const id = this.id();
    const creator = s.creator ?? "ci-bot";
    this.user(creator);
    const st: SimStatus = {
      id,
      nodeId: this.nodeId("SC", id),
      repo: repo.fullName,
      sha,
      context: s.context,
      state: s.state,
      targetUrl: s.targetUrl ?? null,
      description: s.description ?? null,
      creator,
      createdAt: this.tick(),
    };
    this.statuses.push(st);
    this.emit("status", null, { repo, sender: creator, status: st });
    return st;
  }

  /** Latest status per context on a commit. */
  latestStatuses(repo: string, sha: string): SimStatus[] {
    const latest = new Map<string, SimStatus>();
    for (const s of this.statuses) if (s.repo === repo && s.sha === sha) latest.set(s.context, s);
    return [...latest.values()];
  }

  /** A user presses a button on a check run ("Re-evaluate"). */
  requestAction(run: SimCheckRun, identifier: string, by: string): void {
    this.emit("check_run", "requested_action", {
      repo: this.mustRepo(run.repo),
      sender: by,
      run,
      requestedAction: identifier,
    });
  }

  rerequest(run: SimCheckRun, by: string): void {
    this.emit("check_run", "rerequested", { repo: this.mustRepo(run.repo), sender: by, run });
  }

  // ---------------------------------------------------------------- rulesets and branch protection (rulesets.ts)

  /** The installation's granted permissions (its own, else its app's). */
  permissionsOf(inst: SimInstallation): Record<string, string> {
    return inst.permissions ?? this.app(inst.appId).permissions;
  }

  /** Grant or take away installation permissions (e.g. `administration: read` not accepted). */
  setInstallationPermissions(inst: SimInstallation, permissions: Record<string, string>): void {
    inst.permissions = { ...permissions };
  }

  /** A repository ruleset (`repository_ruleset` created). */
  addRuleset(repo: SimRepo, spec: RulesetSpec, by = repo.owner, opts: { silent?: boolean } = {}): SimRuleset {
    const r = newRuleset(this, { repo }, spec);
    this.rulesets.set(r.id, r);
    // silent: a fixture (the state before the test), no webhook.
    if (!opts.silent) this.emit("repository_ruleset", "created", { repo, sender: by, ruleset: r });
    return r;
  }

  /** An organisation ruleset (applies to every repository of `org`; `repository_ruleset` without a repository). */
  addOrgRuleset(org: string, spec: RulesetSpec, by = org): SimRuleset {
    const r = newRuleset(this, { org }, spec);
    this.rulesets.set(r.id, r);
    this.emitOrg(org, "repository_ruleset", "created", by, r);
    return r;
  }

  /** Change a ruleset (enforcement, patterns, required checks): `repository_ruleset` edited with `changes`. */
  editRuleset(
    r: SimRuleset,
    change: {
      enforcement?: SimRuleset["enforcement"];
      checks?: SimRequiredCheck[];
      include?: string[];
      exclude?: string[];
      name?: string;
    },
    by?: string,
  ): void {
    const changes: Record<string, unknown> = {};
    if (change.name !== undefined && change.name !== r.name) {
      changes.name = { from: r.name };
      r.name = change.name;
    }
    if (change.enforcement !== undefined && change.enforcement !== r.enforcement) {
      changes.enforcement = { from: r.enforcement };
      r.enforcement = change.enforcement;
    }
    if (change.include !== undefined || change.exclude !== undefined) {
      const before = structuredClone(r.conditions);
      if (change.include !== undefined) r.conditions.ref_name.include = [...change.include];
      if (change.exclude !== undefined) r.conditions.ref_name.exclude = [...change.exclude];
      changes.conditions = { updated: [{ condition: before, changes: {} }] };
    }
    if (change.checks !== undefined) {
      const i = r.rules.findIndex((x) => x.type === "required_status_checks");
      const rule = {
        type: "required_status_checks",
        parameters: {
          strict_required_status_checks_policy: false,
          do_not_enforce_on_create: false,
          required_status_checks: change.checks.map((c) =>
            typeof c.appId === "number"
              ? { context: c.context, integration_id: c.appId }
              : { context: c.context },
          ),
        },
      };
      if (i >= 0) {
        r.rules[i] = rule;
        changes.rules = { updated: [{ rule, changes: { configuration: { from: "{}" } } }] };
      } else {
        r.rules.push(rule);
        changes.rules = { added: [rule] };
      }
    }
    r.updatedAt = this.tick();
    this.rulesetEvent(r, "edited", by, changes);
  }

  deleteRuleset(r: SimRuleset, by?: string): void {
    this.rulesets.delete(r.id);
    this.rulesetEvent(r, "deleted", by);
  }

  private rulesetEvent(r: SimRuleset, action: string, by?: string, changes?: Record<string, unknown>): void {
    if (r.sourceType === "Organization")
      this.emitOrg(r.source, "repository_ruleset", action, by ?? r.source, r, changes);
    else {
      const repo = this.mustRepo(r.source);
      this.emit("repository_ruleset", action, {
        repo,
        sender: by ?? repo.owner,
        ruleset: r,
        ...(changes ? { changes } : {}),
      });
    }
  }

  /** Classic protection of a branch with required checks (null: protected without required checks). */
  protectBranch(
    repo: SimRepo,
    branch: string,
    checks: SimRequiredCheck[] | null,
    by = repo.owner,
  ): SimProtection {
    const key = protectionKey(repo.fullName, branch);
    const had = this.protections.get(key);
    const at = this.tick();
    const p: SimProtection = {
      id: had?.id ?? this.id(),
      repo: repo.fullName,
      branch,
      checks: checks ? checks.map((c) => ({ ...c })) : null,
      strict: false,
      createdAt: had?.createdAt ?? at,
      updatedAt: at,
    };
    this.protections.set(key, p);
    this.emit("branch_protection_rule", had ? "edited" : "created", {
      repo,
      sender: by,
      protection: p,
      ...(had
        ? { changes: { required_status_checks: { from: (had.checks ?? []).map((c) => c.context) } } }
        : {}),
    });
    return p;
  }

  unprotectBranch(repo: SimRepo, branch: string, by = repo.owner): void {
    const key = protectionKey(repo.fullName, branch);
    const had = this.protections.get(key);
    if (!had) return;
    this.protections.delete(key);
    this.emit("branch_protection_rule", "deleted", { repo, sender: by, protection: had });
  }

  /** All classic protection of the repository turned off or on again (`branch_protection_configuration`). */
  setBranchProtectionEnabled(repo: SimRepo, enabled: boolean, by = repo.owner): void {
    repo.protectionDisabled = !enabled;
    this.emit("branch_protection_configuration", enabled ? "enabled" : "disabled", { repo, sender: by });
  }

  // ---------------------------------------------------------------- webhooks

  private emit(
    name: string,
    action: string | null,
    ctx: Omit<WebhookContext, "model" | "installation" | "name" | "action">,
  ): void {
    for (const inst of this.installationsFor(ctx.repo)) {
      const app = this.app(inst.appId);
      if (!app.events || !app.events.includes(name)) continue;
      // GitHub sends the ruleset and branch protection events only with `administration: read`.
      if (ADMIN_EVENTS.has(name) && !grants(this.permissionsOf(inst), "administration")) continue;
      // Button presses and re-requests go only to the app that owns the run or suite.
      const ownerApp = ctx.run?.appId ?? ctx.suite?.appId;
      const ownOnly =
        (name === "check_run" && (action === "rerequested" || action === "requested_action")) ||
        (name === "check_suite" && action !== "completed");
      if (ownOnly && ownerApp !== app.id) continue;
      const payload = buildWebhook({ ...ctx, model: this, installation: inst, name, action });
      const hook: SimWebhook = {
        id: randomUUID(),
        name,
        action,
        installationId: inst.id,
        appId: app.id,
        payload,
      };
      this.webhooks.push(hook);
      for (const l of [...this.listeners]) l(hook);
    }
  }

  /** An organisation's `repository_ruleset` event: to the organisation's installations, no `repository`. */
  private emitOrg(
    org: string,
    name: string,
    action: string,
    sender: string,
    ruleset: SimRuleset,
    changes?: Record<string, unknown>,
  ): void {
    for (const inst of this.installations.values()) {
      if (inst.suspended || inst.account.toLowerCase() !== org.toLowerCase()) continue;
      const app = this.app(inst.appId);
      if (!app.events || !app.events.includes(name)) continue;
      if (ADMIN_EVENTS.has(name) && !grants(this.permissionsOf(inst), "administration")) continue;
      const payload = orgRulesetWebhook(this, inst, action, sender, ruleset, changes);
      const hook: SimWebhook = {
        id: randomUUID(),
        name,
        action,
        installationId: inst.id,
        appId: app.id,
        payload,
      };
      this.webhooks.push(hook);
      for (const l of [...this.listeners]) l(hook);
    }
  }
}

const grants = (p: Record<string, string>, name: string) => p[name] === "read" || p[name] === "write";

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
