/**
 * Redelivery of failed webhook deliveries (REDELIVERY_INTERVAL, default 5 min; 0 turns it off).
 * GitHub never redelivers by itself: a delivery that failed while changegate was deployed, down
 * or overloaded would stay lost until a scan. At start-up (once the server listens) and then every
 * interval, one replica (a lease in the audit store, audit/lease.ts) lists the app's deliveries
 * (github/deliveries.ts) back to where the last run got to (minus an overlap; at most the 3 days
 * GitHub keeps), groups the attempts by guid (X-GitHub-Delivery, the delivery ledger's key), and
 * asks GitHub to redeliver each event changegate subscribes to that failed on every attempt and
 * that the delivery ledger never claimed; at most MAX_REDELIVERIES_PER_RUN per run, oldest first,
 * the next run continues. A redelivery arrives as an ordinary webhook with the same guid, so the
 * ledger still processes it once. Log lines name the guid, event and action, never the payload.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { DeliveryAttempt, DeliveryListing } from "../github/deliveries.js";
import { redactError } from "../report/redact.js";

const DAY = 86_400_000;
/** GitHub keeps an app's deliveries for three days; the list never reaches further back. */
export const GITHUB_KEEPS_DELIVERIES_MS = 3 * DAY;
export const DEFAULT_REDELIVERY_INTERVAL_MS = 5 * 60_000;
export const MIN_REDELIVERY_INTERVAL_MS = 30_000;
/** Redeliveries asked per run; the rest wait for the next run (GitHub's write limits, the app's load). */
export const MAX_REDELIVERIES_PER_RUN = 100;
/** Pages of 100 attempts read per run (10,000 attempts): a run's cost is bounded. */
export const MAX_PAGES_PER_RUN = 100;
/** Each run lists this far behind where the last one got to (attempts still being made, clock skew). */
export const OVERLAP_MS = 5 * 60_000;
/** A run holds the lease this long at most; it stops asking for redeliveries at half of it. */
export const LEASE_TTL_MS = 10 * 60_000;
export const LEASE_NAME = "webhook-redelivery";
/**
 * Redeliveries asked for one delivery before changegate gives up on it (logged as an error; the
 * audit scan still finds the change). A redelivery that fails again is asked again by the next run,
 * counted across runs and replicas in the lease's position.
 */
export const MAX_REDELIVERIES_PER_DELIVERY = 8;
/** Deliveries whose redeliveries are counted at once (the position stays small). */
const MAX_COUNTED = 1000;

/** What a run leaves for the next: where to list from, and how often each delivery was redelivered. */
export interface Position {
  at: string | null;
  tries: Map<string, number>;
}

/** The lease's position: an ISO time (as written before the counts existed) or `{"at", "tries"}`. */
export function decodePosition(raw: string | null): Position {
  const tries = new Map<string, number>();
  if (!raw) return { at: null, tries };
  if (raw.startsWith("{")) {
    try {
      const o = JSON.parse(raw) as { at?: unknown; tries?: unknown };
      const at = typeof o.at === "string" && Number.isFinite(Date.parse(o.at)) ? o.at : null;
      if (o.tries && typeof o.tries === "object")
        for (const [guid, n] of Object.entries(o.tries as Record<string, unknown>))
          if (typeof n === "number" && Number.isInteger(n) && n > 0 && tries.size < MAX_COUNTED)
            tries.set(guid.slice(0, 100), n);
      return { at, tries };
    } catch {
      return { at: null, tries };
    }
  }
  return { at: Number.isFinite(Date.parse(raw)) ? raw : null, tries };
}

export function encodePosition(p: Position): string | null {
  if (p.tries.size === 0) return p.at;
  const tries = Object.fromEntries([...p.tries].slice(-MAX_COUNTED));
  return JSON.stringify({ at: p.at, tries });
}

/** The events changegate's manifest (app.yml) subscribes to: only these are redelivered. */
export const REDELIVERED_EVENTS: readonly string[] = [
  "branch_protection_configuration",
  "branch_protection_rule",
  "check_run",
  "check_suite",
  "issue_comment",
  "merge_group",
  "membership",
  "pull_request",
  "pull_request_review",
  "push",
  "repository_ruleset",
  "status",
  "team",
];

