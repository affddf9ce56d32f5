/**
 * settings: every environment variable changegate (the app and the command line) reads, in ONE zod
 * schema, parsed once at the edges (main.ts, the CLI's commands) into typed, grouped settings that
 * the rest of the code is handed. Nothing else reads process.env. One file on purpose (over 400
 * lines): every variable, its default and its rule are read in one place, as `.env.example` lists them.
 *
 * Parsing reports EVERY problem at once: each names the variable, what was given (a secret's value
 * never: only its length) and what is allowed. Unset and blank are the same thing (a deployment
 * template often leaves `NAME=`).
 *
 * Durations have one rule set (`duration()`): a whole number in the unit the variable documents
 * (milliseconds for *_MS, else seconds), or a whole number with a unit — `ms`, `s`, `m`, `h`, `d`
 * (`90s`, `5m`, `1h`, `1d`; case and a space before the unit do not matter); where the variable can
 * be turned off, `0` or `off` (any case) turns it off (0). Then the variable's range.
 */
import { z } from "zod";
import { loadSigningKey, type SigningKey } from "./audit/checkpoint.js";
import { parseDatabaseUrl } from "./audit/database.js";
import { GITHUB_WRITE_LIMITS, limitsSchema, type WriteLimits } from "./github/write-limits.js";
import type { JiraAuth, JiraConfig } from "./jira/env.js";
import { webhookSecretProblem } from "./server/startup-checks.js";

export type Env = Record<string, string | undefined>;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };

// ------------------------------------------------------------------ value types

/** A problem with a value: what is allowed (the variable's name and the given value are added). */
function refuse(ctx: z.RefinementCtx, expected: string): never {
  ctx.addIssue({ code: "custom", message: expected });
  return z.NEVER as never;
}

/** A duration said the way people read it: 60 seconds, 5 minutes, 1 day, 250 ms. */
export function describeMs(ms: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (ms >= DAY && ms % DAY === 0) return plural(ms / DAY, "day");
  if (ms >= HOUR && ms % HOUR === 0) return plural(ms / HOUR, "hour");
  if (ms >= 2 * MINUTE && ms % MINUTE === 0) return plural(ms / MINUTE, "minute");
  if (ms % SECOND === 0) return plural(ms / SECOND, "second");
  return `${ms} ms`;
}

export interface DurationRule {
  /** The unit of a plain whole number (what the variable documents: *_MS in ms, the others in s). */
  unit: "ms" | "s";
  /** Least and most, in ms (0 and `off` are allowed besides when `off` is true). */
  min: number;
  max?: number;
  /** Unset or blank: this many ms. */
  fallback: number;
  /** `0` or `off` turns the thing off (the value 0). */
  off?: boolean;
}

/**
 * The one duration rule set: a whole number in `rule.unit`, or a whole number with ms/s/m/h/d;
 * `0`/`off` for off where `rule.off`; then [min, max]. Returns ms, or null with `why` said.
 */
export function parseDuration(
  text: string,
  rule: DurationRule,
): { ms: number; problem: null } | { ms: null; problem: string } {
  const v = text.trim().toLowerCase();
  const offText = rule.off ? ", or 0 or off to turn it off" : "";
  const range =
    rule.max === undefined
      ? `at least ${describeMs(rule.min)}`
      : `between ${describeMs(rule.min)} and ${describeMs(rule.max)}`;
  if (rule.off && (v === "off" || v === "0")) return { ms: 0, problem: null };
  const m = /^(\d{1,15})\s*(ms|s|m|h|d)?$/.exec(v);
  if (!m)
    return {
      ms: null,
      problem: `expected ${rule.unit === "s" ? "seconds" : "milliseconds"} or a number with s, m, h or d (or ms), e.g. ${rule.unit === "s" ? "5m" : "90s"}${offText}; ${range} (default ${describeMs(rule.fallback)})`,
    };
  const ms = Number(m[1]) * UNITS[m[2] ?? rule.unit]!;
  if (!Number.isSafeInteger(ms) || ms < rule.min || (rule.max !== undefined && ms > rule.max))
    return { ms: null, problem: `expected ${range}${offText} (default ${describeMs(rule.fallback)})` };
  return { ms, problem: null };
}

