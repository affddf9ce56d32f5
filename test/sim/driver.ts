/**
 * The driver: runs changegate as a real process (`node lib/main.js`, as `npm start` does) against
 * the simulator, signs and sends it webhooks, captures its log lines, and waits for quiescence.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Simulator } from "./server.js";
import { signature256 } from "./webhooks.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** `npm start`'s entry; CHANGEGATE_E2E_ENTRY runs the suite against another build of it. */
export const ENTRY = process.env.CHANGEGATE_E2E_ENTRY ?? join(ROOT, "lib", "main.js");
/** The Node flags of `npm start` (and the Dockerfile's CMD): the process is tested as it runs in production. */
export const START_FLAGS: string[] = (() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf("lib/main.js"));
})();
/** Node flags for the changegate process (`npm start`'s, then bench diagnostics: `--cpu-prof`, heap flags), space-separated. */
const NODE_ARGS = [
  ...START_FLAGS,
  // A changegate whose test process died stops too (test/support/exit-with-parent.mjs).
  "--import",
  new URL("../support/exit-with-parent.mjs", import.meta.url).href,
  ...(process.env.CHANGEGATE_E2E_NODE_ARGS ?? "").split(" ").filter(Boolean),
];

export interface LogLine {
  level: number;
  msg: string;
  time?: number;
  /** Lines that were not JSON (stderr, crashes) keep their text in msg. */
  raw?: boolean;
  [k: string]: unknown;
}

export interface Delivery {
  id: string;
  name: string;
  /** The exact body sent (a redelivery sends it again). */
  body: string;
  action: string | null;
  sentAt: number;
  answeredAt: number | null;
  status: number | null;
  error: string | null;
}

export interface Health {
  status: string;
  evaluations: number;
  coalesced: number;
  active: number;
  deliveries: number;
  duplicates: number;
  [k: string]: unknown;
}

/** An RSA key pair as GitHub issues them to apps (PKCS#1 PEM). */
export function appKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKey, publicKey };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Build lib/ with `tsc -p tsconfig.build.json` if it is missing or older than src/ (several jest
 * workers may ask at once: one builds under a lock, the others wait for it).
 */
