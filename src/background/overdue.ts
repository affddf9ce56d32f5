/**
 * The overdue check: every `intervalMs` (RETRO_REVIEW_CHECK_INTERVAL_MS, default 10 min; 0 turns
 * it off), emergency merges whose retroactive review was due and not made are marked overdue in
 * the audit trail, logged with the phrase ops alarm on (`is non-compliant!`, naming the PR and how
 * late it is), given a failing `changegate/retro-review` check, and listed in audit.issue_repo when
 * the policy at the merge named one. It needs no event. The store decides who reports: the overdue
 * record is appended only if none (and no retroactive review) is on record for the merge, inside
 * the chain's transaction, so across restarts and replicas each merge is reported once. Ticks never
 * overlap; the timer is unref'd.
 */
import type { Logger } from "pino";
import type { AfterMergeStore } from "../audit/after-merge.js";
import { NON_COMPLIANT_PHRASE } from "../contract.js";
import { reportOverdue } from "../github/overdue-issue.js";
import { setRetroCheck } from "../github/retro-review.js";
import type { OctokitLike } from "../github/types.js";
import { prLabel } from "../github/types.js";
import { describeDuration, lateBy } from "../policy/retro-review.js";
import { retroCheck } from "../report/after-merge.js";
import { redactError } from "../report/redact.js";

export const DEFAULT_OVERDUE_INTERVAL_MS = 10 * 60_000;

export interface OverdueCheckOptions {
  intervalMs: number;
  store: AfterMergeStore;
  octokitFor: (installationId: number) => Promise<OctokitLike>;
  /** This app's id: its open retro-review run is completed in place (absent: any run of that name). */
  appId?: number;
  now: () => Date;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** Told after each pass how many overdue reviews are still open (the retro_reviews_overdue_open metric). */
  onOpen?: (n: number) => void;
  /** Tests: the timer functions (default: unref'd setTimeout). */
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(h: unknown): void };
}

export interface OverdueCheck {
  readonly enabled: boolean;
  /** One pass now (also what the timer runs). Resolves with the number of merges this process reported. */
  tick(): Promise<number>;
  stop(): void;
}

export function startOverdueCheck(o: OverdueCheckOptions): OverdueCheck {
  const timers = o.timers ?? {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  let running = false;
  let stopped = false;
  let handle: unknown = null;

  async function tick(): Promise<number> {
    if (running || stopped) return 0;
    running = true;
    let reported = 0;
    try {
      const now = o.now();
      for (const m of await o.store.overdueMerges(now)) {
        if (stopped) break;
        try {
          if (await reportOne(o, m, now)) reported++;
        } catch (err) {
          o.log.error(
            { err: redactError(err), pr: m.record },
            `could not mark the retroactive review of ${prLabel(m.ref)} overdue; will try again`,
          );
        }
      }
      if (o.onOpen && o.store.openOverdueCount) o.onOpen(await o.store.openOverdueCount(now));
    } catch (err) {
      o.log.error(
        { err: redactError(err) },
        "the overdue check could not read the audit store; will try again",
      );
    } finally {
      running = false;
    }
    return reported;
  }

  function schedule(): void {
    if (stopped) return;
    handle = timers.setTimeout(() => void tick().finally(schedule), o.intervalMs);
  }

  const enabled = Number.isFinite(o.intervalMs) && o.intervalMs > 0;
  if (enabled) schedule();
  return {
    enabled,
    tick,
    stop: () => {
      stopped = true;
      if (handle !== null) timers.clearTimeout(handle);
    },
  };
}

async function reportOne(
  o: OverdueCheckOptions,
  m: Awaited<ReturnType<AfterMergeStore["overdueMerges"]>>[number],
  now: Date,
): Promise<boolean> {
  const terms = m.retroReview!;
  const lateMs = lateBy(terms.dueAt, now);
  const receipt = await o.store.recordOverdue({
    at: now.toISOString(),
    ref: m.ref,
    headSha: m.headSha,
    dueAt: terms.dueAt,
    lateMs,
  });
  // Another replica (or an earlier run) reported it, or the review came in meanwhile.
  if (receipt.duplicate) return false;
  const label = prLabel(m.ref);
  o.log.warn(
    {
      url: m.url,
      mergedBy: m.mergedBy,
      mergedAt: m.mergedAt,
      dueAt: terms.dueAt,
      lateMs,
      record: receipt.id,
    },
    `${label} ${NON_COMPLIANT_PHRASE} emergency change merged at ${m.mergedAt} has no retroactive review: it was due by ${terms.dueAt} and is ${describeDuration(lateMs)} late ${m.url}`,
  );
  let octokit: OctokitLike;
  try {
    octokit = await o.octokitFor(m.ref.installationId);
  } catch (err) {
    o.log.error(
      { err: redactError(err) },
      `could not reach GitHub for ${label}: no check or audit issue for its overdue review (it is logged and on record)`,
    );
    return true;
  }
  try {
    await setRetroCheck(
      octokit,
      m.ref,
      m.headSha,
      retroCheck({ kind: "overdue", dueAt: terms.dueAt, lateMs }),
      o.appId,
    );
  } catch (err) {
    o.log.error({ err: redactError(err) }, `could not set the retro-review check of ${label}`);
  }
  if (terms.issueRepo) {
    try {
      const listed = await reportOverdue(octokit, terms.issueRepo, {
        repo: `${m.ref.owner}/${m.ref.repo}`,
        number: m.ref.number,
        url: m.url,
        title: m.title,
        author: m.author,
        mergedBy: m.mergedBy,
        mergedAt: m.mergedAt,
        dueAt: terms.dueAt,
        lateMs,
        record: receipt.id,
      });
      o.log.info(
        { issueRepo: terms.issueRepo, issue: listed.issueNumber },
        `overdue review of ${label} listed in ${terms.issueRepo}#${listed.issueNumber}`,
      );
    } catch (err) {
      o.log.error(
        { err: redactError(err), issueRepo: terms.issueRepo },
        `could not list the overdue review of ${label} in ${terms.issueRepo}`,
      );
    }
  }
  return true;
}