/** A duration variable (see parseDuration): ms, 0 when turned off. */
function duration(rule: DurationRule) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      if (raw === undefined) return rule.fallback;
      const r = parseDuration(raw, rule);
      return r.ms ?? refuse(ctx, r.problem!);
    });
}

function int<F extends number | null>(min: number, max: number, fallback: F, what = "a whole number") {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number | F => {
      if (raw === undefined) return fallback;
      const v = raw.trim();
      const n = Number(v);
      if (!/^\d{1,15}$/.test(v) || n < min || n > max)
        return refuse(
          ctx,
          `expected ${what} from ${min} to ${max}${fallback === null ? "" : ` (default ${fallback})`}`,
        );
      return n;
    });
}

function bool(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): boolean => {
      if (raw === undefined) return fallback;
      const v = raw.trim().toLowerCase();
      if (v === "true") return true;
      if (v === "false") return false;
      return refuse(ctx, `expected true or false (default ${fallback})`);
    });
}

function oneOf<const T extends string, F extends T | undefined>(
  values: readonly T[],
  fallback: F,
  said?: string,
) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | F => {
      if (raw === undefined) return fallback;
      const v = raw.trim().toLowerCase();
      return (values as readonly string[]).includes(v)
        ? (v as T)
        : refuse(ctx, `expected ${values.join(", ")} (default ${said ?? fallback})`);
    });
}

/** Free text, trimmed (undefined when unset or blank). */
const text = z
  .string()
  .optional()
  .transform((raw) => raw?.trim());

/** Text kept exactly as given (a PEM key, a secret whose length counts). */
const verbatim = z.string().optional();

function matching(re: RegExp, expected: string) {
  return text.transform((v, ctx) => (v === undefined || re.test(v) ? v : refuse(ctx, expected)));
}

function url(protocols: readonly string[], expected: string) {
  return text.transform((v, ctx) => {
    if (v === undefined) return v;
    try {
      const u = new URL(v);
      if (protocols.includes(u.protocol)) return v;
    } catch {
      // refused below
    }
    return refuse(ctx, expected);
  });
}

// ------------------------------------------------------------------ the schema

/**
 * The groups of settings. `loadSettings(env, [groups])` parses only those (the CLI reads only what
 * its command needs: a bad MAX_CONCURRENT_EVALUATIONS does not stop `changegate audit verify`).
 */
export const GROUPS = [
  "github",
  "webhooks",
  "http",
  "metrics",
  "logging",
  "store",
  "writes",
  "jira",
  "background",
  "checkpoints",
  "audit",
  "cli",
  "platform",
] as const;
export type Group = (typeof GROUPS)[number];

interface Spec {
  group: Group;
  /** A secret: never echoed in a message, and redacted from every log line (ops/secrets.ts). */
  secret?: true;
  /** Not a secret, but may carry one (a URL with credentials): never echoed in a message. */
  quiet?: true;
}

const GITHUB_API_URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(\/[\w./-]*)?$/;

