/**
 * The Probot app, wired: events → intake (claim, ledger) → locate (jobs) → the per-PR scheduler →
 * the pipeline, holding the PR lock. Every part lives in its own module; this one only connects
 * them (see docs/architecture.md).
 */
import { randomUUID } from "node:crypto";
import type { ApplicationFunction, Probot } from "probot";
import type { AfterMergeStore } from "./audit/after-merge.js";
import { MemoryRecorder, type Recorder } from "./audit/recorder.js";
import { Locator } from "./handlers/locate.js";
import { createReader, defaultReaderOptions, type ReaderOptions } from "./github/reader.js";
import { pacedOctokit, scheduledWriter, type InstallationOctokit } from "./github/scheduled-writer.js";
import type { WriteScheduler } from "./github/write-scheduler.js";
import { prKey, type PrRef } from "./github/types.js";
import type { JiraConfig } from "./jira/env.js";
import { startTicketRecheck } from "./jira/recheck.js";
import type { TicketLookupService } from "./jira/tickets.js";
import type { TicketTransitioner } from "./jira/transition.js";
import type { TicketIndex } from "./jira/webhook.js";
import { onJiraWebhook } from "./handlers/jira.js";
import { redactError } from "./report/redact.js";
import "./ops/secrets.js"; // the environment's secret values are redacted by default
import { MemoryDeliveryLedger, type DeliveryLedger } from "./intake/memory-ledger.js";
import { Intake } from "./intake/intake.js";
import {
  coalesceJobs,
  jobKey,
  newJob,
  type EvaluationJob,
  type EvaluationOutcome,
  type JobRequest,
  type PipelineDeps,
} from "./intake/job.js";
import { jobRunner } from "./flows/run-job.js";
import { InProcessPrLock, type PrLock } from "./intake/pr-lock.js";
import { reconcile } from "./background/reconcile.js";
import { startAuditScan, type AuditScanOptions } from "./background/scan-wiring.js";
import type { BranchHeadStore } from "./audit/branch-head.js";
import { DEFAULT_OVERDUE_INTERVAL_MS, startOverdueCheck, type OverdueCheck } from "./background/overdue.js";
import { BoundedMap } from "./bounded-map.js";
import { DEFAULT_MAX_CONCURRENT_EVALUATIONS, Scheduler } from "./intake/scheduler.js";
import { subscribe } from "./handlers/index.js";
import type { MergeGroupDeps } from "./flows/merge-group.js";
import type { DirectPushStore } from "./audit/direct-push.js";
import { handlePush } from "./flows/push.js";
import { TeamCache } from "./github/team-cache.js";
import { healthRoute } from "./server/health.js";
import { registerRoute } from "./server/route.js";
import { instrumentOctokit, Metrics, type HookableOctokit } from "./ops/metrics.js";
import { CREDENTIALS_CHECK_CACHE_MS, Readiness } from "./ops/readiness.js";
import { metricsRoute } from "./server/metrics.js";
import { wireWriteMetrics } from "./ops/write-metrics.js";
import { readyRoute } from "./server/ready.js";
import { appDeliveryLog } from "./github/deliveries.js";
import { startRedelivery, type Redelivery, type RedeliveryDeps } from "./background/redelivery.js";

import type { EnforcementStore } from "./audit/enforcement.js";
import { EnforcementFlow } from "./flows/enforcement.js";