/** One event whose every listed attempt failed: what a redelivery is asked for. */
export interface Candidate {
  guid: string;
  /** The newest attempt's id (the one GitHub is asked to deliver again). */
  attemptId: number;
  event: string;
  action: string | null;
  installationId: number | null;
  /** When GitHub first tried (the original attempt). */
  firstDeliveredAt: string;
}

export interface Selection {
  /** Failed on every attempt, an event we take, never claimed by the ledger: oldest first. */
  found: Candidate[];
  /** The first `max` of found. */
  chosen: Candidate[];
  skipped: { succeeded: number; processed: number; unsubscribed: number; beforeWindow: number };
  /** Redelivered MAX_REDELIVERIES_PER_DELIVERY times and failed each time: given up on (the scan finds them). */
  exhausted: Candidate[];
}

const ok = (status: number) => status >= 200 && status <= 299;

/**
 * Pure: which events to redeliver. Attempts are grouped by guid. A guid is skipped when any of its
 * attempts got a 2xx, when its event is not one we take, when the ledger claimed it (another replica
 * or an earlier attempt processed it), or when its original attempt is not in the listed window (it
 * is older than `cutoff`: an earlier run already looked at it) unless an earlier run redelivered it
 * (`tries`) and that redelivery failed too: then it is asked again, up to `maxTries` times in all,
 * so a delivery that keeps failing is neither lost after one try nor redelivered forever.
 */
export function selectRedeliveries(
  attempts: DeliveryAttempt[],
  o: {
    cutoff: Date;
    events: ReadonlySet<string>;
    processed: ReadonlySet<string>;
    max: number;
    tries?: ReadonlyMap<string, number>;
    maxTries?: number;
  },
): Selection {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = byGuid.get(a.guid);
    if (list) list.push(a);
    else byGuid.set(a.guid, [a]);
  }
  const skipped = { succeeded: 0, processed: 0, unsubscribed: 0, beforeWindow: 0 };
  const found: Candidate[] = [];
  const exhausted: Candidate[] = [];
  const maxTries = o.maxTries ?? MAX_REDELIVERIES_PER_DELIVERY;
  const cutoff = o.cutoff.getTime();
  for (const [guid, list] of byGuid) {
    if (list.some((a) => ok(a.statusCode))) {
      skipped.succeeded++;
      continue;
    }
    const original = list
      .filter((a) => !a.redelivery)
      .sort((a, b) => a.deliveredAt.localeCompare(b.deliveredAt))[0];
    const tried = o.tries?.get(guid) ?? 0;
    if (tried === 0 && (!original || Date.parse(original.deliveredAt) < cutoff)) {
      skipped.beforeWindow++;
      continue;
    }
    const first = original ?? [...list].sort((a, b) => a.deliveredAt.localeCompare(b.deliveredAt))[0]!;
    if (!o.events.has(first.event)) {
      skipped.unsubscribed++;
      continue;
    }
    if (o.processed.has(guid)) {
      skipped.processed++;
      continue;
    }
    const newest = [...list].sort((a, b) => b.deliveredAt.localeCompare(a.deliveredAt) || b.id - a.id)[0]!;
    const candidate = {
      guid,
      attemptId: newest.id,
      event: first.event,
      action: first.action,
      installationId: first.installationId,
      firstDeliveredAt: first.deliveredAt,
    };
    if (tried >= maxTries) exhausted.push(candidate);
    else found.push(candidate);
  }
  found.sort((a, b) => a.firstDeliveredAt.localeCompare(b.firstDeliveredAt) || a.guid.localeCompare(b.guid));
  return { found, chosen: found.slice(0, Math.max(0, o.max)), skipped, exhausted };
}