/** Every variable: its group, and whether its value may be shown. Same keys as `settingsSchema`. */
export const SPECS = {
  APP_ID: { group: "github" },
  PRIVATE_KEY: { group: "github", secret: true },
  PRIVATE_KEY_PATH: { group: "github" },
  GITHUB_TOKEN: { group: "github", secret: true },
  GHE_HOST: { group: "github" },
  GHE_PROTOCOL: { group: "github" },
  GITHUB_API_URL: { group: "github", quiet: true },
  WEBHOOK_SECRET: { group: "webhooks", secret: true },
  WEBHOOK_PROXY_URL: { group: "webhooks", secret: true },
  PORT: { group: "http" },
  HOST: { group: "http" },
  HTTP_BODY_TIMEOUT_SECONDS: { group: "http" },
  HTTP_MAX_REQUESTS_PER_CLIENT: { group: "http" },
  METRICS_PORT: { group: "metrics" },
  METRICS_TOKEN: { group: "metrics", secret: true },
  LOG_LEVEL: { group: "logging" },
  LOG_FORMAT: { group: "logging" },
  NODE_ENV: { group: "logging" },
  LOG_LEVEL_IN_STRING: { group: "logging" },
  LOG_MESSAGE_KEY: { group: "logging" },
  SENTRY_DSN: { group: "logging", secret: true },
  DATABASE_URL: { group: "store", secret: true },
  DATABASE_OWNER_URL: { group: "store", secret: true },
  REDIS_URL: { group: "writes", secret: true },
  MAX_CONCURRENT_EVALUATIONS: { group: "writes" },
  CHANGEGATE_THROTTLE: { group: "writes" },
  CHANGEGATE_WRITE_LIMITS: { group: "writes" },
  JIRA_BASE_URL: { group: "jira", quiet: true },
  JIRA_EMAIL: { group: "jira" },
  JIRA_API_TOKEN: { group: "jira", secret: true },
  JIRA_PAT: { group: "jira", secret: true },
  JIRA_WEBHOOK_SECRET: { group: "jira", secret: true },
  JIRA_TIMEOUT_MS: { group: "jira" },
  JIRA_CACHE_TTL_MS: { group: "jira" },
  JIRA_MAX_CONCURRENCY: { group: "jira" },
  JIRA_RECHECK_INTERVAL_MS: { group: "jira" },
  AUDIT_SCAN_INTERVAL: { group: "background" },
  REDELIVERY_INTERVAL: { group: "background" },
  RECONCILE_ON_START: { group: "background" },
  DIRECT_PUSH_RECHECK_MS: { group: "background" },
  RETRO_REVIEW_CHECK_INTERVAL_MS: { group: "background" },
  AUDIT_SIGNING_KEY: { group: "checkpoints", secret: true },
  AUDIT_CHECKPOINT_INTERVAL: { group: "checkpoints" },
  AUDIT_CHECKPOINT_FILE: { group: "checkpoints" },
  AUDIT_ISSUE_REPO: { group: "checkpoints" },
  AUDIT_VERIFY_KEY: { group: "audit" },
  AUDIT_DATABASE_ID: { group: "audit" },
  CHANGEGATE_SEARCH_PACE_MS: { group: "cli" },
  GITHUB_ACTIONS: { group: "platform" },
  GITHUB_REPOSITORY: { group: "platform" },
  NODE_OPTIONS: { group: "platform" },
} as const satisfies Record<string, Spec>;

export type SettingName = keyof typeof SPECS;

/** The names whose values are secrets (redacted from logs; never echoed). */
export const SECRET_SETTINGS: readonly SettingName[] = (Object.keys(SPECS) as SettingName[]).filter(
  (k) => (SPECS[k] as Spec).secret,
);

export const DEFAULTS = {
  port: 3000,
  bodyTimeoutMs: 20 * SECOND,
  maxRequestsPerClient: 32,
  maxConcurrentEvaluations: 32,
  scanIntervalMs: HOUR,
  redeliveryIntervalMs: 5 * MINUTE,
  directPushRecheckMs: 15 * SECOND,
  overdueIntervalMs: 10 * MINUTE,
  checkpointIntervalMs: DAY,
  jiraTimeoutMs: 10 * SECOND,
  jiraCacheTtlMs: MINUTE,
  jiraMaxConcurrency: 4,
  jiraRecheckIntervalMs: 0,
} as const;

