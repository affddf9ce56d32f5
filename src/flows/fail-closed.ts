/**
 * Failing closed when an evaluation cannot read the PR (gather failed) or cannot start (the audit
 * store, or the PR lock it provides, is down): the check still fails on the head the webhook named
 * (or the head last seen), the digest is replaced if we know or can find our comment, and the
 * evaluation is retried later: most such failures are GitHub or the database having a bad minute.
 */
import { findDigestComment, publish, type Writer } from "../github/publish.js";
import { prKey, prLabel } from "../github/types.js";
import { isWriteSuperseded } from "../github/write-scheduler.js";
import { renderFailure } from "../report/failure.js";
import { redactError } from "../report/redact.js";
import type { Report } from "../report/types.js";
import {
  jobLog,
  scheduleLater,
  type EvaluationJob,
  type EvaluationOutcome,
  type PipelineDeps,
  type Run,
} from "../intake/job.js";

/** The audit store failed before the evaluation could start: fail the check naming the store, retry later. */
export async function reportStoreFailure(
  deps: PipelineDeps,
  job: EvaluationJob,
  err: unknown,
): Promise<EvaluationOutcome> {
  const { ref } = job;
  const log = jobLog(deps, job);
  log.error({ err: redactError(err) }, `the audit store failed before ${prLabel(ref)} could be evaluated`);
  const headSha = job.expectedHead ?? deps.lastSeen.get(prKey(ref))?.headSha ?? null;
  const report = renderFailure({ stage: "store", error: err, headSha, deliveryId: job.deliveryId });
  const installationOctokit = await deps.octokitFor(ref.installationId);
  const octokit = deps.writerFor?.(job, installationOctokit) ?? installationOctokit;
  return publishUnread(deps, { job, log, octokit, reader: { reads: 0 } }, report);
}

/**
 * Publish a failure report for a PR we could not read: we know neither its state nor our comment.
 * Jobs without an announced head (Jira, re-check, reconcile, resume) fail the head last seen.
 */
export async function publishUnread(
  deps: PipelineDeps,
  run: Pick<Run, "job" | "log"> & { octokit: Writer; reader: { reads: number } },
  report: Report,
): Promise<EvaluationOutcome> {
  const { job, log, octokit, reader } = run;
  scheduleLater(deps, job, log);
  const key = prKey(job.ref);
  const seen = deps.lastSeen.get(key);
  const headSha = job.expectedHead ?? seen?.headSha ?? null;
  if (!headSha) {
    log.error(`no head sha known for ${prLabel(job.ref)}: cannot attach a failure check; will retry`);
    return { kind: "publish_failed", outcome: "failure", headSha: null, reads: reader.reads, writes: 0 };
  }
  const digest = await knownDigest(deps, run);
  const target = {
    ref: job.ref,
    headSha,
    ownCheck: null,
    digestComment: digest.commentId === null ? null : { id: digest.commentId, body: "" },
  };
  // The report belongs where the digest would be: create it, unless we could not look for an
  // existing one (no duplicates) or the PR's base is known not to be gated.
  const createComment = digest.lookedUp && seen?.gated !== false;
  try {
    const published = await publish(octokit, target, { ...report, createComment });
    if (published.commentId !== null) deps.digestIds.set(key, published.commentId);
    return { kind: "published", outcome: "failure", headSha, reads: reader.reads, writes: published.writes };
  } catch (err) {
    // Superseded: a newer evaluation of the PR is waiting and writes instead (this one retries later too).
    if (isWriteSuperseded(err))
      return { kind: "skipped", outcome: "failure", headSha, reads: reader.reads, writes: err.writesBefore };
    log.error({ err: redactError(err) }, `could not publish the failure report for ${prLabel(job.ref)}`);
    return { kind: "publish_failed", outcome: "failure", headSha, reads: reader.reads, writes: 0 };
  }
}

/** Our digest comment's id: remembered, or looked up (lookedUp false: the lookup failed). */
async function knownDigest(
  deps: PipelineDeps,
  run: Pick<Run, "job" | "log"> & { octokit: Writer },
): Promise<{ commentId: number | null; lookedUp: boolean }> {
  const remembered = deps.digestIds.get(prKey(run.job.ref));
  if (remembered !== undefined) return { commentId: remembered, lookedUp: true };
  try {
    return { commentId: await findDigestComment(run.octokit, run.job.ref, deps.appId), lookedUp: true };
  } catch (err) {
    run.log.warn({ err: redactError(err) }, "could not look for the digest comment");
    return { commentId: null, lookedUp: false };
  }
}
