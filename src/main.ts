#!/usr/bin/env node
/**
 * `npm start`: runs changegate with Probot's server. Without APP_ID, Probot's setup page registers
 * the GitHub App from app.yml. SIGTERM stops accepting webhooks and drains running evaluations.
 */
import { Transform } from "node:stream";
import { limitHeapGrowth } from "./ops/heap.js";
import { getTransformStream } from "@probot/pino";
import { pino } from "pino";
import { ProbotOctokit, run } from "probot";
import { ChainWriter } from "./audit/chain-writer.js";
import { ChainAfterMerge } from "./audit/after-merge.js";
import { ChainDirectPush } from "./audit/direct-push.js";
import { ChainEnforcement } from "./audit/enforcement.js";
import { JiraTransitioner } from "./jira/transition.js";
import { describeLocation, openStore, parseDatabaseUrl, type AuditStore } from "./audit/database.js";
import { StoreDeliveryLedger } from "./audit/ledger.js";
import { StoreTicketIndex } from "./audit/ticket-index.js";
import { prLockFor } from "./intake/pg-pr-lock.js";
import { fetchWithTimeout } from "./github/http.js";
import { createChangegate } from "./index.js";
import { createJiraTicketService } from "./jira/client.js";
import { JiraHttp } from "./jira/http.js";
import { describeJiraConfig } from "./jira/env.js";
import {
  JIRA_WEBHOOK_PATH,
  jiraPreflight,
  MAX_JIRA_WEBHOOK_BYTES,
  scrubSecretQuery,
} from "./jira/webhook.js";
import { redact } from "./report/redact.js";
import { secretValues } from "./ops/secrets.js";
import { boundedErrSerializer, boundLogLine } from "./ops/log-bounds.js";
import {
  limitRequestBodies,
  MAX_IN_FLIGHT_BODY_BYTES,
  MAX_REQUEST_BODY_BYTES,
  onFirstListen,
} from "./server/body-limit.js";
import { webhookSecretProblem } from "./server/startup-checks.js";
import { loggingSettings, parseSettings, SettingsError, type Settings } from "./settings.js";
import { Metrics } from "./ops/metrics.js";
import { Readiness, storeCheck } from "./ops/readiness.js";
import { loadSmeeClient, wantsWebhookProxy } from "./server/webhook-proxy.js";
import { REDACT_CENSOR, REDACT_PATHS } from "./ops/log-options.js";
import { createProcessWrites, type ProcessWrites } from "./github/writes.js";
import { startCheckpoints } from "./background/checkpoints.js";
import { metricsRoute, OPEN_METRICS_WARNING, startMetricsServer } from "./server/metrics.js";
import { pacedOctokit, type InstallationOctokit } from "./github/scheduled-writer.js";
import type { OctokitLike } from "./github/types.js";
import { openAppStore } from "./audit/roles.js";
import { StoreLease } from "./audit/lease.js";
import { LEASE_NAME, leaseHolder } from "./background/redelivery.js";
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
async function createLog(logging: Settings["logging"]) {
  const secrets = secretValues();
  const scrub = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, redact(scrubSecretQuery(boundLogLine(chunk.toString())), secrets));
    },
  });
  const format = await getTransformStream({
    logFormat: logging.format,
    logLevelInString: logging.levelInString,
    sentryDsn: logging.sentryDsn ?? undefined,
  });
  scrub.pipe(format).pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino(
    {
      level: logging.level,
      name: "probot",
      messageKey: logging.messageKey,
      serializers: { err: boundedErrSerializer },
      redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
    },
    scrub,
  );
}

// Every setting, parsed once: all that is wrong is said at once, and changegate does not start.
const checked = parseSettings(process.env);

/**
 * Production Octokit: Probot's throttling stays on, and secondary rate limits are retried twice.
 * CHANGEGATE_THROTTLE=off (benchmarks only) turns the write spacing off to measure changegate itself.
 */
const throttleOff = checked.settings?.writes.throttleOff ?? false;
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

const heapGrowth = limitHeapGrowth(process.execArgv, checked.settings?.platform.nodeOptions ?? "");
const log = await createLog(loggingSettings(process.env));
log.debug(heapGrowth);

/** Log why changegate cannot run and exit non-zero, after the line is written. */
async function fatal(message: string): Promise<never> {
  log.fatal(message);
  await new Promise((r) => setTimeout(r, 100));
  process.exit(1);
}

/** A start-up step that does I/O (the store, Redis, a listener): its failure is fatal, said without secrets. */
async function orFatal<T>(step: Promise<T>, prefix = ""): Promise<T> {
  try {
    return await step;
  } catch (err) {
    return fatal(prefix + redact((err as Error).message));
  }
}

if (checked.settings === null) await fatal(new SettingsError(checked.problems).message);
const settings = checked.settings!;
const { background } = settings;
if (throttleOff) log.warn("CHANGEGATE_THROTTLE=off: GitHub write spacing is disabled (benchmarks only)");

