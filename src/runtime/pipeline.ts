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
import { commitVerdict, type CommitVerdict, type HeadSharer } from "../policy/shared-head.js";
import { showSharedHead } from "../report/shared-head.js";

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
  /**
   * What the last read of each PR (prKey) showed: its head (a failure with no announced head fails
   * that one) and whether its base was gated (a first failure report then creates the digest).
   */
  lastSeen: Map<string, { headSha: string; gated: boolean | null }>;
  /** Queue an evaluation of another PR (a PR sharing this head, whose digest or check must follow). */
  requestEvaluation(ref: PrRef, headSha: string, reason: string): void;
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
  const headSha = gathered.evidence.pr.headSha;
  deps.lastSeen.set(prKey(ref), { headSha, gated: verdict ? verdict.gated : (deps.lastSeen.get(prKey(ref))?.gated ?? null) });

  // The check belongs to the commit: with other open PRs on this head it shows the strictest verdict.
  let sharing: SharedHead | null = null;
  if (gathered.sharedHead.length > 0) {
    try {
      sharing = await shareHead(deps, job, gathered, policy, outcome);
      report = showSharedHead(report, sharing.verdict, headSha);
    } catch (err) {
      log.error({ err: redactError(err) }, "the audit store failed to say how the PRs sharing this head were judged");
      report = renderFailure({ stage: "record", error: err, headSha, deliveryId: job.deliveryId });
    }
  }
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
    // Unrecorded, this verdict is invisible to the sharers: asking them to look again would loop.
    sharing = null;
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
      for (const number of sharing?.request ?? []) {
        deps.requestEvaluation({ ...ref, number }, headSha, `shared head with #${ref.number}`);
      }
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
 * The audit store (or the PR lock it provides) failed before the evaluation could start: fail the
 * check on the PR's head, naming the store, and try again later.
 */
