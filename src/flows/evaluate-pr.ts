/**
 * One evaluation of one PR, stage by stage:
 *   decide:  gather → config → tickets → evaluate → render → record
 *   publish: the check and the digest, retried, then a failure check
 * Any throw before publish becomes a failure report (check = failure, digest = error + stack), so
 * changegate never passes silently. A merge is examined instead (src/flows/merge.ts); a PR that
 * cannot be read fails closed (src/flows/fail-closed.ts).
 */
import { loadPolicy } from "../config/load.js";
import { gather, readFile, type Gathered } from "../github/gather.js";
import { withDeclarerFacts } from "../github/declarer.js";
import { withDeclaredOn } from "./declared-on.js";
import { withRuleFacts } from "../github/rule-facts.js";
import { publish } from "../github/publish.js";
import type { GraphqlReader } from "../github/reader.js";
import { isWriteSuperseded } from "../github/write-scheduler.js";
import { prKey, prLabel } from "../github/types.js";
import { gatherTickets } from "../jira/tickets.js";
import { evaluate } from "../policy/evaluate.js";
import { ticketLookupNeeded } from "../policy/tickets.js";
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import { renderConfigProblem, renderVerdict } from "../report/digest.js";
import { renderFailure } from "../report/failure.js";
import { redact, redactError } from "../report/redact.js";
import { showSharedHead } from "../report/shared-head.js";
import type { Report } from "../report/types.js";
import { publishUnread } from "./fail-closed.js";
import {
  jobLog,
  scheduleLater,
  stage,
  StageError,
  type EvaluationJob,
  type EvaluationOutcome,
  type PipelineDeps,
  type Run,
} from "../intake/job.js";
import { examineMerge } from "./merge.js";
import { examineRetroJob } from "./after-merge.js";
import { shareHead } from "./share-head.js";

export { reportStoreFailure } from "./fail-closed.js";
export { newJob, type EvaluationJob, type EvaluationOutcome, type PipelineDeps } from "../intake/job.js";

export async function runEvaluation(deps: PipelineDeps, job: EvaluationJob): Promise<EvaluationOutcome> {
  const installationOctokit = await deps.octokitFor(job.ref.installationId);
  const octokit = deps.writerFor?.(job, installationOctokit) ?? installationOctokit;
  const run: Run = {
    job,
    log: jobLog(deps, job),
    octokit,
    reader: deps.readerFor(job.ref.installationId, installationOctokit, deps.pause),
  };
  if (job.kind === "merge") return mergeStage(deps, run);
  if (job.kind === "retro") return mergeStage(deps, run, true);
  const decision = await decide(deps, run);
  switch (decision.kind) {
    case "not_open":
      return {
        kind: "skipped",
        outcome: null,
        headSha: decision.headSha,
        reads: run.reader.reads,
        writes: 0,
      };
    case "unread":
      return publishUnread(deps, run, decision.report);
    case "decided":
      deps.publishing?.();
      return publishWithRetry(deps, run, decision);
  }
}

/** What decide() concluded, for publishing. */
export type Decision =
  /** The PR is closed (or merged): nothing to publish. */
  | { kind: "not_open"; headSha: string }
  /** Gather failed: the failure report goes to the announced (or last seen) head. */
  | { kind: "unread"; report: Report }
  | {
      kind: "decided";
      gathered: Gathered;
      report: Report;
      outcome: Verdict["conclusion"];
      /** PRs sharing this head to evaluate after publishing (their checks and digests name this one). */
      followUps: number[];
    };

/** What an evaluation learned before it finished or failed: a failure is recorded with it too. */
export interface Progress {
  gathered: Gathered | null;
  policy: Policy | null;
  evidence: Evidence | null;
}

export interface Judgement {
  verdict: Verdict | null;
  report: Report;
  error: string | null;
}

