/**
 * One evaluation of one PR, a straight line of steps that each return a value:
 *   read (evidence/read) → policy (evidence/read) → needs (policy/needs) → complete
 *   (evidence/complete) → evaluate (policy/evaluate) → render (report/digest) → record (the
 *   recorder) → publish (flows/publish)
 * A throw before publish becomes a failure report naming its stage (check = failure, digest =
 * error + stack), recorded with what the StageError says was known, so changegate never passes
 * silently. A merge is examined instead (flows/merge.ts); a PR that cannot be read fails closed
 * (flows/fail-closed.ts).
 */
import type { Recorder } from "../audit/recorder.js";
import type { Gathered } from "../github/gather.js";
import type { TeamCache } from "../github/team-cache.js";
import type { TicketLookupService } from "../jira/tickets.js";
import { prKey, prLabel } from "../github/types.js";
import { completeEvidence, NO_TICKETS, type EvidenceSources } from "../evidence/complete.js";
import { readEvidence, readPolicy } from "../evidence/read.js";
import { evaluate } from "../policy/evaluate.js";
import { evidenceNeeds } from "../policy/needs.js";
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import { renderConfigProblem, renderVerdict } from "../report/digest.js";
import { renderFailure } from "../report/failure.js";
import { redact, redactError } from "../report/redact.js";
import { showSharedHead } from "../report/shared-head.js";
import type { Report } from "../report/types.js";
import { publishUnread } from "./fail-closed.js";
import {
  jobLog,
  Laps,
  stage,
  StageError,
  type EvaluationJob,
  type EvaluationOutcome,
  type BaseEnforcementSource,
  type PipelineDeps,
  type Run,
} from "../intake/job.js";
import { runMergeJob } from "./merge.js";
import { publishWithRetry, type Decided } from "./publish.js";
import { shareHead } from "./share-head.js";

export { reportStoreFailure } from "./fail-closed.js";
export { newJob, type EvaluationJob, type EvaluationOutcome, type PipelineDeps } from "../intake/job.js";

export async function runEvaluation(deps: PipelineDeps, job: EvaluationJob): Promise<EvaluationOutcome> {
  const laps = new Laps();
  const outcome = await evaluateTimed(deps, job, laps);
  laps.lap(outcome.kind === "published" ? "publish" : "end");
  return { ...outcome, stepsMs: laps.ms };
}

async function evaluateTimed(deps: PipelineDeps, job: EvaluationJob, laps: Laps): Promise<EvaluationOutcome> {
  const installationOctokit = await deps.github.octokitFor(job.ref.installationId);
  const octokit = deps.github.writerFor?.(job, installationOctokit) ?? installationOctokit;
  const run: Run = {
    job,
    log: jobLog(deps, job),
    octokit,
    reader: deps.github.readerFor(job.ref.installationId, installationOctokit, deps.slot?.pause),
    laps,
  };
  laps.lap("auth");
  if (job.kind === "merge") return runMergeJob(deps, run);
  if (job.kind === "retro") return runMergeJob(deps, run, true);
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
      deps.slot?.publishing();
      return publishWithRetry(deps, run, decision);
  }
}

/** What decide() concluded, for publishing. */
export type Decision =
  /** The PR is closed (or merged): nothing to publish. */
  | { kind: "not_open"; headSha: string }
  /** The read failed: the failure report goes to the announced (or last seen) head. */
  | { kind: "unread"; report: Report }
  | ({ kind: "decided" } & Decided);

/** What judging a read PR gave: the verdict and its report, or the failure report and what was known. */
export interface Judgement {
  /** null: invalid, or not loaded before the failure. */
  policy: Policy | null;
  /** The evidence judged, or as far as it was completed before the failure. */
  evidence: Evidence;
  verdict: Verdict | null;
  report: Report;
  error: string | null;
}

