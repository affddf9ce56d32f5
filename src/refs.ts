/**
 * Plain identifiers and interfaces shared across rooms (github/, jira/, audit/ and the process rooms). This
 * module imports nothing, so any module may import it without pulling in another room.
 */

/** One pull request of one installation: the unit of scheduling. */
export interface PrRef {
  installationId: number;
  owner: string;
  repo: string;
  number: number;
}

/** The scheduler's key for a PR (also the per-PR lock's and the per-PR sequence's key). */
export function prKey(ref: PrRef): string {
  return `${ref.installationId}:${ref.owner.toLowerCase()}/${ref.repo.toLowerCase()}#${ref.number}`;
}

/** owner/name#N, for logs and messages. */
export function prLabel(ref: Pick<PrRef, "owner" | "repo" | "number">): string {
  return `${ref.owner}/${ref.repo}#${ref.number}`;
}

/** What a delivery asked for: enough to run it again after a crash. */
export interface PendingJob {
  ref: PrRef;
  event: string;
  expectedHead: string | null;
  merge: boolean;
  /** The `labeled` deliveries' statements of the head (absent in rows written before them). */
  labelClaims?: LabelClaim[];
  /** A merge_group delivery: the group's facts from its payload (flows/merge-group.ts); `ref.number` is the PR its branch names. */
  group?: MergeGroupFacts;
}

/**
 * What GitHub's signed `pull_request.labeled` delivery said: which label, who applied it, the PR's
 * head then and its updated_at. Only ever narrows a declaration (src/policy/emergency.ts
 * declaredOnFromClaims); GitHub's read decides everything else.
 */
export interface LabelClaim {
  label: string;
  sender: string;
  headSha: string;
  at: string;
}

/** A merge_group delivery as a job: what its payload said (validated), enough to judge it again after a crash. */
export interface MergeGroupFacts {
  action: "checks_requested" | "destroyed";
  reason: string | null;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
}

/** A delivery id (X-GitHub-Delivery) is processed once; unfinished deliveries are resumed at start-up. */
export interface DeliveryLedger {
  /** true the first time an id is claimed (by any process), false for every repeat. */
  claim(deliveryId: string): Promise<boolean>;
  /** The evaluations the delivery led to, recorded before they run. */
  pending(deliveryId: string, jobs: PendingJob[]): Promise<void>;
  /** Every evaluation of the delivery has finished. */
  complete(deliveryId: string): Promise<void>;
  /**
   * Optional, one statement: claim a delivery whose jobs are already known and record them with
   * it (true the first time, false for a repeat, which records nothing).
   */
  claimPending?(deliveryId: string, jobs: PendingJob[]): Promise<boolean>;
  /** Optional, one statement: several deliveries complete (batched completions). */
  completeMany?(deliveryIds: string[]): Promise<void>;
  /** Optional: which of these ids some process has claimed (the webhook redelivery skips them). */
  processed?(deliveryIds: string[]): Promise<Set<string>>;
  /**
   * Optional: forget a claim that led to nothing (its jobs could not be located: GitHub failed the
   * delivery, or will), so that GitHub's redelivery of it is processed rather than dropped as a repeat.
   */
  release?(deliveryId: string): Promise<void>;
  /** Deliveries with recorded jobs that never completed (oldest first). */
  unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]>;
}

/** Which PRs reference a Jira ticket key (the Jira webhook's view; the audit store keeps it durably). */
export interface TicketIndex {
  /** Open PRs whose latest evaluation referenced `key` (upper case), in any repository or installation. */
  prsForKey(key: string): Promise<PrRef[]>;
}