/** ONE schema over every variable (each field takes the raw string, undefined when unset/blank). */
export const settingsSchema = z.object({
  // --- github: the app's identity and the CLI's credentials
  APP_ID: matching(/^\d{1,12}$/, "expected the GitHub App's numeric id").refine(
    (v) => v === undefined || Number(v) > 0,
    "expected the GitHub App's numeric id",
  ),
  PRIVATE_KEY: verbatim,
  PRIVATE_KEY_PATH: text,
  GITHUB_TOKEN: text,
  GHE_HOST: matching(
    /^[A-Za-z0-9.-]+(?::\d{1,5})?$/,
    "expected a host name (and port), e.g. github.example.com",
  ),
  GHE_PROTOCOL: oneOf(["https", "http"], "https"),
  GITHUB_API_URL: matching(
    GITHUB_API_URL_RE,
    "expected an http(s) URL without credentials, e.g. https://api.github.com",
  ),
  // --- webhooks
  WEBHOOK_SECRET: verbatim,
  WEBHOOK_PROXY_URL: url(["https:", "http:"], "expected a smee.io channel URL (https://smee.io/…)"),
  // --- http
  PORT: int(1, 65535, DEFAULTS.port),
  HOST: text,
  HTTP_BODY_TIMEOUT_SECONDS: duration({ unit: "s", min: SECOND, max: 300 * SECOND, fallback: 20 * SECOND }),
  HTTP_MAX_REQUESTS_PER_CLIENT: int(1, 100_000, DEFAULTS.maxRequestsPerClient),
  // --- metrics
  METRICS_PORT: int(1, 65535, null, "a port number"),
  METRICS_TOKEN: text,
  // --- logging
  LOG_LEVEL: oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
  LOG_FORMAT: oneOf(["json", "pretty"], undefined, "json when NODE_ENV=production, else pretty"),
  NODE_ENV: text,
  LOG_LEVEL_IN_STRING: bool(false),
  LOG_MESSAGE_KEY: matching(/^[\w.-]{1,64}$/, "expected a JSON key such as msg or message"),
  SENTRY_DSN: url(["https:", "http:"], "expected Sentry's DSN (https://…@….ingest.sentry.io/…)"),
  // --- store
  // Checked by the app's whole parse (WHOLE below); the CLI's commands say what is wrong with the
  // URL they open as they always have (with --database too).
  DATABASE_URL: text,
  DATABASE_OWNER_URL: text,
  // --- writes
  REDIS_URL: url(["redis:", "rediss:"], "expected redis://[user:password@]host:port[/db] or rediss://…"),
  MAX_CONCURRENT_EVALUATIONS: int(1, 1000, DEFAULTS.maxConcurrentEvaluations),
  CHANGEGATE_THROTTLE: oneOf(["on", "off"], "on"),
  CHANGEGATE_WRITE_LIMITS: text.transform(writeLimits),
  // --- jira
  JIRA_BASE_URL: text.transform(jiraBaseUrl),
  JIRA_EMAIL: text,
  JIRA_API_TOKEN: text,
  JIRA_PAT: text,
  JIRA_WEBHOOK_SECRET: text,
  JIRA_TIMEOUT_MS: duration({ unit: "ms", min: 100, max: 5 * MINUTE, fallback: DEFAULTS.jiraTimeoutMs }),
  JIRA_CACHE_TTL_MS: duration({ unit: "ms", min: 0, max: HOUR, fallback: DEFAULTS.jiraCacheTtlMs }),
  JIRA_MAX_CONCURRENCY: int(1, 64, DEFAULTS.jiraMaxConcurrency),
  JIRA_RECHECK_INTERVAL_MS: duration({ unit: "ms", min: 10 * SECOND, max: DAY, fallback: 0, off: true }),
  // --- background intervals
  AUDIT_SCAN_INTERVAL: duration({ unit: "s", min: MINUTE, fallback: DEFAULTS.scanIntervalMs, off: true }),
  REDELIVERY_INTERVAL: duration({
    unit: "s",
    min: 30 * SECOND,
    max: DAY,
    fallback: DEFAULTS.redeliveryIntervalMs,
    off: true,
  }),
  RECONCILE_ON_START: bool(false),
  DIRECT_PUSH_RECHECK_MS: duration({
    unit: "ms",
    min: 0,
    max: 10 * MINUTE,
    fallback: DEFAULTS.directPushRecheckMs,
  }),
  RETRO_REVIEW_CHECK_INTERVAL_MS: duration({
    unit: "ms",
    min: SECOND,
    fallback: DEFAULTS.overdueIntervalMs,
    off: true,
  }),
  // --- checkpoints
  AUDIT_SIGNING_KEY: z
    .string()
    .optional()
    .transform((raw, ctx): SigningKey | undefined => {
      if (raw === undefined) return undefined;
      try {
        return loadSigningKey(raw); // its messages never carry the key
      } catch (err) {
        return refuse(ctx, (err as Error).message);
      }
    }),
  AUDIT_CHECKPOINT_INTERVAL: duration({
    unit: "s",
    min: 5 * MINUTE,
    max: 30 * DAY,
    fallback: DEFAULTS.checkpointIntervalMs,
    off: true,
  }),
  AUDIT_CHECKPOINT_FILE: text,
  AUDIT_ISSUE_REPO: matching(
    /^[\w.-]+\/[\w.-]+$/,
    "expected owner/name (the repository of the pinned checkpoint issue)",
  ),
  // --- audit (the CLI's verify and report; the checkpoints' database name)
  AUDIT_VERIFY_KEY: text,
  AUDIT_DATABASE_ID: text,
  // --- cli
  CHANGEGATE_SEARCH_PACE_MS: duration({ unit: "ms", min: 0, max: MINUTE, fallback: -1 }),
  // --- platform (set by GitHub Actions or Node, not by an operator)
  GITHUB_ACTIONS: text,
  GITHUB_REPOSITORY: text,
  NODE_OPTIONS: text,
} satisfies Record<SettingName, z.ZodType>);

