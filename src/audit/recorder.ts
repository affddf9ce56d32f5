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
}

export interface Recorder {
  recordEvaluation(rec: EvaluationRecord): Promise<void>;
  recordMerge(rec: MergeRecord): Promise<void>;
}

/** Until a store is configured: nothing is persisted (the issue that adds the store replaces this). */
export class NoRecorder implements Recorder {
  async recordEvaluation(): Promise<void> {}
  async recordMerge(): Promise<void> {}
}
