/**
 * record: the audit trail's entry point. The pipeline hands every verdict and every merge to a
 * Recorder before publishing; the store-backed recorder (SQLite/PostgreSQL) implements it.
 */
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import type { PrRef } from "../github/types.js";

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
   * Per-PR evaluation sequence from the store (AuditStore.nextSequence, taken before gathering): a
   * bigger one saw newer evidence. Absent: the store assigns one when recording.
   */
  sequence?: number;
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
  /** The verdict for the merged head as changegate judges it now. */
  outcome: "success" | "failure" | "pending" | "none";
  emergency: boolean;
  /** Was the base branch gated by the policy? Absent counts as gated (fail closed); see isBypass. */
  gated?: boolean;
}

/** How a merge went on record: its id ("owner/name@seq"), and whether it was already there. */
export interface MergeReceipt {
  id: string;
  duplicate: boolean;
}

export interface Recorder {
  recordEvaluation(rec: EvaluationRecord): Promise<void>;
  recordMerge(rec: MergeRecord): Promise<MergeReceipt | null>;
}

/** A recorder that keeps nothing (tests of other stages; the app always runs with the store). */
export class NoRecorder implements Recorder {
  async recordEvaluation(): Promise<void> {}
  async recordMerge(): Promise<MergeReceipt | null> {
    return null;
  }
}
