/**
 * intake: a delivery comes in once. It is claimed in the delivery ledger (a repeat is dropped),
 * located into jobs, and the jobs are written to the ledger before they are queued, so a process
 * killed before they finish resumes them at start-up. If the audit store cannot take a delivery
 * (claim or queue), nothing is dropped silently: changegate's check fails on each head the payload
 * names, naming the store, and the intake is retried later.
 */
import type { Context } from "probot";
import type { Logger } from "pino";
import { postFailedCheck } from "../github/publish.js";
import { renderFailure } from "../report/failure.js";
import { redactError } from "../report/redact.js";
import type { DeliveryLedger, PendingJob } from "./memory-ledger.js";
import { isLabelClaim, MAX_LABEL_CLAIMS } from "./job.js";
import { newJob, type EvaluationJob } from "./job.js";
import { CompletionBatch } from "./completion-batch.js";

const KNOWN = Symbol("changegate.intake.known");
type Locate = (() => EvaluationJob[] | Promise<EvaluationJob[]>) & { [KNOWN]?: true };

/**
 * Marks a locate function as cheap and local (no request, no store: a pull_request payload names
 * its PR). Its jobs are then worked out before the claim, and the claim and the jobs are written
 * in one statement when the ledger can (claimPending). Unmarked locates still run after the claim,
 * so a repeated delivery costs no GitHub read.
 */
export function knownJobs(fn: () => EvaluationJob[]): () => EvaluationJob[] {
  (fn as Locate)[KNOWN] = true;
  return fn;
}

export interface IntakeOptions {
  ledger: DeliveryLedger;
  /** Waits before retrying a delivery the store could not take (ms); [] gives up at once. */
  laterRetryMs: number[];
  /** Queue one job (the scheduler); resolves when an evaluation covering it has finished. */
  schedule(job: EvaluationJob): Promise<void>;
  /** The app's log (known once Probot has loaded the app). */
  log(): Logger | undefined;
  /** Batched completions (ledgers with completeMany): wait before a batch leaves (ms), and its size. */
  completionBatch?: { delayMs: number; max: number };
}