export { registerRoute } from "./server/route.js";

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
   * of PRs blocked only by tickets. `ticketIndex` says which open PRs reference a key.
   */
  jira: {
    config: JiraConfig;
    ticketIndex: TicketIndex & { waitingOnTickets(): Promise<PrRef[]> };
    cache: { invalidate(key: string): void } | null;
  } | null;
  /**
   * Single-flight per PR across processes (PostgreSQL advisory lock; in-process for SQLite). The
   * evaluation runs holding it, so whichever replica evaluates next reads newer evidence.
   */
  prLock: PrLock;
  /**
   * How often the deliveries of a replica that died are looked for and resumed while this one runs
   * (ms; default 60 s; 0: only at start-up). A delivery is resumed only once its holder is gone.
   */
  resumeSweepMs?: number;
  /** Walk every installation's open PRs at start-up (finds events missed while down). */
  reconcileOnStart: boolean;
  /** Evaluations running at once (MAX_CONCURRENT_EVALUATIONS; default 32); the rest wait, coalesced per PR. */
  maxConcurrentEvaluations?: number;
  /** Prometheus metrics (GET /metrics); a write scheduler registers its queue depth with setSource. */
  metrics: Metrics;
  /** GET /metrics needs `Authorization: Bearer <metricsToken>` when set (METRICS_TOKEN). */
  metricsToken: string | undefined;
  /** False: /metrics is not served on the webhook port (METRICS_PORT: main.ts serves it on its own listener). Default true. */
  metricsOnWebhookPort?: boolean;
  /** GET /readyz: the checks the process edge adds (store, credentials) and the shutdown flag. */
  readiness: Readiness;
  /** The scheduled audit scan and stale-check reconcile (AUDIT_SCAN_INTERVAL); null: off. */
  auditScan?: AuditScanOptions | null;
  /**
   * Check and digest writes paced by GitHub's documented limits (github/write-scheduler.ts); null:
   * they go through Probot's Octokit and its throttling (tests, CHANGEGATE_THROTTLE=off).
   */
  writes: WriteScheduler | null;
  /** After-merge records: retroactive reviews of emergency merges, overdue marks, ticket transitions. */
  afterMerge?: AfterMergeStore | null;
  /** direct_push records: pushes to gated branches without a merged PR (null/absent: push events not handled). */
  directPush?: DirectPushStore | null;
  /** DIRECT_PUSH_RECHECK_MS: wait before a push's commits without a PR are read again (flows/push-settle.ts; default 15 s). */
  directPushRecheckMs?: number;
  /** Where each gated branch stood at the last scan (audit/branch-head.ts): examined pushes move it, the scan walks refs from it. */
  branchHeads?: BranchHeadStore | null;
  /** Jira transitions for tickets.transition_on_merge (null: Jira not configured). */
  transitions?: TicketTransitioner | null;
  /** The overdue check of retroactive reviews (background/overdue.ts); 0 turns the timer off. */
  overdueIntervalMs?: number;
  /** Redelivery of failed webhook deliveries (REDELIVERY_INTERVAL; background/redelivery.ts): the interval and the store's lease; null: off. */
  redelivery?: { intervalMs: number; lease: RedeliveryDeps["lease"] } | null;
  /** Branch enforcement observed and recorded (flows/enforcement.ts; null/absent: not observed, no digest line). */
  enforcement?: EnforcementStore | null;
  /** The clock (tests move it). */
  now?: () => Date;
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
  metrics: Metrics;
  readiness: Readiness;
  /** Stop background timers (the Jira re-check). */
  stop(): void;
  /** Evaluate one PR now (used by the Jira webhook and re-checks). */
  request(job: JobRequest): Promise<void>;
  /** Run the overdue check of retroactive reviews now (resolves with how many this process reported). */
  checkOverdue(): Promise<number>;
  /** Start the redelivery of failed webhooks (once the server listens: a redelivery is sent to it at once); null when off. */
  startRedelivery(): Redelivery | null;
}

/** How often a running process looks for deliveries of a replica that died (ChangegateOptions.resumeSweepMs). */
const DEFAULT_RESUME_SWEEP_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The defaults; the process's settings (APP_ID, RECONCILE_ON_START, METRICS_TOKEN) are main.ts's to pass. */
export function defaultOptions(): ChangegateOptions {
  return {
    appId: 0,
    reader: defaultReaderOptions,
    tickets: null,
    recorder: new MemoryRecorder(),
    ledger: new MemoryDeliveryLedger(),
    publishBackoffMs: [1000, 4000],
    staleHeadBackoffMs: [500, 1000, 2000],
    laterRetryMs: [30_000, 120_000, 600_000],
    reconcileOnStart: false,
    jira: null,
    prLock: new InProcessPrLock(),
    writes: null,
    sleep,
    metrics: new Metrics(),
    metricsToken: undefined,
    readiness: new Readiness(),
  };
}

