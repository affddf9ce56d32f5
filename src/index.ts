/**
 * The Probot app: subscribes to the events that can change a PR's verdict, turns each into the PRs
 * it concerns (locate), and hands them to the per-PR scheduler, which runs the pipeline. Webhook
 * handlers return as soon as the work is queued; GitHub does not wait for evaluations.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApplicationFunction, Context, Probot } from "probot";
import { MemoryRecorder, type Recorder } from "./audit/recorder.js";
import { InProcessPrLock, PrLockTimeout, type PrLock } from "./audit/pr-lock.js";
import { randomUUID } from "node:crypto";
import { REEVALUATE_ACTION } from "./contract.js";
import { HeadIndex, openPullsForSha } from "./github/locate.js";
import { createReader, defaultReaderOptions, type ReaderOptions } from "./github/reader.js";
import { prKey, type PrRef } from "./github/types.js";
import type { JiraConfig } from "./jira/env.js";
import { startTicketRecheck } from "./jira/recheck.js";
import type { TicketLookupService } from "./jira/tickets.js";
import { createJiraWebhookHandler, type TicketIndex } from "./jira/webhook.js";
import { MemoryDeliveryLedger, type DeliveryLedger } from "./runtime/dedupe.js";
import { reportStoreFailure, runEvaluation, redactError, type EvaluationJob, type EvaluationOutcome, type PipelineDeps } from "./runtime/pipeline.js";
import { renderFailure } from "./report/failure.js";
import { CHECK_NAME } from "./contract.js";
import { reconcile } from "./runtime/reconcile.js";
import { BoundedMap } from "./runtime/bounded-map.js";
import { Scheduler } from "./runtime/scheduler.js";

export interface ChangegateOptions {
  /** The GitHub App's id; default: APP_ID from the environment. Its own check runs are not CI. */
  appId: number;
  reader: ReaderOptions;
  tickets: TicketLookupService | null;
  recorder: Recorder;
  ledger: DeliveryLedger;
  publishBackoffMs: number[];
  staleHeadBackoffMs: number[];
  laterRetryMs: number[];
  sleep: (ms: number) => Promise<void>;
  /**
   * Jira re-evaluation: the webhook route (registered only with a secret) and the periodic re-check
   * of PRs blocked only by tickets. `index` says which open PRs reference a key.
   */
  jira: {
    config: JiraConfig;
    index: TicketIndex & { waitingOnTickets(): Promise<PrRef[]> };
    cache: { invalidate(key: string): void } | null;
  } | null;
  /**
   * Single-flight per PR across processes (PostgreSQL advisory lock; in-process for SQLite). The
   * evaluation runs holding it, so whichever replica evaluates next reads newer evidence.
   */
  prLock: PrLock;
  /** Walk every installation's open PRs at start-up (finds events missed while down). */
  reconcileOnStart: boolean;
  /** Observe every finished evaluation (tests, benchmarks). */
  onEvaluated?: (job: EvaluationJob, outcome: EvaluationOutcome) => void;
}