/** gather → verdict → report → record. Never throws for a stage's failure: it becomes the report. */
export async function decide(deps: PipelineDeps, run: Run): Promise<Decision> {
  const { job, log } = run;
  const progress: Progress = { gathered: null, policy: null, evidence: null };
  const judgement = await judgeOrFail(deps, run, progress);
  const { gathered } = progress;
  if (judgement === "not_open") return { kind: "not_open", headSha: gathered!.evidence.pr.headSha };
  if (!gathered) return { kind: "unread", report: judgement.report };

  const outcome = judgement.verdict?.conclusion ?? "failure";
  const headSha = gathered.evidence.pr.headSha;
  const key = prKey(job.ref);
  deps.lastSeen.set(key, {
    headSha,
    gated: judgement.verdict ? judgement.verdict.gated : (deps.lastSeen.get(key)?.gated ?? null),
  });

  // The check belongs to the commit: with other open PRs on this head it shows the strictest verdict.
  let report = judgement.report;
  let followUps: number[] = [];
  if (gathered.sharedHead.length > 0) {
    try {
      const sharing = await shareHead(deps, job, gathered, progress.policy, outcome);
      report = showSharedHead(report, sharing.verdict, headSha);
      followUps = sharing.request;
    } catch (err) {
      log.error(
        { err: redactError(err) },
        "the audit store failed to say how the PRs sharing this head were judged",
      );
      report = renderFailure({ stage: "record", error: err, headSha, deliveryId: job.deliveryId });
    }
  }
  try {
    await deps.recorder.recordEvaluation({
      at: deps.now().toISOString(),
      deliveryId: job.deliveryId,
      event: job.event,
      ref: job.ref,
      // A failure after gather is recorded too, with the evidence we had.
      evidence: progress.evidence ?? withoutTickets(gathered.evidence),
      policy: progress.policy,
      verdict: judgement.verdict,
      outcome,
      error: judgement.error,
    });
  } catch (err) {
    // Fail closed: a verdict that is not on the record must not turn the check green.
    log.error({ err: redactError(err) }, "the audit store failed to record the evaluation");
    report = renderFailure({ stage: "record", error: err, headSha, deliveryId: job.deliveryId });
    // Unrecorded, this verdict is invisible to the sharers: asking them to look again would loop.
    followUps = [];
  }
  return { kind: "decided", gathered, report, outcome, followUps };
}

/** Gather and judge; a throw in any stage becomes the failure report naming that stage. */
async function judgeOrFail(
  deps: PipelineDeps,
  run: Run,
  progress: Progress,
): Promise<Judgement | "not_open"> {
  const { job, log } = run;
  try {
    const gathered = await stage("gather", () => gatherFresh(deps, run.reader, job, log));
    progress.gathered = gathered;
    if (gathered.evidence.pr.state !== "OPEN") {
      log.debug("PR is not open: nothing to publish");
      return "not_open";
    }
    return await judge(deps, run, gathered, progress);
  } catch (err) {
    const failed = err instanceof StageError ? err : new StageError("evaluate", err);
    log.error(
      { err: redactError(failed.original), stage: failed.stage },
      `changegate failed while evaluating ${prLabel(job.ref)}`,
    );
    return {
      verdict: null,
      error: redact(failed.original instanceof Error ? failed.original.message : String(failed.original)),
      report: renderFailure({
        stage: failed.stage,
        error: failed.original,
        headSha: progress.gathered?.evidence.pr.headSha ?? job.expectedHead,
        deliveryId: job.deliveryId,
      }),
    };
  }
}

/**
 * config → tickets → evaluate → render, noting in `progress` what is known as it goes. Also run by
 * `changegate check owner/name#N` (src/commands/check-pr.ts), which publishes and records nothing.
 */
