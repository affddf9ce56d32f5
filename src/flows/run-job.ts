/**
 * One scheduled job, run (the scheduler's `run`, intake/scheduler.ts):
 *   - a merge group: judged from the store (flows/merge-group.ts; no PR lock: it publishes on the
 *     group's own head);
 *   - a PR's job: holding the PR lock (single-flight across replicas), observed (counted, timed,
 *     logged once: ops/observe.ts), with the scheduler's slot.
 * A lock timeout means another replica has the PR: it is tried again in 30 s. The lock lives in the
 * audit store: with the store down, the check fails naming the store (flows/fail-closed.ts) and the
 * job is retried later.
 */
import type { Logger } from "pino";
import { reportStoreFailure, runEvaluation } from "./evaluate-pr.js";
import { runGroupJob, type GroupRunDeps } from "./merge-group.js";
import { observed, observeEvaluation, type Observer } from "../ops/observe.js";
import type { PrRef } from "../refs.js";
import type { EvaluationJob, EvaluationOutcome, PipelineDeps } from "../intake/job.js";
import { isPrLockTimeout, type PrLock } from "../intake/pr-lock.js";
import type { SlotControl } from "../intake/scheduler.js";

/** How long a PR held by another replica waits before it is tried again (ms). */
export const LOCK_TIMEOUT_RETRY_MS = 30_000;

export interface JobRunnerDeps {
  /** The pipeline's deps (built per job: Probot's log and auth may change). */
  pipeline(): PipelineDeps;
  /** A merge group's deps (its writes paced). */
  group(): GroupRunDeps;
  prLock: PrLock;
  observer: Observer;
  /** Queue the job again (after a lock timeout). */
  schedule(job: EvaluationJob): Promise<void>;
  /** The head an evaluation found (the locator's index of PR heads). */
  sawHead(ref: PrRef, headSha: string): void;
  log(): Logger | undefined;
  onEvaluated?(job: EvaluationJob, outcome: EvaluationOutcome): void;
}

export function jobRunner(
  o: JobRunnerDeps,
): (key: string, job: EvaluationJob, slot: SlotControl) => Promise<void> {
  return async (key, job, slot) => {
    if (job.kind === "group") {
      await runGroupJob(o.group(), job);
      return;
    }
    let outcome: EvaluationOutcome;
    try {
      outcome = await o.prLock.withPrLock(key, () =>
        observeEvaluation(o.observer, job, () =>
          runEvaluation({ ...o.pipeline(), slot: { publishing: slot, pause: slot.pause } }, job),
        ),
      );
    } catch (err) {
      if (isPrLockTimeout(err)) {
        o.log()?.warn({ pr: key }, err.message);
        setTimeout(() => void o.schedule(job), LOCK_TIMEOUT_RETRY_MS).unref();
        return;
      }
      // The lock lives in the audit store: with the store down, fail the check and retry later.
      const started = performance.now();
      const failed = await reportStoreFailure(o.pipeline(), job, err);
      observed(o.observer, job, failed, performance.now() - started, "store_failed");
      o.onEvaluated?.(job, failed);
      return;
    }
    if (outcome.headSha && outcome.kind !== "merge") o.sawHead(job.ref, outcome.headSha);
    o.onEvaluated?.(job, outcome);
  };
}
