/**
 * The Jira settings, read from the environment once at start-up and validated with zod.
 *
 *   JIRA_BASE_URL              https://acme.atlassian.net (Cloud) or https://jira.acme.com[/context] (Data Center)
 *   JIRA_EMAIL + JIRA_API_TOKEN  Jira Cloud: basic auth, REST v3
 *   JIRA_PAT                   Jira Data Center: personal access token as a bearer token, REST v2
 *   JIRA_TIMEOUT_MS            per request, default 10000
 *   JIRA_CACHE_TTL_MS          how long a ticket's state is reused, default 60000 (0 = no cache)
 *   JIRA_MAX_CONCURRENCY       Jira requests in flight at once, across all evaluations, default 4
 *   JIRA_WEBHOOK_SECRET        enables POST /api/jira/webhooks (off when unset)
 *   JIRA_RECHECK_INTERVAL_MS   periodic re-check of PRs failing only on tickets, default 0 (off)
 *
 * No JIRA_BASE_URL and no other JIRA_* variable: Jira is not configured (null). Anything half-done
 * throws one Error naming every variable that is wrong and why. Secret values are never echoed.
 */
import { z } from "zod";

export type JiraAuth =
  { kind: "cloud"; email: string; apiToken: string } | { kind: "datacenter"; pat: string };

export interface JiraConfig {
  /** Normalised: scheme, host, optional port and context path, no trailing slash. */
  baseUrl: string;
  auth: JiraAuth;
  timeoutMs: number;
  cacheTtlMs: number;
  maxConcurrency: number;
  /** null: the Jira webhook route is not registered. */
  webhookSecret: string | null;
  /** 0: no periodic re-check. */
  recheckIntervalMs: number;
}

export const JIRA_ENV = [
  "JIRA_BASE_URL",
  "JIRA_EMAIL",
  "JIRA_API_TOKEN",
  "JIRA_PAT",
  "JIRA_TIMEOUT_MS",
  "JIRA_CACHE_TTL_MS",
  "JIRA_MAX_CONCURRENCY",
  "JIRA_WEBHOOK_SECRET",
  "JIRA_RECHECK_INTERVAL_MS",
] as const;

/** Values of these are never put in a message. */
const SECRET = new Set(["JIRA_API_TOKEN", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"]);
/** Variables that mean someone meant to configure Jira. */
const CONFIGURING = ["JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"] as const;
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** Unset and blank are the same thing: a deployment template often leaves `JIRA_PAT=`. */
const optionalText = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
  z.string().optional(),
);

function integer(
  name: string,
  fallback: number,
  min: number,
  max: number,
  extra?: (n: number) => string | null,
) {
  return z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined) return fallback;
        const text = raw.trim();
        if (!/^\d+$/.test(text)) {
          ctx.addIssue({
            code: "custom",
            message: `${name} must be a whole number (${describeRange(min, max)}), got ${JSON.stringify(raw.slice(0, 40))}`,
          });
          return z.NEVER;
        }
        const n = Number(text);
        if (n < min || n > max) {
          ctx.addIssue({ code: "custom", message: `${name} must be ${describeRange(min, max)}, got ${n}` });
          return z.NEVER;
        }
        const problem = extra?.(n);
        if (problem) {
          ctx.addIssue({ code: "custom", message: `${name} ${problem}, got ${n}` });
          return z.NEVER;
        }
        return n;
      }),
  );
}

function describeRange(min: number, max: number): string {
  return `between ${min} and ${max}`;
}