export function createChangegate(overrides: Partial<ChangegateOptions> = {}): Changegate {
  const options: ChangegateOptions = { ...defaultOptions(), ...overrides };
  const observer = { metrics: options.metrics, log: () => probot?.log };
  const locator = new Locator();
  let probot: Probot | null = null;
  let recheck: { stop(): void } | null = null;
  let auditScan: { stop(): void } | null = null;
  let overdue: OverdueCheck | null = null;
  let sweep: { stop(): void } | null = null;
  let resumed: Promise<number> = Promise.resolve(0);
  /** Start-up work (resume, reconcile) that idle() waits for. */
  let startup: Promise<unknown> = Promise.resolve();

  const schedule = (job: EvaluationJob) => scheduler.request(jobKey(job), job);
  const request = (job: JobRequest) => schedule(newJob(job));
  const teams = new TeamCache();
  const deps = pipelineDeps(
    options,
    () => probot!,
    locator,
    schedule,
    options.metrics,
    teams,
    (key) => scheduler.pending(key),
    () => enforcement,
  );
  const enforcementRuns = new Set<Promise<unknown>>();
  const enforcement = options.enforcement
    ? new EnforcementFlow({
        store: options.enforcement,
        appId: options.appId,
        octokitFor: (id) => deps().github.octokitFor(id) as never,
        now: options.now ?? (() => new Date()),
        log: {
          info: (o, m) => probot?.log.info(o, m),
          warn: (o, m) => probot?.log.warn(o, m),
          error: (o, m) => probot?.log.error(o, m),
        },
        onCount: (n) => options.metrics.branchesNotEnforced.set(n),
      })
    : null;
  const paced = pacedDeps(options.writes, options.metrics, deps);
  const runJob = jobRunner({
    pipeline: deps,
    group: () => ({ ...paced(), laterRetryMs: options.laterRetryMs, retryLater: deps().queue.retryLater }),
    prLock: options.prLock,
    observer,
    schedule,
    sawHead: (ref, head) => locator.heads.set(ref, head),
    log: () => probot?.log,
    onEvaluated: options.onEvaluated,
  });
  const scheduler = new Scheduler<EvaluationJob>(runJob, {
    coalesce: coalesceJobs,
    maxRunning: options.maxConcurrentEvaluations ?? DEFAULT_MAX_CONCURRENT_EVALUATIONS,
    // Fair shares: while several installations wait, a freed slot goes to the one holding the fewest.
    share: (_key, job) => String(job.ref.installationId),
    onError: (key, err) =>
      probot?.log.error({ err: redactError(err), pr: key }, "evaluation crashed outside the pipeline"),
  });
  const intake = new Intake({
    ledger: options.ledger,
    laterRetryMs: options.laterRetryMs,
    schedule,
    log: () => probot?.log,
  });
  const pushes = new Set<Promise<unknown>>();
  const stats = () => ({
    ...scheduler.stats,
    active: scheduler.stats.active + pushes.size,
    deliveries: intake.deliveries,
    duplicates: intake.duplicates,
  });
  options.metrics.setSource("evaluations_in_flight", () => scheduler.active);
  options.metrics.setSource("evaluations_queued", () => scheduler.queued);
  options.metrics.setReadiness(async () => (await options.readiness.probe()).ready);
  if (options.writes) wireWriteMetrics(options.metrics, options.writes);

  const appFn: ApplicationFunction = (app, { addHandler }) => {
    probot = app;
    if (!options.appId) app.log.warn("APP_ID is not set: changegate cannot tell its own check runs from CI");
    // Every write outside an evaluation (the merge group's check, a direct push's bypass issue entry,
    // the overdue timer's check and issue entry, the scheduled scan's) goes through the same write scheduler.
    subscribe(app, {
      appId: options.appId,
      intake,
      locator,
      teams,
      enforcement: enforcement ? { flow: enforcement, running: enforcementRuns } : null,
      push: pushHandler(app, options, paced, pushes),
    });
    registerRoute(app, addHandler, healthRoute(stats));
    app.onAny((context) => options.metrics.webhook(context.name));
    options.readiness.add("credentials", () => appCredentials(app, options.appId), {
      cacheMs: CREDENTIALS_CHECK_CACHE_MS,
    });
    registerRoute(app, addHandler, readyRoute(options.readiness));
    if (options.metricsOnWebhookPort !== false)
      registerRoute(app, addHandler, metricsRoute(options.metrics, options.metricsToken));
    recheck = startJira(app, addHandler, options.jira, request);
    if (options.afterMerge) {
      const store = options.afterMerge;
      overdue = startOverdueCheck({
        intervalMs: options.overdueIntervalMs ?? DEFAULT_OVERDUE_INTERVAL_MS,
        store,
        octokitFor: pacedOctokitFor(options.writes, options.metrics, (id) => app.auth(id) as never),
        appId: options.appId,
        now: options.now ?? (() => new Date()),
        log: app.log.child({ name: "retro-review" }),
        onOpen: (n) => options.metrics.overdueOpen.set(n),
      });
    }
    resumed = intake.resume().catch((err: unknown) => {
      app.log.error({ err: redactError(err) }, "could not resume unfinished deliveries");
      return 0;
    });
    // The in-memory ledger holds only this process's deliveries (all alive): nothing to sweep.
    sweep = intake.sweep(
      options.ledger instanceof MemoryDeliveryLedger ? 0 : (options.resumeSweepMs ?? DEFAULT_RESUME_SWEEP_MS),
      (err) =>
        app.log.error({ err: redactError(err) }, "could not look for deliveries of a replica that died"),
    );
    if (options.reconcileOnStart) startup = resumed.then(() => reconcileAll(app, locator, schedule));
    if (options.auditScan) {
      const evaluate = (ref: PrRef, head: string) => {
        locator.heads.set(ref, head);
        void schedule(newJob({ ref, deliveryId: `reconcile-${randomUUID()}`, event: "reconcile" }));
      };
      auditScan = startAuditScan({
        app,
        scan: options.auditScan,
        appId: options.appId,
        recorder: options.recorder,
        ledger: options.ledger,
        tickets: options.tickets,
        reader: options.reader,
        evaluate,
        directPushes: options.directPush ?? null,
        recheckMs: options.directPushRecheckMs,
        sleep: options.sleep,
        branchHeads: options.branchHeads ?? null,
        metrics: options.metrics,
        pace: pacedFor(options.writes, options.metrics),
        enforcement,
      });
    }
    options.metrics.scanEnabled.set(options.auditScan ? 1 : 0);
  };

  let redelivery: Redelivery | null = null;
  const startRedeliveryOnce = (): Redelivery | null => {
    const o = options.redelivery;
    if (redelivery || !o || !probot) return redelivery;
    const app = probot;
    redelivery = startRedelivery({
      intervalMs: o.intervalMs,
      github: appDeliveryLog(
        () => app.auth() as Promise<unknown>,
        (octokit) => instrumentOctokit(octokit as HookableOctokit, options.metrics),
      ),
      processed: (ids) => options.ledger.processed?.(ids) ?? Promise.resolve(new Set<string>()),
      lease: o.lease,
      now: options.now ?? (() => new Date()),
      log: app.log.child({ name: "redelivery" }),
      metrics: options.metrics,
    });
    return redelivery;
  };

  return {
    appFn,
    stop: () => {
      sweep?.stop();
      recheck?.stop();
      auditScan?.stop();
      overdue?.stop();
      redelivery?.stop();
    },
    startRedelivery: startRedeliveryOnce,
    checkOverdue: () => overdue?.tick() ?? Promise.resolve(0),
    idle: async () => {
      await resumed;
      await startup;
      await scheduler.idle();
      while (pushes.size > 0) await Promise.all([...pushes]);
      while (enforcementRuns.size > 0) await Promise.all([...enforcementRuns]);
      await enforcement?.idle();
      await intake.flush();
    },
    resumed: () => resumed,
    stats,
    metrics: options.metrics,
    readiness: options.readiness,
    request,
  };
}

