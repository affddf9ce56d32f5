/**
 * Observability inside one process: /metrics counts what a real Probot evaluation did (webhooks,
 * evaluations, GitHub requests, the rate limit left), the bearer token guards it, and /readyz
 * answers 503 with a reason when the store is down, slow, the credentials are missing or the
 * process is shutting down. GitHub is nock; the routes are served by a plain HTTP server.
 */
import { afterAll, afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { openStore } from "../../src/audit/database.js";
import { Metrics } from "../../src/ops/metrics.js";
import { Readiness, storeCheck } from "../../src/ops/readiness.js";
import { metricsRoute } from "../../src/server/metrics.js";
import { readyRoute } from "../../src/server/ready.js";
import type { Route } from "../../src/server/route.js";
import { evidenceData, INSTALLATION_ID } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { API, harness, mockToken } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";
const servers: Server[] = [];
const dirs: string[] = [];

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Serve routes as Probot's server does: the first that recognises the request answers it. */
async function serve(...routes: Route[]): Promise<string> {
  const server = createServer(async (req, res) => {
    for (const route of routes) if (await route(req, res)) return;
    res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  nock.enableNetConnect("127.0.0.1");
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** One sample's value from the exposition text (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...(m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[2]);
  }
  return undefined;
}

describe("GET /metrics", () => {
  test("counts a webhook, its evaluation, the GitHub requests and the rate limit left", async () => {
    const metrics = new Metrics();
    const h = await harness({ metrics });
    const scope = mockToken()
      .post("/graphql")
      .reply(
        200,
        { data: evidenceData({ reviews: [{ login: "alice" }] }) },
        { "x-ratelimit-remaining": "4321", "x-ratelimit-resource": "graphql" },
      )
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 }, { "x-ratelimit-remaining": "4999", "x-ratelimit-resource": "core" })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(500, { message: "boom" })
      // the failure report that follows: the run written a moment ago, changed in place
      .patch(`${REPO_PATH}/check-runs/555`)
      .reply(200, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .optionally()
      .reply(201, { id: 777 });
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toEqual([]);
    const base = await serve(metricsRoute(metrics, undefined));
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, "changegate_webhooks_total", { event: "pull_request" })).toBe(1);
    expect(sample(text, "changegate_github_requests_total", { api: "graphql", status: "2xx" })).toBe(1);
    expect(
      sample(text, "changegate_github_requests_total", { api: "rest", status: "2xx" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, "changegate_github_request_errors_total", { api: "rest", status: "5xx" })).toBe(1);
    expect(
      sample(text, "changegate_github_rate_limit_remaining", {
        installation: String(INSTALLATION_ID),
        resource: "graphql",
      }),
    ).toBe(4321);
    expect(
      sample(text, "changegate_github_rate_limit_remaining", {
        installation: String(INSTALLATION_ID),
        resource: "core",
      }),
    ).toBe(4999);
    const evaluations = text.split("\n").filter((l) => l.startsWith("changegate_evaluations_total{"));
    expect(evaluations).toHaveLength(1);
    expect(sample(text, "changegate_evaluation_duration_seconds_count", { kind: "evaluate" })).toBe(1);
    expect(sample(text, "changegate_evaluations_in_flight")).toBe(0);
    expect(sample(text, "changegate_evaluations_queued")).toBe(0);
    expect(sample(text, "changegate_write_queue_depth")).toBe(0);
    expect(sample(text, "changegate_bypasses_detected_total")).toBe(0);
    expect(text).toContain("changegate_process_resident_memory_bytes");
    // No PR number, sha or repository as a label value.
    expect(text).not.toMatch(/payments|aaaaaaa|number=/);
  });

  test("the evaluation line names delivery, installation, repository, PR, head and duration", async () => {
    const h = await harness();
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [{ login: "alice" }] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    await h.deliver("pull_request", pullRequestEvent("synchronize"), "delivery-observed");
    const line = h.logs.find((l) => l.msg === "evaluation finished");
    expect(line).toMatchObject({
      delivery: "delivery-observed",
      installation: INSTALLATION_ID,
      repo: "acme/payments",
      pr: 1,
      head: "a".repeat(40),
      kind: "published",
      conclusion: "success",
    });
    expect(typeof line!.durationMs).toBe("number");
    // Where the time went, step by step: every step of a published evaluation is there.
    const steps = line!.stepsMs as Record<string, number>;
    expect(Object.keys(steps)).toEqual(["auth", "read", "judge", "share", "record", "publish"]);
    for (const ms of Object.values(steps)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(Object.values(steps).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
      (line!.durationMs as number) + 6,
    );
  });

  test("a registered source feeds its gauge at scrape time; a broken one shows NaN, not 0", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let depth = 7;
    metrics.setSource("write_queue_depth", () => depth);
    const base = await serve(metricsRoute(metrics, undefined));
    expect(sample(await (await fetch(`${base}/metrics`)).text(), "changegate_write_queue_depth")).toBe(7);
    depth = 3;
    expect(sample(await (await fetch(`${base}/metrics`)).text(), "changegate_write_queue_depth")).toBe(3);
    metrics.setSource("write_queue_depth", () => {
      throw new Error("scheduler gone");
    });
    expect(sample(await (await fetch(`${base}/metrics`)).text(), "changegate_write_queue_depth")).toBeNaN();
  });

  test("METRICS_TOKEN: no header, a wrong token or another scheme get 401; the token gets the metrics", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.bypass();
    const base = await serve(metricsRoute(metrics, "s3cret-metrics-token"));
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain("changegate_");
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: "Bearer s3cret-metrics-tokeN" } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: "Bearer s3cret-metrics-token-and-more" } }))
        .status,
    ).toBe(401);
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: "Basic s3cret-metrics-token" } })).status,
    ).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer s3cret-metrics-token" } });
    expect(ok.status).toBe(200);
    expect(sample(await ok.text(), "changegate_bypasses_detected_total")).toBe(1);
  });
});

