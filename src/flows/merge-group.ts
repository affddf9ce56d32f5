/**
 * merge_group events (GitHub's merge queue). `checks_requested`: judge the group from the store
 * (src/policy/merge-group.ts) and report `changegate` on the group's head commit, so a repository
 * that requires changegate and uses the queue does not deadlock. `destroyed`: recorded.
 * Fail closed: a group GitHub or the store cannot account for, or a verdict that could not be
 * recorded, gets a failure check. The merge itself arrives as pull_request.closed (merged) and is
 * judged from the PR's own verdict like any merge (src/flows/merge.ts).
 *
 * Like every other event (issue 19), a delivery goes through the intake: `mergeGroupJob` turns its
 * payload into a job (validated facts), the delivery is claimed in the ledger with it and answered
 * at once, and the scheduler runs `runGroupJob` later (a redelivery is a duplicate; a process killed
 * meanwhile resumes the job at start-up; a run that throws, e.g. the check write, is retried after
 * `laterRetryMs` like an evaluation).
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { MergeGroupRecord, Recorder } from "../audit/recorder.js";
import { groupMembers, postGroupCheck } from "../github/merge-group.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import {
  judgeMergeGroup,
  parseQueueRef,
  type GroupMember,
  type GroupMemberVerdict,
} from "../policy/merge-group.js";
import type { MergeGroupFacts } from "../refs.js";
import { redact, redactError } from "../report/redact.js";
import { renderGroupCheck, renderGroupFailure } from "../report/merge-group.js";
import { newJob, type EvaluationJob } from "../intake/job.js";

export interface MergeGroupDeps {
  recorder: Recorder;
  octokitFor(installationId: number): Promise<OctokitLike>;
  readerFor(installationId: number, octokit: OctokitLike): GraphqlReader;
  now(): Date;
  log: Logger;
}

export type MergeGroupOutcome = "success" | "failure" | "destroyed" | "ignored";

const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-hex commit sha");
const ref = z.string().min(1).max(1024);
const payloadSchema = z.object({
  action: z.string(),
  reason: z.string().max(100).nullable().optional(),
  installation: z.object({ id: z.number().int().positive() }),
  repository: z.object({
    name: z.string().min(1).max(100),
    owner: z.object({ login: z.string().min(1).max(100) }),
  }),
  merge_group: z.object({ head_sha: sha, head_ref: ref, base_sha: sha, base_ref: ref }),
});

/** A job's facts as read back from the ledger (a damaged row is refused, never judged). */
const factsSchema = z.object({
  action: z.enum(["checks_requested", "destroyed"]),
  reason: z.string().max(100).nullable(),
  headSha: sha,
  headRef: ref,
  baseSha: sha,
  baseRef: ref,
});

/**
 * The job a merge_group delivery asks for, or null (logged) for a payload without the fields
 * changegate needs or an action it does not handle. Pure: no request, no store (intake's knownJobs).
 */
export function mergeGroupJob(
  deliveryId: string,
  payload: unknown,
  log?: Pick<Logger, "warn">,
): EvaluationJob | null {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    log?.warn(
      { delivery: deliveryId, problem: z.prettifyError(parsed.error).slice(0, 500) },
      "merge_group event without the fields changegate needs: ignored",
    );
    return null;
  }
  const p = parsed.data;
  if (p.action !== "checks_requested" && p.action !== "destroyed") return null;
  const group: MergeGroupFacts = {
    action: p.action,
    reason: p.reason ?? null,
    headSha: p.merge_group.head_sha,
    headRef: p.merge_group.head_ref,
    baseSha: p.merge_group.base_sha,
    baseRef: p.merge_group.base_ref,
  };
  const named = parseQueueRef(group.headRef);
  return newJob({
    ref: {
      installationId: p.installation.id,
      owner: p.repository.owner.login,
      repo: p.repository.name,
      number: named?.number ?? 0,
    },
    deliveryId,
    event: `merge_group.${p.action}`,
    kind: "group",
    group,
  });
}

/** The commits to fail `changegate` on if the store cannot take the delivery (a checks_requested group's head). */
export function mergeGroupHeads(job: EvaluationJob | null): string[] {
  return job?.group?.action === "checks_requested" ? [job.group.headSha] : [];
}

export interface GroupRunDeps extends MergeGroupDeps {
  /** Waits before a run that threw is tried again; [] gives up at once. */
  laterRetryMs: number[];
  retryLater(job: EvaluationJob, delayMs: number): void;
}

/**
 * A scheduled group job: judged, and on an error (GitHub's token, the check write) retried later
 * like an evaluation. Never throws.
 */
export async function runGroupJob(deps: GroupRunDeps, job: EvaluationJob): Promise<MergeGroupOutcome> {
  const facts = factsSchema.safeParse(job.group);
  if (job.kind !== "group" || !facts.success) {
    deps.log.error(
      { delivery: job.deliveryId },
      "a merge group job without valid facts (a damaged ledger row?): dropped",
    );
    return "ignored";
  }
  try {
    return await judgeGroup(deps, job.deliveryId, job.ref, facts.data);
  } catch (err) {
    const delay = deps.laterRetryMs[job.attempt];
    const log = deps.log.child({
      delivery: job.deliveryId,
      repo: `${job.ref.owner}/${job.ref.repo}`,
      head: facts.data.headSha,
    });
    if (delay === undefined) {
      log.error(
        { err: redactError(err), attempts: job.attempt + 1 },
        "giving up on a merge group: its check could not be written (GitHub's queue times the group out: it does not merge)",
      );
      return "failure";
    }
    log.warn(
      { err: redactError(err), retryInMs: delay },
      "a merge group could not be judged or its check written; retrying later",
    );
    deps.retryLater({ ...job, attempt: job.attempt + 1 }, delay);
    return "failure";
  }
}