const jira = settings.jira;
log.info(describeJiraConfig(jira));
const metrics = new Metrics();
const readiness = new Readiness();
// One Jira HTTP client: lookups and transitions share JIRA_MAX_CONCURRENCY and the metrics.
const jiraHttp = jira ? new JiraHttp(jira, { onExchange: (status) => metrics.jira(status) }) : null;
const tickets = jira && jiraHttp ? createJiraTicketService(jira, { http: jiraHttp }) : null;

// The audit store (SQLite by default, PostgreSQL for replicas): migrated before any webhook is taken.
// DATABASE_OWNER_URL set: migrations run as the owner role, the app as DATABASE_URL's restricted role.
const store: AuditStore = await orFatal(
  openAppStore(settings.store, (url, o) =>
    openStore(url, { ...o, onError: (e) => log.error({ err: redact(e.message) }, "audit store error") }),
  ),
);
log.info(`audit store: ${describeLocation(parseDatabaseUrl(settings.store.databaseUrl))}`);
const recorder = new ChainWriter(store);
readiness.add("store", storeCheck(store));
// The scheduled scan: on by default with APP_ID (hourly); AUDIT_SCAN_INTERVAL=0 turns it off.
const scanIntervalMs = settings.github.appId === null ? null : background.scanIntervalMs;
if (settings.github.appId !== null && scanIntervalMs === null)
  log.warn(
    "the audit scan is off (AUDIT_SCAN_INTERVAL=0): merges and pushes whose webhooks are lost are not found until `changegate audit scan` is run",
  );
const ledger = new StoreDeliveryLedger(store);
const branchHeads = new SqlBranchHeads(store.db);

// Check and digest writes are paced by GitHub's documented limits (not Probot's fixed spacing).
let writes: ProcessWrites | null = null;
if (!throttleOff) {
  writes = await orFatal(createProcessWrites(settings.writes, () => log.child({ name: "writes" })));
  log.info(writes.description);
}

// GET /metrics: on a listener of its own with METRICS_PORT (not on the webhook port), else on the
// webhook port, behind METRICS_TOKEN when set; neither set is said at start-up (what it shows).
const metricsPort = settings.metrics.port;
if (metricsPort === null && !settings.metrics.token) log.warn(OPEN_METRICS_WARNING);

// Signed checkpoints of the audit trail on a schedule: daily by default once AUDIT_SIGNING_KEY is set.
const scheduler = writes?.scheduler;
const checkpoints = startCheckpoints(store, settings, log, {
  ledger,
  metrics,
  ...(scheduler
    ? {
        pace: (id: number, octokit: OctokitLike) =>
          pacedOctokit(scheduler, id, octokit as InstallationOctokit),
      }
    : {}),
});

const changegate = createChangegate({
  writes: writes?.scheduler ?? null,
  tickets,
  recorder,
  ledger,
  prLock: prLockFor(store),
  jira: jira ? { config: jira, ticketIndex: new StoreTicketIndex(store), cache: tickets } : null,
  metrics,
  readiness,
  appId: settings.github.appId ?? 0,
  reconcileOnStart: background.reconcileOnStart,
  metricsToken: settings.metrics.token ?? undefined,
  auditScan: scanIntervalMs ? { intervalMs: scanIntervalMs, store } : null,
  afterMerge: new ChainAfterMerge(recorder),
  directPush: new ChainDirectPush(recorder),
  enforcement: new ChainEnforcement(recorder),
  directPushRecheckMs: background.directPushRecheckMs,
  branchHeads,
  maxConcurrentEvaluations: settings.writes.maxConcurrentEvaluations,
  transitions: jira && jiraHttp ? new JiraTransitioner(jira, { http: jiraHttp }) : null,
  overdueIntervalMs: background.overdueIntervalMs,
  metricsOnWebhookPort: metricsPort === null,
  redelivery:
    background.redeliveryIntervalMs > 0
      ? {
          intervalMs: background.redeliveryIntervalMs,
          lease: new StoreLease(store, LEASE_NAME, leaseHolder()),
        }
      : null,
});
let metricsServer: { port: number; close(): Promise<void> } | null = null;
if (metricsPort !== null) {
  metricsServer = await orFatal(
    startMetricsServer(metricsRoute(metrics, settings.metrics.token ?? undefined), metricsPort),
    `METRICS_PORT=${metricsPort}: cannot listen: `,
  );
  log.info(
    `GET /metrics on port ${metricsPort} only${settings.metrics.token ? " (METRICS_TOKEN required)" : ""}`,
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
    bodyTimeoutMs: settings.http.bodyTimeoutMs,
    maxRequestsPerClient: settings.http.maxRequestsPerClient,
    routes,
    log: httpLog,
  });
});
// smee.io for local development (setup page, WEBHOOK_PROXY_URL): a devDependency, said once if missing.
const smee = wantsWebhookProxy(settings.github.appId, settings.webhooks.proxyUrl)
  ? await loadSmeeClient()
  : { SmeeClient: null, problem: null };
if (smee.problem) log.warn(smee.problem);
const server = await orFatal(
  run(changegate.appFn, {
    Octokit: Octokit as typeof ProbotOctokit,
    log,
    ...(smee.SmeeClient ? { SmeeClient: smee.SmeeClient as never } : {}),
  }).finally(() => beforeListen.restore()),
);
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