describe("GET /readyz", () => {
  async function sqliteStore() {
    const dir = mkdtempSync(join(tmpdir(), "cg-ready-"));
    dirs.push(dir);
    return openStore(`sqlite:${join(dir, "audit.db")}`);
  }

  test("ready with a reachable store and loaded credentials; 503 naming the store once it is down", async () => {
    const store = await sqliteStore();
    const h = await harness();
    h.changegate.readiness.add("store", storeCheck(store));
    const base = await serve(readyRoute(h.changegate.readiness));
    const up = await fetch(`${base}/readyz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: "ready", checks: ["credentials", "store"] });
    // /metrics says the same at each scrape: changegate_ready 1, then 0 (what the ChangegateNotReady alert reads).
    const ready = async () => sample((await h.changegate.metrics.expose()).body, "changegate_ready");
    expect(await ready()).toBe(1);
    await store.close();
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "not_ready", check: "store" });
    expect(await ready()).toBe(0);
    h.changegate.readiness.shutdown();
    expect(await ready()).toBe(0);
  });

  test("a flood of probes signs the app's token once per few seconds, not once per probe (issue 20 item 9)", async () => {
    const h = await harness();
    const base = await serve(readyRoute(h.changegate.readiness));
    const sign = jest.spyOn(globalThis.crypto.subtle, "sign");
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${base}/readyz`)));
      for (let i = 0; i < 10; i++) expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      // 20 probes: one RSA signature (the first), shared by the concurrent ones and reused after.
      expect(sign.mock.calls.length).toBe(1);
    } finally {
      sign.mockRestore();
    }
  });

  test("a cached check is run again once its time is up; an uncached one at every probe", async () => {
    const readiness = new Readiness();
    let expensive = 0;
    let cheap = 0;
    readiness.add("credentials", () => void expensive++, { cacheMs: 150 });
    readiness.add("store", () => void cheap++);
    for (let i = 0; i < 5; i++) expect(await readiness.probe()).toMatchObject({ ready: true });
    expect([expensive, cheap]).toEqual([1, 5]);
    await new Promise((r) => setTimeout(r, 200));
    await readiness.probe();
    expect([expensive, cheap]).toEqual([2, 6]);
  });

  test("a store that does not answer is not ready after the short deadline", async () => {
    const readiness = new Readiness(100);
    readiness.add("store", () => new Promise(() => {}));
    const base = await serve(readyRoute(readiness));
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not_ready",
      check: "store",
      reason: "store did not answer within 100 ms",
    });
  });

  test("without APP_ID the credentials check fails; shutting down is not ready; no checks yet is not ready", async () => {
    const h = await harness({ appId: 0 });
    const base = await serve(readyRoute(h.changegate.readiness));
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ check: "credentials", reason: "APP_ID is not set" });

    const r2 = new Readiness();
    expect(await r2.probe()).toMatchObject({ ready: false, check: "startup" });
    r2.add("ok", () => undefined);
    expect(await r2.probe()).toMatchObject({ ready: true });
    r2.shutdown();
    expect(await r2.probe()).toEqual({ ready: false, check: "shutdown", reason: "shutting down" });
  });

  test("a reason quoting a secret is redacted", async () => {
    const readiness = new Readiness();
    readiness.add("store", () => {
      throw new Error("connect failed for postgres://cg:hunter2hunter2@db.internal:5432/cg");
    });
    const body = await (await fetch(`${await serve(readyRoute(readiness))}/readyz`)).text();
    expect(body).not.toContain("hunter2");
    expect(body).toContain("[REDACTED]");
  });
});

void API;
