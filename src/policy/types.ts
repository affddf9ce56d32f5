/**
 * Plain data shared by the pipeline stages. Nothing here knows about Octokit, Jira or the store:
 * gather produces `Evidence`, evaluate turns (Config, Evidence) into a `Verdict`, render turns
 * that into text.
 */
import type { Config, RequiredCheck } from "../config/schema.js";

export type { Config, RequiredCheck };

/** Where the policy that judged a PR came from. */
export interface PolicySource {
  kind: "repo" | "org" | "defaults";
  /** "owner/repo:.github/changegate.yml" for files; "built-in defaults" otherwise. */
  location: string;
  /** sha256 of the raw file text(s) that produced the config, "" for defaults. */
  contentHash: string;
}

export interface Policy {
  config: Config;
  source: PolicySource;
  /** The org file's `enforce:` floors, when it has any: where they come from and where they won. */
  floors?: { location: string; notes: { key: string; message: string }[] };
}

export interface Actor {
  login: string;
  isBot: boolean;
}

export interface CommitInfo {
  oid: string;
  headline: string;
  message: string;
  /** GitHub logins of the commit's authors (co-authors included); null where the email maps to no user. */
  authors: (string | null)[];
  committer: string | null;
  /** A merge commit (two or more parents): its author and committer count as contributors all the same (policy/approvals.ts). */
  isMerge: boolean;
  url: string;
  /**
   * The git identities ("Name <email>", role first) of this commit's authors and committer that map
   * to no GitHub user, for the digest; absent when gather did not say (the nulls above still count).
   */
  unlinked?: string[];
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface ReviewInfo {
  author: Actor | null;
  state: ReviewState;
  submittedAt: string | null;
  /** The commit the review was left on; null when GitHub no longer knows it. */
  commitOid: string | null;
  /** GraphQL's authorCanPushToRepository: the reviewer has write access. */
  authorCanPush: boolean;
  url: string;
}

/** A CI signal on the head commit, check run or commit status, normalised. */
export type CiState = "success" | "failure" | "pending";

export interface CiCheck {
  kind: "check_run" | "status";
  name: string;
  state: CiState;
  /** GitHub's own word: a check conclusion/status or a commit status state, lower case. */
  raw: string;
  /** App slug for check runs; creator login for statuses (a GitHub App's bot as `slug[bot]`). */
  source: string | null;
  url: string | null;
  /**
   * When GitHub says the result began (a check run's startedAt, a status's createdAt) and when it
   * reached the state above (a completed check run's completedAt, a status's createdAt; null while
   * a check run runs). Absent from records and answers that did not carry them.
   */
  createdAt?: string | null;
  completedAt?: string | null;
  /**
   * Judged as of a merge (policy/as-of-merge.ts), a result GitHub reports now but that was not in
   * this state at the merge: created or completed after it, or with no time to tell. Its state is
   * then "pending" (it never counts as green) and `raw` stays GitHub's word of now.
   */
  afterMerge?: "created_after_merge" | "completed_after_merge" | "time_unknown";
}

/** A ticket key found in the PR, with every place it was found. */
export interface TicketRef {
  key: string;
  foundIn: TicketSource[];
}

export type TicketSource = "title" | "branch" | "body" | "commits";

export interface TicketInfo {
  key: string;
  summary: string;
  status: string;
  url: string;
}

/**
 * The outcome of looking tickets up. Each failure mode is distinct so the digest can tell a missing
 * ticket from a Jira outage (an outage is never reported as "invalid ticket").
 */
export type TicketLookup =
  | { kind: "not_needed" }
  | { kind: "not_configured" }
  | { kind: "ok"; found: TicketInfo[]; unknown: string[] }
  | { kind: "auth_failed"; message: string }
  | { kind: "unreachable"; message: string }
  | { kind: "malformed"; message: string };

export interface TicketEvidence {
  refs: TicketRef[];
  lookup: TicketLookup;
}

export interface PullRequestInfo {
  number: number;
  title: string;
  body: string;
  url: string;
  state: "OPEN" | "CLOSED" | "MERGED";
  isDraft: boolean;
  author: Actor | null;
  baseRef: string;
  headRef: string;
  headSha: string;
  labels: string[];
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
}

/** The newest time a label was applied to the PR, and by whom (a LabeledEvent). */
export interface LabelEvent {
  label: string;
  /** null when GitHub no longer knows the actor (deleted account). */
  actor: Actor | null;
  at: string;
}

/** What the PR's timeline says about its labels: the newest LabeledEvent per label name. */
export interface LabelHistory {
  events: LabelEvent[];
  /** Older label events exist than were read (only the last 100 are read). */
  truncated: boolean;
}

/**
 * Facts about whoever applied the emergency label, gathered (src/github/declarer.ts) only when the
 * PR carries the label: what the main read cannot tell.
 */
export interface DeclarerFacts {
  login: string;
  /** Write, maintain or admin on the repository; null when it was not asked (not needed). */
  canWrite: boolean | null;
  /** The `org/team` entries of emergency.allowed_declarers the declarer is an active member of. */
  teams: string[];
}

/**
 * The commit the emergency label's newest LabeledEvent (at `at`) was applied on, as changegate
 * established it (src/flows/declared-on.ts): GitHub's signed `labeled` delivery for that label
 * event named the PR's head then, and changegate recorded it. `headSha` null: not established
 * (no such delivery seen, or deliveries disagreeing), so the declaration cannot apply to any head.
 */
export interface DeclaredOn {
  at: string;
  headSha: string | null;
}

/** Everything gathered for one evaluation of one PR. */
export interface Evidence {
  repo: { owner: string; name: string; defaultBranch: string };
  pr: PullRequestInfo;
  commits: CommitInfo[];
  reviews: ReviewInfo[];
  /** CI on the head commit, changegate's own check excluded, one entry per check name and source. */
  checks: CiCheck[];
  tickets: TicketEvidence;
  /** Absent = no label events known (treated as a complete, empty timeline). */
  labelHistory?: LabelHistory;
  /** Absent unless the PR carries the emergency label and the declarer needed checking. */
  declarer?: DeclarerFacts;
  /** Absent unless the PR carries the emergency label: the head its declaration was made on. */
  declaredOn?: DeclaredOn;
  /** The PR's changed files (approvals.rules); absent = not read, and a rule needing them fails. */
  files?: ChangedFiles;
  /** The default branch's CODEOWNERS as GitHub would pick it: null = none; absent = not read. */
  codeowners?: CodeownersFile | null;
  /**
   * Active members (lower-case logins) of the teams approvals.rules needed, per `org/slug`
   * (lower case); null = the team does not exist or the app cannot see it. A team not listed was
   * not read (nobody counts through it).
   */
  teams?: Record<string, string[] | null>;
}

export interface ChangedFiles {
  paths: string[];
  /** GitHub's count of changed files. */
  total: number;
  /** Every changed path is in `paths` (false past GitHub's 3,000-file limit, or when not paged). */
  complete: boolean;
  /** The paths (new) GitHub reports RENAMED (changeType); absent = none known. */
  renamed?: string[];
  /**
   * The renamed files' previous paths (REST previous_filename: GraphQL gives only the new path),
   * read only when a path or codeowners rule exists and a file was renamed; absent = not read.
   * Incomplete (with why) = a rule needing files fails closed (src/policy/renamed-paths.ts).
   */
  previous?: { paths: string[]; complete: boolean; problem?: string };
}

export interface CodeownersFile {
  path: string;
  text: string;
  /** Over GitHub's 3 MB limit (or truncated by GitHub): GitHub does not load it. */
  tooLarge: boolean;
}

export type RuleName = "approvals" | "ci" | "tickets" | "reviewers";
export type RuleStatus = "pass" | "fail" | "pending" | "skipped";

export interface ReviewerLine {
  login: string;
  state: ReviewState;
  commitOid: string | null;
  submittedAt: string | null;
  counted: boolean;
  /** Why it did not count (stale, contributor, no write access, ...); empty when counted. */
  reason: string;
}

export interface CiLine {
  name: string;
  kind: CiCheck["kind"];
  state: CiState | "missing";
  raw: string;
  /** The line meets (or, when missing, is) a `ci.required` entry. */
  required: boolean;
  url: string | null;
  /** Who reported it: app slug (check run) or creator login (status); null when missing or GitHub does not say. */
  source: string | null;
  /** The `ci.required` entry this line meets (a pinned one before a plain one), or is missing for; null when not required. */
  requirement: RequiredCheck | null;
  /**
   * Pinned entries of this name that the line did not meet because it came from another source or as
   * another kind: it was reported, but does not count. Empty when it met an entry or none is pinned.
   */
  notCountedFor: RequiredCheck[];
}

export interface TicketLine {
  key: string;
  foundIn: TicketSource[];
  summary: string | null;
  status: string | null;
  url: string | null;
  /** ok: allowed state; not_allowed: exists, wrong state; unknown: Jira does not know the key; unverified: could not be looked up. */
  outcome: "ok" | "not_allowed" | "unknown" | "unverified";
}

interface RuleBase {
  status: RuleStatus;
  /** One line for the table. */
  summary: string;
  /** What the developer can do to make this rule pass (empty when passing). */
  todo: string[];
}

/** A non-merge commit some of whose authors (or its committer) map to no GitHub user. */
export interface UnattributedCommit {
  oid: string;
  headline: string;
  /** What is unlinked: "author Jane <jane@corp.example>", "committer", ... */
  who: string[];
}

export interface ApprovalsResult extends RuleBase {
  rule: "approvals";
  required: number;
  counted: number;
  reviewers: ReviewerLine[];
  /** Commits the contributor rule cannot tie to anyone; [] when none. */
  unattributed: UnattributedCommit[];
  /** They fail the rule (approvals.block_unattributed_commits, with approvals required). */
  unattributedBlock: boolean;
  /** The PR's merge commits and whom each makes a contributor (for the digest); absent when none. */
  mergeContributions?: MergeContribution[];
}

/** A merge commit of the PR and the people (lower-case logins: authors, committer unless web-flow) it makes contributors. */
export interface MergeContribution {
  oid: string;
  logins: string[];
}

export interface CiResult extends RuleBase {
  rule: "ci";
  checks: CiLine[];
}

export interface TicketsResult extends RuleBase {
  rule: "tickets";
  tickets: TicketLine[];
  allowedStates: string[];
}

/** One approvals.rules entry's outcome (src/policy/rules.ts). */
export interface ReviewRuleResult extends RuleBase {
  rule: "reviewers";
  /** The rule's name in the policy. */
  name: string;
  /** The rule applies to this PR (a changed file matches its paths, or it has none). */
  triggered: boolean;
  /** Changed files that triggered it (at most MAX_RULE_FILES), and how many there were. */
  files: string[];
  fileCount: number;
  /** Who may approve: "@acme/sre", "@alice", "code owners"; [] = any eligible reviewer. */
  mayApprove: string[];
  required: number;
  /** Eligible approvals counted for this rule, with the rule's teams each approver was in then. */
  approvedBy: { login: string; teams: string[] }[];
  /** What is missing, one line each ("needs 1 approval from @acme/sre for infra/main.tf"). */
  missing: string[];
}

export type RuleResult = ApprovalsResult | CiResult | TicketsResult | ReviewRuleResult;

export type Conclusion = "success" | "failure" | "pending";

/** Who applied the emergency label, when, and whether the emergency rules apply because of it. */
export interface EmergencyDeclaration {
  /** The PR carries the emergency label (and the emergency path is enabled). */
  labelled: boolean;
  /** Login of the newest LabeledEvent's actor for the label (apps as `name[bot]`); null = unknown. */
  declarer: string | null;
  /** When that label was applied; null = unknown. */
  at: string | null;
  /**
   * The head the declaration was made on (the PR's head when the label was applied); null =
   * unknown. Absent when the PR is not labelled or the timeline has no LabeledEvent for the label.
   */
  declaredOn?: string | null;
  /** The emergency rules apply. */
  accepted: boolean;
  /** One sentence for the digest: why the declaration was accepted or ignored. */
  reason: string;
}

export interface Verdict {
  conclusion: Conclusion;
  /** One line saying why: the check run's title. */
  title: string;
  gated: boolean;
  /** The emergency rules judged this PR (label present and the declaration accepted). */
  emergency: boolean;
  /** Present when the PR carries the emergency label (on a gated branch), accepted or not. */
  declaration?: EmergencyDeclaration;
  draft: boolean;
  rules: RuleResult[];
}
