#!/usr/bin/env node
/**
 * `npm start`: runs changegate with Probot's server. Without APP_ID, Probot's setup page registers
 * the GitHub App from app.yml. SIGTERM stops accepting webhooks and drains running evaluations.
 */
import { Transform } from "node:stream";
import { getTransformStream } from "@probot/pino";
import { pino } from "pino";
import { ProbotOctokit, run } from "probot";
import { ChainWriter } from "./audit/chain-writer.js";
import { describeLocation, openStore, parseDatabaseUrl, type AuditStore } from "./audit/database.js";
import { StoreDeliveryLedger } from "./audit/ledger.js";
import { StoreTicketIndex } from "./audit/ticket-index.js";
import { prLockFor } from "./runtime/pg-pr-lock.js";
import { fetchWithTimeout } from "./github/http.js";
import { createChangegate } from "./index.js";
import { createJiraTicketService } from "./jira/client.js";
import { describeJiraConfig, jiraConfigFromEnv, type JiraConfig } from "./jira/env.js";
import { JIRA_WEBHOOK_PATH, scrubSecretQuery } from "./jira/webhook.js";
import { redact } from "./report/redact.js";
import { secretValues } from "./runtime/secrets.js";
import { limitRequestBodies, MAX_REQUEST_BODY_BYTES, onFirstListen } from "./runtime/body-limit.js";
import { webhookSecretProblem } from "./runtime/startup-checks.js";
import { startCheckpointsFromEnv } from "./runtime/checkpoint-schedule.js";
import { openAppStore } from "./audit/roles.js";

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
      done(null, redact(scrubSecretQuery(chunk.toString()), secrets));
    },
  });
  const format = await getTransformStream({
    logFormat: process.env.LOG_FORMAT === "json" ? "json" : "pretty",
    logLevelInString: process.env.LOG_LEVEL_IN_STRING === "true",
    sentryDsn: process.env.SENTRY_DSN,
  });
  scrub.pipe(format).pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino({ level: process.env.LOG_LEVEL || "info", name: "probot", messageKey: process.env.LOG_MESSAGE_KEY || "msg" }, scrub);
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
        onSecondaryRateLimit: (_retryAfter: number, _opts: unknown, _octokit: unknown, retryCount: number) => retryCount < 2,
      },
}));

function withAuthBaseUrl(options: Record<string, unknown>): { auth?: unknown } {
  const auth = options.auth as { request?: AuthRequest } | undefined;
  if (!auth?.request || typeof options.baseUrl !== "string") return {};
  return { auth: { ...auth, request: auth.request.defaults({ baseUrl: options.baseUrl }) } };
}

const log = await createLog();

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
const tickets = jira ? createJiraTicketService(jira) : null;

// The audit store (SQLite by default, PostgreSQL for replicas): migrated before any webhook is taken.
let store: AuditStore;
try {
  // DATABASE_OWNER_URL set: migrations run as the owner role, the app as DATABASE_URL's restricted role.
  store = await openAppStore(process.env, (url, o) => openStore(url, { ...o, onError: (e) => log.error({ err: redact(e.message) }, "audit store error") }));
} catch (err) {
  log.fatal(redact((err as Error).message));
  process.exit(1);
}
log.info(`audit store: ${describeLocation(parseDatabaseUrl(process.env.DATABASE_URL))}`);
const recorder = new ChainWriter(store);
// Signed checkpoints of the audit trail on a schedule (AUDIT_CHECKPOINT_INTERVAL; off by default).
let checkpoints: { stop(): void } | null = null;
try {
  checkpoints = startCheckpointsFromEnv(store, process.env, log);
} catch (err) {
  await fatal(redact((err as Error).message));
}

const changegate = createChangegate({
  tickets,
  recorder,
  ledger: new StoreDeliveryLedger(store),
  prLock: prLockFor(store),
  jira: jira ? { config: jira, ticketIndex: new StoreTicketIndex(store), cache: tickets } : null,
});
// Probot's run() creates and starts its HTTP server without handing it out. Just before that
// server listens: look at WEBHOOK_SECRET again (run() has now read .env), and put the request body
// limit in front of Probot's webhook middleware, which would otherwise buffer any body whole.
const beforeListen = onFirstListen((http) => {
  const problem = webhookSecretProblem(process.env);
  if (problem) throw new Error(problem);
  limitRequestBodies(http, { maxBytes: MAX_REQUEST_BODY_BYTES, selfLimited: [JIRA_WEBHOOK_PATH], log: log.child({ name: "http" }) });
});
let server: Awaited<ReturnType<typeof run>>;
try {
  server = await run(changegate.appFn, { Octokit: Octokit as typeof ProbotOctokit, log });
} catch (err) {
  await fatal(redact((err as Error).message));
  throw err; // not reached
} finally {
  beforeListen.restore();
}
if (beforeListen.calls !== 1) await fatal("could not put the request body limit in front of Probot's HTTP server; changegate is not starting");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info(`${signal}: no longer accepting webhooks; finishing running evaluations`);
  changegate.stop();
  checkpoints?.stop();
  const deadline = new Promise((r) => setTimeout(r, 25_000).unref());
  try {
    await server.stop();
  } catch {
    // already stopped
  }
  await Promise.race([changegate.idle(), deadline]);
  await store.close().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
