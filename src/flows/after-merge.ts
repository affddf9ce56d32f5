/**
 * After a merge: the tickets moved to tickets.transition_on_merge (once, when the merge is first
 * recorded), and for an emergency merge its retroactive review (pending check, then the review when
 * one qualifies). Also the `retro` job: a review or `/changegate approve` comment on a merged PR.
 * Nothing here touches the merge record or can make a merge look compliant: a failure is logged
 * (and shown in the digest) and the rest carries on.
 */
import type { MergeOnRecord } from "../audit/after-merge.js";
import type { MergeReceipt, MergeRecord } from "../audit/recorder.js";
import type { Config } from "../config/schema.js";
import type { Gathered } from "../github/gather.js";
import { editDigest, judgeWithWriteAccess, retroCandidates, setRetroCheck } from "../github/retro-review.js";
import { prLabel } from "../github/types.js";
import { extractTicketKeys } from "../jira/keys.js";
import { contributors } from "../policy/approvals.js";
import { describeDuration, lateBy, retroReviewDueAt } from "../policy/retro-review.js";
import {
  retroCheck,
  retroSection,
  transitionSection,
  withSection,
  type RetroState,
} from "../report/after-merge.js";
import { redactError } from "../report/redact.js";
import type { EvaluationOutcome, PipelineDeps, Run } from "../intake/job.js";

type Deps = PipelineDeps;

/** An emergency merge into a gated branch owes a retroactive review: when, and where an overdue one is listed. */
export function retroReviewTerms(
  config: Config | null,
  emergency: boolean,
  gated: boolean | undefined,
  mergedAt: string,
): Pick<MergeRecord, "retroReview"> {
  if (!config || !emergency || gated === false) return {};
  const withinHours = config.emergency.review_within_hours;
  return {
    retroReview: {
      dueAt: retroReviewDueAt(mergedAt, withinHours),
      withinHours,
      issueRepo: config.audit.issue_repo ?? null,
    },
  };
}

/** Called by examineMerge once the merge is on record. Never throws. */
export async function afterMerge(
  deps: Deps,
  run: Run,
  gathered: Gathered,
  config: Config | null,
  merge: MergeRecord,
  receipt: MergeReceipt | null,
): Promise<void> {
  const { log } = run;
  let body = gathered.digestComment?.body ?? null;
  const target = config?.tickets.transition_on_merge;
  if (target && config && merge.gated !== false && !receipt?.duplicate) {
    try {
      body = await transitionTickets(deps, run, gathered, config, target, body);
    } catch (err) {
      log.error(
        { err: redactError(err) },
        `could not move the tickets of ${prLabel(run.job.ref)} to ${target}`,
      );
    }
  }
  if (merge.emergency && merge.retroReview && merge.mergedAt) {
    try {
      const m = {
        mergedAt: merge.mergedAt,
        mergedBy: merge.mergedBy,
        author: merge.author,
        headSha: merge.headSha,
        ...merge.retroReview,
      };
      body = await examineRetro(deps, run, gathered, m, body, !receipt?.duplicate);
    } catch (err) {
      log.error(
        { err: redactError(err) },
        `could not look for the retroactive review of ${prLabel(run.job.ref)}`,
      );
    }
  }
  await writeDigest(run, gathered, body);
}

/** A review or `/changegate approve` comment on a merged PR: is it the retroactive review? */
export async function examineRetroJob(
  deps: Deps,
  run: Run,
  gathered: Gathered,
  examineMerge: (deps: PipelineDeps, run: Run, gathered: Gathered) => Promise<EvaluationOutcome>,
): Promise<EvaluationOutcome> {
  const { job, log, reader } = run;
  const pr = gathered.evidence.pr;
  const skipped: EvaluationOutcome = {
    kind: "skipped",
    outcome: null,
    headSha: pr.headSha,
    reads: reader.reads,
    writes: 0,
  };
  if (pr.state !== "MERGED" || !pr.mergedAt) return skipped;
  const onRecord = deps.store.afterMerge
    ? await deps.store.afterMerge.mergeOnRecord(job.ref, pr.headSha)
    : null;
  // The merge itself was never examined (its event was missed): examine it now, which looks for the review too.
  if (!onRecord) return examineMerge(deps, run, gathered);
  if (!onRecord.emergency || !onRecord.retroReview || onRecord.reviewed) {
    log.debug("merged PR needs no retroactive review (not an emergency, or reviewed already)");
    return skipped;
  }
  const body = await examineRetro(
    deps,
    run,
    gathered,
    { ...onRecord, ...onRecord.retroReview },
    gathered.digestComment?.body ?? null,
    false,
    onRecord,
  );
  await writeDigest(run, gathered, body);
  return skipped;
}

interface RetroTerms {
  mergedAt: string;
  mergedBy: string | null;
  author: string | null;
  headSha: string;
  dueAt: string;
  withinHours: number;
}

