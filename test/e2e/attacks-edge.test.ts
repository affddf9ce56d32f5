/**
 * Attacks on changegate's edges, against the real process (`node lib/main.js`):
 *   - no (or a short) WEBHOOK_SECRET: the process refuses to start, so nobody can forge deliveries
 *     with Probot's public default secret; the setup flow (no APP_ID) still starts;
 *   - a 200 MB unsigned POST (chunked with no length, or with a huge Content-Length): 413 while
 *     streaming, the process's memory barely moves, and signed deliveries still work;
 *   - a policy file nested 5,000 deep: an invalid policy naming its line, the process stays up
 *     and other repositories are judged as before.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appKeyPair, ENTRY, ensureBuilt, freePort, sleep } from "../sim/driver.js";
import { World } from "../sim/world.js";
import { rawRequest } from "../helpers/raw-http.js";
import { onlyDigest } from "./helpers.js";

const MB = 1024 * 1024;

describe("start-up without a proper WEBHOOK_SECRET", () => {
  let dir: string;
  let privateKey: string;

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), "changegate-startup-"));
    privateKey = appKeyPair().privateKey;
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(
    env: Record<string, string>,
  ): Promise<{ status: number | null; signal: string | null; lines: { level: number; msg: string }[] }> {
    const port = await freePort();
    const r = spawnSync(process.execPath, [ENTRY], {
      cwd: dir,
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_FORMAT: "json",
        DATABASE_URL: `sqlite:${join(dir, "audit.db")}`,
        ...env,
      },
    });
    const lines = r.stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    return { status: r.status, signal: r.signal, lines };
  }

  test("APP_ID set and WEBHOOK_SECRET missing: exit 1 with a fatal line naming the variable; it never listens", async () => {
    const r = await start({ APP_ID: "4242", PRIVATE_KEY: privateKey });
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
    const fatal = r.lines.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toMatch(
      /^1 setting is wrong:\n {2}- WEBHOOK_SECRET is not set \(APP_ID is\).*at least 16 characters/,
    );
    expect(r.lines.some((l) => /Listening on/.test(l.msg))).toBe(false);
  }, 60_000);

  test("several settings wrong at once: exit 1 with ONE fatal line listing every one (no secret echoed); it never listens", async () => {
    const secret = "hunter2-jira-pat-value";
    const r = await start({
      APP_ID: "4242",
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: "0123456789abcdef-e2e",
      REDELIVERY_INTERVAL: "5 minutes",
      MAX_CONCURRENT_EVALUATIONS: "lots",
      HTTP_BODY_TIMEOUT_SECONDS: "0",
      JIRA_PAT: secret,
    });
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
    const fatal = r.lines.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    const lines = fatal[0]!.msg.split("\n");
    expect(lines[0]).toBe("4 settings are wrong:");
    for (const name of [
      "REDELIVERY_INTERVAL",
      "MAX_CONCURRENT_EVALUATIONS",
      "HTTP_BODY_TIMEOUT_SECONDS",
      "JIRA_PAT",
    ])
      expect([name, lines.filter((l) => l.startsWith("  - ") && l.includes(name)).length]).toEqual([name, 1]);
    expect(JSON.stringify(r.lines)).not.toContain(secret);
    expect(r.lines.some((l) => /Listening on/.test(l.msg))).toBe(false);
  }, 60_000);

  test("a WEBHOOK_SECRET shorter than 16 characters (Probot's own default among them): exit 1, the secret not echoed", async () => {
    for (const secret of ["development", "fifteen-chars!!"]) {
      const r = await start({ APP_ID: "4242", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret });
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
      const fatal = r.lines.filter((l) => l.level === 60);
      expect(fatal.map((l) => l.msg)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^1 setting is wrong:\\n {2}- WEBHOOK_SECRET is too short \\(${secret.length} characters; at least 16 are required\\)`,
          ),
        ),
      ]);
      expect(JSON.stringify(r.lines)).not.toContain(secret);
    }
  }, 60_000);

  test("a WEBHOOK_SECRET in ./.env (where Probot's setup flow writes it) counts, as it does for Probot", async () => {
    const own = mkdtempSync(join(tmpdir(), "changegate-dotenv-"));
    writeFileSync(join(own, ".env"), `WEBHOOK_SECRET=${"s".repeat(32)}\n`);
    const port = await freePort();
    const child = spawn(process.execPath, [ENTRY], {
      cwd: own,
      stdio: ["ignore", "pipe", "ignore"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_FORMAT: "json",
        APP_ID: "4242",
        PRIVATE_KEY: privateKey,
        DATABASE_URL: `sqlite:${join(own, "audit.db")}`,
      },
    });
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    try {
      for (let i = 0; i < 300 && !/Listening on/.test(out) && child.exitCode === null; i++) await sleep(100);
      expect(out).toMatch(/Listening on/);
      expect(out).not.toContain("WEBHOOK_SECRET is not set");
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);

  test("without APP_ID, Probot's setup flow starts and serves the setup page", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [ENTRY], {
      cwd: dir,
      stdio: "ignore",
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_FORMAT: "json",
        NO_SMEE_SETUP: "true",
        DATABASE_URL: `sqlite:${join(dir, "setup.db")}`,
      },
    });
    try {
      let status = 0;
      let page = "";
      for (let i = 0; i < 200 && status !== 200; i++) {
        await sleep(100);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/probot`, { signal: AbortSignal.timeout(2000) });
          status = res.status;
          page = await res.text();
        } catch {
          // not listening yet
        }
      }
      expect(status).toBe(200);
      expect(page).toMatch(/Register GitHub App/i);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("a running app", () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  }, 240_000);

  afterAll(async () => {
    await w?.stop();
  });

  function rss(): number {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${w.cg.child.pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /**
   * POST `total` bytes of junk to the webhook path with GitHub's headers but no valid signature:
   * chunked without a length, or with `contentLength` (which may lie). Resolves with the status
   * and how many bytes the client handed to the socket before it read the answer.
   */
  async function flood(
    total: number,
    contentLength?: number,
  ): Promise<{ status: number; sent: number; ms: number }> {
    const t0 = Date.now();
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-github-event": "pull_request",
      "x-github-delivery": `flood-${Date.now()}`,
      "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
    };
    if (contentLength !== undefined) headers["content-length"] = String(contentLength);
    const chunk = Buffer.alloc(64 * 1024, 0x7b);
    async function* junk(): AsyncGenerator<Buffer> {
      for (let n = 0; n < total; n += chunk.length) yield chunk;
    }
    // A raw socket (test/helpers/raw-http.ts): not intercepted by nock, and it reads the answer
    // whatever happens to the upload; the upload stops once the answer is in.
    const r = await rawRequest(w.cg.url, {
      path: "/api/github/webhooks",
      headers,
      body: junk,
      stopOnAnswer: true,
      closeWaitMs: 1000,
    });
    return { status: r.status, sent: r.sent, ms: Date.now() - t0 };
  }

  /** Peak RSS of the child while `fn` runs, sampled every 10 ms (and the driver's 100 ms samples). */
  async function peakDuring<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
    await sleep(300);
    const before = rss();
    w.cg.peakRss = before;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rss())), 10);
    try {
      const result = await fn();
      await sleep(300);
      peak = Math.max(peak, rss(), w.cg.peakRss);
      if (process.env.CHANGEGATE_E2E_VERBOSE)
        console.log(`RSS growth ${((peak - before) / MB).toFixed(1)} MB`);
      return { result, growth: peak - before };
    } finally {
      clearInterval(timer);
    }
  }

  // A chunked body has no length to refuse up front: up to the 25 MB cap is legitimately held
  // (GitHub may send that much), plus the allocator's slack for the 64 KB chunks discarded after the
  // refusal, which RSS keeps until the next GC. CI measured up to 59 MB on a busy machine; buffering
  // the whole body (the hole this closes) grew RSS by ~600 MB. 100 MB separates the two with margin.
  test("a 200 MB unsigned chunked POST with no Content-Length: 413 while streaming, memory grows < 100 MB (cap 25 MB + GC slack)", async () => {
    const { result, growth } = await peakDuring(() => flood(200 * MB));
    expect(result.status).toBe(413);
    expect(growth).toBeLessThan(100 * MB);
    expect(w.cg.exitInfo).toBeNull();
    await w.cg.waitForLog((l) =>
      /request body refused with 413: more than 26214400 bytes streamed/.test(l.msg),
    );
  }, 120_000);

  test("a 200 MB POST announcing its (huge) Content-Length: 413 before the body is read, memory grows < 50 MB", async () => {
    const { result, growth } = await peakDuring(() => flood(200 * MB, 200 * MB));
    expect(result.status).toBe(413);
    expect(growth).toBeLessThan(50 * MB);
    // A Content-Length that lies (huge, with a small body) is refused the same way, without waiting for the body.
    const lying = await flood(64 * 1024, 10 * 1024 * MB);
    expect(lying.status).toBe(413);
    await w.cg.waitForLog((l) => /request body refused with 413: Content-Length 209715200,/.test(l.msg));
    await w.cg.waitForLog((l) => /request body refused with 413: Content-Length 10737418240,/.test(l.msg));
  }, 120_000);

  test("16 parallel unsigned 24 MB POSTs (each under the cap): at most 100 MB of bodies held at once, the rest 503; memory grows < 450 MB", async () => {
    // Measured 285 MB (four bodies held, each also decoded and hashed; 264 MB charged by arrival). Without the shared budget all 16
    // are held (~1.1 GB); with the budget but the whole payload logged on the signature failure, 680-910 MB.
    const { result, growth } = await peakDuring(() =>
      Promise.all(Array.from({ length: 16 }, () => flood(24 * MB, 24 * MB))),
    );
    const statuses = result.map((r) => r.status);
    if (process.env.CHANGEGATE_E2E_VERBOSE) console.log(JSON.stringify(result));
    // Bytes are charged as they arrive (issue 19), so which bodies finish depends on who sends first:
    // measured 8 × 503 and 8 × 400 (declared lengths reserved up front gave 12 × 503). The budget
    // must bite, and memory stays bounded by it (below).
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(1);
    // Any other answer is named in the failure (with its timing), so a rare one can be told apart.
    expect(result.filter((r) => r.status !== 503 && r.status !== 400 && r.status !== 401)).toEqual([]);
    expect(growth).toBeLessThan(450 * MB);
    expect(w.cg.exitInfo).toBeNull();
    // Charged by the bytes that arrive (issue 19), not by the declared length: the refusal names both.
    await w.cg.waitForLog((l) =>
      /request body refused with 503: Content-Length 25165824: its bytes so far would take the bytes in flight over 104857600 \(\d+ held by other requests\)/.test(
        l.msg,
      ),
    );
  }, 180_000);

  test("after the floods, signed deliveries still work: a normal PR passes", async () => {
    const { repo } = w.repo();
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
    expect(w.deliveries().filter((d) => d.status !== 200 && d.status !== 202)).toEqual([]);
  }, 90_000);

  test("a policy nested 5,000 deep: the check fails as an invalid policy naming the line; the process stays up; other repos pass", async () => {
    const deep = `approvals:\n  required: 1\nbranches: [main]\nnotes: ${"[".repeat(5000)}${"]".repeat(5000)}\n`;
    const { repo } = w.repo({ policy: deep });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    w.model.push(pr, [{ message: "again" }]);
    await w.settle(60_000);
    const check = w.check(pr);
    expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(check!.title).toMatch(
      /^Invalid policy .*:\.github\/changegate\.yml: file: nested more than 32 levels deep at line 4/,
    );
    expect(onlyDigest(w, pr)).toContain("nested more than 32 levels deep at line 4");
    expect(w.cg.exitInfo).toBeNull();
    expect((await w.cg.health()).status).toBe("ok");

    const other = w.repo({ policy: "approvals:\n  required: 1\n" });
    const ok = w.model.openPullRequest(other.repo, { author: "dev" });
    w.model.ci(ok, "build", { conclusion: "success" });
    w.model.review(ok, { author: "alice" });
    await w.settle(60_000);
    expect(w.check(ok)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(w.cg.exitInfo).toBeNull();
  }, 120_000);
});
