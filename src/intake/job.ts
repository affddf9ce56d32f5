/**
 * job: what the scheduler runs (one evaluation or merge examination of one PR), what the pipeline
 * needs from the app (PipelineDeps), and what it reports back. Shared by the locate stage, which
 * builds jobs from events, and the pipeline stages, which run them.
 */
import type { Logger } from "pino";
import type { AfterMergeStore } from "../audit/after-merge.js";
import type { Recorder } from "../audit/recorder.js";
import type { TicketTransitioner } from "../jira/transition.js";
import type { Writer } from "../github/publish.js";
import type { GraphqlReader } from "../github/reader.js";
import type { TeamCache } from "../github/team-cache.js";
import { prKey, prLabel, type PrRef } from "../github/types.js";
import type { LabelClaim, MergeGroupFacts } from "../refs.js";
import type { TicketLookupService } from "../jira/tickets.js";

export interface EvaluationJob {
  ref: PrRef;
  deliveryId: string;
  /** The event that asked for it ("pull_request.synchronize"); coalesced jobs keep the newest. */
  event: string;
  /** Head sha announced by the newest pull_request event, if any: gather retries while GitHub's read lags behind it. */
  expectedHead: string | null;
  /**
   * "merge" (pull_request.closed with merged: true): record it and flag a bypass; publish nothing.
   * "retro": a review or `/changegate approve` comment on a merged PR (flows/after-merge.ts).
   * "group": a merge_group delivery (never coalesced with a PR's jobs: it has its own key).
   */
  kind: "evaluate" | "merge" | "retro" | "group";
  /** kind "group": a merge_group delivery, judged by flows/merge-group.ts (scheduled under its own key, groupKey). */
  group?: MergeGroupFacts;
  /** How many times this evaluation was retried after a publishing failure. */
  attempt: number;
  /** `pull_request.labeled` deliveries this run serves: the head each named (flows/declared-on.ts). */
  labelClaims?: LabelClaim[];
}

/** Label claims kept per job (coalesced runs keep the newest). */
export const MAX_LABEL_CLAIMS = 10;

/** A label claim as stored in the ledger's jobs column (a damaged one is dropped). */
export function isLabelClaim(v: unknown): v is LabelClaim {
  const c = v as Partial<LabelClaim> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    typeof c.label === "string" &&
    typeof c.sender === "string" &&
    typeof c.headSha === "string" &&
    typeof c.at === "string"
  );
}

/** A job as the caller knows it: the rest defaults (evaluate, no announced head, first attempt). */
export type JobRequest = Pick<EvaluationJob, "ref" | "deliveryId" | "event"> & Partial<EvaluationJob>;

/** The one way to build an EvaluationJob. */
export function newJob(request: JobRequest): EvaluationJob {
  return { expectedHead: null, kind: "evaluate", attempt: 0, ...request };
}

/**
 * The scheduler's key of a job: its PR's, or for a merge group its repository, head commit and
 * action (two deliveries of the same group and action coalesce into one run; a group never waits
 * behind, or coalesces with, its PR's evaluations).
 */
export function jobKey(job: EvaluationJob): string {
  if (job.kind !== "group" || !job.group) return prKey(job.ref);
  const { installationId, owner, repo } = job.ref;
  return `group:${installationId}:${owner.toLowerCase()}/${repo.toLowerCase()}@${job.group.headSha}:${job.group.action}`;
}

/** Two requests for one PR while it is being evaluated: one follow-up run serves both. */
export function coalesceJobs(pending: EvaluationJob, next: EvaluationJob): EvaluationJob {
  // The same group and action (jobKey): the newer delivery's run serves both.
  if (pending.kind === "group" || next.kind === "group")
    return { ...next, attempt: Math.min(pending.attempt, next.attempt) };
  return {
    ...next,
    expectedHead: next.expectedHead ?? pending.expectedHead,
    // A merge examination looks for the retroactive review too: it serves a retro request.
    kind:
      pending.kind === "merge" || next.kind === "merge"
        ? "merge"
        : pending.kind === "retro" || next.kind === "retro"
          ? "retro"
          : "evaluate",
    attempt: Math.min(pending.attempt, next.attempt),
    ...(pending.labelClaims?.length || next.labelClaims?.length
      ? {
          labelClaims: [...(pending.labelClaims ?? []), ...(next.labelClaims ?? [])].slice(-MAX_LABEL_CLAIMS),
        }
      : {}),
  };
}

/** GitHub's clients for a job. */
export interface GithubClients {
  /** An installation-authenticated Octokit (Probot's, with its throttling and retries). */
  octokitFor(
    installationId: number,
  ): Promise<Writer & { auth: (o: { type: "installation" }) => Promise<unknown> }>;
  /** `pause` (the scheduler's): a read waiting out a rate-limit pause gives the evaluation's slot back meanwhile. */
  readerFor(
    installationId: number,
    octokit: unknown,
    pause?: <T>(fn: () => Promise<T>) => Promise<T>,
  ): GraphqlReader;
  /** The writer for a job's check and digest (the write scheduler, github/write-scheduler.ts); absent: `octokit` itself. */
  writerFor?(job: EvaluationJob, octokit: Writer): Writer;
}