const baseUrl = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({
      code: "custom",
      message:
        "JIRA_BASE_URL is not a URL: expected e.g. https://acme.atlassian.net or https://jira.acme.com/jira",
    });
    return z.NEVER;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    ctx.addIssue({
      code: "custom",
      message: `JIRA_BASE_URL must start with https:// (or http://), not ${url.protocol}//`,
    });
    return z.NEVER;
  }
  if (url.username || url.password) {
    // The value is not echoed: it carries a credential.
    ctx.addIssue({
      code: "custom",
      message:
        "JIRA_BASE_URL must not contain credentials (user:password@): use JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT",
    });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({
      code: "custom",
      message: "JIRA_BASE_URL must not have a query string or fragment: give the site's base address only",
    });
    return z.NEVER;
  }
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}`;
});

const envSchema = z.object({
  JIRA_BASE_URL: optionalText.pipe(baseUrl.optional()),
  JIRA_EMAIL: optionalText,
  JIRA_API_TOKEN: optionalText,
  JIRA_PAT: optionalText,
  JIRA_TIMEOUT_MS: integer("JIRA_TIMEOUT_MS", 10_000, 100, 300_000),
  JIRA_CACHE_TTL_MS: integer("JIRA_CACHE_TTL_MS", 60_000, 0, 3_600_000),
  JIRA_MAX_CONCURRENCY: integer("JIRA_MAX_CONCURRENCY", 4, 1, 64),
  JIRA_WEBHOOK_SECRET: optionalText,
  JIRA_RECHECK_INTERVAL_MS: integer("JIRA_RECHECK_INTERVAL_MS", 0, 0, 86_400_000, (n) =>
    n !== 0 && n < 10_000 ? "must be 0 (off) or at least 10000 (10 s)" : null,
  ),
});

/**
 * Which credentials go with which: checked on the raw values, so these problems are reported
 * together with any field-level ones (zod skips object refinements once a field has failed).
 */
function crossProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const problem = (message: string) => problems.push(message);
  if (env.JIRA_BASE_URL === undefined) {
    // Tuning knobs alone (e.g. from a shared template) do not configure Jira; a credential does.
    const named = CONFIGURING.filter((k) => env[k] !== undefined);
    if (named.length > 0)
      problem(
        `JIRA_BASE_URL is not set, but ${named.join(", ")} ${named.length === 1 ? "is" : "are"}: set JIRA_BASE_URL too, or unset ${named.length === 1 ? "it" : "them"} to run without Jira`,
      );
    return problems;
  }
  const cloud = env.JIRA_EMAIL !== undefined || env.JIRA_API_TOKEN !== undefined;
  const dc = env.JIRA_PAT !== undefined;
  if (cloud && dc) {
    problem(
      "both Jira Cloud credentials (JIRA_EMAIL/JIRA_API_TOKEN) and a Data Center token (JIRA_PAT) are set: keep only the pair for your Jira",
    );
    return problems;
  }
  if (!cloud && !dc) {
    problem(
      "JIRA_BASE_URL is set but no credentials are: set JIRA_EMAIL + JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Jira Data Center)",
    );
    return problems;
  }
  if (cloud) {
    if (env.JIRA_EMAIL === undefined)
      problem(
        "JIRA_API_TOKEN is set but JIRA_EMAIL is not: Jira Cloud needs the account's email address with its API token",
      );
    else if (!z.email().safeParse(env.JIRA_EMAIL).success)
      problem(
        "JIRA_EMAIL is not an email address: Jira Cloud authenticates with the Atlassian account's email and an API token",
      );
    if (env.JIRA_API_TOKEN === undefined)
      problem(
        "JIRA_EMAIL is set but JIRA_API_TOKEN is not: create an API token at https://id.atlassian.com/manage-profile/security/api-tokens",
      );
    else if (/\s/.test(env.JIRA_API_TOKEN))
      problem("JIRA_API_TOKEN contains whitespace: paste the token alone");
  }
  if (dc && /\s/.test(env.JIRA_PAT!))
    problem("JIRA_PAT contains whitespace: paste the token alone (without 'Bearer ')");
  if (env.JIRA_WEBHOOK_SECRET !== undefined && env.JIRA_WEBHOOK_SECRET.length < MIN_WEBHOOK_SECRET_LENGTH) {
    problem(
      `JIRA_WEBHOOK_SECRET is too short (${env.JIRA_WEBHOOK_SECRET.length} characters): use at least ${MIN_WEBHOOK_SECRET_LENGTH} random characters`,
    );
  }
  return problems;
}

/**
 * The Jira configuration from the environment; null when Jira is not configured at all.
 * Throws an Error naming each variable that is wrong (never its secret value).
 */
export function jiraConfigFromEnv(env: NodeJS.ProcessEnv = process.env): JiraConfig | null {
  const raw: Record<string, string | undefined> = {};
  for (const k of JIRA_ENV) {
    const v = env[k]?.trim();
    raw[k] = v === "" ? undefined : v;
  }
  const parsed = envSchema.safeParse(raw);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => i.message)),
    ...crossProblems(raw),
  ];
  if (!parsed.success || problems.length > 0) {
    const lines = problems.map((m) => `  - ${scrub(m, raw)}`);
    throw new Error(`Invalid Jira configuration:\n${lines.join("\n")}\nSee docs/jira.md.`);
  }
  const e = parsed.data;
  if (e.JIRA_BASE_URL === undefined) return null;
  const auth: JiraAuth =
    e.JIRA_PAT !== undefined
      ? { kind: "datacenter", pat: e.JIRA_PAT.trim() }
      : { kind: "cloud", email: e.JIRA_EMAIL!.trim(), apiToken: e.JIRA_API_TOKEN!.trim() };
  return {
    baseUrl: e.JIRA_BASE_URL,
    auth,
    timeoutMs: e.JIRA_TIMEOUT_MS,
    cacheTtlMs: e.JIRA_CACHE_TTL_MS,
    maxConcurrency: e.JIRA_MAX_CONCURRENCY,
    webhookSecret: e.JIRA_WEBHOOK_SECRET ?? null,
    recheckIntervalMs: e.JIRA_RECHECK_INTERVAL_MS,
  };
}

/** Belt and braces: no message may carry a secret's value, whatever zod put in it. */
function scrub(message: string, raw: Record<string, string | undefined>): string {
  let out = message;
  for (const k of SECRET) {
    const v = raw[k]?.trim();
    if (v && v.length >= 4) out = out.split(v).join("[REDACTED]");
  }
  return out;
}

/** A one-line description for the start-up log (no secrets). */
export function describeJiraConfig(c: JiraConfig | null): string {
  if (!c) return "Jira not configured: repositories whose policy requires tickets will fail saying so";
  const flavour =
    c.auth.kind === "cloud"
      ? "Jira Cloud (REST v3, API token)"
      : "Jira Data Center (REST v2, personal access token)";
  return [
    `${flavour} at ${c.baseUrl}`,
    `timeout ${c.timeoutMs} ms`,
    `cache ${c.cacheTtlMs} ms`,
    `concurrency ${c.maxConcurrency}`,
    c.webhookSecret ? "webhook route on" : "webhook route off",
    c.recheckIntervalMs > 0 ? `re-check every ${c.recheckIntervalMs} ms` : "re-check off",
  ].join(", ");
}
