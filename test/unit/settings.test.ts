/**
 * src/settings.ts: one schema over every variable; every problem reported at once (name, what was
 * given — never a secret — and what is allowed); one duration rule set for every duration variable.
 */
import { describe, expect, test } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_REQUESTS_PER_CLIENT } from "../../src/server/body-limit.js";
import { DEFAULT_OVERDUE_INTERVAL_MS } from "../../src/background/overdue.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS } from "../../src/flows/push-settle.js";
import { DEFAULT_REDELIVERY_INTERVAL_MS } from "../../src/background/redelivery.js";
import { DEFAULT_SCAN_INTERVAL_MS } from "../../src/background/scan-schedule.js";
import { DEFAULT_MAX_CONCURRENT_EVALUATIONS } from "../../src/intake/scheduler.js";
import {
  DEFAULTS,
  GROUPS,
  loadSettings,
  parseDuration,
  parseSettings,
  SECRET_SETTINGS,
  SettingsError,
  settingsSchema,
  SPECS,
} from "../../src/settings.js";

const KEY = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();

describe("every problem at once", () => {
  test("several bad variables across groups: each named once, with what was given and what is allowed", () => {
    const token = "ghp_secret_token_value_0123456789";
    const hook = "short-hook";
    const r = parseSettings({
      APP_ID: "12",
      WEBHOOK_SECRET: "0123456789abcdef-ok",
      REDELIVERY_INTERVAL: "5 minutes",
      AUDIT_SCAN_INTERVAL: "30s",
      MAX_CONCURRENT_EVALUATIONS: "lots",
      HTTP_MAX_REQUESTS_PER_CLIENT: "0",
      LOG_LEVEL: "loud",
      RECONCILE_ON_START: "yes",
      JIRA_BASE_URL: "https://acme.atlassian.net",
      JIRA_EMAIL: "gate@acme.com",
      JIRA_API_TOKEN: token,
      JIRA_WEBHOOK_SECRET: hook,
      REDIS_URL: "http://cache:6379",
      DATABASE_URL: "mysql://u:pw@h/db",
    });
    expect(r.settings).toBeNull();
    const byName = (name: string) => r.problems.filter((p) => p.startsWith(name));
    expect(byName("REDELIVERY_INTERVAL")).toEqual([
      expect.stringMatching(
        /^REDELIVERY_INTERVAL="5 minutes": expected seconds or a number with s, m, h or d/,
      ),
    ]);
    expect(byName("AUDIT_SCAN_INTERVAL")).toEqual([
      expect.stringMatching(/^AUDIT_SCAN_INTERVAL="30s": expected at least 60 seconds, or 0 or off/),
    ]);
    expect(byName("MAX_CONCURRENT_EVALUATIONS")).toEqual([
      'MAX_CONCURRENT_EVALUATIONS="lots": expected a whole number from 1 to 1000 (default 32)',
    ]);
    expect(byName("HTTP_MAX_REQUESTS_PER_CLIENT")).toHaveLength(1);
    expect(byName("LOG_LEVEL")).toEqual([
      expect.stringMatching(/^LOG_LEVEL="loud": expected trace, debug, info/),
    ]);
    expect(byName("RECONCILE_ON_START")).toEqual([
      'RECONCILE_ON_START="yes": expected true or false (default false)',
    ]);
    expect(byName("JIRA_WEBHOOK_SECRET")).toEqual([expect.stringMatching(/too short \(10 characters\)/)]);
    // Secrets (and URLs that may carry credentials) are named with their length only.
    expect(byName("REDIS_URL")).toEqual([
      expect.stringMatching(/^REDIS_URL \(17 characters, not shown\): expected redis:\/\//),
    ]);
    expect(byName("DATABASE_URL")).toEqual([
      expect.stringMatching(/^DATABASE_URL \(17 characters, not shown\): unsupported database URL/),
    ]);
    expect(r.problems).toHaveLength(9);
    const all = r.problems.join("\n");
    for (const s of [token, hook, "pw@h", "cache:6379"]) expect(all).not.toContain(s);
  });

  test("loadSettings throws one SettingsError listing them all", () => {
    let err: unknown;
    try {
      loadSettings({ PORT: "http", METRICS_PORT: "x", JIRA_MAX_CONCURRENCY: "100" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const e = err as SettingsError;
    expect(e.problems).toHaveLength(3);
    expect(e.message.split("\n")[0]).toBe("3 settings are wrong:");
    expect(e.message.split("\n").filter((l) => l.startsWith("  - "))).toHaveLength(3);
  });

  test("only the groups asked for are read: the CLI is not stopped by a bad app-only variable", () => {
    const env = { MAX_CONCURRENT_EVALUATIONS: "lots", DATABASE_URL: "sqlite:/tmp/x.db" };
    expect(loadSettings(env, ["store"]).store.databaseUrl).toBe("sqlite:/tmp/x.db");
    expect(() => loadSettings(env)).toThrow(/MAX_CONCURRENT_EVALUATIONS/);
  });

  test("nothing set: every default, and the app starts (setup page: no APP_ID, no secret required)", () => {
    const s = loadSettings({});
    expect(s.github.appId).toBeNull();
    expect(s.http).toEqual({ port: 3000, host: null, bodyTimeoutMs: 20_000, maxRequestsPerClient: 32 });
    expect(s.background).toEqual({
      scanIntervalMs: 3_600_000,
      redeliveryIntervalMs: 300_000,
      reconcileOnStart: false,
      directPushRecheckMs: 15_000,
      overdueIntervalMs: 600_000,
    });
    expect(s.jira).toBeNull();
    expect(s.checkpoints).toEqual({ signingKey: null, intervalMs: 86_400_000, file: null, issueRepo: null });
    expect(s.metrics).toEqual({ port: null, token: null });
    expect(s.logging).toEqual({
      level: "info",
      format: "pretty",
      levelInString: false,
      messageKey: "msg",
      sentryDsn: null,
    });
    expect(s.cli.searchPaceMs).toBeNull();
  });

  test("the defaults are the ones the runtime modules fall back on", () => {
    expect(DEFAULTS.bodyTimeoutMs).toBe(DEFAULT_BODY_TIMEOUT_MS);
    expect(DEFAULTS.maxRequestsPerClient).toBe(DEFAULT_MAX_REQUESTS_PER_CLIENT);
    expect(DEFAULTS.overdueIntervalMs).toBe(DEFAULT_OVERDUE_INTERVAL_MS);
    expect(DEFAULTS.directPushRecheckMs).toBe(DEFAULT_DIRECT_PUSH_RECHECK_MS);
    expect(DEFAULTS.redeliveryIntervalMs).toBe(DEFAULT_REDELIVERY_INTERVAL_MS);
    expect(DEFAULTS.scanIntervalMs).toBe(DEFAULT_SCAN_INTERVAL_MS);
    expect(DEFAULTS.maxConcurrentEvaluations).toBe(DEFAULT_MAX_CONCURRENT_EVALUATIONS);
  });

  test("the schema, the specs and the groups agree; the secrets are the ones redacted before", () => {
    expect(Object.keys(settingsSchema.shape).sort()).toEqual(Object.keys(SPECS).sort());
    expect(new Set(Object.values(SPECS).map((s) => s.group))).toEqual(new Set(GROUPS));
    expect([...SECRET_SETTINGS].sort()).toEqual(
      [
        "PRIVATE_KEY",
        "WEBHOOK_SECRET",
        "JIRA_API_TOKEN",
        "JIRA_PAT",
        "JIRA_WEBHOOK_SECRET",
        "DATABASE_URL",
        "REDIS_URL",
        "SENTRY_DSN",
        "WEBHOOK_PROXY_URL",
        "METRICS_TOKEN",
        "AUDIT_SIGNING_KEY",
        "DATABASE_OWNER_URL",
        "GITHUB_TOKEN",
      ].sort(),
    );
  });

  test("a signing key is loaded once; an interval without one is refused", () => {
    const s = loadSettings({ AUDIT_SIGNING_KEY: KEY, AUDIT_CHECKPOINT_INTERVAL: "OFF" }, ["checkpoints"]);
    expect(s.checkpoints.signingKey?.keyId).toMatch(/\S/);
    expect(s.checkpoints.intervalMs).toBeNull();
    expect(() => loadSettings({ AUDIT_CHECKPOINT_INTERVAL: "6h" }, ["checkpoints"])).toThrow(
      /AUDIT_CHECKPOINT_INTERVAL is set but there is no signing key/,
    );
  });
});

describe("one duration rule set", () => {
  const seconds = { unit: "s" as const, min: 30_000, max: 86_400_000, fallback: 300_000, off: true };
  const millis = { unit: "ms" as const, min: 0, max: 600_000, fallback: 15_000 };
  const ms = (text: string, rule: Parameters<typeof parseDuration>[1]) => parseDuration(text, rule).ms;

  test.each<[string, number]>([
    ["90", 90_000], // a plain number: the variable's documented unit (seconds here)
    ["90s", 90_000],
    ["90 s", 90_000],
    ["5m", 300_000],
    ["5M", 300_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["45000ms", 45_000],
  ])("seconds variable: %s is %d ms", (text, expected) => {
    expect(ms(text, seconds)).toBe(expected);
  });

  test.each<[string, number]>([
    ["2500", 2500], // a plain number: milliseconds for *_MS
    ["0", 0], // 0 is in range here (no wait), not "off"
    ["15s", 15_000],
    ["10m", 600_000],
    ["250ms", 250],
  ])("milliseconds variable: %s is %d ms", (text, expected) => {
    expect(ms(text, millis)).toBe(expected);
  });

  test("0 and off (any case) turn off only what can be turned off", () => {
    for (const off of ["0", "off", "OFF", " Off "]) expect(ms(off, seconds)).toBe(0);
    expect(parseDuration("off", millis).problem).toMatch(
      /^expected milliseconds or a number with s, m, h or d/,
    );
    // The same word is read the same everywhere: it used to be refused by AUDIT_CHECKPOINT_INTERVAL alone.
    for (const name of ["AUDIT_SCAN_INTERVAL", "REDELIVERY_INTERVAL", "AUDIT_CHECKPOINT_INTERVAL"])
      expect(() => loadSettings({ [name]: "OFF" }, ["background", "checkpoints"])).not.toThrow();
    expect(
      loadSettings({ RETRO_REVIEW_CHECK_INTERVAL_MS: "off" }, ["background"]).background.overdueIntervalMs,
    ).toBe(0);
    expect(
      loadSettings(
        { JIRA_RECHECK_INTERVAL_MS: "off", JIRA_BASE_URL: "https://j.example.com", JIRA_PAT: "pat" },
        ["jira"],
      ).jira?.recheckIntervalMs,
    ).toBe(0);
  });

  test.each(["-5", "1.5h", "5 minutes", "1e3", "h", "5w", "99999999999999999d"])(
    "%s is refused, saying what is allowed",
    (text) => {
      expect(parseDuration(text, seconds)).toEqual({
        ms: null,
        problem: expect.stringMatching(/^expected (seconds or a number with s, m, h or d|between)/),
      });
    },
  );

  test("the range is said the way people read it", () => {
    expect(parseDuration("5", seconds).problem).toBe(
      "expected between 30 seconds and 1 day, or 0 or off to turn it off (default 5 minutes)",
    );
    expect(parseDuration("601s", millis).problem).toBe(
      "expected between 0 seconds and 10 minutes (default 15 seconds)",
    );
  });

  test("each duration variable takes a unit: HTTP_BODY_TIMEOUT_SECONDS, JIRA_TIMEOUT_MS, JIRA_CACHE_TTL_MS", () => {
    expect(loadSettings({ HTTP_BODY_TIMEOUT_SECONDS: "1m" }, ["http"]).http.bodyTimeoutMs).toBe(60_000);
    const jira = loadSettings(
      {
        JIRA_BASE_URL: "https://j.example.com",
        JIRA_PAT: "pat",
        JIRA_TIMEOUT_MS: "10s",
        JIRA_CACHE_TTL_MS: "2m",
      },
      ["jira"],
    ).jira!;
    expect([jira.timeoutMs, jira.cacheTtlMs]).toEqual([10_000, 120_000]);
  });
});
