/**
 * Publishing a decided evaluation: the check run and the digest together (github/publish.ts), retried;
 * if it never goes out, at least a failure check, and the evaluation again later. PRs sharing the
 * head are asked to follow once it is out.
 */
import { publish } from "../github/publish.js";
import type { Gathered } from "../github/gather.js";
import { isWriteSuperseded } from "../github/write-scheduler.js";
import { prKey, prLabel } from "../github/types.js";
import type { Verdict } from "../policy/types.js";
import { renderFailure } from "../report/failure.js";
import { redactError } from "../report/redact.js";
import type { Report } from "../report/types.js";
import { scheduleLater, type EvaluationOutcome, type PipelineDeps, type Run } from "../intake/job.js";

/** What an evaluation decided, to publish. */
export interface Decided {
  gathered: Gathered;
  report: Report;
  outcome: Verdict["conclusion"];
  /** PRs sharing this head to evaluate after publishing (their checks and digests name this one). */
  followUps: number[];
}

/** Publish the decision, retrying; if it never goes out, at least fail the check, and retry later. */
export async function publishWithRetry(
  deps: PipelineDeps,
  run: Run,
  decision: Decided,
): Promise<EvaluationOutcome> {
  const { job, log, octokit, reader } = run;
  const { ref } = job;
  const { gathered, report } = decision;
  const target = {
    ref,
    headSha: gathered.evidence.pr.headSha,
    ownCheck: gathered.ownCheck,
    digestComment: gathered.digestComment,
  };
  let lastErr: unknown = null;
  for (let i = 0; i <= deps.retry.publishBackoffMs.length; i++) {
    try {
      const published = await publish(octokit, target, report);
      if (published.commentId) deps.memo.digestIds.set(prKey(ref), published.commentId);
      log.info(
        {
          outcome: report.check.conclusion ?? report.check.status,
          writes: published.writes,
          reads: reader.reads,
          head: target.headSha,
        },
        `evaluated ${prLabel(ref)}: ${report.check.title}`,
      );
      for (const number of decision.followUps) {
        deps.queue.requestEvaluation({ ...ref, number }, target.headSha, `shared head with #${ref.number}`);
      }
      return {
        kind: "published",
        outcome: decision.outcome,
        headSha: target.headSha,
        reads: reader.reads,
        writes: published.writes,
      };
    } catch (err) {
      if (isWriteSuperseded(err)) {
        // A newer evaluation of this PR is waiting: it reads again and writes what is true then.
        log.info({ head: target.headSha }, `result for ${prLabel(ref)} superseded before it was written`);
        return {
          kind: "skipped",
          outcome: decision.outcome,
          headSha: target.headSha,
          reads: reader.reads,
          writes: err.writesBefore,
        };
      }
      lastErr = err;
      log.warn({ err: redactError(err), attempt: i + 1 }, "publishing the result failed");
      if (i < deps.retry.publishBackoffMs.length) await deps.clock.sleep(deps.retry.publishBackoffMs[i]!);
    }
  }
  // Could not publish the result: at least make sure the check is not left green or waiting.
  try {
    const failure = renderFailure({
      stage: "publish",
      error: lastErr,
      headSha: target.headSha,
      deliveryId: job.deliveryId,
    });
    await publish(octokit, target, {
      ...failure,
      comment: target.digestComment?.body ?? failure.comment,
      createComment: false,
    });
  } catch (err) {
    log.error({ err: redactError(err) }, `could not publish the result for ${prLabel(ref)}`);
  }
  scheduleLater(deps, job, log);
  return {
    kind: "publish_failed",
    outcome: "failure",
    headSha: target.headSha,
    reads: reader.reads,
    writes: 0,
  };
}