export async function judge(
  deps: Pick<PipelineDeps, "tickets"> &
    Partial<Pick<PipelineDeps, "teams">> & { recorder?: Pick<PipelineDeps["recorder"], "declaredOn"> },
  run: Pick<Run, "job" | "reader" | "octokit">,
  gathered: Gathered,
  progress: Progress,
): Promise<Judgement> {
  const { job, reader, octokit } = run;
  const loaded = await stage("gather", () =>
    loadPolicy(gathered.configFiles, (repo, path) => readFile(reader, repo, path)),
  );
  if (!loaded.ok) {
    const evidence = withoutTickets(gathered.evidence);
    progress.evidence = evidence;
    const report = await stage("render", () => renderConfigProblem(loaded.problem, evidence));
    return { verdict: null, report, error: `invalid policy ${loaded.problem.file}` };
  }
  const { policy } = loaded;
  const config = policy.config;
  progress.policy = policy;
  // Who applied the emergency label (requests only when the PR carries it): src/github/declarer.ts
  gathered.evidence = await stage("gather", () =>
    withDeclarerFacts(octokit, job.ref, config, gathered.evidence),
  );
  // Which commit the emergency label was applied on (on record, or this run's labeled deliveries): flows/declared-on.ts
  gathered.evidence = await stage("gather", () =>
    withDeclaredOn(deps.recorder ?? {}, job.ref, config, gathered.evidence, job.labelClaims),
  );
  // approvals.rules: files past 100 and team members, only when a rule needs them: src/github/rule-facts.ts
  gathered.evidence = await stage("gather", () =>
    withRuleFacts(reader, gathered, config, deps.teams ?? null, job.ref, octokit),
  );
  const needed = ticketLookupNeeded(config, gathered.evidence);
  const tickets = await stage("tickets", () =>
    gatherTickets(config, gathered.evidence.pr, gathered.evidence.commits, deps.tickets, needed),
  );
  const evidence: Evidence = { ...gathered.evidence, tickets };
  progress.evidence = evidence;
  const verdict = await stage("evaluate", () => evaluate(policy, evidence));
  const report = await stage("render", () => renderVerdict(verdict, evidence, policy));
  return { verdict, report, error: null };
}

/** Publish the decision, retrying; if it never goes out, at least fail the check, and retry later. */
export async function publishWithRetry(
  deps: PipelineDeps,
  run: Run,
  decision: Extract<Decision, { kind: "decided" }>,
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
  for (let i = 0; i <= deps.publishBackoffMs.length; i++) {
    try {
      const published = await publish(octokit, target, report);
      if (published.commentId) deps.digestIds.set(prKey(ref), published.commentId);
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
        deps.requestEvaluation({ ...ref, number }, target.headSha, `shared head with #${ref.number}`);
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
      if (i < deps.publishBackoffMs.length) await deps.sleep(deps.publishBackoffMs[i]!);
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

/** A merge: gather, then examine it; if that fails, nothing is published, but it is tried again. */
async function mergeStage(deps: PipelineDeps, run: Run, retro = false): Promise<EvaluationOutcome> {
  const { job, log, reader } = run;
  let gathered: Gathered | null = null;
  try {
    gathered = await gatherFresh(deps, reader, job, log);
    return retro
      ? await examineRetroJob(deps, run, gathered, examineMerge)
      : await examineMerge(deps, run, gathered);
  } catch (err) {
    // The merge already happened: nothing to publish, but it must not go unexamined.
    const original = err instanceof StageError ? err.original : err;
    log.error(
      { err: redactError(original) },
      `could not examine the merge of ${prLabel(job.ref)}; will retry`,
    );
    scheduleLater(deps, job, log);
    return {
      kind: "publish_failed",
      outcome: null,
      headSha: gathered?.evidence.pr.headSha ?? null,
      reads: reader.reads,
      writes: 0,
    };
  }
}

function withoutTickets(evidence: Gathered["evidence"]): Evidence {
  return { ...evidence, tickets: { refs: [], lookup: { kind: "not_needed" } } };
}

/** Gather, and if GitHub still shows an older head than a webhook announced, wait and read again. */
async function gatherFresh(
  deps: PipelineDeps,
  reader: GraphqlReader,
  job: EvaluationJob,
  log: Run["log"],
): Promise<Gathered> {
  let gathered = await gather(reader, job.ref, deps.appId);
  for (const wait of deps.staleHeadBackoffMs) {
    const pr = gathered.evidence.pr;
    if (!job.expectedHead || pr.headSha === job.expectedHead || pr.state !== "OPEN") break;
    // The announced head is one of the PR's commits but no longer its head: the PR moved on (a newer
    // push), so the read is ahead of the webhook, not behind it.
    if (gathered.evidence.commits.some((c) => c.oid === job.expectedHead)) break;
    log.info(
      { expected: job.expectedHead, got: pr.headSha },
      "GitHub's read lags behind the webhook: reading again",
    );
    await deps.sleep(wait);
    gathered = await gather(reader, job.ref, deps.appId);
  }
  return gathered;
}