/** What a job runs with, by concern. */
export interface PipelineDeps {
  appId: number;
  log: Logger;
  github: GithubClients;
  /** The base branch's enforcement for the digest (flows/enforcement.ts); absent: not observed, no line. */
  enforcement?: BaseEnforcementSource | null;
  /** The audit store: evaluation and merge records; after-merge records (absent in tests of other stages). */
  store: { recorder: Recorder; afterMerge?: AfterMergeStore | null };
  /** Jira: ticket lookups; transitions for tickets.transition_on_merge (absent or null: not configured). */
  jira: { tickets: TicketLookupService | null; transitions?: TicketTransitioner | null };
  /** What this process remembers across evaluations. */
  memo: {
    /** Digest comment ids seen per PR (prKey), so a failure report can replace the digest without a read. */
    digestIds: Map<string, number>;
    /**
     * What the last read of each PR (prKey) showed: its head (a failure with no announced head fails
     * that one) and whether its base was gated (a first failure report then creates the digest).
     */
    lastSeen: Map<string, { headSha: string; gated: boolean | null }>;
    /** Team members for approvals.rules, cached per installation (absent: read every time). */
    teams?: TeamCache;
  };
  /** Waits (ms). */
  retry: {
    /** Attempts to publish before giving up on this evaluation; waits between them. */
    publishBackoffMs: number[];
    /** Waits for GitHub's read to catch up with a head sha announced by a webhook. */
    staleHeadBackoffMs: number[];
    /** Later retries after the whole publish failed; [] disables. */
    laterRetryMs: number[];
  };
  /** Asking for more work. */
  queue: {
    /** Queue an evaluation of another PR (a PR sharing this head, whose digest or check must follow). */
    requestEvaluation(ref: PrRef, headSha: string, reason: string): void;
    /** Re-request an evaluation later (after a publishing failure). */
    retryLater(job: EvaluationJob, delayMs: number): void;
  };
  clock: { now(): Date; sleep(ms: number): Promise<void> };
  /** The job's MAX_CONCURRENT_EVALUATIONS slot (intake/scheduler.ts); absent: the job runs holding none. */
  slot?: {
    /**
     * Called when the evaluation has decided and recorded, and starts publishing: it gives back its
     * slot, since it now only waits on GitHub's write limits (near the hourly cap a digest may wait
     * long; the next PRs' checks must not wait behind it).
     */
    publishing(): void;
    /**
     * Runs `fn` with the slot given back (a rate-limit pause: another installation's PR runs
     * meanwhile), and takes a slot again before returning.
     */
    pause<T>(fn: () => Promise<T>): Promise<T>;
  };
}

export interface EvaluationOutcome {
  kind: "published" | "skipped" | "merge" | "publish_failed";
  outcome: "success" | "failure" | "pending" | null;
  headSha: string | null;
  reads: number;
  writes: number;
  bypass?: boolean;
  /** Where the evaluation's time went, per step in ms (read, judge, record, publish…): logged. */
  stepsMs?: Record<string, number>;
}

/** One running job with what it runs with: its log, Octokit and counted GraphQL reader. */
export interface Run {
  job: EvaluationJob;
  log: Logger;
  octokit: Writer;
  reader: GraphqlReader;
  /** Times the evaluation's steps (absent: not timed). */
  laps?: Laps;
}

/** A stopwatch for an evaluation's steps: `lap(step)` adds the time since the previous lap to `step`. */
export class Laps {
  readonly ms: Record<string, number> = {};
  private last = performance.now();
  lap(step: string): void {
    const now = performance.now();
    this.ms[step] = Math.round((this.ms[step] ?? 0) + (now - this.last));
    this.last = now;
  }
}

export function jobLog(deps: Pick<PipelineDeps, "log">, job: EvaluationJob): Logger {
  const { ref } = job;
  return deps.log.child({
    repo: `${ref.owner}/${ref.repo}`,
    pr: ref.number,
    installation: ref.installationId,
    delivery: job.deliveryId,
    event: job.event,
  });
}

export { StageError, stage } from "../stage.js";

/** Ask for the job again after the next later-retry delay, or give up (the next event evaluates it). */
export function scheduleLater(
  deps: Pick<PipelineDeps, "retry" | "queue">,
  job: EvaluationJob,
  log: Logger,
): void {
  const delay = deps.retry.laterRetryMs[job.attempt];
  if (delay === undefined) {
    log.error(
      `giving up on ${prLabel(job.ref)} after ${job.attempt} later retries; the next event will evaluate it again`,
    );
    return;
  }
  deps.queue.retryLater({ ...job, attempt: job.attempt + 1 }, delay);
}

/** flows/enforcement.ts's part in an evaluation: the last observation, never waiting for GitHub, never throwing. */
export interface BaseEnforcementSource {
  forEvaluation(
    t: { installationId: number; owner: string; repo: string; branch: string; defaultBranch: string | null },
    deliveryId: string,
  ): Promise<{ state: "enforced" | "not_enforced"; missing: { text: string }[] } | null>;
}