/** read → judge → share the head → record. Never throws for a stage's failure: it becomes the report. */
export async function decide(deps: PipelineDeps, run: Run): Promise<Decision> {
  const { job } = run;
  const read = await readOrFail(deps, run);
  run.laps?.lap("read");
  if (read instanceof StageError)
    return { kind: "unread", report: failure(run, read, job.expectedHead).report };
  const headSha = read.evidence.pr.headSha;
  if (read.evidence.pr.state !== "OPEN") {
    run.log.debug("PR is not open: nothing to publish");
    return { kind: "not_open", headSha };
  }
  const judgement = await judge(judgeDeps(deps), run, read).catch((err: unknown) =>
    failedJudgement(run, err, read),
  );
  run.laps?.lap("judge");
  const outcome = judgement.verdict?.conclusion ?? "failure";
  rememberHead(deps, job, headSha, judgement.verdict);
  const shared = await shareOrFail(deps, run, read, judgement, outcome);
  run.laps?.lap("share");
  const recorded = await recordOrFail(deps, run, judgement, outcome, shared);
  run.laps?.lap("record");
  return { kind: "decided", gathered: read, outcome, ...recorded };
}

function judgeDeps(deps: PipelineDeps): JudgeDeps {
  return {
    tickets: deps.jira.tickets,
    teams: deps.memo.teams ?? null,
    declarations: deps.store.recorder,
    enforcement: deps.enforcement ?? null,
  };
}

function readOrFail(deps: PipelineDeps, run: Run): Promise<Gathered | StageError> {
  const { job, log, reader } = run;
  return stage("gather", () =>
    readEvidence(reader, job.ref, {
      appId: deps.appId,
      expectedHead: job.expectedHead,
      staleHeadBackoffMs: deps.retry.staleHeadBackoffMs,
      sleep: deps.clock.sleep,
      log,
    }),
  ).catch((err: StageError) => err);
}

/** What judging needs beyond the job's clients (check-pr passes its own). */
export interface JudgeDeps {
  tickets: TicketLookupService | null;
  teams?: TeamCache | null;
  /** Which commit an emergency declaration was made on, as recorded (absent: nothing on record). */
  declarations?: Pick<Recorder, "declaredOn">;
  /** The base branch's enforcement as last observed, for the digest's line (absent: no line). */
  enforcement?: BaseEnforcementSource | null;
}

/**
 * policy → needs → complete → evaluate → render. Throws a StageError carrying what was known. Also
 * run by `changegate check owner/name#N` (src/commands/check-pr.ts), which publishes and records nothing.
 */
export async function judge(
  deps: JudgeDeps,
  run: Pick<Run, "job" | "reader" | "octokit">,
  read: Gathered,
): Promise<Judgement> {
  const { job, reader, octokit } = run;
  const loaded = await stage("gather", () => readPolicy(read, reader));
  if (!loaded.ok) {
    const evidence = withoutTickets(read.evidence);
    const report = await stage("render", () => renderConfigProblem(loaded.problem, evidence), { evidence });
    return { policy: null, evidence, verdict: null, report, error: `invalid policy ${loaded.problem.file}` };
  }
  const { policy } = loaded;
  const needs = evidenceNeeds(policy.config, read, job.labelClaims);
  const sources: EvidenceSources = {
    ref: job.ref,
    reader,
    octokit,
    teams: deps.teams ?? null,
    declarations: deps.declarations ?? {},
    tickets: deps.tickets,
  };
  const evidence = await stage("gather", () => completeEvidence(read, needs, sources), { policy });
  const verdict = await stage("evaluate", () => evaluate(policy, evidence), { policy, evidence });
  // The base branch's enforcement as last observed (a stale one is read again in the background): flows/enforcement.ts
  const base =
    verdict.gated && deps.enforcement
      ? await deps.enforcement.forEvaluation(
          {
            installationId: job.ref.installationId,
            owner: job.ref.owner,
            repo: job.ref.repo,
            branch: evidence.pr.baseRef,
            defaultBranch: read.configFiles.defaultBranch ?? null,
          },
          job.deliveryId,
        )
      : null;
  const report = await stage("render", () => renderVerdict(verdict, evidence, policy, base), {
    policy,
    evidence,
  });
  return { policy, evidence, verdict, report, error: null };
}