export async function ensureBuilt(): Promise<void> {
  if (process.env.CHANGEGATE_E2E_ENTRY) return;
  const fresh = () => existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= newestMtime(join(ROOT, "src"));
  if (fresh()) return;
  const lock = join(tmpdir(), `changegate-build-${Buffer.from(ROOT).toString("hex").slice(-24)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (fresh()) return;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for another process to build lib/ (lock ${lock})`);
      // A lock older than 3 minutes belongs to a build that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (fresh()) return;
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (r.status !== 0 || !existsSync(ENTRY)) {
      throw new Error(
        `npm run build failed (exit ${r.status}); the end-to-end tests run lib/main.js:\n${(r.stdout + r.stderr).slice(0, 4000)}`,
      );
    }
    // Mark the build as fresh even where tsc left an unchanged main.js alone.
    const now = new Date();
    utimesSync(ENTRY, now, now);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface StartOptions {
  sim: Simulator;
  appId: number;
  privateKey: string;
  webhookSecret: string;
  /** Extra environment (JIRA_*, CHANGEGATE_*); undefined values unset a default. */
  env?: Record<string, string | undefined>;
  logLevel?: string;
  /** Keep the audit database across restarts by passing the same directory. */
  dataDir?: string;
  /** How long to wait for the server to listen. */
  startTimeoutMs?: number;
}

/** changegate running as a child process. */
export class ChangegateProcess {
  readonly logs: LogLine[] = [];
  readonly deliveries: Delivery[] = [];
  readonly inFlight = new Set<Promise<unknown>>();
  port = 0;
  url = "";
  child!: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: null,
    signal: null,
  });
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly dataDir: string;
  private readonly logWaiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  /** Peak resident set size of the child, sampled from /proc (bytes; 0 where /proc is missing). */
  peakRss = 0;
  private rssTimer: NodeJS.Timeout | null = null;
  /** Environment for the next (re)start only. */
  private extraEnv: Record<string, string | undefined> = {};

  private constructor(readonly options: StartOptions) {
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "changegate-e2e-"));
  }

  static async start(options: StartOptions): Promise<ChangegateProcess> {
    await ensureBuilt();
    const p = new ChangegateProcess(options);
    await p.spawn();
    return p;
  }

  env(): Record<string, string> {
    const o = this.options;
    const base: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_ID: String(o.appId),
      PRIVATE_KEY: o.privateKey,
      WEBHOOK_SECRET: o.webhookSecret,
      GHE_HOST: o.sim.gheHost,
      GHE_PROTOCOL: "http",
      PORT: String(this.port),
      HOST: "127.0.0.1",
      LOG_LEVEL: o.logLevel ?? "debug",
      LOG_FORMAT: "json",
      DATABASE_URL: `sqlite:${join(this.dataDir, "audit.db")}`,
      // The scheduled scan is on by default in production; tests that do not ask for it keep it off
      // (its reconcile and records would race their assertions). `AUDIT_SCAN_INTERVAL: undefined` in `env`: the default (on). "off", not "0": older builds (CHANGEGATE_E2E_ENTRY) accept it too.
      AUDIT_SCAN_INTERVAL: "off",
      ...o.env,
      ...this.extraEnv,
    };
    return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
  }

  private async spawn(): Promise<void> {
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.exitInfo = null;
    const child = spawn(process.execPath, [...NODE_ARGS, ENTRY], {
      cwd: this.dataDir,
      env: this.env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exited = new Promise((r) =>
      child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.rssTimer) clearInterval(this.rssTimer);
        r({ code, signal });
      }),
    );
    lines(child.stdout!, (l) => this.onLine(l, false));
    lines(child.stderr!, (l) => this.onLine(l, true));
    this.rssTimer = setInterval(() => this.sampleRss(), 100);
    this.rssTimer.unref();
    // Start-up loads every module: on a loaded 2-core CI machine it has taken over 20 s.
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    for (;;) {
      if (this.exitInfo)
        throw new Error(
          `changegate exited during start-up (${JSON.stringify(this.exitInfo)}):\n${this.logText()}`,
        );
      try {
        const h = await this.health();
        if (h.status === "ok") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`changegate did not start listening on ${this.url}:\n${this.logText()}`);
      await sleep(50);
    }
  }

  private sampleRss(): void {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      if (m) this.peakRss = Math.max(this.peakRss, Number(m[1]) * 1024);
    } catch {
      // no /proc
    }
  }

  private onLine(text: string, stderr: boolean): void {
    let line: LogLine;
    try {
      const parsed = JSON.parse(text) as LogLine;
      line =
        typeof parsed === "object" && parsed && typeof parsed.level === "number"
          ? parsed
          : { level: 30, msg: text, raw: true };
    } catch {
      line = { level: stderr ? 50 : 30, msg: text, raw: true };
    }
    this.logs.push(line);
    for (const w of [...this.logWaiters]) {
      if (w.test(line)) {
        this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  logText(last = 60): string {
    return this.logs
      .slice(-last)
      .map((l) => (l.raw ? l.msg : JSON.stringify(l)))
      .join("\n");
  }

  /** Resolves with the first log line (past or future) that passes `test`. */
  waitForLog(test: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.logs.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no log line matched within ${timeoutMs} ms:\n${this.logText(30)}`)),
        timeoutMs,
      );
      this.logWaiters.push({
        test,
        resolve: (l) => {
          clearTimeout(t);
          resolveLine(l);
        },
      });
    });
  }

  async health(): Promise<Health> {
    const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Health;
  }

  /** Sign and POST a webhook to /api/github/webhooks, as GitHub does. */
  async deliver(
    name: string,
    payload: unknown,
    opts: { id?: string; secret?: string; signature?: string | null; body?: string } = {},
  ): Promise<{ status: number; text: string; delivery: Delivery }> {
    const body = opts.body ?? JSON.stringify(payload);
    const id = opts.id ?? randomUUID();
    const action = (payload as { action?: unknown } | null)?.action;
    const delivery: Delivery = {
      id,
      name,
      body,
      action: typeof action === "string" ? action : null,
      sentAt: Date.now(),
      answeredAt: null,
      status: null,
      error: null,
    };
    this.deliveries.push(delivery);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/sim",
      "x-github-event": name,
      "x-github-delivery": id,
      "x-github-hook-id": "1",
      "x-github-hook-installation-target-type": "integration",
      "x-github-hook-installation-target-id": String(this.options.appId),
    };
    const sig =
      opts.signature === undefined
        ? signature256(opts.secret ?? this.options.webhookSecret, body)
        : opts.signature;
    if (sig !== null) headers["x-hub-signature-256"] = sig;
    const attempt = (async () => {
      try {
        const post = () =>
          fetch(`${this.url}/api/github/webhooks`, {
            method: "POST",
            headers,
            body,
            signal: AbortSignal.timeout(10_000),
          });
        let res: Response;
        try {
          res = await post();
        } catch (err) {
          // A pooled keep-alive socket the server closed while this (test) process was blocked, e.g.
          // by the synchronous cli(): GitHub opens fresh connections, so send once more on a new one.
          if (!staleSocket(err)) throw err;
          res = await post();
        }
        const text = await res.text();
        delivery.status = res.status;
        delivery.answeredAt = Date.now();
        return { status: res.status, text, delivery };
      } catch (err) {
        // GitHub gives up after 10 s; the delivery counts as failed.
        delivery.error = (err as Error).message;
        delivery.status = 0;
        delivery.answeredAt = Date.now();
        return { status: 0, text: "", delivery };
      }
    })();
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
    return attempt;
  }

  /** POST a Jira webhook to /api/jira/webhooks, signed as Jira Cloud's admin webhooks are (X-Hub-Signature). */
  async deliverJira(payload: unknown, secret: string | null): Promise<{ status: number; text: string }> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "Atlassian Webhook HTTP Client",
    };
    if (secret !== null) headers["x-hub-signature"] = signature256(secret, body);
    const attempt = (async () => {
      try {
        const res = await fetch(`${this.url}/api/jira/webhooks`, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(10_000),
        });
        return { status: res.status, text: await res.text() };
      } catch (err) {
        return { status: 0, text: (err as Error).message };
      }
    })();
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
    return attempt;
  }

  /**
   * Wait until nothing moves: every delivery answered, the simulator idle for `idleMs`, and
   * changegate reporting no active evaluation (checked twice, `idleMs` apart).
   */
  async quiesce(opts: { idleMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const idleMs = opts.idleMs ?? 150;
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let calm = 0;
    for (;;) {
      if (this.exitInfo)
        throw new Error(`changegate exited (${JSON.stringify(this.exitInfo)}):\n${this.logText()}`);
      if (this.inFlight.size === 0 && this.options.sim.idleFor() >= idleMs) {
        const h = await this.health().catch(() => null);
        if (h && h.active === 0 && this.inFlight.size === 0 && this.options.sim.idleFor() >= idleMs) {
          if (++calm >= 2) return;
        } else calm = 0;
      } else calm = 0;
      if (Date.now() > deadline) {
        const h = await this.health().catch((e: Error) => e.message);
        throw new Error(
          `changegate did not quiesce: in-flight deliveries ${this.inFlight.size}, simulator idle ${this.options.sim.idleFor()} ms, health ${JSON.stringify(h)}\n${this.logText(20)}`,
        );
      }
      await sleep(Math.max(20, Math.floor(idleMs / 3)));
    }
  }

  /** Run changegate's command line (`lib/cli.js`, next to the entry) against this process's audit store. */
  cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
    const cliPath = join(dirname(ENTRY), "cli.js");
    const r = spawnSync(process.execPath, [cliPath, ...args], {
      cwd: this.dataDir,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATABASE_URL: this.env().DATABASE_URL!,
      },
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /**
   * The CLI with the app's own environment (its GitHub credentials and store: the scan reads
   * GitHub), asynchronously so the simulator in this process can answer it. `env` adds variables.
   */
  cliAsApp(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, reject) => {
      const child = spawn(process.execPath, [join(dirname(ENTRY), "cli.js"), ...args], {
        cwd: this.dataDir,
        env: { ...this.env(), ...env },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => done({ code, stdout, stderr }));
    });
  }

  /** SIGKILL (crash) or SIGTERM (graceful); resolves once the process is gone. */
  async kill(
    signal: NodeJS.Signals = "SIGTERM",
    timeoutMs = 30_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  /** Stop gracefully (SIGTERM) and start a fresh process with the same settings and data directory. */
  async restart(env: Record<string, string | undefined> = {}): Promise<void> {
    await this.kill("SIGTERM");
    this.extraEnv = env;
    await this.spawn();
  }

  /**
   * GitHub's manual redelivery of every delivery that failed (no answer, or 5xx): same delivery id,
   * same body.
   */
  async redeliverFailed(): Promise<{ status: number }[]> {
    const latest = new Map(this.deliveries.map((d) => [d.id, d]));
    const failed = [...latest.values()].filter((d) => d.status === 0 || d.status === null || d.status >= 500);
    return Promise.all(failed.map((d) => this.deliver(d.name, null, { id: d.id, body: d.body })));
  }

  /** Start again after the process died (e.g. after kill("SIGKILL")). */
  async respawn(env: Record<string, string | undefined> = {}): Promise<void> {
    if (!this.exitInfo) throw new Error("changegate is still running: kill it first");
    this.extraEnv = env;
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM", 5_000);
    if (!this.options.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(line);
    }
  });
  stream.on("end", () => {
    if (buf.trim()) onLine(buf);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** fetch's error for a connection that was closed before any answer (a stale keep-alive socket). */
function staleSocket(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "UND_ERR_CLOSED";
}
