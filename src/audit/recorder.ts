/**
 * record: the audit trail's entry point. The pipeline hands every verdict and every merge to a
 * Recorder before publishing; ChainWriter (chain-writer.ts, SQLite/PostgreSQL) implements it in
 * the app, MemoryRecorder below where no store is wired (tests of other stages).
 */
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import { BoundedMap } from "../bounded-map.js";
import { prKey, type PrRef } from "../refs.js";

export interface EvaluationRecord {
  at: string;
  deliveryId: string;
  event: string;
  ref: PrRef;
  evidence: Evidence;
  policy: Policy | null;
  /** null when changegate failed or the policy was invalid. */
  verdict: Verdict | null;
  /** What the check says: the verdict's conclusion, or failure for errors and invalid policies. */
  outcome: "success" | "failure" | "pending";
  error: string | null;
  /**
   * Per-PR evaluation sequence: a bigger one saw newer evidence. The pipeline leaves it absent and
   * ChainWriter assigns the PR's next one when recording (ChainWriter.nextSequence).
   */
  sequence?: number;
}

/**
 * What the scan read for a merge the webhooks missed (at scan time) and judged as of the merge:
 * the evidence (reviews by the merge, CI judged as of the merge, tickets as Jira has them now), the
 * policy and the verdict. Kept on the merge record so the export has its approvals, CI and tickets.
 */
export interface AsOfMergeRead {
  /** When the scan read GitHub and Jira (ISO-8601). */
  at: string;
  evidence: Evidence;
  policy: Policy | null;
  verdict: Verdict | null;
}

export interface MergeRecord {
  at: string;
  deliveryId: string;
  ref: PrRef;
  url: string;
  title: string;
  author: string | null;
  headSha: string;
  mergedBy: string | null;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  /** The branch the PR merged into (records from before it was kept have none). */
  baseRef?: string;
  /**
   * The merged PR's own verdict for the merged head and base, as last recorded before the merge
   * ("none": changegate never judged that head into that base). Not the check run, which a commit
   * shares with every PR whose head it is.
   */
  outcome: "success" | "failure" | "pending" | "none";
  emergency: boolean;
  /** Was the base branch gated by the policy? Absent counts as gated (fail closed); see isBypass. */
  gated?: boolean;
  /** Found by `changegate audit scan` (the merge event was missed), not told by a webhook. */
  foundBy?: "scan";
  /** The scan's judgement as of the merge (flows/as-of-merge.ts), when no verdict stood. */
  asOfMerge?: { outcome: "success" | "failure" | "pending"; title: string; read?: AsOfMergeRead };
  /** An emergency merge into a gated branch: when its retroactive review is due, and where an overdue one is listed. */
  retroReview?: RetroReviewTerms;
}

/**
 * A merge queue's group, as changegate judged it (`checks_requested`) or as GitHub dropped it
 * (`destroyed`, with GitHub's reason: merged, dequeued, invalidated). Recorded on the chain of the
 * repository, under the PR its temporary branch names.
 */
export interface MergeGroupRecord {
  at: string;
  deliveryId: string;
  ref: PrRef;
  action: "checks_requested" | "destroyed";
  reason: string | null;
  baseRef: string;
  baseSha: string;
  headSha: string;
  /** The PRs in the group and their verdicts (checks_requested); [] when GitHub or the store could not say. */
  prs: { number: number; headSha: string; ok: boolean; why: string }[];
  /** What the check said (checks_requested), or "destroyed". */
  outcome: "success" | "failure" | "destroyed";
  error: string | null;
}

export interface RetroReviewTerms {
  dueAt: string;
  withinHours: number;
  /** The policy's audit.issue_repo at the merge (null: none). */
  issueRepo: string | null;
}

/** How a merge went on record: its id ("owner/name@seq"), and whether it was already there. */
export interface MergeReceipt {
  id: string;
  duplicate: boolean;
}

/** A PR's own verdict, as recorded by its latest evaluation at one head. */
export interface OwnVerdict {
  number: number;
  headSha: string;
  /** The base branch it was judged against. */
  base: string;
  outcome: "success" | "failure" | "pending";
  /** null when the evaluation failed before the policy was known. */
  gated: boolean | null;
  emergency: boolean;
  /** The verdict's one-line title (the check title it stood for), or the error. */
  title: string;
}

export interface RepoRef {
  installationId: number;
  owner: string;
  repo: string;
}

export interface Recorder {
  /** Resolves once recorded (ChainWriter with the record's id and hash, which the pipeline does not need). */
  recordEvaluation(rec: EvaluationRecord): Promise<unknown>;
  recordMerge(rec: MergeRecord): Promise<MergeReceipt | null>;
  /** The latest recorded own verdict at `headSha` of each of these PRs of `repo` (absent: none recorded). */
  verdictsAt(repo: RepoRef, headSha: string, numbers: number[]): Promise<Map<number, OwnVerdict>>;
  /** A merge group's verdict or its end (src/flows/merge-group.ts); a recorder without it cannot pass a group. */
  recordMergeGroup?(rec: MergeGroupRecord): Promise<unknown>;
  /**
   * The head an emergency declaration of this PR was made on, as recorded by an earlier evaluation
   * (`emergencyDeclaredOn`), for the LabeledEvent made at `labelledAt`; null when none is on record.
   * A recorder without it knows none (the declaration then rests on this run's `labeled` deliveries).
   */
  declaredOn?(ref: PrRef, labelledAt: string): Promise<string | null>;
}

/** The OwnVerdict an evaluation record stands for. */
export function ownVerdictOf(rec: EvaluationRecord): OwnVerdict {
  return {
    number: rec.ref.number,
    headSha: rec.evidence.pr.headSha,
    base: rec.evidence.pr.baseRef,
    outcome: rec.outcome,
    gated: rec.verdict?.gated ?? null,
    emergency: rec.verdict?.emergency ?? false,
    title: rec.verdict?.title ?? rec.error ?? "",
  };
}

/**
 * A recorder without a store (tests of other stages; the app always runs with the store): it keeps
 * only each PR's latest own verdict, in memory and bounded, for the shared-head and merge decisions.
 */
export class MemoryRecorder implements Recorder {
  private readonly latest = new BoundedMap<string, OwnVerdict>(50_000);
  private readonly declared = new BoundedMap<string, string>(50_000);

  async recordEvaluation(rec: EvaluationRecord): Promise<void> {
    this.latest.set(prKey(rec.ref), ownVerdictOf(rec));
    const d = rec.verdict?.declaration;
    if (d?.at && d.declaredOn) this.declared.set(`${prKey(rec.ref)}@${d.at}`, d.declaredOn);
  }

  async declaredOn(ref: PrRef, labelledAt: string): Promise<string | null> {
    return this.declared.get(`${prKey(ref)}@${labelledAt}`) ?? null;
  }

  async recordMerge(_rec: MergeRecord): Promise<MergeReceipt | null> {
    return null;
  }

  async recordMergeGroup(_rec: MergeGroupRecord): Promise<void> {}

  async verdictsAt(repo: RepoRef, headSha: string, numbers: number[]): Promise<Map<number, OwnVerdict>> {
    const out = new Map<number, OwnVerdict>();
    for (const number of numbers) {
      const v = this.latest.get(prKey({ ...repo, number }));
      if (v && v.headSha === headSha) out.set(number, v);
    }
    return out;
  }
}