/** `octokitFor` with every write of the Octokit it gives paced by the write scheduler (unchanged without one). */
function pacedOctokitFor<O>(
  writes: WriteScheduler | null,
  metrics: Metrics,
  octokitFor: (id: number) => Promise<O>,
): (id: number) => Promise<O> {
  if (!writes) return octokitFor;
  return async (id) =>
    pacedOctokit(writes, id, (await octokitFor(id)) as unknown as InstallationOctokit, (client) =>
      instrumentOctokit(client as unknown as HookableOctokit, metrics, id),
    ) as unknown as O;
}

/** One installation's Octokit with its writes paced (the scheduled scan's targets); undefined without a scheduler. */
function pacedFor(
  writes: WriteScheduler | null,
  metrics: Metrics,
): ((id: number, octokit: unknown) => unknown) | undefined {
  if (!writes) return undefined;
  return (id, octokit) =>
    pacedOctokit(writes, id, octokit as InstallationOctokit, (client) =>
      instrumentOctokit(client as unknown as HookableOctokit, metrics, id),
    );
}

/** What the merge group and push flows take from the pipeline's deps, with `octokitFor` paced. */
function pacedDeps(
  writes: WriteScheduler | null,
  metrics: Metrics,
  deps: () => PipelineDeps,
): () => MergeGroupDeps {
  return () => {
    const d = deps();
    return {
      recorder: d.store.recorder,
      octokitFor: pacedOctokitFor(writes, metrics, (id) => d.github.octokitFor(id)),
      readerFor: d.github.readerFor,
      now: d.clock.now,
      log: d.log,
    };
  };
}