/** A payload judged at once (tests; the app goes through mergeGroupJob and runGroupJob). */
export async function handleMergeGroup(
  deps: MergeGroupDeps,
  deliveryId: string,
  payload: unknown,
): Promise<MergeGroupOutcome> {
  const job = mergeGroupJob(deliveryId, payload, deps.log);
  if (!job?.group) return "ignored";
  return judgeGroup(deps, deliveryId, job.ref, job.group);
}

async function judgeGroup(
  deps: MergeGroupDeps,
  deliveryId: string,
  pr: { installationId: number; owner: string; repo: string },
  g: MergeGroupFacts,
): Promise<MergeGroupOutcome> {
  const repo = { owner: pr.owner, repo: pr.repo };
  const base = g.baseRef.replace(/^refs\/heads\//, "");
  const headSha = g.headSha;
  const named = parseQueueRef(g.headRef);
  const group = { base, headSha };
  const p = {
    action: g.action,
    reason: g.reason,
    installation: { id: pr.installationId },
    merge_group: { head_ref: g.headRef, base_sha: g.baseSha },
  };
  const record = (rest: Pick<MergeGroupRecord, "prs" | "outcome" | "error">): MergeGroupRecord => ({
    at: deps.now().toISOString(),
    deliveryId,
    ref: { installationId: p.installation.id, ...repo, number: named?.number ?? 0 },
    action: p.action as MergeGroupRecord["action"],
    reason: p.reason ?? null,
    baseRef: base,
    baseSha: p.merge_group.base_sha,
    headSha,
    ...rest,
  });
  const log = deps.log.child({
    delivery: deliveryId,
    repo: `${repo.owner}/${repo.repo}`,
    head: headSha,
    base,
  });

  if (p.action === "destroyed") {
    try {
      await recordGroup(deps.recorder, record({ prs: [], outcome: "destroyed", error: null }));
      log.info({ reason: p.reason ?? null }, "merge group destroyed (recorded)");
    } catch (err) {
      log.error({ err: redactError(err) }, "could not record the end of a merge group");
    }
    return "destroyed";
  }

  const octokit = await deps.octokitFor(p.installation.id);
  const fail = async (why: string, prs: MergeGroupRecord["prs"] = []): Promise<MergeGroupOutcome> => {
    log.warn({ why }, "merge group not passed");
    try {
      await recordGroup(deps.recorder, record({ prs, outcome: "failure", error: redact(why) }));
    } catch (err) {
      log.error({ err: redactError(err) }, "could not record a failed merge group");
    }
    await postGroupCheck(octokit, repo, headSha, renderGroupFailure(why, group));
    return "failure";
  };

  if (!named || named.base !== base) {
    return fail(
      `the group's branch ${JSON.stringify(p.merge_group.head_ref.slice(0, 200))} is not a merge queue branch into ${base} (gh-readonly-queue/<base>/pr-<number>-<sha>)`,
    );
  }
  let members: GroupMember[];
  try {
    members = await groupMembers(
      deps.readerFor(p.installation.id, octokit),
      repo,
      base,
      headSha,
      named.number,
    );
  } catch (err) {
    return fail(
      `GitHub could not say which pull requests are in this group: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const verdicts = new Map<number, GroupMemberVerdict>();
  try {
    for (const m of members) {
      const v = (
        await deps.recorder.verdictsAt({ installationId: p.installation.id, ...repo }, m.headSha, [m.number])
      ).get(m.number);
      if (v) verdicts.set(m.number, v);
    }
  } catch (err) {
    log.error(
      { err: redactError(err) },
      "the audit store could not say how the group's pull requests were judged",
    );
    return fail(
      "the audit store is unavailable, so changegate cannot tell whether the group's pull requests are compliant",
    );
  }
  const judged = judgeMergeGroup(members, verdicts, base);
  const prs = judged.lines.map((l) => ({
    number: l.number,
    headSha: members.find((m) => m.number === l.number)!.headSha,
    ok: l.ok,
    why: l.why,
  }));
  try {
    await recordGroup(deps.recorder, record({ prs, outcome: judged.conclusion, error: null }));
  } catch (err) {
    log.error({ err: redactError(err) }, "the audit store failed to record the merge group's verdict");
    // A verdict that is not on the record must not turn the check green.
    await postGroupCheck(
      octokit,
      repo,
      headSha,
      renderGroupFailure("the audit store failed to record the group's verdict", group),
    );
    return "failure";
  }
  await postGroupCheck(octokit, repo, headSha, renderGroupCheck(judged, group));
  log.info({ outcome: judged.conclusion, prs: members.map((m) => m.number) }, `merge group: ${judged.title}`);
  return judged.conclusion;
}

async function recordGroup(recorder: Recorder, rec: MergeGroupRecord): Promise<void> {
  if (!recorder.recordMergeGroup) throw new Error("this recorder cannot record merge groups");
  await recorder.recordMergeGroup(rec);
}
