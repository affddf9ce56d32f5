/**
 * One evaluation of one PR, stage by stage:
 *   gather → config → tickets → evaluate → render → record → publish
 * Any throw before publish becomes a failure report (check = failure, digest = error + stack), so
 * changegate never passes silently. Publishing is retried, then a failure check is attempted.
 */
import type { Logger } from "pino";
import { loadPolicy } from "../config/load.js";
import { isGatedBranch } from "../config/schema.js";
import { NON_COMPLIANT_PHRASE } from "../contract.js";
import { gather, readFile, type Gathered } from "../github/gather.js";
import { findDigestComment, publish, type Writer } from "../github/publish.js";
import type { GraphqlReader } from "../github/reader.js";
import { prKey, prLabel, type PrRef } from "../github/types.js";
import { gatherTickets, type TicketLookupService } from "../jira/tickets.js";
import { emergencyDeclaration, evaluate, isEmergency, ticketsRequired } from "../policy/evaluate.js";
import { withDeclarerFacts } from "../github/declarer.js";
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import { renderConfigProblem, renderVerdict } from "../report/digest.js";
import { renderFailure, type Stage } from "../report/failure.js";
import { redact } from "../report/redact.js";
import type { Report } from "../report/types.js";
import { isBypass, reportBypass } from "../audit/bypass.js";
import type { MergeRecord, Recorder } from "../audit/recorder.js";

export interface EvaluationJob {
  ref: PrRef;
  deliveryId: string;
  /** The event that asked for it ("pull_request.synchronize"); coalesced jobs keep the newest. */
  event: string;
  /** Head sha announced by the newest pull_request event, if any: gather retries while GitHub's read lags behind it. */
  expectedHead: string | null;
  /** A merge (pull_request.closed with merged: true): record it and flag a bypass; publish nothing. */
  merge: boolean;
  /** How many times this evaluation was retried after a publishing failure. */
  attempt: number;
}

