/**
 * The Jira env: valid Cloud and Data Center set-ups, defaults, and a clear message (naming the
 * variable, never a secret's value) for every half-configured one.
 */
import { describe, expect, test } from "@jest/globals";
import { describeJiraConfig } from "../../src/jira/env.js";
import { loadSettings } from "../../src/settings.js";

/** The Jira settings as src/settings.ts gives them (its `jira` group). */
const jiraConfigFromEnv = (env: Record<string, string>) => loadSettings(env, ["jira"]).jira;

const TOKEN = "ATATT3xFfGF0secretcloudtoken42";
const PAT = "MzQ1Njc4OTAxMjM0secretpat99";
const HOOK = "whsec-0123456789abcdef-secret";
const SECRETS = [TOKEN, PAT, HOOK, "hunter2pass"];

function problem(env: Record<string, string>): string {
  try {
    jiraConfigFromEnv(env);
  } catch (err) {
    const message = (err as Error).message;
    for (const s of SECRETS) expect(message).not.toContain(s);
    return message;
  }
  throw new Error("expected jiraConfigFromEnv to throw");
}

describe("valid configurations", () => {
  test("no JIRA_* at all: Jira is not configured", () => {
    expect(jiraConfigFromEnv({})).toBeNull();
    expect(jiraConfigFromEnv({ JIRA_BASE_URL: "", JIRA_PAT: "  " })).toBeNull();
  });

  test("tuning knobs alone do not configure Jira", () => {
    expect(jiraConfigFromEnv({ JIRA_TIMEOUT_MS: "5000", JIRA_CACHE_TTL_MS: "0" })).toBeNull();
  });

  test("Jira Cloud with the defaults", () => {
    expect(
      jiraConfigFromEnv({
        JIRA_BASE_URL: "https://acme.atlassian.net/",
        JIRA_EMAIL: "gate@acme.com",
        JIRA_API_TOKEN: TOKEN,
      }),
    ).toStrictEqual({
      baseUrl: "https://acme.atlassian.net",
      auth: { kind: "cloud", email: "gate@acme.com", apiToken: TOKEN },
      timeoutMs: 10_000,
      cacheTtlMs: 60_000,
      maxConcurrency: 4,
      webhookSecret: null,
      recheckIntervalMs: 0,
    });
  });

  test("Jira Data Center with a context path and every knob set", () => {
    expect(
      jiraConfigFromEnv({
        JIRA_BASE_URL: "http://jira.internal:8080/jira/",
        JIRA_PAT: PAT,
        JIRA_TIMEOUT_MS: "2500",
        JIRA_CACHE_TTL_MS: "0",
        JIRA_MAX_CONCURRENCY: "2",
        JIRA_WEBHOOK_SECRET: HOOK,
        JIRA_RECHECK_INTERVAL_MS: "300000",
      }),
    ).toStrictEqual({
      baseUrl: "http://jira.internal:8080/jira",
      auth: { kind: "datacenter", pat: PAT },
      timeoutMs: 2500,
      cacheTtlMs: 0,
      maxConcurrency: 2,
      webhookSecret: HOOK,
      recheckIntervalMs: 300_000,
    });
  });

  test("the start-up description names the flavour and never a secret", () => {
    const text = describeJiraConfig(
      jiraConfigFromEnv({
        JIRA_BASE_URL: "https://acme.atlassian.net",
        JIRA_EMAIL: "a@b.co",
        JIRA_API_TOKEN: TOKEN,
        JIRA_WEBHOOK_SECRET: HOOK,
      }),
    );
    expect(text).toContain("Jira Cloud (REST v3, API token) at https://acme.atlassian.net");
    expect(text).toContain("webhook route on");
    for (const s of SECRETS) expect(text).not.toContain(s);
    expect(describeJiraConfig(null)).toContain("Jira not configured");
  });
});