/** How long one installation's Octokit is reused before a fresh one is built (ms). */
const INSTALLATION_CLIENT_TTL_MS = 10 * 60_000;

/** What the pipeline runs with: the options, Probot's auth and log, and the per-PR memos. */
function pipelineDeps(
  options: ChangegateOptions,
  app: () => Probot,
  locator: Locator,
  schedule: (job: EvaluationJob) => Promise<void>,
  metrics: Metrics,
  teams: TeamCache,
  pendingOf: (key: string) => EvaluationJob | null,
  enforcement: () => PipelineDeps["enforcement"] = () => null,
): () => PipelineDeps {
  const writes = options.writes;
  // An evaluation's queued write is superseded once a newer evaluation of its PR waits. A merge or
  // retro job's writes (the bypass issue entry, the retro-review check, the digest's after-merge
  // sections) are never dropped: a newer evaluation of a merged PR publishes nothing.
  const writerFor = writes
    ? (job: EvaluationJob, octokit: unknown) =>
        scheduledWriter(
          writes,
          job.ref.installationId,
          octokit as InstallationOctokit,
          job.kind === "evaluate" ? () => pendingOf(prKey(job.ref))?.kind === "evaluate" : null,
          (client) =>
            instrumentOctokit(client as unknown as HookableOctokit, metrics, job.ref.installationId),
        )
    : undefined;
  const digestIds = new BoundedMap<string, number>(50_000);
  const lastSeen = new BoundedMap<string, { headSha: string; gated: boolean | null }>(50_000);
  // One installation Octokit per installation (its auth refreshes the token by itself), rebuilt after
  // INSTALLATION_CLIENT_TTL_MS; and one GraphQL read client per installation and token. Building them
  // per evaluation cost ~5 % of the CPU under load.
  const installationClients = new BoundedMap<number, { at: number; octokit: Promise<unknown> }>(10_000);
  const readClients = new BoundedMap<number, unknown>(10_000);
  const octokitFor = async (id: number) => {
    const now = Date.now();
    let held = installationClients.get(id);
    if (!held || now - held.at > INSTALLATION_CLIENT_TTL_MS) {
      const octokit = app()
        .auth(id)
        .then((o) => {
          instrumentOctokit(o as unknown as HookableOctokit, metrics, id);
          return o;
        });
      held = { at: now, octokit };
      installationClients.set(id, held);
      // A failure is not kept: the next evaluation asks again.
      octokit.catch(() => installationClients.get(id) === held && installationClients.delete(id));
    }
    return (await held.octokit) as never;
  };
  const github: PipelineDeps["github"] = {
    octokitFor,
    readerFor: (id, octokit, pause) =>
      createReader(id, octokit as never, {
        ...options.reader,
        clients: readClients,
        pause,
        instrument: (client) => instrumentOctokit(client as HookableOctokit, metrics, id),
      }),
    writerFor,
  };
  const queue: PipelineDeps["queue"] = {
    requestEvaluation: (ref, headSha, reason) => {
      locator.heads.set(ref, headSha);
      void schedule(
        newJob({ ref, deliveryId: `shared-head-${randomUUID()}`, event: reason, expectedHead: headSha }),
      );
    },
    retryLater: (job, delayMs) => {
      setTimeout(() => void schedule(job), delayMs).unref();
    },
  };
  return () => ({
    appId: options.appId,
    log: app().log,
    github,
    store: { recorder: options.recorder, afterMerge: options.afterMerge ?? null },
    jira: { tickets: options.tickets, transitions: options.transitions ?? null },
    memo: { digestIds, lastSeen, teams },
    retry: {
      publishBackoffMs: options.publishBackoffMs,
      staleHeadBackoffMs: options.staleHeadBackoffMs,
      laterRetryMs: options.laterRetryMs,
    },
    queue,
    clock: { now: options.now ?? (() => new Date()), sleep: options.sleep },
    enforcement: enforcement(),
  });
}