export interface Changegate {
  appFn: ApplicationFunction;
  /** Resolves when no evaluation is running or queued. */
  idle(): Promise<void>;
  /** How many unfinished deliveries were resumed at start-up (resolves once they are queued). */
  resumed(): Promise<number>;
  stats(): { evaluations: number; coalesced: number; active: number; deliveries: number; duplicates: number };
  /** Stop background timers (the Jira re-check). */
  stop(): void;
  /** Evaluate one PR now (used by the Jira webhook and re-checks). */
  request(job: Omit<EvaluationJob, "attempt" | "merge" | "expectedHead"> & Partial<EvaluationJob>): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function defaultOptions(env: NodeJS.ProcessEnv = process.env): ChangegateOptions {
  return {
    appId: Number(env.APP_ID ?? 0),
    reader: defaultReaderOptions,
    tickets: null,
    recorder: new MemoryRecorder(),
    ledger: new MemoryDeliveryLedger(),
    publishBackoffMs: [1000, 4000],
    staleHeadBackoffMs: [500, 1000, 2000],
    laterRetryMs: [30_000, 120_000, 600_000],
    reconcileOnStart: env.RECONCILE_ON_START === "true",
    jira: null,
    prLock: new InProcessPrLock(),
    sleep,
  };
}

export function createChangegate(overrides: Partial<ChangegateOptions> = {}): Changegate {
  const options: ChangegateOptions = { ...defaultOptions(), ...overrides };
  const index = new HeadIndex();
  /** Newest head announced by pull_request events, ordered by the PR's updated_at. */
  const announced = new BoundedMap<string, { sha: string; updatedAt: string }>(50_000);
  const digestIds = new BoundedMap<string, number>(50_000);
  const lastSeen = new BoundedMap<string, { headSha: string; gated: boolean | null }>(50_000);
  let deliveries = 0;
  let duplicates = 0;
  let probot: Probot | null = null;
  let ready: Promise<number> = Promise.resolve(0);
  let recheck: { stop(): void } | null = null;
  /** Start-up work (resume, reconcile) that idle() waits for. */
  let startup: Promise<unknown> = Promise.resolve();

  const deps = (): PipelineDeps => ({
    appId: options.appId,
    log: probot!.log,
    octokitFor: (id) => probot!.auth(id) as never,
    readerFor: (id, octokit) => createReader(id, octokit as never, options.reader),
    tickets: options.tickets,
    recorder: options.recorder,
    publishBackoffMs: options.publishBackoffMs,
    staleHeadBackoffMs: options.staleHeadBackoffMs,
    laterRetryMs: options.laterRetryMs,
    digestIds,
    lastSeen,
    requestEvaluation: (ref, headSha, reason) => {
      index.set(ref, headSha);
      void scheduler.request(prKey(ref), { ref, deliveryId: `shared-head-${randomUUID()}`, event: reason, expectedHead: headSha, merge: false, attempt: 0 });
    },
    retryLater: (job, delayMs) => {
      setTimeout(() => void scheduler.request(prKey(job.ref), job), delayMs).unref();
    },
    now: () => new Date(),
    sleep: options.sleep,
  });

  const scheduler = new Scheduler<EvaluationJob>(
    async (key, job) => {
      let outcome: EvaluationOutcome;
      try {
        outcome = await options.prLock.withPrLock(key, () => runEvaluation(deps(), job));
      } catch (err) {
        if (!(err instanceof PrLockTimeout)) {
          // The lock lives in the audit store: with the store down, fail the check and retry later.
          outcome = await reportStoreFailure(deps(), job, err);
          options.onEvaluated?.(job, outcome);
          return;
        }
        // Another replica is evaluating this PR (or stuck): try again later rather than pile up.
        probot?.log.warn({ pr: key }, err.message);
        setTimeout(() => void scheduler.request(key, job), 30_000).unref();
        return;
      }
      if (outcome.headSha && outcome.kind !== "merge") index.set(job.ref, outcome.headSha);
      options.onEvaluated?.(job, outcome);
    },
    {
      merge: (pending, next) => ({
        ...next,
        expectedHead: next.expectedHead ?? pending.expectedHead,
        merge: pending.merge || next.merge,
        attempt: Math.min(pending.attempt, next.attempt),
      }),
      onError: (key, err) => probot?.log.error({ err: redactError(err), pr: key }, "evaluation crashed outside the pipeline"),
    },
  );

  /**
   * Queue a delivery's evaluations. They are written to the ledger first, so a process killed
   * before they finish picks them up again at start-up; the delivery is complete when every
   * evaluation covering it has finished.
   */
  async function dispatch(deliveryId: string, jobs: EvaluationJob[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await options.ledger.pending(
        deliveryId,
        jobs.map(({ ref, event, expectedHead, merge }) => ({ ref, event, expectedHead, merge })),
      );
    } catch (err) {
      throw new StoreUnavailable(err);
    }
    void Promise.all(jobs.map((job) => scheduler.request(prKey(job.ref), job)))
      .then(() => options.ledger.complete(deliveryId))
      .catch((err: unknown) => probot?.log.error({ err: redactError(err), delivery: deliveryId }, "could not mark the delivery complete"));
  }

  /** Deliveries whose evaluations never finished (the process died): run them again. */
  async function recover(): Promise<number> {
    const open = await options.ledger.unfinished();
    for (const { deliveryId, jobs } of open) {
      probot?.log.info({ delivery: deliveryId, prs: jobs.length }, "resuming a delivery whose evaluation did not finish");
      await dispatch(
        deliveryId,
        jobs.map((j) => ({ ...j, deliveryId, event: `${j.event} (resumed)`, attempt: 0 })),
      );
    }
    return open.length;
  }

  /**
   * Take a delivery in: not a repeat, sent to an installation of the app, then `work` (locate and
   * dispatch). If the audit store cannot be reached to claim or queue it, nothing is dropped
   * silently: the check on the payload's head fails naming the store, and the intake is retried.
   */
  async function intake(context: Context, heads: () => string[], work: () => Promise<void>): Promise<void> {
    deliveries++;
    if (!(context.payload as { installation?: { id?: number } }).installation?.id) {
      // A repository or organisation webhook pointed at changegate: nothing to authenticate as.
      context.log.warn({ delivery: context.id, event: context.name }, "event without an installation ignored (is a repository webhook pointed at changegate?)");
      return;
    }
    const attempt = async (n: number, claimed: boolean): Promise<void> => {
      try {
        if (!claimed) {
          try {
            claimed = await options.ledger.claim(context.id);
          } catch (err) {
            throw new StoreUnavailable(err);
          }
          if (!claimed) {
            duplicates++;
            context.log.info({ delivery: context.id }, "duplicate delivery ignored");
            return;
          }
        }
        await work();
      } catch (err) {
        if (!(err instanceof StoreUnavailable)) throw err;
        await storeDown(context, heads, err.cause, n);
        const delay = options.laterRetryMs[n];
        if (delay === undefined) {
          context.log.error({ delivery: context.id }, "giving up on a delivery the audit store could not take; the next event or a reconcile will evaluate its PRs");
          return;
        }
        setTimeout(() => void attempt(n + 1, claimed).catch((e: unknown) => context.log.error({ err: redactError(e) }, "retrying a delivery failed")), delay).unref();
      }
    };
    await attempt(0, false);
  }

  /** The store is down: fail changegate's check on each head the payload names (a new run supersedes ours). */
  async function storeDown(context: Context, heads: () => string[], err: unknown, attempt: number): Promise<void> {
    context.log.error({ err: redactError(err), delivery: context.id, attempt }, "the audit store is unavailable: failing the check and retrying the delivery later");
    let shas: string[] = [];
    let owner = "";
    let repo = "";
    try {
      ({ owner, repo } = context.repo());
      shas = heads().filter((h) => typeof h === "string" && /^[0-9a-f]{40}$/i.test(h));
    } catch {
      return; // a payload without the fields: nothing to attach a check to
    }
    for (const headSha of new Set(shas)) {
      const f = renderFailure({ stage: "store", error: err, headSha, deliveryId: context.id });
      try {
        await context.octokit.request("POST /repos/{owner}/{repo}/check-runs", {
          owner,
          repo,
          name: CHECK_NAME,
          head_sha: headSha,
          status: "completed",
          conclusion: "failure",
          output: { title: f.check.title, summary: f.check.summary },
        });
      } catch (e) {
        context.log.error({ err: redactError(e) }, `could not fail the check on ${headSha.slice(0, 7)} either`);
      }
    }
  }

  /** The commit heads a check/status payload names, where they are known to be PR heads. */
  function prHeads(context: Context, sha: string, hinted: unknown[]): string[] {
    const { owner, repo } = context.repo();
    return hinted.length > 0 || (index.get(`${owner}/${repo}`, sha)?.length ?? 0) > 0 ? [sha] : [];
  }

  function installationOf(context: Context): number {
    const id = (context.payload as { installation?: { id?: number } }).installation?.id;
    if (!id) throw new Error(`event ${context.name} ${context.id} carries no installation id`);
    return id;
  }

  function fromPull(context: Context, pull: { number: number; head: { sha: string }; updated_at?: string }, merge = false): EvaluationJob {
    const repo = context.repo();
    const ref: PrRef = { installationId: installationOf(context), owner: repo.owner, repo: repo.repo, number: pull.number };
    // Events can arrive out of order: only a newer PR state moves the announced head.
    const key = prKey(ref);
    const prev = announced.get(key);
    const updatedAt = pull.updated_at ?? "";
    if (!prev || updatedAt >= prev.updatedAt) announced.set(key, { sha: pull.head.sha, updatedAt });
    index.set(ref, pull.head.sha);
    const action = (context.payload as { action?: string }).action;
    return {
      ref,
      deliveryId: context.id,
      event: `${context.name}.${action ?? ""}`,
      expectedHead: announced.get(key)!.sha,
      merge,
      attempt: 0,
    };
  }

  async function fromSha(context: Context, sha: string, hinted: { number: number; base?: { repo?: { id?: number } } }[]): Promise<void> {
    const repo = context.repo();
    const repoId = (context.payload as { repository?: { id?: number } }).repository?.id;
    // Payload PR lists can name PRs of other repositories sharing the commit: keep this repo's.
    const numbers = hinted.filter((p) => !p.base?.repo?.id || p.base.repo.id === repoId).map((p) => p.number);
    const refs = await openPullsForSha(context.octokit, index, installationOf(context), repo.owner, repo.repo, sha, numbers);
    const action = (context.payload as { action?: string }).action;
    const event = `${context.name}${action ? `.${action}` : ""}`;
    await dispatch(
      context.id,
      // The PR was found by this sha, so it is the head unless a pull_request event announced a newer one.
      refs.map((ref) => ({ ref, deliveryId: context.id, event, expectedHead: announced.get(prKey(ref))?.sha ?? sha, merge: false, attempt: 0 })),
    );
  }

  const appFn: ApplicationFunction = (app, { addHandler }) => {
    probot = app;
    if (!options.appId) app.log.warn("APP_ID is not set: changegate cannot tell its own check runs from CI");

    app.on(
      [
        "pull_request.opened",
        "pull_request.reopened",
        "pull_request.synchronize",
        "pull_request.edited",
        "pull_request.ready_for_review",
        "pull_request.converted_to_draft",
        "pull_request.labeled",
        "pull_request.unlabeled",
        "pull_request.closed",
      ],
      async (context) => {
        const pull = context.payload.pull_request;
        if (context.payload.action === "closed") {
          if (pull?.merged) await intake(context, () => [], () => dispatch(context.id, [fromPull(context, pull, true)]));
          return;
        }
        await intake(context, () => [pull.head.sha], () => dispatch(context.id, [fromPull(context, pull)]));
      },
    );

    app.on(["pull_request_review.submitted", "pull_request_review.edited", "pull_request_review.dismissed"], async (context) => {
      const pull = context.payload.pull_request;
      await intake(context, () => (pull.state === "open" ? [pull.head.sha] : []), async () => {
        if (pull.state !== "open") return;
        await dispatch(context.id, [fromPull(context, pull)]);
      });
    });

    app.on("check_suite.completed", async (context) => {
      const suite = context.payload.check_suite;
      if (suite.app?.id === options.appId) return; // our own suite: no feedback loop
      await intake(context, () => prHeads(context, suite.head_sha, suite.pull_requests), () => fromSha(context, suite.head_sha, suite.pull_requests));
    });

    app.on(["check_run.completed", "check_run.rerequested", "check_run.requested_action"], async (context) => {
      const run = context.payload.check_run;
      const ours = run.app?.id === options.appId;
      if (context.payload.action === "completed") {
        if (ours) return; // completing our own check must not re-trigger us
      } else {
        if (!ours) return; // someone else's button
        if (context.payload.action === "requested_action" && context.payload.requested_action?.identifier !== REEVALUATE_ACTION) return;
      }
      await intake(context, () => prHeads(context, run.head_sha, run.pull_requests), () => fromSha(context, run.head_sha, run.pull_requests));
    });

    app.on("status", async (context) => {
      const sha = context.payload.sha;
      await intake(context, () => prHeads(context, sha, []), () => fromSha(context, sha, []));
    });

    const health: Handler = (req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/healthz") return false;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", ...stats() }));
      return true;
    };
    registerRoute(app, addHandler, health);

    const jira = options.jira;
    if (jira?.config.webhookSecret) {
      registerRoute(
        app,
        addHandler,
        createJiraWebhookHandler({
          secret: jira.config.webhookSecret,
          index: jira.index,
          cache: jira.cache,
          log: app.log.child({ name: "jira-webhook" }),
          evaluate: (ref, reason) => void request({ ref, deliveryId: `jira-${randomUUID()}`, event: reason }),
        }),
      );
    }
    if (jira) {
      recheck = startTicketRecheck({
        intervalMs: jira.config.recheckIntervalMs,
        list: () => jira.index.waitingOnTickets(),
        evaluate: (ref, reason) => request({ ref, deliveryId: `recheck-${randomUUID()}`, event: reason }),
        log: app.log.child({ name: "jira-recheck" }),
      });
    }
    ready = recover().catch((err: unknown) => {
      app.log.error({ err: redactError(err) }, "could not resume unfinished deliveries");
      return 0;
    });
    if (options.reconcileOnStart) {
      startup = ready
        .then(() =>
          reconcile({
            app: () => app.auth() as never,
            installation: (id) => app.auth(id) as never,
            evaluate: (ref, head) => {
              index.set(ref, head);
              void scheduler.request(prKey(ref), { ref, deliveryId: "reconcile", event: "reconcile", expectedHead: null, merge: false, attempt: 0 });
            },
            log: app.log,
          }),
        )
        .catch((err: unknown) => app.log.error({ err: redactError(err) }, "reconcile failed"));
    }
  };

  function stats() {
    return { ...scheduler.stats, deliveries, duplicates };
  }

  function request(job: Omit<EvaluationJob, "attempt" | "merge" | "expectedHead"> & Partial<EvaluationJob>): Promise<void> {
    return scheduler.request(prKey(job.ref), { expectedHead: null, merge: false, attempt: 0, ...job });
  }

  return {
    appFn,
    stop: () => recheck?.stop(),
    idle: async () => {
      await ready;
      await startup;
      await scheduler.idle();
    },
    resumed: () => ready,
    stats,
    request,
  };
}

/** The audit store failed to take a delivery (claim or queue): the intake fails closed and retries. */
class StoreUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`the audit store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreUnavailable";
  }
}

/** Add an HTTP route; without a server (a bare Probot instance, as in tests) there is nothing to add it to. */
export function registerRoute(app: Probot, addHandler: ((h: Handler) => void) | undefined, handler: Handler): void {
  try {
    addHandler?.(handler);
  } catch (err) {
    app.log.debug({ err: (err as Error).message }, "no HTTP server: route not registered");
  }
}

/** For `probot run lib/index.js`: the app configured from the environment. */
const defaultApp: ApplicationFunction = (app, opts) => createChangegate().appFn(app, opts);
export default defaultApp;