/** The audit store failed to take a delivery (claim or queue): the intake fails closed and retries. */
class StoreUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`the audit store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreUnavailable";
  }
}

/** The ledger stores `merge: boolean` (rows written before `kind` existed resume the same way). */
function toPending({ ref, event, expectedHead, kind, group, labelClaims }: EvaluationJob): PendingJob {
  // A merge group keeps its facts (it resumes as a group job).
  if (kind === "group" && group) return { ref, event, expectedHead: null, merge: false, group };
  // A retro job resumes as a merge examination, which looks for the retroactive review too.
  return {
    ref,
    event,
    expectedHead,
    merge: kind === "merge" || kind === "retro",
    ...(labelClaims?.length ? { labelClaims } : {}),
  };
}

function fromPending(deliveryId: string, pending: PendingJob): EvaluationJob {
  return newJob({
    ref: pending.ref,
    deliveryId,
    event: `${pending.event} (resumed)`,
    expectedHead: pending.expectedHead,
    kind: pending.group ? "group" : pending.merge ? "merge" : "evaluate",
    ...(pending.group ? { group: pending.group } : {}),
    ...(Array.isArray(pending.labelClaims)
      ? { labelClaims: pending.labelClaims.filter(isLabelClaim).slice(-MAX_LABEL_CLAIMS) }
      : {}),
  });
}

export class Intake {
  deliveries = 0;
  duplicates = 0;

  private readonly completions: CompletionBatch | null;

  constructor(private readonly options: IntakeOptions) {
    const ledger = options.ledger;
    const completeMany = ledger.completeMany?.bind(ledger);
    this.completions = completeMany
      ? new CompletionBatch({
          write: completeMany,
          delayMs: options.completionBatch?.delayMs ?? 100,
          max: options.completionBatch?.max ?? 200,
          onError: (err, ids) =>
            this.options
              .log()
              ?.error(
                { err: redactError(err), deliveries: ids.length },
                "could not mark deliveries complete (they are resumed at the next start-up)",
              ),
        })
      : null;
  }

  /** Write the completions waiting for their batch (idle, shutdown). */
  flush(): Promise<void> {
    return this.completions?.flush() ?? Promise.resolve();
  }

  /**
   * Take a delivery in: not a repeat, sent to an installation of the app, then `locate` its jobs
   * and dispatch them. `heads` are the commits to fail the check on if the store is down.
   */
  async take(
    context: Context,
    heads: () => string[],
    locate: () => EvaluationJob[] | Promise<EvaluationJob[]>,
  ): Promise<void> {
    this.deliveries++;
    if (!(context.payload as { installation?: { id?: number } }).installation?.id) {
      // A repository or organisation webhook pointed at changegate: nothing to authenticate as.
      context.log.warn(
        { delivery: context.id, event: context.name },
        "event without an installation ignored (is a repository webhook pointed at changegate?)",
      );
      return;
    }
    await this.attempt(context, heads, locate, 0, false);
  }

  private async attempt(
    context: Context,
    heads: () => string[],
    locate: () => EvaluationJob[] | Promise<EvaluationJob[]>,
    n: number,
    claimed: boolean,
  ): Promise<void> {
    try {
      const ledger = this.options.ledger;
      if (!claimed && (locate as Locate)[KNOWN] && ledger.claimPending) {
        // Jobs known without a request: claim and record them in one statement.
        const jobs = (await locate()).filter(Boolean);
        let first: boolean;
        try {
          first = await ledger.claimPending(context.id, jobs.map(toPending));
        } catch (err) {
          throw new StoreUnavailable(err);
        }
        if (!first) {
          this.duplicates++;
          context.log.info({ delivery: context.id }, "duplicate delivery ignored");
          return;
        }
        this.run(context.id, jobs);
        return;
      }
      if (!claimed) {
        claimed = await this.claim(context.id);
        if (!claimed) {
          this.duplicates++;
          context.log.info({ delivery: context.id }, "duplicate delivery ignored");
          return;
        }
      }
      let jobs: EvaluationJob[];
      try {
        jobs = await locate();
      } catch (err) {
        // GitHub's read failed: Probot answers 500 and GitHub marks the delivery failed. Forget the
        // claim, so that its redelivery (ours or an operator's) is processed, not dropped as a repeat.
        await this.options.ledger.release?.(context.id).catch(() => {});
        throw err;
      }
      await this.dispatch(context.id, jobs);
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      await this.storeDown(context, heads, err.cause, n);
      const delay = this.options.laterRetryMs[n];
      if (delay === undefined) {
        context.log.error(
          { delivery: context.id },
          "giving up on a delivery the audit store could not take; the next event or a reconcile will evaluate its PRs",
        );
        return;
      }
      const retry = () =>
        void this.attempt(context, heads, locate, n + 1, claimed).catch((e: unknown) =>
          context.log.error({ err: redactError(e) }, "retrying a delivery failed"),
        );
      setTimeout(retry, delay).unref();
    }
  }

  private async claim(deliveryId: string): Promise<boolean> {
    try {
      return await this.options.ledger.claim(deliveryId);
    } catch (err) {
      throw new StoreUnavailable(err);
    }
  }

  /**
   * Queue a delivery's jobs. They are written to the ledger first; the delivery is complete when
   * every evaluation covering it has finished.
   */
  async dispatch(deliveryId: string, jobs: EvaluationJob[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await this.options.ledger.pending(deliveryId, jobs.map(toPending));
    } catch (err) {
      throw new StoreUnavailable(err);
    }
    this.run(deliveryId, jobs);
  }

  /** Queue jobs already on the ledger; the delivery is complete when every one has finished. */
  private run(deliveryId: string, jobs: EvaluationJob[]): void {
    if (jobs.length === 0) return;
    const completions = this.completions;
    void Promise.all(jobs.map((job) => this.options.schedule(job)))
      .then(() => (completions ? completions.add(deliveryId) : this.options.ledger.complete(deliveryId)))
      .catch((err: unknown) =>
        this.options
          .log()
          ?.error({ err: redactError(err), delivery: deliveryId }, "could not mark the delivery complete"),
      );
  }

  /** Deliveries whose evaluations never finished (the process died): run them again. */
  /**
   * Look for the deliveries of a replica that died every `ms` while this one runs (0: never); a
   * failed look is reported and the next one tries again.
   */
  sweep(ms: number, onError: (err: unknown) => void): { stop(): void } {
    if (ms <= 0) return { stop: () => {} };
    const timer = setInterval(() => void this.resume().catch(onError), ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async resume(): Promise<number> {
    const open = await this.options.ledger.unfinished();
    for (const { deliveryId, jobs } of open) {
      this.options
        .log()
        ?.info(
          { delivery: deliveryId, prs: jobs.length },
          "resuming a delivery whose evaluation did not finish",
        );
      await this.dispatch(
        deliveryId,
        jobs.map((pending) => fromPending(deliveryId, pending)),
      );
    }
    return open.length;
  }

  /** The store is down: fail changegate's check on each head the payload names (a new run supersedes ours). */
  private async storeDown(
    context: Context,
    heads: () => string[],
    err: unknown,
    attempt: number,
  ): Promise<void> {
    context.log.error(
      { err: redactError(err), delivery: context.id, attempt },
      "the audit store is unavailable: failing the check and retrying the delivery later",
    );
    let repo: { owner: string; repo: string };
    let shas: string[];
    try {
      repo = context.repo();
      shas = heads().filter((h) => typeof h === "string" && /^[0-9a-f]{40}$/i.test(h));
    } catch {
      return; // a payload without the fields: nothing to attach a check to
    }
    for (const headSha of new Set(shas)) {
      const report = renderFailure({ stage: "store", error: err, headSha, deliveryId: context.id });
      try {
        await postFailedCheck(context.octokit, repo, headSha, report);
      } catch (e) {
        context.log.error(
          { err: redactError(e) },
          `could not fail the check on ${headSha.slice(0, 7)} either`,
        );
      }
    }
  }
}