export interface PipelineDeps {
  appId: number;
  log: Logger;
  /** An installation-authenticated Octokit (Probot's, with its throttling and retries). */
  octokitFor(installationId: number): Promise<Writer & { auth: (o: { type: "installation" }) => Promise<unknown> }>;
  readerFor(installationId: number, octokit: unknown): GraphqlReader;
  tickets: TicketLookupService | null;
  recorder: Recorder;
  /** Attempts to publish before giving up on this evaluation; waits between them (ms). */
  publishBackoffMs: number[];
  /** Waits for GitHub's read to catch up with a head sha announced by a webhook (ms). */
  staleHeadBackoffMs: number[];
  /** Digest comment ids seen per PR (prKey), so a failure report can replace the digest without a read. */
  digestIds: Map<string, number>;
  /** Re-request an evaluation later (after a publishing failure). */
  retryLater(job: EvaluationJob, delayMs: number): void;
  /** Later retries after the whole publish failed; [] disables. */
  laterRetryMs: number[];
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface EvaluationOutcome {
  kind: "published" | "skipped" | "merge" | "publish_failed";
  outcome: "success" | "failure" | "pending" | null;
  headSha: string | null;
  reads: number;
  writes: number;
  bypass?: boolean;
}

class StageError extends Error {
  constructor(
    readonly stage: Stage,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

async function stage<T>(name: Stage, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof StageError ? err : new StageError(name, err);
  }
}

export async function runEvaluation(deps: PipelineDeps, job: EvaluationJob): Promise<EvaluationOutcome> {
  const { ref } = job;
  const log = deps.log.child({ repo: `${ref.owner}/${ref.repo}`, pr: ref.number, delivery: job.deliveryId, event: job.event });
  const octokit = await deps.octokitFor(ref.installationId);
  const reader = deps.readerFor(ref.installationId, octokit);

  let gathered: Gathered | null = null;
  let policy: Policy | null = null;
  let evidence: Evidence | null = null;
  let verdict: Verdict | null = null;
  let report: Report;
  let error: string | null = null;

  try {
    gathered = await stage("gather", () => gatherFresh(deps, reader, job, log));
    const g = gathered;
    if (job.merge) return await recordMerge(deps, job, g, reader, octokit, log);
    if (g.evidence.pr.state !== "OPEN") {
      log.debug("PR is not open: nothing to publish");
      return { kind: "skipped", outcome: null, headSha: g.evidence.pr.headSha, reads: reader.reads, writes: 0 };
    }
    const loaded = await stage("gather", () => loadPolicy(g.configFiles, (repo, path) => readFile(reader, repo, path)));
    if (!loaded.ok) {
      evidence = { ...g.evidence, tickets: { refs: [], lookup: { kind: "not_needed" } } };
      report = await stage("render", () => renderConfigProblem(loaded.problem, evidence!));
      error = `invalid policy ${loaded.problem.file}`;
    } else {
      policy = loaded.policy;
      const p = loaded.policy;
      const c = p.config;
      // Who applied the emergency label (requests only when the PR carries it): src/github/declarer.ts
      g.evidence = await stage("gather", () => withDeclarerFacts(octokit, ref, c, g.evidence));
      const needed =
        ticketsRequired(c, emergencyDeclaration(c, g.evidence).accepted) && isGatedBranch(c, g.evidence.pr.baseRef, g.evidence.repo.defaultBranch);
      const tickets = await stage("tickets", () => gatherTickets(c, g.evidence.pr, g.evidence.commits, deps.tickets, needed));
      evidence = { ...g.evidence, tickets };
      const e = evidence;
      verdict = await stage("evaluate", () => evaluate(p, e));
      const v = verdict;
      report = await stage("render", () => renderVerdict(v, e, p));
    }
  } catch (err) {
    const se = err instanceof StageError ? err : new StageError("evaluate", err);
    if (job.merge) {
      // The merge already happened: nothing to publish, but it must not go unexamined.
      log.error({ err: redactError(se.original) }, `could not examine the merge of ${prLabel(ref)}; will retry`);
      scheduleLater(deps, job, log);
      return { kind: "publish_failed", outcome: null, headSha: gathered?.evidence.pr.headSha ?? null, reads: reader.reads, writes: 0 };
    }
    log.error({ err: redactError(se.original), stage: se.stage }, `changegate failed while evaluating ${prLabel(ref)}`);
    verdict = null;
    error = redact(se.original instanceof Error ? se.original.message : String(se.original));
    report = renderFailure({ stage: se.stage, error: se.original, headSha: gathered?.evidence.pr.headSha ?? job.expectedHead, deliveryId: job.deliveryId });
  }

  if (!gathered) return await publishGatherFailure(deps, job, octokit, reader, report, log);

  const outcome = verdict?.conclusion ?? "failure";
  try {
    await deps.recorder.recordEvaluation({
      at: deps.now().toISOString(),
      deliveryId: job.deliveryId,
      event: job.event,
      ref,
      // A failure after gather is recorded too, with the evidence we had.
      evidence: evidence ?? { ...gathered.evidence, tickets: { refs: [], lookup: { kind: "not_needed" } } },
      policy,
      verdict,
      outcome,
      error,
    });
  } catch (err) {
    // Fail closed: a verdict that is not on the record must not turn the check green.
    log.error({ err: redactError(err) }, "the audit store failed to record the evaluation");
    report = renderFailure({ stage: "record", error: err, headSha: gathered.evidence.pr.headSha, deliveryId: job.deliveryId });
  }

  const target = { ref, headSha: gathered.evidence.pr.headSha, ownCheck: gathered.ownCheck, digestComment: gathered.digestComment };
  let lastErr: unknown = null;
  for (let i = 0; i <= deps.publishBackoffMs.length; i++) {
    try {
      const published = await publish(octokit, target, report);
      if (published.commentId) deps.digestIds.set(prKey(ref), published.commentId);
      log.info(
        { outcome: report.check.conclusion ?? report.check.status, writes: published.writes, reads: reader.reads, head: target.headSha },
        `evaluated ${prLabel(ref)}: ${report.check.title}`,
      );
      return { kind: "published", outcome, headSha: target.headSha, reads: reader.reads, writes: published.writes };
    } catch (err) {
      lastErr = err;
      log.warn({ err: redactError(err), attempt: i + 1 }, "publishing the result failed");
      if (i < deps.publishBackoffMs.length) await deps.sleep(deps.publishBackoffMs[i]!);
    }
  }
  // Could not publish the result: at least make sure the check is not left green or waiting.
  try {
    const failure = renderFailure({ stage: "publish", error: lastErr, headSha: target.headSha, deliveryId: job.deliveryId });
    await publish(octokit, target, { ...failure, comment: target.digestComment?.body ?? failure.comment, createComment: false });
  } catch (err) {
    log.error({ err: redactError(err) }, `could not publish the result for ${prLabel(ref)}`);
  }
  scheduleLater(deps, job, log);
  return { kind: "publish_failed", outcome: "failure", headSha: target.headSha, reads: reader.reads, writes: 0 };
}

/**
 * Gather failed, so we know neither the PR's state nor our comment. The check still fails on the
 * head the webhook named; the digest is replaced if we know (or can find) our comment. Then the
 * evaluation is retried later: most such failures are GitHub having a bad minute.
 */
async function publishGatherFailure(
  deps: PipelineDeps,
  job: EvaluationJob,
  octokit: Writer,
  reader: GraphqlReader,
  report: Report,
  log: Logger,
): Promise<EvaluationOutcome> {
  scheduleLater(deps, job, log);
  const headSha = job.expectedHead;
  if (!headSha) {
    log.error(`no head sha known for ${prLabel(job.ref)}: cannot attach a failure check; will retry`);
    return { kind: "publish_failed", outcome: "failure", headSha: null, reads: reader.reads, writes: 0 };
  }
  const key = prKey(job.ref);
  let commentId = deps.digestIds.get(key) ?? null;
  if (commentId === null) {
    commentId = await findDigestComment(octokit, job.ref, deps.appId).catch((err: unknown) => {
      log.warn({ err: redactError(err) }, "could not look for the digest comment");
      return null;
    });
  }
  const target = { ref: job.ref, headSha, ownCheck: null, digestComment: commentId === null ? null : { id: commentId, body: "" } };
  try {
    const published = await publish(octokit, target, { ...report, createComment: false });
    return { kind: "published", outcome: "failure", headSha, reads: reader.reads, writes: published.writes };
  } catch (err) {
    log.error({ err: redactError(err) }, `could not publish the failure report for ${prLabel(job.ref)}`);
    return { kind: "publish_failed", outcome: "failure", headSha, reads: reader.reads, writes: 0 };
  }
}

function scheduleLater(deps: PipelineDeps, job: EvaluationJob, log: Logger): void {
  const delay = deps.laterRetryMs[job.attempt];
  if (delay === undefined) {
    log.error(`giving up on ${prLabel(job.ref)} after ${job.attempt} later retries; the next event will evaluate it again`);
    return;
  }
  deps.retryLater({ ...job, attempt: job.attempt + 1 }, delay);
}

/** Gather, and if GitHub still shows an older head than a webhook announced, wait and read again. */
async function gatherFresh(deps: PipelineDeps, reader: GraphqlReader, job: EvaluationJob, log: Logger): Promise<Gathered> {
  let g = await gather(reader, job.ref, deps.appId);
  for (const wait of deps.staleHeadBackoffMs) {
    if (!job.expectedHead || g.evidence.pr.headSha === job.expectedHead || g.evidence.pr.state !== "OPEN") break;
    // The announced head is one of the PR's commits but no longer its head: the PR moved on (a newer
    // push), so the read is ahead of the webhook, not behind it.
    if (g.evidence.commits.some((c) => c.oid === job.expectedHead)) break;
    log.info({ expected: job.expectedHead, got: g.evidence.pr.headSha }, "GitHub's read lags behind the webhook: reading again");
    await deps.sleep(wait);
    g = await gather(reader, job.ref, deps.appId);
  }
  return g;
}

/**
 * A merge: the verdict that stood for the merged head is changegate's own check run on it. Anything
 * but success on a gated branch is a bypass, logged with the phrase ops alarm on.
 */
async function recordMerge(
  deps: PipelineDeps,
  job: EvaluationJob,
  g: Gathered,
  reader: GraphqlReader,
  octokit: Writer,
  log: Logger,
): Promise<EvaluationOutcome> {
  const pr = g.evidence.pr;
  const loaded = await loadPolicy(g.configFiles, (repo, path) => readFile(reader, repo, path));
  const gated = loaded.ok ? isGatedBranch(loaded.policy.config, pr.baseRef, g.evidence.repo.defaultBranch) : true;
  const standing = g.ownCheck?.status.toLowerCase() === "completed" ? (g.ownCheck.conclusion?.toLowerCase() ?? "none") : g.ownCheck ? "pending" : "none";
  const outcome = standing === "success" ? "success" : standing === "failure" ? "failure" : standing === "pending" ? "pending" : "none";
  // An emergency only if the declaration is accepted (a label applied by someone not allowed is not one).
  const emergency =
    loaded.ok &&
    isEmergency(loaded.policy.config, pr.labels) &&
    emergencyDeclaration(loaded.policy.config, await withDeclarerFacts(octokit, job.ref, loaded.policy.config, g.evidence)).accepted;
  const bypass = isBypass({ outcome, gated });
  const label = prLabel(job.ref);
  if (bypass) {
    log.warn(
      { mergedBy: pr.mergedBy, url: pr.url, check: outcome, head: pr.headSha },
      `${label} merged by ${pr.mergedBy ?? "unknown"} ${NON_COMPLIANT_PHRASE} changegate's check was ${outcome === "none" ? "missing" : outcome} on ${pr.headSha.slice(0, 7)} ${pr.url}`,
    );
  } else {
    log.info({ mergedBy: pr.mergedBy, url: pr.url, emergency }, `${label} merged${emergency ? " as an emergency change" : ""} (compliant)`);
  }
  const merge: MergeRecord = {
    at: deps.now().toISOString(),
    deliveryId: job.deliveryId,
    ref: job.ref,
    url: pr.url,
    title: pr.title,
    author: pr.author?.login ?? null,
    headSha: pr.headSha,
    mergedBy: pr.mergedBy,
    mergedAt: pr.mergedAt,
    mergeCommitSha: pr.mergeCommitSha,
    outcome,
    emergency,
    gated,
  };
  const receipt = await deps.recorder.recordMerge(merge);
  const issueRepo = loaded.ok ? loaded.policy.config.audit.issue_repo : undefined;
  if (bypass && issueRepo && !receipt?.duplicate) {
    try {
      const r = await reportBypass(octokit, issueRepo, merge, receipt?.id ?? null);
      log.info({ issueRepo, issue: r.issueNumber }, `bypass of ${label} listed in ${issueRepo}#${r.issueNumber}`);
    } catch (err) {
      // The bypass is logged and on record already; the issue is a convenience for reviewers.
      log.error({ err: redactError(err), issueRepo }, `could not list the bypass of ${label} in ${issueRepo}`);
    }
  }
  return { kind: "merge", outcome: outcome === "none" ? null : outcome, headSha: pr.headSha, reads: reader.reads, writes: 0, bypass };
}

/** Errors go to the log with secrets scrubbed from message and stack. */
export function redactError(err: unknown): { message: string; stack?: string; status?: number } {
  if (!(err instanceof Error)) return { message: redact(String(err)) };
  const status = (err as { status?: number }).status;
  return { message: redact(err.message), stack: err.stack ? redact(err.stack) : undefined, ...(status ? { status } : {}) };
}