describe("half-configured: a clear message naming the variable", () => {
  test.each<[string, Record<string, string>, RegExp]>([
    [
      "URL without credentials",
      { JIRA_BASE_URL: "https://acme.atlassian.net" },
      /JIRA_BASE_URL is set but no credentials are: set JIRA_EMAIL \+ JIRA_API_TOKEN .* or JIRA_PAT/,
    ],
    [
      "both kinds of credentials",
      {
        JIRA_BASE_URL: "https://acme.atlassian.net",
        JIRA_EMAIL: "a@b.co",
        JIRA_API_TOKEN: TOKEN,
        JIRA_PAT: PAT,
      },
      /both Jira Cloud credentials .* and a Data Center token \(JIRA_PAT\)/,
    ],
    [
      "token without email",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_API_TOKEN: TOKEN },
      /JIRA_API_TOKEN is set but JIRA_EMAIL is not/,
    ],
    [
      "email without token",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_EMAIL: "a@b.co" },
      /JIRA_EMAIL is set but JIRA_API_TOKEN is not/,
    ],
    [
      "email that is not one",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_EMAIL: "gatebot", JIRA_API_TOKEN: TOKEN },
      /JIRA_EMAIL is not an email address/,
    ],
    [
      "credentials without a URL",
      { JIRA_PAT: PAT, JIRA_WEBHOOK_SECRET: HOOK },
      /JIRA_BASE_URL is not set, but JIRA_PAT, JIRA_WEBHOOK_SECRET are/,
    ],
    ["not a URL", { JIRA_BASE_URL: "acme.atlassian.net", JIRA_PAT: PAT }, /JIRA_BASE_URL is not a URL/],
    [
      "not http(s)",
      { JIRA_BASE_URL: "ftp://jira.acme.com", JIRA_PAT: PAT },
      /JIRA_BASE_URL must start with https:\/\/ \(or http:\/\/\), not ftp:\/\//,
    ],
    [
      "credentials in the URL",
      { JIRA_BASE_URL: "https://bot:hunter2pass@jira.acme.com", JIRA_PAT: PAT },
      /JIRA_BASE_URL must not contain credentials/,
    ],
    [
      "a query string in the URL",
      { JIRA_BASE_URL: "https://jira.acme.com/?os_authType=basic", JIRA_PAT: PAT },
      /JIRA_BASE_URL must not have a query string/,
    ],
    [
      "non-numeric timeout",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_TIMEOUT_MS: "10 seconds" },
      /JIRA_TIMEOUT_MS="10 seconds": expected milliseconds or a number with s, m, h or d/,
    ],
    [
      "timeout out of range",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_TIMEOUT_MS: "0" },
      /JIRA_TIMEOUT_MS="0": expected between 100 ms and 5 minutes/,
    ],
    [
      "negative cache TTL",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_CACHE_TTL_MS: "-5" },
      /JIRA_CACHE_TTL_MS="-5": expected milliseconds/,
    ],
    [
      "zero concurrency",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_MAX_CONCURRENCY: "0" },
      /JIRA_MAX_CONCURRENCY="0": expected a whole number from 1 to 64/,
    ],
    [
      "a re-check every second",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_RECHECK_INTERVAL_MS: "1000" },
      /JIRA_RECHECK_INTERVAL_MS="1000": expected between 10 seconds and 1 day, or 0 or off to turn it off/,
    ],
    [
      "a short webhook secret",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: PAT, JIRA_WEBHOOK_SECRET: "short-secret" },
      /JIRA_WEBHOOK_SECRET is too short \(12 characters\): use at least 16/,
    ],
    [
      "a PAT pasted with its Bearer prefix",
      { JIRA_BASE_URL: "https://acme.atlassian.net", JIRA_PAT: `Bearer ${PAT}` },
      /JIRA_PAT contains whitespace/,
    ],
  ])("%s", (_name, env, expected) => {
    const message = problem(env);
    expect(message).toMatch(/^\d+ settings? (is|are) wrong:\n/);
    expect(message).toMatch(expected);
    expect(message).toContain("(Jira: docs/jira.md).");
  });

  test("every problem is listed at once", () => {
    const message = problem({
      JIRA_BASE_URL: "https://acme.atlassian.net",
      JIRA_API_TOKEN: TOKEN,
      JIRA_TIMEOUT_MS: "fast",
      JIRA_MAX_CONCURRENCY: "100",
    });
    expect(message.split("\n").filter((l) => l.startsWith("  - "))).toHaveLength(3);
    expect(message).toContain("JIRA_TIMEOUT_MS");
    expect(message).toContain("JIRA_MAX_CONCURRENCY");
    expect(message).toContain("JIRA_EMAIL is not");
  });
});
