#!/usr/bin/env node
/**
 * `npm start`: runs changegate with Probot's server. Without APP_ID, Probot's setup page registers
 * the GitHub App from app.yml. SIGTERM stops accepting webhooks and drains running evaluations.
 */
// First: the young generation's cap applies before the app's modules are loaded (ops/young-generation.ts).
import { youngGeneration } from "./ops/young-generation.js";
import { Transform } from "node:stream";
import { limitHeapGrowth } from "./runtime/heap.js";
import { getTransformStream } from "@probot/pino";
import { pino } from "pino";
import { ProbotOctokit, run } from "probot";
import { ChainWriter } from "./audit/chain-writer.js";
import { ChainAfterMerge } from "./audit/after-merge.js";
import { ChainDirectPush } from "./audit/direct-push.js";
import { JiraTransitioner } from "./jira/transition.js";
import { overdueIntervalFromEnv } from "./runtime/overdue.js";
import { describeLocation, openStore, parseDatabaseUrl, type AuditStore } from "./audit/database.js";
import { StoreDeliveryLedger } from "./audit/ledger.js";
import { StoreTicketIndex } from "./audit/ticket-index.js";
import { prLockFor } from "./runtime/pg-pr-lock.js";
import { fetchWithTimeout } from "./github/http.js";
import { createChangegate } from "./index.js";
import { createJiraTicketService } from "./jira/client.js";
import { describeJiraConfig, jiraConfigFromEnv, type JiraConfig } from "./jira/env.js";
import {
  JIRA_WEBHOOK_PATH,
  jiraPreflight,
  MAX_JIRA_WEBHOOK_BYTES,
  scrubSecretQuery,
} from "./jira/webhook.js";
import { redact } from "./report/redact.js";
import { secretValues } from "./runtime/secrets.js";
import { boundedErrSerializer, boundLogLine } from "./runtime/log-bounds.js";
import {
  httpLimitsFromEnv,
  limitRequestBodies,
  MAX_IN_FLIGHT_BODY_BYTES,
  MAX_REQUEST_BODY_BYTES,
  onFirstListen,
} from "./runtime/body-limit.js";
import { webhookSecretProblem } from "./runtime/startup-checks.js";
import { Metrics } from "./runtime/metrics.js";
import { Readiness, storeCheck } from "./runtime/readiness.js";
import { loadSmeeClient, wantsWebhookProxy } from "./runtime/webhook-proxy.js";
import { logFormat, REDACT_CENSOR, REDACT_PATHS } from "./runtime/log-options.js";
import { parseScanInterval } from "./runtime/scan-schedule.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS, directPushRecheckFromEnv } from "./runtime/push-settle.js";
import { DEFAULT_MAX_CONCURRENT_EVALUATIONS, maxConcurrentEvaluationsFromEnv } from "./runtime/scheduler.js";
import { createProcessWrites, type ProcessWrites } from "./runtime/writes.js";
import { startCheckpointsFromEnv } from "./runtime/checkpoint-schedule.js";
import {
  metricsPortFromEnv,
  metricsRoute,
  OPEN_METRICS_WARNING,
  startMetricsServer,
} from "./server/metrics.js";
import { pacedOctokit, type InstallationOctokit } from "./github/scheduled-writer.js";
import type { OctokitLike } from "./github/types.js";
import { openAppStore } from "./audit/roles.js";
import { StoreLease } from "./audit/lease.js";
import { LEASE_NAME, leaseHolder, redeliveryIntervalFromEnv } from "./runtime/redelivery.js";
import { SqlBranchHeads } from "./audit/branch-head.js";

// Probot's run() reads ./.env (the environment wins over the file); read it the same way first, so
// the log settings and the start-up checks below see what Probot will use.
try {
  process.loadEnvFile();
} catch {
  // no .env: the environment alone
}

/**
 * Probot's logger, with every line scrubbed of secrets before it is formatted: known secret values,
 * token-shaped strings, and a Jira Data Center `?secret=` token in an access-log URL.
 */
async function createLog() {
  const secrets = secretValues();
  const scrub = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, redact(scrubSecretQuery(boundLogLine(chunk.toString())), secrets));
    },
  });
  const format = await getTransformStream({
    logFormat: logFormat(process.env),
    logLevelInString: process.env.LOG_LEVEL_IN_STRING === "true",
    sentryDsn: process.env.SENTRY_DSN,
  });
  scrub.pipe(format).pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino(
    {
      level: process.env.LOG_LEVEL || "info",
      name: "probot",
      messageKey: process.env.LOG_MESSAGE_KEY || "msg",
      serializers: { err: boundedErrSerializer },
      redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
    },
    scrub,
  );
}

/**
 * Production Octokit: Probot's throttling stays on, and secondary rate limits are retried twice.
 * CHANGEGATE_THROTTLE=off (benchmarks only) turns the write spacing off to measure changegate itself.
 */