/** A stage failed: logged, and its failure report on `headSha`. */
function failure(run: Pick<Run, "job" | "log">, err: unknown, headSha: string | null) {
  const { job, log } = run;
  const failed = err instanceof StageError ? err : new StageError("evaluate", err);
  const original = failed.original;
  log.error(
    { err: redactError(original), stage: failed.stage },
    `changegate failed while evaluating ${prLabel(job.ref)}`,
  );
  return {
    known: failed.known,
    error: redact(original instanceof Error ? original.message : String(original)),
    report: renderFailure({ stage: failed.stage, error: original, headSha, deliveryId: job.deliveryId }),
  };
}

/** Judging failed: the failure report, and what was known (the read's evidence at least) for the record. */
function failedJudgement(run: Pick<Run, "job" | "log">, err: unknown, read: Gathered): Judgement {
  const { known, error, report } = failure(run, err, read.evidence.pr.headSha);
  return {
    policy: known.policy ?? null,
    evidence: known.evidence ?? withoutTickets(read.evidence),
    verdict: null,
    report,
    error,
  };
}

/** What the last read showed: its head, and whether it was gated (kept when there is no verdict). */
function rememberHead(
  deps: PipelineDeps,
  job: EvaluationJob,
  headSha: string,
  verdict: Verdict | null,
): void {
  const key = prKey(job.ref);
  deps.memo.lastSeen.set(key, {
    headSha,
    gated: verdict ? verdict.gated : (deps.memo.lastSeen.get(key)?.gated ?? null),
  });
}

/** The check belongs to the commit: with other open PRs on this head it shows the strictest verdict. */
async function shareOrFail(
  deps: PipelineDeps,
  run: Run,
  read: Gathered,
  judgement: Judgement,
  outcome: Verdict["conclusion"],
): Promise<Pick<Decided, "report" | "followUps">> {
  const { job, log } = run;
  if (read.sharedHead.length === 0) return { report: judgement.report, followUps: [] };
  const headSha = read.evidence.pr.headSha;
  try {
    const sharing = await shareHead(deps, job, read, judgement.policy, outcome);
    return { report: showSharedHead(judgement.report, sharing.verdict, headSha), followUps: sharing.request };
  } catch (err) {
    log.error(
      { err: redactError(err) },
      "the audit store failed to say how the PRs sharing this head were judged",
    );
    return {
      report: renderFailure({ stage: "record", error: err, headSha, deliveryId: job.deliveryId }),
      followUps: [],
    };
  }
}

/** Put the evaluation on record (a failure too, with what was known); unrecorded, the check fails. */
async function recordOrFail(
  deps: PipelineDeps,
  run: Run,
  judgement: Judgement,
  outcome: Verdict["conclusion"],
  shared: Pick<Decided, "report" | "followUps">,
): Promise<Pick<Decided, "report" | "followUps">> {
  const { job, log } = run;
  try {
    await deps.store.recorder.recordEvaluation({
      at: deps.clock.now().toISOString(),
      deliveryId: job.deliveryId,
      event: job.event,
      ref: job.ref,
      evidence: judgement.evidence,
      policy: judgement.policy,
      verdict: judgement.verdict,
      outcome,
      error: judgement.error,
    });
    return shared;
  } catch (err) {
    // Fail closed: a verdict that is not on the record must not turn the check green.
    log.error({ err: redactError(err) }, "the audit store failed to record the evaluation");
    const headSha = judgement.evidence.pr.headSha;
    return {
      report: renderFailure({ stage: "record", error: err, headSha, deliveryId: job.deliveryId }),
      // Unrecorded, this verdict is invisible to the sharers: asking them to look again would loop.
      followUps: [],
    };
  }
}

function withoutTickets(evidence: Omit<Evidence, "tickets">): Evidence {
  return { ...evidence, tickets: NO_TICKETS };
}
