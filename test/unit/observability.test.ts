/**
 * The pure parts of observability: bounded label values, status classes, the constant-time token
 * check, the log settings (JSON in production, pretty in development, secret fields redacted by
 * name), and loading smee-client for local development.
 */
import { describe, expect, test } from "@jest/globals";
import { pino } from "pino";
import { REDACT_CENSOR, REDACT_PATHS } from "../../src/ops/log-options.js";
import { loadSettings, loggingSettings, parseSettings } from "../../src/settings.js";
import { BoundedLabel, Metrics, statusClass } from "../../src/ops/metrics.js";
import { loadSmeeClient, SMEE_MISSING, wantsWebhookProxy } from "../../src/server/webhook-proxy.js";
import { tokenMatches } from "../../src/server/metrics.js";

describe("metric labels stay bounded", () => {
  test("the first N values, then other; odd values are other", () => {
    const label = new BoundedLabel(2, /^[a-z_]+$/);
    expect(
      ["push", "pull_request", "push", "issues", "Not-An-Event", "x".repeat(70)].map((v) => label.value(v)),
    ).toEqual(["push", "pull_request", "push", "other", "other", "other"]);
  });

  test("a flood of forged event names and installations adds a bounded number of series", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 5000; i++) {
      metrics.webhook(`event_${i.toString(26).replace(/[0-9]/g, (d) => "qrstuvwxyz"[Number(d)]!)}`);
      metrics.github("rest", 200, { "x-ratelimit-remaining": "10" }, i);
    }
    const text = (await metrics.expose()).body;
    expect(text.split("\n").filter((l) => l.startsWith("changegate_webhooks_total{")).length).toBe(65);
    expect(
      text.split("\n").filter((l) => l.startsWith("changegate_github_rate_limit_remaining{")).length,
    ).toBe(2001);
  });

  test("status classes", () => {
    expect([200, 201, 304, 404, 429, 502, null, undefined, 0, 999, 200.5].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "5xx",
      "network",
      "network",
      "network",
      "network",
      "network",
    ]);
  });
});

describe("the metrics token", () => {
  test("only `Bearer <token>` exactly matches", () => {
    expect(tokenMatches("Bearer tok-123456", "tok-123456")).toBe(true);
    expect(tokenMatches("bearer tok-123456", "tok-123456")).toBe(true);
    for (const h of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Bearer tok-12345",
      "Bearer tok-1234567",
      "Basic tok-123456",
      "tok-123456",
      "Bearer tok-123456 x",
    ]) {
      expect([h, tokenMatches(h, "tok-123456")]).toEqual([h, false]);
    }
  });
});

const logFormat = (env: Record<string, string>) => loadSettings(env, ["logging"]).logging.format;

describe("log settings", () => {
  test("JSON in production or when asked, pretty in development", () => {
    expect(logFormat({ NODE_ENV: "production" })).toBe("json");
    expect(logFormat({})).toBe("pretty");
    expect(logFormat({ NODE_ENV: "development" })).toBe("pretty");
    expect(logFormat({ NODE_ENV: "production", LOG_FORMAT: "pretty" })).toBe("pretty");
    expect(logFormat({ LOG_FORMAT: "json" })).toBe("json");
    // An unknown format is refused by name (src/settings.ts); the log that says so is JSON in production.
    expect(parseSettings({ NODE_ENV: "production", LOG_FORMAT: "bogus" }, ["logging"]).problems).toEqual([
      expect.stringMatching(/^LOG_FORMAT="bogus": expected json, pretty/),
    ]);
    expect(loggingSettings({ NODE_ENV: "production", LOG_FORMAT: "bogus" }).format).toBe("json");
  });

  test("secret-bearing fields are redacted by name, at the top and one level down", () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR } },
      { write: (s: string) => void lines.push(s) },
    );
    log.info(
      {
        token: "ghs_abc",
        req: {
          headers: { authorization: "token ghs_abc", "x-hub-signature-256": "sha256=ff", host: "example" },
        },
        jira: { password: "pw-value" },
        err: { request: { headers: { authorization: "Bearer xyz-value" } } },
        repo: "acme/payments",
      },
      "hello",
    );
    const line = JSON.parse(lines[0]!) as Record<string, any>;
    expect(line.token).toBe(REDACT_CENSOR);
    expect(line.req.headers).toEqual({
      authorization: REDACT_CENSOR,
      "x-hub-signature-256": REDACT_CENSOR,
      host: "example",
    });
    expect(line.jira.password).toBe(REDACT_CENSOR);
    expect(line.err.request.headers.authorization).toBe(REDACT_CENSOR);
    expect(line.repo).toBe("acme/payments");
    expect(lines[0]).not.toMatch(/ghs_abc|pw-value|xyz-value|sha256=ff/);
  });
});

describe("smee-client for local development", () => {
  test("the devDependency loads, with the createChannel Probot's setup page calls", async () => {
    const { SmeeClient, problem } = await loadSmeeClient();
    expect(problem).toBeNull();
    expect(typeof SmeeClient?.createChannel).toBe("function");
  });

  test("missing (a production install): one message saying what to install", async () => {
    const missing = await loadSmeeClient(async () => {
      throw Object.assign(new Error("Cannot find package 'smee-client'"), { code: "ERR_MODULE_NOT_FOUND" });
    });
    expect(missing).toEqual({ SmeeClient: null, problem: SMEE_MISSING });
    expect(SMEE_MISSING).toMatch(/npm install/);
    expect(await loadSmeeClient(async () => ({}))).toEqual({ SmeeClient: null, problem: SMEE_MISSING });
  });

  test("a relay is wanted on the setup page or with WEBHOOK_PROXY_URL", () => {
    // (APP_ID, WEBHOOK_PROXY_URL) as the settings give them.
    expect(wantsWebhookProxy(null, null)).toBe(true);
    expect(wantsWebhookProxy(1, null)).toBe(false);
    expect(wantsWebhookProxy(1, "https://smee.io/abc")).toBe(true);
  });
});

describe("METRICS_PORT (issue 20 item 9)", () => {
  test("unset or empty: none; a port: that port; anything else, or the webhook port: a message naming it", async () => {
    const metricsPortFromEnv = (env: Record<string, string>) => loadSettings(env, ["metrics"]).metrics.port;
    expect(metricsPortFromEnv({})).toBeNull();
    expect(metricsPortFromEnv({ METRICS_PORT: " " })).toBeNull();
    expect(metricsPortFromEnv({ METRICS_PORT: "9464" })).toBe(9464);
    expect(() => metricsPortFromEnv({ METRICS_PORT: "http" })).toThrow(
      /METRICS_PORT="http": expected a port number/,
    );
    expect(() => metricsPortFromEnv({ METRICS_PORT: "70000" })).toThrow(/METRICS_PORT/);
    expect(() => metricsPortFromEnv({ METRICS_PORT: "0" })).toThrow(/METRICS_PORT/);
    expect(() => metricsPortFromEnv({ METRICS_PORT: "3000" })).toThrow(/is the webhook port/);
    expect(() => metricsPortFromEnv({ METRICS_PORT: "8080", PORT: "8080" })).toThrow(/is the webhook port/);
    expect(metricsPortFromEnv({ METRICS_PORT: "3000", PORT: "8080" })).toBe(3000);
  });
});
