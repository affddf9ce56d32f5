/**
 * Operations against the real process (`node lib/main.js`) and the simulator: /healthz and /readyz
 * answer, /metrics behind METRICS_TOKEN counts the webhooks, evaluations and GitHub requests of a
 * real evaluation, every evaluation ends with one JSON line naming delivery, installation,
 * repository, PR, head and duration, and SIGTERM exits 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createServer } from "node:net";
import { World } from "../sim/world.js";

const TOKEN = "metrics-token-for-the-e2e-test";
let w: World;

beforeAll(async () => {
  w = await World.start({ env: { METRICS_TOKEN: TOKEN } });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[3]);
  }
  return total;
}

describe("operations", () => {
  test("healthz and readyz answer; metrics need the token and count a real evaluation", async () => {
    const health = await fetch(`${w.cg.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${w.cg.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: ["store", "credentials"] });
    expect((await fetch(`${w.cg.url}/metrics`)).status).toBe(401);

    const { repo, installation } = w.repo();
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(pr, { author: "alice" });
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });

    const res = await fetch(`${w.cg.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, "changegate_webhooks_total", { event: "pull_request" })).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "changegate_evaluations_total", { kind: "published", conclusion: "success" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "changegate_evaluation_duration_seconds_count", { kind: "evaluate" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "changegate_github_requests_total", { api: "graphql", status: "2xx" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "changegate_github_requests_total", { api: "rest", status: "2xx" }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, "changegate_github_rate_limit_remaining", {
        installation: String(installation.id),
        resource: "graphql",
      }),
    ).toBe(4999);
    expect(sample(text, "changegate_process_resident_memory_bytes")).toBeGreaterThan(0);
    // What /readyz answers, at the scrape: the ChangegateNotReady alert reads it.
    expect(sample(text, "changegate_ready")).toBe(1);

    const line = w.cg.logs.find(
      (l) =>
        l.msg === "evaluation finished" && l.pr === pr.number && l.repo === pr.repo && l.kind === "published",
    );
    expect(line).toMatchObject({
      installation: installation.id,
      head: w.model.headSha(pr),
      kind: "published",
      conclusion: "success",
    });
    expect(typeof line!.delivery).toBe("string");
    expect(typeof line!.durationMs).toBe("number");
    // The token is a secret: never in a log line.
    expect(w.cg.logs.some((l) => JSON.stringify(l).includes(TOKEN))).toBe(false);
  }, 120_000);

  test("SIGTERM: drained, exit code 0", async () => {
    const exit = await w.cg.kill("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(
      w.cg.logs.some(
        (l) => typeof l.msg === "string" && l.msg.startsWith("SIGTERM: no longer accepting webhooks"),
      ),
    ).toBe(true);
  }, 60_000);
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe("METRICS_PORT (issue 20 item 9)", () => {
  test("/metrics on its own port only: the webhook port does not serve it; no open-metrics warning", async () => {
    const port = await freePort();
    const m = await World.start({ env: { METRICS_PORT: String(port) } });
    try {
      expect((await fetch(`${m.cg.url}/metrics`)).status).toBe(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("changegate_process_resident_memory_bytes");
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(404);
      expect((await fetch(`${m.cg.url}/readyz`)).status).toBe(200);
      expect(m.cg.logs.some((l) => String(l.msg).startsWith(`GET /metrics on port ${port} only`))).toBe(true);
      expect(m.cg.logs.some((l) => String(l.msg).includes("needs no token"))).toBe(false);
      expect(await m.cg.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    } finally {
      await m.stop();
    }
  }, 120_000);

  test("without METRICS_TOKEN or METRICS_PORT the start-up log says what an open /metrics shows", async () => {
    const m = await World.start({ env: {} });
    try {
      expect(m.cg.logs.some((l) => l.level === 40 && String(l.msg).includes("installation ids"))).toBe(true);
    } finally {
      await m.stop();
    }
  }, 120_000);
});