type Parsed = z.output<typeof settingsSchema>;

/** The store's URLs (the app's whole parse): the scheme and shape, said without credentials. */
function databaseUrlProblems(env: Env): string[] {
  const problems: string[] = [];
  for (const name of ["DATABASE_URL", "DATABASE_OWNER_URL"] as const) {
    const v = env[name]?.trim();
    if (v === undefined) continue;
    try {
      parseDatabaseUrl(v);
    } catch (err) {
      problems.push(`${name}${given(name, v)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

function writeLimits(v: string | undefined, ctx: z.RefinementCtx): WriteLimits {
  if (v === undefined) return GITHUB_WRITE_LIMITS;
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch {
    return refuse(ctx, 'not JSON (expected e.g. {"perHour": 50, "hourMs": 60000})');
  }
  const parsed = limitsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return refuse(ctx, `${issue.path.join(".") || "(the object)"}: ${issue.message}`);
  }
  const limits = { ...GITHUB_WRITE_LIMITS, ...parsed.data };
  if (limits.checkReserve >= limits.perHour) return refuse(ctx, "checkReserve must be below perHour");
  return limits;
}

function jiraBaseUrl(v: string | undefined, ctx: z.RefinementCtx): string | undefined {
  if (v === undefined) return v;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return refuse(
      ctx,
      "JIRA_BASE_URL is not a URL: expected e.g. https://acme.atlassian.net or https://jira.acme.com/jira",
    );
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    return refuse(ctx, `JIRA_BASE_URL must start with https:// (or http://), not ${u.protocol}//`);
  if (u.username || u.password)
    return refuse(
      ctx,
      "JIRA_BASE_URL must not contain credentials (user:password@): use JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT",
    );
  if (u.search || u.hash)
    return refuse(
      ctx,
      "JIRA_BASE_URL must not have a query string or fragment: give the site's base address only",
    );
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

// ------------------------------------------------------------------ checks across variables

export const MIN_JIRA_WEBHOOK_SECRET_LENGTH = 16;
/** Jira variables that mean someone meant to configure Jira (tuning knobs alone do not). */
const JIRA_CONFIGURING = ["JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"] as const;

/** Problems that involve more than one variable, per group; run on the raw (trimmed, blank = unset) values. */
const CROSS: Partial<Record<Group, (env: Env) => string[]>> = {
  webhooks: (env) => {
    const p = webhookSecretProblem(env);
    return p ? [p] : [];
  },
  metrics: (env) => {
    const port = env.METRICS_PORT?.trim();
    const webhookPort = env.PORT?.trim() || String(DEFAULTS.port);
    return port !== undefined && /^\d+$/.test(port) && Number(port) === Number(webhookPort)
      ? [
          `METRICS_PORT=${Number(port)} is the webhook port (PORT): give /metrics a port of its own, or leave METRICS_PORT unset`,
        ]
      : [];
  },
  jira: jiraCrossProblems,
  checkpoints: (env) => {
    const interval = env.AUDIT_CHECKPOINT_INTERVAL?.trim().toLowerCase();
    return interval !== undefined &&
      interval !== "0" &&
      interval !== "off" &&
      env.AUDIT_SIGNING_KEY === undefined
      ? [
          `AUDIT_CHECKPOINT_INTERVAL is set but there is no signing key: set AUDIT_SIGNING_KEY to an Ed25519 private key (PKCS#8 PEM or base64 DER), or unset AUDIT_CHECKPOINT_INTERVAL`,
        ]
      : [];
  },
};

/** Checks of the app's whole parse only (every group asked for: main.ts). */
const WHOLE: ((env: Env) => string[])[] = [databaseUrlProblems];

function jiraCrossProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.JIRA_BASE_URL === undefined) {
    const named = JIRA_CONFIGURING.filter((k) => env[k] !== undefined);
    if (named.length > 0)
      problems.push(
        `JIRA_BASE_URL is not set, but ${named.join(", ")} ${named.length === 1 ? "is" : "are"}: set JIRA_BASE_URL too, or unset ${named.length === 1 ? "it" : "them"} to run without Jira`,
      );
    return problems;
  }
  const cloud = env.JIRA_EMAIL !== undefined || env.JIRA_API_TOKEN !== undefined;
  const dc = env.JIRA_PAT !== undefined;
  if (cloud && dc)
    return [
      "both Jira Cloud credentials (JIRA_EMAIL/JIRA_API_TOKEN) and a Data Center token (JIRA_PAT) are set: keep only the pair for your Jira",
    ];
  if (!cloud && !dc)
    return [
      "JIRA_BASE_URL is set but no credentials are: set JIRA_EMAIL + JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Jira Data Center)",
    ];
  if (cloud) {
    if (env.JIRA_EMAIL === undefined)
      problems.push(
        "JIRA_API_TOKEN is set but JIRA_EMAIL is not: Jira Cloud needs the account's email address with its API token",
      );
    else if (!z.email().safeParse(env.JIRA_EMAIL.trim()).success)
      problems.push(
        "JIRA_EMAIL is not an email address: Jira Cloud authenticates with the Atlassian account's email and an API token",
      );
    if (env.JIRA_API_TOKEN === undefined)
      problems.push(
        "JIRA_EMAIL is set but JIRA_API_TOKEN is not: create an API token at https://id.atlassian.com/manage-profile/security/api-tokens",
      );
    else if (/\s/.test(env.JIRA_API_TOKEN.trim()))
      problems.push("JIRA_API_TOKEN contains whitespace: paste the token alone");
  }
  if (dc && /\s/.test(env.JIRA_PAT!.trim()))
    problems.push("JIRA_PAT contains whitespace: paste the token alone (without 'Bearer ')");
  const hook = env.JIRA_WEBHOOK_SECRET?.trim();
  if (hook !== undefined && hook.length < MIN_JIRA_WEBHOOK_SECRET_LENGTH)
    problems.push(
      `JIRA_WEBHOOK_SECRET is too short (${hook.length} characters): use at least ${MIN_JIRA_WEBHOOK_SECRET_LENGTH} random characters`,
    );
  return problems;
}

// ------------------------------------------------------------------ the typed settings

export interface Settings {
  github: {
    /** null: not registered yet (Probot's setup page). */
    appId: number | null;
    privateKey: string | null;
    privateKeyPath: string | null;
    token: string | null;
    gheHost: string | null;
    gheProtocol: "https" | "http";
    apiUrl: string | null;
  };
  webhooks: { secret: string | null; proxyUrl: string | null };
  http: { port: number; host: string | null; bodyTimeoutMs: number; maxRequestsPerClient: number };
  /** port null: /metrics on the webhook port. */
  metrics: { port: number | null; token: string | null };
  logging: {
    level: string;
    format: "json" | "pretty";
    levelInString: boolean;
    messageKey: string;
    sentryDsn: string | null;
  };
  store: { databaseUrl: string | undefined; ownerUrl: string | null };
  writes: {
    redisUrl: string | null;
    maxConcurrentEvaluations: number;
    /** CHANGEGATE_THROTTLE=off: every write pacing off (benchmarks only). */
    throttleOff: boolean;
    limits: WriteLimits;
  };
  jira: JiraConfig | null;
  background: {
    /** null: the scheduled audit scan is off. */
    scanIntervalMs: number | null;
    /** 0: off. */
    redeliveryIntervalMs: number;
    reconcileOnStart: boolean;
    directPushRecheckMs: number;
    /** 0: off. */
    overdueIntervalMs: number;
  };
  checkpoints: {
    signingKey: SigningKey | null;
    /** null: turned off (AUDIT_CHECKPOINT_INTERVAL=0/off). */
    intervalMs: number | null;
    file: string | null;
    issueRepo: string | null;
  };
  audit: { verifyKey: string | null; databaseId: string | null };
  cli: { searchPaceMs: number | null };
  platform: { githubActions: boolean; githubRepository: string | null; nodeOptions: string };
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

const BUILD: { [G in Group]: (p: Parsed) => Settings[G] } = {
  github: (p) => ({
    appId: p.APP_ID === undefined ? null : Number(p.APP_ID),
    privateKey: orNull(p.PRIVATE_KEY),
    privateKeyPath: orNull(p.PRIVATE_KEY_PATH),
    token: orNull(p.GITHUB_TOKEN),
    gheHost: orNull(p.GHE_HOST),
    gheProtocol: p.GHE_PROTOCOL,
    apiUrl: orNull(p.GITHUB_API_URL),
  }),
  webhooks: (p) => ({ secret: orNull(p.WEBHOOK_SECRET), proxyUrl: orNull(p.WEBHOOK_PROXY_URL) }),
  http: (p) => ({
    port: p.PORT,
    host: orNull(p.HOST),
    bodyTimeoutMs: p.HTTP_BODY_TIMEOUT_SECONDS,
    maxRequestsPerClient: p.HTTP_MAX_REQUESTS_PER_CLIENT,
  }),
  metrics: (p) => ({ port: p.METRICS_PORT, token: orNull(p.METRICS_TOKEN) }),
  logging: (p) => ({
    level: p.LOG_LEVEL,
    format: p.LOG_FORMAT ?? (p.NODE_ENV === "production" ? "json" : "pretty"),
    levelInString: p.LOG_LEVEL_IN_STRING,
    messageKey: p.LOG_MESSAGE_KEY ?? "msg",
    sentryDsn: orNull(p.SENTRY_DSN),
  }),
  store: (p) => ({ databaseUrl: p.DATABASE_URL, ownerUrl: orNull(p.DATABASE_OWNER_URL) }),
  writes: (p) => ({
    redisUrl: orNull(p.REDIS_URL),
    maxConcurrentEvaluations: p.MAX_CONCURRENT_EVALUATIONS,
    throttleOff: p.CHANGEGATE_THROTTLE === "off",
    limits: p.CHANGEGATE_WRITE_LIMITS,
  }),
  jira: (p) => {
    if (p.JIRA_BASE_URL === undefined) return null;
    const auth: JiraAuth =
      p.JIRA_PAT !== undefined
        ? { kind: "datacenter", pat: p.JIRA_PAT }
        : { kind: "cloud", email: p.JIRA_EMAIL!, apiToken: p.JIRA_API_TOKEN! };
    return {
      baseUrl: p.JIRA_BASE_URL,
      auth,
      timeoutMs: p.JIRA_TIMEOUT_MS,
      cacheTtlMs: p.JIRA_CACHE_TTL_MS,
      maxConcurrency: p.JIRA_MAX_CONCURRENCY,
      webhookSecret: p.JIRA_WEBHOOK_SECRET ?? null,
      recheckIntervalMs: p.JIRA_RECHECK_INTERVAL_MS,
    };
  },
  background: (p) => ({
    scanIntervalMs: p.AUDIT_SCAN_INTERVAL === 0 ? null : p.AUDIT_SCAN_INTERVAL,
    redeliveryIntervalMs: p.REDELIVERY_INTERVAL,
    reconcileOnStart: p.RECONCILE_ON_START,
    directPushRecheckMs: p.DIRECT_PUSH_RECHECK_MS,
    overdueIntervalMs: p.RETRO_REVIEW_CHECK_INTERVAL_MS,
  }),
  checkpoints: (p) => ({
    signingKey: orNull(p.AUDIT_SIGNING_KEY),
    intervalMs: p.AUDIT_CHECKPOINT_INTERVAL === 0 ? null : p.AUDIT_CHECKPOINT_INTERVAL,
    file: orNull(p.AUDIT_CHECKPOINT_FILE),
    issueRepo: orNull(p.AUDIT_ISSUE_REPO),
  }),
  audit: (p) => ({ verifyKey: orNull(p.AUDIT_VERIFY_KEY), databaseId: orNull(p.AUDIT_DATABASE_ID) }),
  cli: (p) => ({ searchPaceMs: p.CHANGEGATE_SEARCH_PACE_MS < 0 ? null : p.CHANGEGATE_SEARCH_PACE_MS }),
  platform: (p) => ({
    githubActions: p.GITHUB_ACTIONS === "true",
    githubRepository: orNull(p.GITHUB_REPOSITORY),
    nodeOptions: p.NODE_OPTIONS ?? "",
  }),
};

// ------------------------------------------------------------------ loading

/** Every problem found, one line each; thrown by loadSettings. Never carries a secret's value. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `${problems.length} setting${problems.length === 1 ? " is" : "s are"} wrong:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
        `See .env.example and docs/operations.md${problems.some((p) => p.includes("JIRA_")) ? " (Jira: docs/jira.md)" : ""}.`,
    );
    this.name = "SettingsError";
  }
}

/** The raw values of `names`: unset and blank are both undefined. */
function rawValues(env: Env, names: readonly SettingName[]): Env {
  const raw: Env = {};
  for (const k of names) {
    const v = env[k];
    raw[k] = v === undefined || v.trim() === "" ? undefined : v;
  }
  return raw;
}

/** What was given, for a message: the value (cut at 40 characters), or only a secret's length. */
function given(name: SettingName, value: string | undefined): string {
  const spec = SPECS[name] as Spec;
  if (value === undefined) return "";
  if (spec.secret || spec.quiet) return ` (${value.length} characters, not shown)`;
  return `=${JSON.stringify(value.trim().slice(0, 40))}`;
}

/** Belt and braces: no message carries a secret's value, whatever a check put in it. */
function scrub(message: string, raw: Env): string {
  let out = message;
  for (const k of SECRET_SETTINGS) {
    const v = raw[k]?.trim();
    if (v && v.length >= 8) out = out.split(v).join("[REDACTED]");
  }
  return out;
}

/**
 * Parse the groups asked for (default: all), reporting every problem. Never throws: `problems` is
 * empty exactly when `settings` is there.
 */
export function parseSettings<G extends Group>(
  env: Env,
  groups: readonly G[] = GROUPS as unknown as readonly G[],
): { settings: Pick<Settings, G>; problems: [] } | { settings: null; problems: string[] } {
  const names = (Object.keys(SPECS) as SettingName[]).filter((k) =>
    (groups as readonly Group[]).includes(SPECS[k].group),
  );
  const raw = rawValues(env, names);
  const mask = Object.fromEntries(names.map((k) => [k, true])) as Record<SettingName, true>;
  const result = settingsSchema.pick(mask).safeParse(raw);
  const problems: string[] = [];
  if (!result.success)
    for (const issue of result.error.issues) {
      const name = issue.path[0] as SettingName;
      problems.push(
        issue.message.startsWith(name) ? issue.message : `${name}${given(name, raw[name])}: ${issue.message}`,
      );
    }
  // Checks across variables see every variable (METRICS_PORT is checked against PORT).
  const all = rawValues(env, Object.keys(SPECS) as SettingName[]);
  for (const g of groups) problems.push(...(CROSS[g]?.(all) ?? []));
  if (GROUPS.every((g) => (groups as readonly Group[]).includes(g)))
    for (const w of WHOLE) problems.push(...w(all));
  if (problems.length > 0) return { settings: null, problems: problems.map((p) => scrub(p, all)) };
  const parsed = result.data as Parsed;
  const settings = Object.fromEntries(groups.map((g) => [g, BUILD[g](parsed)])) as Pick<Settings, G>;
  return { settings, problems: [] };
}

/** The settings of the groups asked for (default: all); throws one SettingsError listing every problem. */
export function loadSettings(env: Env): Settings;
export function loadSettings<G extends Group>(env: Env, groups: readonly G[]): Pick<Settings, G>;
export function loadSettings<G extends Group>(env: Env, groups?: readonly G[]): Pick<Settings, G> {
  const r = parseSettings(env, groups);
  if (r.settings === null) throw new SettingsError(r.problems);
  return r.settings;
}

/** The log settings even when some are wrong (the process needs a log to say what is wrong). */
export function loggingSettings(env: Env): Settings["logging"] {
  return (
    parseSettings(env, ["logging"]).settings?.logging ?? {
      level: "info",
      format: env.NODE_ENV?.trim() === "production" ? "json" : "pretty",
      levelInString: false,
      messageKey: "msg",
      sentryDsn: null,
    }
  );
}