/** Where the next run starts listing (before the overlap): see runOnce. */
export function nextPosition(o: {
  previous: string | null;
  attempts: DeliveryAttempt[];
  leftover: Candidate[];
  retry: Candidate[];
}): string | null {
  // The events not yet asked for (the per-run bound) and those whose request failed for a reason
  // that may pass (5xx, no answer) must stay in the next run's window.
  const pinned = [...o.leftover, ...o.retry].map((c) => c.firstDeliveredAt).sort()[0];
  if (pinned) return pinned;
  const newest = o.attempts
    .map((a) => a.deliveredAt)
    .sort()
    .at(-1);
  if (!newest) return o.previous;
  return o.previous && o.previous > newest ? o.previous : newest;
}

export interface RedeliveryLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface RedeliveryDeps {
  /** 0: runOnce only (no timer). */
  intervalMs: number;
  github: {
    list(since: Date, maxPages: number): Promise<DeliveryListing>;
    redeliver(attemptId: number): Promise<void>;
  };
  /** The delivery ledger: which guids some process has claimed. */
  processed(guids: string[]): Promise<Set<string>>;
  lease: {
    acquire(ttlMs: number): Promise<{ position: string | null } | null>;
    release(position?: string | null): Promise<unknown>;
  };
  now: () => Date;
  log: RedeliveryLog;
  metrics?: { redelivery(result: "found" | "redelivered" | "refused", n?: number): void };
  /** Per-run bounds (tests lower them). */
  maxPerRun?: number;
  maxPages?: number;
  /** Redeliveries of one delivery before giving up (MAX_REDELIVERIES_PER_DELIVERY). */
  maxTries?: number;
  events?: readonly string[];
}

export interface RunResult {
  /** false: another replica holds the lease. */
  ran: boolean;
  found: number;
  redelivered: string[];
  refused: string[];
  /** The listing stopped at MAX_PAGES_PER_RUN before reaching the window's start. */
  truncated: boolean;
}

export interface Redelivery {
  runOnce(): Promise<RunResult>;
  stop(): void;
}

/** A unique holder name for this process's leases. */
export function leaseHolder(): string {
  return `${hostname().slice(0, 64)}:${process.pid}:${randomUUID()}`;
}

/** GitHub's answer to a redelivery request: a status that may pass (5xx, 429, 403 rate limit, no answer) or a refusal. */
function transient(err: unknown): boolean {
  const status = (err as { status?: unknown })?.status;
  return typeof status !== "number" || status >= 500 || status === 429 || status === 403;
}

