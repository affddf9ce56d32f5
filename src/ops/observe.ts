/**
 * Watching evaluations: each finished job is counted (by kind and conclusion), timed, and logged
 * once as a JSON line naming the delivery, installation, repository, PR, head and duration; a
 * bypass is counted too. The pipeline itself stays unaware of metrics.
 */
import type { Logger } from "pino";
import { jobLog, type EvaluationJob, type EvaluationOutcome } from "../intake/job.js";
import type { Metrics } from "./metrics.js";

export interface Observer {
  metrics: Metrics;
  log(): Logger | undefined;
  now?: () => number;
}

/** Run one evaluation, then count, time and log it. A throw is counted as an error and rethrown. */
export async function observeEvaluation(
  observer: Observer,
  job: EvaluationJob,
  run: () => Promise<EvaluationOutcome>,
): Promise<EvaluationOutcome> {
  const now = observer.now ?? (() => performance.now());
  const started = now();
  let outcome: EvaluationOutcome;
  try {
    outcome = await run();
  } catch (err) {
    observer.metrics.evaluated("error", null, (now() - started) / 1000);
    throw err;
  }
  observed(observer, job, outcome, now() - started);
  return outcome;
}

/** Count and log an outcome reached another way (the store failed before the evaluation ran). */
export function observed(
  observer: Observer,
  job: EvaluationJob,
  outcome: EvaluationOutcome,
  durationMs: number,
  kind?: "store_failed",
): void {
  const k = kind ?? outcome.kind;
  observer.metrics.evaluated(k, outcome.outcome, durationMs / 1000);
  if (outcome.bypass) observer.metrics.bypass();
  const log = observer.log();
  if (!log) return;
  jobLog({ log }, job).info(
    {
      head: outcome.headSha,
      durationMs: Math.round(durationMs),
      kind: k,
      conclusion: outcome.outcome,
      reads: outcome.reads,
      writes: outcome.writes,
      ...(outcome.bypass ? { bypass: true } : {}),
      ...(outcome.stepsMs ? { stepsMs: outcome.stepsMs } : {}),
    },
    "evaluation finished",
  );
}