export async function reportStoreFailure(deps: PipelineDeps, job: EvaluationJob, err: unknown): Promise<EvaluationOutcome> {
  const { ref } = job;
  const log = deps.log.child({ repo: `${ref.owner}/${ref.repo}`, pr: ref.number, delivery: job.deliveryId, event: job.event });
  log.error({ err: redactError(err) }, `the audit store failed before ${prLabel(ref)} could be evaluated`);
  const headSha = job.expectedHead ?? deps.lastSeen.get(prKey(ref))?.headSha ?? null;
  const report = renderFailure({ stage: "store", error: err, headSha, deliveryId: job.deliveryId });
  const octokit = await deps.octokitFor(ref.installationId);
  return publishGatherFailure(deps, job, octokit, { reads: 0 }, report, log);
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
  reader: { reads: number },
  report: Report,
  log: Logger,
): Promise<EvaluationOutcome> {
  scheduleLater(deps, job, log);
  const key = prKey(job.ref);
  const seen = deps.lastSeen.get(key);
  // Jobs without an announced head (Jira, re-check, reconcile, resume) fail the head last seen.
  const headSha = job.expectedHead ?? seen?.headSha ?? null;
  if (!headSha) {
    log.error(`no head sha known for ${prLabel(job.ref)}: cannot attach a failure check; will retry`);
    return { kind: "publish_failed", outcome: "failure", headSha: null, reads: reader.reads, writes: 0 };
  }
  let commentId = deps.digestIds.get(key) ?? null;
  let lookedUp = commentId !== null;
  if (commentId === null) {
    try {
      commentId = await findDigestComment(octokit, job.ref, deps.appId);
      lookedUp = true;
    } catch (err) {
      log.warn({ err: redactError(err) }, "could not look for the digest comment");
    }
  }
  const target = { ref: job.ref, headSha, ownCheck: null, digestComment: commentId === null ? null : { id: commentId, body: "" } };
  // The report belongs where the digest would be: create it, unless we could not look for an
  // existing one (no duplicates) or the PR's base is known not to be gated.
  const createComment = lookedUp && seen?.gated !== false;
  try {
    const published = await publish(octokit, target, { ...report, createComment });
    if (published.commentId !== null) deps.digestIds.set(key, published.commentId);
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

interface SharedHead {
  verdict: CommitVerdict;
  /** PRs to evaluate next: unjudged gated sharers, and every sharer when this PR's verdict changed. */
  request: number[];
}

/**
 * The PRs sharing this PR's head, each with its own recorded verdict at this head (valid only for
 * the base and gating it has now), and what the shared check therefore says.
 */
async function shareHead(deps: PipelineDeps, job: EvaluationJob, g: Gathered, policy: Policy | null, own: Verdict["conclusion"]): Promise<SharedHead> {
  const { ref } = job;
  const pr = g.evidence.pr;
  const numbers = g.sharedHead.map((s) => s.number);
  const known = await deps.recorder.verdictsAt(ref, pr.headSha, [ref.number, ...numbers]);
  const sharers: HeadSharer[] = g.sharedHead.map((s) => {
    // Same repository, same policy; an invalid policy gates everything (fail closed).
    const gated = policy ? isGatedBranch(policy.config, s.baseRef, g.evidence.repo.defaultBranch) : true;
    const v = known.get(s.number);
    const current = v && v.base === s.baseRef && v.gated === gated;
    return { number: s.number, baseRef: s.baseRef, gated, verdict: current ? { outcome: v.outcome, title: v.title } : null };
  });
  const verdict = commitVerdict(own, sharers);
  // This PR's verdict as recorded before this evaluation: if it changed, the sharers' checks and
  // digests (which name it) are out of date.
  const before = known.get(ref.number);
  const ownGated = policy ? isGatedBranch(policy.config, pr.baseRef, g.evidence.repo.defaultBranch) : null;
  const changed = !before || before.outcome !== own || before.base !== pr.baseRef || before.gated !== ownGated;
  const request = changed ? numbers : verdict.unjudged.map((s) => s.number);
  return { verdict, request };
}

/**
 * A merge, as GitHub's read (never the webhook payload) tells it. It is judged by the merged PR's
 * own verdict for the merged head and base, as recorded before the merge, not by the check run,
 * which the commit shares with every other PR whose head it is. No verdict on record, or anything
 * but success into a gated branch, is a bypass, logged with the phrase ops alarm on.
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
  const label = prLabel(job.ref);
  if (pr.state !== "MERGED" || !pr.mergedAt) {
    // A forged or out-of-order "merged" event: nothing merged, nothing goes on the record. An open
    // PR may be GitHub's read lagging behind the event: look again later.
    const open = pr.state === "OPEN";
    log.warn(
      { state: pr.state, head: pr.headSha },
      `a merge of ${label} was announced, but GitHub says the pull request is ${pr.state.toLowerCase()}: nothing recorded${open ? "; will look again" : ""}`,
    );
    if (open) scheduleLater(deps, job, log);
    return { kind: "skipped", outcome: null, headSha: pr.headSha, reads: reader.reads, writes: 0 };
  }
  const loaded = await loadPolicy(g.configFiles, (repo, path) => readFile(reader, repo, path));
  const gated = loaded.ok ? isGatedBranch(loaded.policy.config, pr.baseRef, g.evidence.repo.defaultBranch) : true;
  const own = (await deps.recorder.verdictsAt(job.ref, pr.headSha, [job.ref.number])).get(job.ref.number);
  // Judged into another base (retargeted since), it is no verdict on this merge.
  const standing = own && own.base === pr.baseRef ? own : null;
  const outcome = standing?.outcome ?? "none";
  // An emergency only if the declaration was accepted: as the standing verdict judged it, or, with
  // none, as judged now (a label applied by someone not allowed is not one).
  const emergency = standing
    ? standing.emergency
    : loaded.ok &&
      isEmergency(loaded.policy.config, pr.labels) &&
      emergencyDeclaration(loaded.policy.config, await withDeclarerFacts(octokit, job.ref, loaded.policy.config, g.evidence)).accepted;
  const bypass = isBypass({ outcome, gated });
  if (bypass) {
    const why = outcome === "none" ? `changegate never judged ${pr.headSha.slice(0, 7)} into ${pr.baseRef}` : `its verdict on ${pr.headSha.slice(0, 7)} was ${outcome}`;
    log.warn(
      { mergedBy: pr.mergedBy, url: pr.url, verdict: outcome, head: pr.headSha },
      `${label} merged by ${pr.mergedBy ?? "unknown"} ${NON_COMPLIANT_PHRASE} ${why} ${pr.url}`,
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