/** Look for a qualifying retroactive review; record it once; the check and digest section say where it stands. */
async function examineRetro(
  deps: Deps,
  run: Run,
  gathered: Gathered,
  m: RetroTerms,
  body: string | null,
  justMerged: boolean,
  onRecord?: MergeOnRecord,
): Promise<string | null> {
  const { job, log, octokit } = run;
  const label = prLabel(job.ref);
  const candidates = await retroCandidates(octokit, job.ref, gathered.evidence, m.mergedAt);
  const judgement = await judgeWithWriteAccess(octokit, job.ref, {
    mergedAt: m.mergedAt,
    author: m.author,
    mergedBy: m.mergedBy,
    contributors: contributors({
      ...gathered.evidence,
      tickets: { refs: [], lookup: { kind: "not_needed" } },
    }),
    candidates,
  });
  for (const r of judgement.refused)
    log.info({ login: r.login, via: r.via, at: r.at }, `not a retroactive review of ${label}: ${r.why}`);
  let state: RetroState = { kind: "due", dueAt: m.dueAt, withinHours: m.withinHours };
  if (judgement.kind === "reviewed") {
    const lateMs = Math.max(0, Date.parse(judgement.at) - Date.parse(m.dueAt));
    const receipt = deps.store.afterMerge
      ? await deps.store.afterMerge.recordRetroReview({
          at: deps.clock.now().toISOString(),
          deliveryId: job.deliveryId,
          ref: job.ref,
          headSha: m.headSha,
          by: judgement.by,
          reviewedAt: judgement.at,
          via: judgement.via,
          url: judgement.url,
          ...(judgement.commentId !== undefined ? { commentId: judgement.commentId } : {}),
          dueAt: m.dueAt,
          lateMs,
        })
      : null;
    state = {
      kind: "reviewed",
      by: judgement.by,
      at: judgement.at,
      via: judgement.via,
      url: judgement.url,
      lateMs,
      dueAt: m.dueAt,
    };
    if (receipt && !receipt.duplicate) {
      log.info(
        { reviewer: judgement.by, via: judgement.via, record: receipt.id, lateMs },
        `${label} retroactively reviewed by ${judgement.by}${lateMs > 0 ? ` (${describeDuration(lateMs)} late)` : ""}`,
      );
      await setRetroCheck(octokit, job.ref, m.headSha, retroCheck(state), deps.appId);
    }
  } else if (onRecord?.overdue) {
    state = { kind: "overdue", dueAt: m.dueAt, lateMs: lateBy(m.dueAt, deps.clock.now()) };
  } else if (justMerged) {
    await setRetroCheck(octokit, job.ref, m.headSha, retroCheck(state), deps.appId);
  }
  return body === null ? null : withSection(body, "retro-review", retroSection(state));
}

async function transitionTickets(
  deps: Deps,
  run: Run,
  gathered: Gathered,
  config: Config,
  target: string,
  body: string | null,
): Promise<string | null> {
  const { job, log } = run;
  const label = prLabel(job.ref);
  const pr = gathered.evidence.pr;
  const keys = extractTicketKeys(
    pr,
    gathered.evidence.commits,
    config.tickets.projects,
    config.tickets.sources,
  ).map((r) => r.key);
  if (keys.length === 0) return body;
  const results = deps.jira.transitions
    ? await deps.jira.transitions.transition(keys, target)
    : keys.map((key) => ({
        key,
        result: "failed" as const,
        status: null,
        transition: null,
        message: "Jira is not configured (JIRA_BASE_URL)",
      }));
  for (const r of results) {
    if (r.result === "failed")
      log.error(
        { ticket: r.key, target },
        `could not move ${r.key} to ${target} after the merge of ${label}: ${r.message}`,
      );
    else
      log.info(
        { ticket: r.key, target, status: r.status },
        `${r.key} ${r.result === "moved" ? "moved" : "was already"} to ${r.status} after the merge of ${label}`,
      );
  }
  if (deps.store.afterMerge) {
    try {
      await deps.store.afterMerge.recordTransitions({
        at: deps.clock.now().toISOString(),
        deliveryId: job.deliveryId,
        ref: job.ref,
        headSha: pr.headSha,
        target,
        results,
      });
    } catch (err) {
      log.error({ err: redactError(err) }, `could not record the ticket transitions of ${label}`);
    }
  }
  return body === null ? null : withSection(body, "ticket-transitions", transitionSection(target, results));
}

async function writeDigest(run: Run, gathered: Gathered, body: string | null): Promise<void> {
  if (!gathered.digestComment || body === null) return;
  try {
    await editDigest(run.octokit, run.job.ref, gathered.digestComment, body);
  } catch (err) {
    run.log.error(
      { err: redactError(err) },
      `could not update the digest of ${prLabel(run.job.ref)} after the merge`,
    );
  }
}
