/**
 * Readiness (`GET /readyz`): every registered check passes within a short deadline and the process
 * is not shutting down. Checks are small functions that throw (or time out) when something is
 * wrong: the audit store answers a trivial query, the app's credentials can sign a token. The
 * reason is redacted before it leaves the process (it may quote a connection error).
 */
import { sql } from "kysely";
import type { AuditStore } from "../audit/database.js";
import { redact } from "../report/redact.js";

export type ReadinessCheck = () => Promise<unknown> | unknown;

export type ReadyState = { ready: true; checks: string[] } | { ready: false; check: string; reason: string };

export const DEFAULT_READY_TIMEOUT_MS = 2000;

/** How long the credentials check's outcome is reused (it signs an RSA token: ~2.4 ms of CPU each). */
export const CREDENTIALS_CHECK_CACHE_MS = 5000;

interface Check {
  name: string;
  fn: ReadinessCheck;
  /** Reuse an outcome (pass or fail) this long; probes meanwhile share one run. 0: run at every probe. */
  cacheMs: number;
  last: { at: number; outcome: Promise<string | null> } | null;
}

export class Readiness {
  private readonly checks: Check[] = [];
  private stopping = false;

  constructor(private readonly timeoutMs: number = DEFAULT_READY_TIMEOUT_MS) {}

  /**
   * Add a named check (run in the order added). With `cacheMs`, its outcome is reused that long and
   * probes meanwhile share one run: a flood of /readyz cannot make an expensive check (signing a
   * token) run per request. Without it, the check runs at each probe (the store: a dead store shows at once).
   */
  add(name: string, fn: ReadinessCheck, options: { cacheMs?: number } = {}): void {
    this.checks.push({ name, fn, cacheMs: options.cacheMs ?? 0, last: null });
  }

  /** From now on the process is not ready (SIGTERM: let the load balancer take it out). */
  shutdown(): void {
    this.stopping = true;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  async probe(): Promise<ReadyState> {
    if (this.stopping) return { ready: false, check: "shutdown", reason: "shutting down" };
    if (this.checks.length === 0) return { ready: false, check: "startup", reason: "not started yet" };
    for (const check of this.checks) {
      const failed = await this.run(check);
      if (failed !== null) return { ready: false, check: check.name, reason: redact(failed).slice(0, 300) };
    }
    return { ready: true, checks: this.checks.map((c) => c.name) };
  }

  private run(check: Check): Promise<string | null> {
    if (check.cacheMs <= 0) return withDeadline(check.name, check.fn, this.timeoutMs);
    const now = Date.now();
    if (check.last && now - check.last.at < check.cacheMs) return check.last.outcome;
    const outcome = withDeadline(check.name, check.fn, this.timeoutMs);
    check.last = { at: now, outcome };
    return outcome;
  }
}

/** null when `fn` finished in time; otherwise why not. */
async function withDeadline(name: string, fn: ReadinessCheck, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${name} did not answer within ${ms} ms`), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(fn)
        .then(
          () => null,
          (err: unknown) => (err instanceof Error ? err.message : String(err)) || `${name} failed`,
        ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The audit store answers `select 1` (SQLite or PostgreSQL). */
export function storeCheck(store: Pick<AuditStore, "db">): ReadinessCheck {
  return async () => {
    await sql`select 1`.execute(store.db);
  };
}