export function startRedelivery(deps: RedeliveryDeps): Redelivery {
  const events = new Set(deps.events ?? REDELIVERED_EVENTS);
  const maxPerRun = deps.maxPerRun ?? MAX_REDELIVERIES_PER_RUN;
  const maxPages = deps.maxPages ?? MAX_PAGES_PER_RUN;
  const maxTries = deps.maxTries ?? MAX_REDELIVERIES_PER_DELIVERY;
  let running: Promise<RunResult> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function run(): Promise<RunResult> {
    const result: RunResult = { ran: false, found: 0, redelivered: [], refused: [], truncated: false };
    let lease: { position: string | null } | null;
    try {
      lease = await deps.lease.acquire(LEASE_TTL_MS);
    } catch (err) {
      deps.log.error(
        { err: redactError(err) },
        "webhook redelivery: the audit store did not give the lease; the next run tries again",
      );
      return result;
    }
    if (!lease) return result;
    result.ran = true;
    const started = deps.now().getTime();
    let position: string | null | undefined = undefined; // undefined: leave the stored position alone
    try {
      const oldest = started - GITHUB_KEEPS_DELIVERIES_MS;
      const stored = decodePosition(lease.position);
      const previous = stored.at;
      const cutoff = new Date(Math.max(oldest, previous ? Date.parse(previous) - OVERLAP_MS : oldest));
      const listing = await deps.github.list(cutoff, maxPages);
      result.truncated = !listing.complete;
      if (!listing.complete)
        deps.log.warn(
          { pages: listing.pages, since: cutoff.toISOString() },
          "webhook deliveries: the list was cut at the per-run page bound; older failed deliveries are left to the audit scan",
        );
      if (listing.malformed > 0)
        deps.log.warn(
          { malformed: listing.malformed },
          "webhook deliveries: entries of an unexpected shape were skipped",
        );
      const failedGuids = [...new Set(listing.attempts.filter((a) => !ok(a.statusCode)).map((a) => a.guid))];
      const processed = failedGuids.length > 0 ? await deps.processed(failedGuids) : new Set<string>();
      const selection = selectRedeliveries(listing.attempts, {
        cutoff,
        events,
        processed,
        max: maxPerRun,
        tries: stored.tries,
        maxTries,
      });
      // Said once: a delivery given up on stays counted (past the bound) while it is in the window.
      for (const c of selection.exhausted.filter((c) => stored.tries.get(c.guid) === maxTries)) {
        result.refused.push(c.guid);
        deps.metrics?.redelivery("refused");
        deps.log.error(
          {
            delivery: c.guid,
            event: c.event,
            action: c.action,
            installation: c.installationId,
            redeliveries: stored.tries.get(c.guid),
          },
          "a webhook delivery failed on every redelivery; changegate stops asking (the audit scan finds the change)",
        );
      }
      result.found = selection.found.length;
      if (selection.found.length > 0) deps.metrics?.redelivery("found", selection.found.length);
      const retry: Candidate[] = [];
      let asked = 0;
      for (const c of selection.chosen) {
        if (stopped || deps.now().getTime() - started > LEASE_TTL_MS / 2) break;
        asked++;
        const line = {
          delivery: c.guid,
          event: c.event,
          action: c.action,
          installation: c.installationId,
          attempt: c.attemptId,
          firstDeliveredAt: c.firstDeliveredAt,
        };
        try {
          await deps.github.redeliver(c.attemptId);
          result.redelivered.push(c.guid);
          deps.metrics?.redelivery("redelivered");
          deps.log.info(line, "asked GitHub to redeliver a webhook delivery that failed on every attempt");
        } catch (err) {
          result.refused.push(c.guid);
          deps.metrics?.redelivery("refused");
          const status = (err as { status?: unknown })?.status;
          deps.log.warn(
            { ...line, status: typeof status === "number" ? status : null },
            "GitHub did not take the redelivery of a failed webhook delivery",
          );
          if (transient(err)) retry.push(c);
        }
      }
      const leftover = selection.found.slice(selection.chosen.length).concat(selection.chosen.slice(asked));
      // The counts carry on only for deliveries still failing in the window and redelivered now or before.
      const tries = new Map<string, number>();
      const live = new Set([...selection.found, ...selection.exhausted].map((c) => c.guid));
      for (const [guid, n] of stored.tries) if (live.has(guid)) tries.set(guid, n);
      for (const c of selection.exhausted) tries.set(c.guid, maxTries + 1);
      for (const guid of result.redelivered) tries.set(guid, (tries.get(guid) ?? 0) + 1);
      position = encodePosition({
        at: nextPosition({ previous, attempts: listing.attempts, leftover, retry }),
        tries,
      });
      if (selection.found.length > 0 || leftover.length > 0) {
        deps.log.info(
          {
            found: selection.found.length,
            redelivered: result.redelivered.length,
            refused: result.refused.length,
            left: leftover.length,
            skipped: selection.skipped,
          },
          "webhook redelivery run finished",
        );
      }
    } catch (err) {
      deps.log.error({ err: redactError(err) }, "webhook redelivery run failed; the next run tries again");
    } finally {
      await deps.lease
        .release(position)
        .catch((err: unknown) =>
          deps.log.error(
            { err: redactError(err) },
            "could not release the webhook redelivery lease (it expires by itself)",
          ),
        );
    }
    return result;
  }

  const runOnce = (): Promise<RunResult> => {
    if (running) return running;
    running = run().finally(() => (running = null));
    return running;
  };

  if (deps.intervalMs > 0) {
    void runOnce().catch(() => {});
    timer = setInterval(() => void runOnce().catch(() => {}), deps.intervalMs);
    timer.unref();
    deps.log.info(
      { intervalMs: deps.intervalMs },
      `failed webhook deliveries are redelivered every ${Math.round(deps.intervalMs / 1000)} s`,
    );
  }
  return {
    runOnce,
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