/**
 * push events (direct pushes), when a store for their records is wired. The examination runs after
 * GitHub has its answer: it may wait DIRECT_PUSH_RECHECK_MS for GitHub to link a merge commit to its
 * PR, far longer than a webhook may take. `pushes` holds the ones running (health's active count, idle()).
 */
function pushHandler(
  app: Probot,
  options: ChangegateOptions,
  deps: () => MergeGroupDeps,
  pushes: Set<Promise<unknown>>,
): ((id: string, payload: unknown) => void) | undefined {
  const store = options.directPush;
  if (!store) return undefined;
  return (id, payload) => {
    const running = handlePush(
      {
        ...deps(),
        store,
        log: app.log,
        onDirectPush: () => options.metrics.bypass(),
        recheckMs: options.directPushRecheckMs,
        sleep: options.sleep,
        ...(options.branchHeads ? { heads: options.branchHeads } : {}),
      },
      id,
      payload,
    ).catch((err: unknown) => {
      // GitHub already has its answer: the error counter (and its alert) is what makes this seen.
      options.metrics.evaluated("error", null);
      app.log.error(
        { err: redactError(err), delivery: id },
        "a push could not be examined; the audit scan finds it later",
      );
    });
    pushes.add(running);
    void running.finally(() => pushes.delete(running));
  };
}

/** Jira: the webhook route (only with a secret, handlers/jira.ts) and the periodic re-check of PRs waiting on tickets. */
function startJira(
  app: Probot,
  addHandler: Parameters<typeof registerRoute>[1],
  jira: ChangegateOptions["jira"],
  request: (job: JobRequest) => Promise<void>,
): { stop(): void } | null {
  if (!jira) return null;
  onJiraWebhook(app, addHandler, jira, request);
  return startTicketRecheck({
    intervalMs: jira.config.recheckIntervalMs,
    list: () => jira.ticketIndex.waitingOnTickets(),
    evaluate: (ref, reason) => request({ ref, deliveryId: `recheck-${randomUUID()}`, event: reason }),
    log: app.log.child({ name: "jira-recheck" }),
  });
}

/** Evaluate every installation's open PRs (events missed while down). */
function reconcileAll(
  app: Probot,
  locator: Locator,
  schedule: (job: EvaluationJob) => Promise<void>,
): Promise<unknown> {
  return reconcile({
    app: () => app.auth() as never,
    installation: (id) => app.auth(id) as never,
    evaluate: (ref, head) => {
      locator.heads.set(ref, head);
      void schedule(newJob({ ref, deliveryId: "reconcile", event: "reconcile" }));
    },
    log: app.log,
  }).catch((err: unknown) => app.log.error({ err: redactError(err) }, "reconcile failed"));
}

/** The app's credentials are loaded: an app token can be signed (locally, no request). */
async function appCredentials(app: Probot, appId: number): Promise<void> {
  if (!appId) throw new Error("APP_ID is not set");
  const octokit = (await app.auth()) as unknown as { auth(o: { type: "app" }): Promise<{ token?: string }> };
  const auth = await octokit.auth({ type: "app" });
  if (!auth?.token) throw new Error("the app's private key could not sign a token");
}

/** For `probot run lib/index.js`: the app configured from the environment. */
const defaultApp: ApplicationFunction = (app, opts) => createChangegate().appFn(app, opts);
export default defaultApp;