const throttleOff = process.env.CHANGEGATE_THROTTLE === "off";
/** The `request` Probot gives the app's auth strategy, which has no GHES baseUrl of its own. */
type AuthRequest = { defaults(options: { baseUrl: string }): unknown };
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  // Probot hands the auth strategy a `request` without the GHE baseUrl, so tokens fetched through
  // octokit.auth() (the GraphQL reader's) would be asked of api.github.com: give it ours.
  ...withAuthBaseUrl(options),
  // Every REST call has a deadline once it leaves the throttling queue (the GraphQL reader has its own).
  request: { ...(options.request as object), fetch: fetchWithTimeout(30_000) },
  throttle: throttleOff
    ? { enabled: false }
    : {
        ...(options.throttle as object),
        onSecondaryRateLimit: (_retryAfter: number, _opts: unknown, _octokit: unknown, retryCount: number) =>
          retryCount < 2,
      },
}));

function withAuthBaseUrl(options: Record<string, unknown>): { auth?: unknown } {
  const auth = options.auth as { request?: AuthRequest } | undefined;
  if (!auth?.request || typeof options.baseUrl !== "string") return {};
  return { auth: { ...auth, request: auth.request.defaults({ baseUrl: options.baseUrl }) } };
}

const heapGrowth = limitHeapGrowth();
const log = await createLog();
log.debug(heapGrowth);
youngGeneration.start();
log.debug(youngGeneration.description);

/** Log why changegate cannot run and exit non-zero, after the line is written. */
async function fatal(message: string): Promise<never> {
  log.fatal(message);
  await new Promise((r) => setTimeout(r, 100));
  process.exit(1);
}

// A registered app (APP_ID) must have its own webhook secret: Probot's default is public.
const secretProblem = webhookSecretProblem(process.env);
if (secretProblem) await fatal(secretProblem);
if (throttleOff) log.warn("CHANGEGATE_THROTTLE=off: GitHub write spacing is disabled (benchmarks only)");

let jira: JiraConfig | null;
try {
  jira = jiraConfigFromEnv(process.env);
} catch (err) {
  log.fatal((err as Error).message);
  process.exit(1);
}
log.info(describeJiraConfig(jira));
const metrics = new Metrics();
const readiness = new Readiness();
const tickets = jira ? createJiraTicketService(jira, { onExchange: (status) => metrics.jira(status) }) : null;

// The audit store (SQLite by default, PostgreSQL for replicas): migrated before any webhook is taken.
let store: AuditStore;
try {
  // DATABASE_OWNER_URL set: migrations run as the owner role, the app as DATABASE_URL's restricted role.
  store = await openAppStore(process.env, (url, o) =>
    openStore(url, { ...o, onError: (e) => log.error({ err: redact(e.message) }, "audit store error") }),
  );
} catch (err) {
  log.fatal(redact((err as Error).message));
  process.exit(1);
}
log.info(`audit store: ${describeLocation(parseDatabaseUrl(process.env.DATABASE_URL))}`);
const recorder = new ChainWriter(store);
readiness.add("store", storeCheck(store));
// The scheduled scan: on by default with APP_ID (hourly); AUDIT_SCAN_INTERVAL=0 turns it off.
let scanIntervalMs: number | null = null;
try {
  scanIntervalMs = parseScanInterval(process.env.AUDIT_SCAN_INTERVAL);
} catch (err) {
  await fatal((err as Error).message);
}
if (!process.env.APP_ID) scanIntervalMs = null;
else if (scanIntervalMs === null)
  log.warn(
    "the audit scan is off (AUDIT_SCAN_INTERVAL=0): merges and pushes whose webhooks are lost are not found until `changegate audit scan` is run",
  );
const ledger = new StoreDeliveryLedger(store);
const branchHeads = new SqlBranchHeads(store.db);
let maxConcurrentEvaluations = DEFAULT_MAX_CONCURRENT_EVALUATIONS;
try {
  maxConcurrentEvaluations = maxConcurrentEvaluationsFromEnv(process.env);
} catch (err) {
  await fatal((err as Error).message);
}
let httpLimits: ReturnType<typeof httpLimitsFromEnv>;
try {
  httpLimits = httpLimitsFromEnv(process.env);
} catch (err) {
  await fatal((err as Error).message);
  throw err; // not reached
}
let directPushRecheckMs = DEFAULT_DIRECT_PUSH_RECHECK_MS;
try {
  directPushRecheckMs = directPushRecheckFromEnv(process.env);
} catch (err) {
  await fatal((err as Error).message);
}

// Check and digest writes are paced by GitHub's documented limits (not Probot's fixed spacing).
let writes: ProcessWrites | null = null;
if (!throttleOff) {
  try {
    writes = await createProcessWrites(process.env, () => log.child({ name: "writes" }));
  } catch (err) {
    await fatal(redact((err as Error).message));
  }
  log.info(writes!.description);
}

// Failed webhook deliveries asked of GitHub again (REDELIVERY_INTERVAL; default 5 min, 0: off).
let redeliveryIntervalMs = 0;
try {
  redeliveryIntervalMs = redeliveryIntervalFromEnv(process.env);
} catch (err) {
  await fatal((err as Error).message);
}

let overdueIntervalMs: number;
try {
  overdueIntervalMs = overdueIntervalFromEnv(process.env);
} catch (err) {
  log.fatal((err as Error).message);
  process.exit(1);
}

// GET /metrics: on a listener of its own with METRICS_PORT (not on the webhook port), else on the
// webhook port, behind METRICS_TOKEN when set; neither set is said at start-up (what it shows).
let metricsPort: number | null = null;
try {
  metricsPort = metricsPortFromEnv(process.env);
} catch (err) {
  await fatal((err as Error).message);
}
if (metricsPort === null && !process.env.METRICS_TOKEN) log.warn(OPEN_METRICS_WARNING);

// Signed checkpoints of the audit trail on a schedule: daily by default once AUDIT_SIGNING_KEY is set.
let checkpoints: { stop(): void } | null = null;
try {
  const scheduler = writes?.scheduler;
  checkpoints = startCheckpointsFromEnv(store, process.env, log, {
    ledger,
    metrics,
    ...(scheduler
      ? {
          pace: (id: number, octokit: OctokitLike) =>
            pacedOctokit(scheduler, id, octokit as InstallationOctokit),
        }
      : {}),
  });
} catch (err) {
  await fatal(redact((err as Error).message));
}

const changegate = createChangegate({
  writes: writes?.scheduler ?? null,
  tickets,
  recorder,
  ledger,
  prLock: prLockFor(store),
  jira: jira ? { config: jira, ticketIndex: new StoreTicketIndex(store), cache: tickets } : null,
  metrics,
  readiness,
  auditScan: scanIntervalMs ? { intervalMs: scanIntervalMs, store } : null,
  afterMerge: new ChainAfterMerge(recorder),
  directPush: new ChainDirectPush(recorder),
  directPushRecheckMs,
  branchHeads,
  maxConcurrentEvaluations,
  transitions: jira ? new JiraTransitioner(jira) : null,
  overdueIntervalMs,
  metricsOnWebhookPort: metricsPort === null,
  redelivery:
    redeliveryIntervalMs > 0
      ? { intervalMs: redeliveryIntervalMs, lease: new StoreLease(store, LEASE_NAME, leaseHolder()) }
      : null,
});
let metricsServer: { port: number; close(): Promise<void> } | null = null;
if (metricsPort !== null) {
  try {
    metricsServer = await startMetricsServer(
      metricsRoute(metrics, process.env.METRICS_TOKEN || undefined),
      metricsPort,
    );
  } catch (err) {
    await fatal(`METRICS_PORT=${metricsPort}: cannot listen: ${(err as Error).message}`);
  }
  log.info(
    `GET /metrics on port ${metricsPort} only${process.env.METRICS_TOKEN ? " (METRICS_TOKEN required)" : ""}`,
  );
}
// Probot's run() creates and starts its HTTP server without handing it out. Just before that
// server listens: look at WEBHOOK_SECRET again (run() has now read .env), and put the request body
// limit in front of Probot's webhook middleware, which would otherwise buffer any body whole.
const beforeListen = onFirstListen((http) => {
  const problem = webhookSecretProblem(process.env);
  if (problem) throw new Error(problem);
  const httpLog = log.child({ name: "http" });
  // The Jira route (registered only with its secret): its secret checked before its body is read,
  // its body read under the same in-flight budget as every other.
  const jiraSecret = jira?.webhookSecret;
  const routes = jiraSecret
    ? [
        {
          path: JIRA_WEBHOOK_PATH,
          maxBytes: MAX_JIRA_WEBHOOK_BYTES,
          preflight: jiraPreflight(jiraSecret, log.child({ name: "jira-webhook" })),
        },
      ]
    : [];
  limitRequestBodies(http, {
    maxBytes: MAX_REQUEST_BODY_BYTES,
    maxInFlightBytes: MAX_IN_FLIGHT_BODY_BYTES,
    ...httpLimits,
    routes,
    log: httpLog,
  });
});
// smee.io for local development (setup page, WEBHOOK_PROXY_URL): a devDependency, said once if missing.
const smee = wantsWebhookProxy(process.env) ? await loadSmeeClient() : { SmeeClient: null, problem: null };
if (smee.problem) log.warn(smee.problem);
let server: Awaited<ReturnType<typeof run>>;
try {
  server = await run(changegate.appFn, {
    Octokit: Octokit as typeof ProbotOctokit,
    log,
    ...(smee.SmeeClient ? { SmeeClient: smee.SmeeClient as never } : {}),
  });
} catch (err) {
  await fatal(redact((err as Error).message));
  throw err; // not reached
} finally {
  beforeListen.restore();
}
if (beforeListen.calls !== 1)
  await fatal(
    "could not put the request body limit in front of Probot's HTTP server; changegate is not starting",
  );
// The server listens now: a redelivery GitHub sends at once finds it.
changegate.startRedelivery();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  readiness.shutdown();
  log.info(`${signal}: no longer accepting webhooks; finishing running evaluations`);
  changegate.stop();
  checkpoints?.stop();
  const deadline = new Promise((r) => setTimeout(r, 25_000).unref());
  try {
    await server.stop();
  } catch {
    // already stopped
  }
  await metricsServer?.close().catch(() => {});
  await Promise.race([changegate.idle(), deadline]);
  await store.close().catch(() => {});
  await writes?.close().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
