/**
 * The per-PR lock across replicas (PostgreSQL): a transaction-scoped advisory lock on a hash of the
 * PR key, held on a connection of a pool of its own (AuditStore.pgPool) while `fn` runs. It is
 * released on commit, or by the server when the process or its connection dies, so a crashed
 * replica never leaves a PR locked. On SQLite (one process per file) InProcessPrLock is enough.
 */
import type pg from "pg";
import { lockKey } from "../audit/hash.js";
// Repointed to ./pr-lock.js when src/intake/pr-lock.ts lands (issue 10).
import { InProcessPrLock, PrLockTimeout, type PrLock } from "./pr-lock.js";

export class PgPrLock implements PrLock {
  constructor(
    private readonly pool: pg.Pool,
    /** How long to wait for the lock, or for a free lock connection, before PrLockTimeout. */
    private readonly timeoutMs: number,
  ) {}

  async withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // The pool waits up to the lock timeout for a free connection (a burst of PRs queues here).
    const client = await this.pool.connect().catch((err: Error) => {
      throw /timeout/i.test(err.message) ? new PrLockTimeout(key, this.timeoutMs) : err;
    });
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      try {
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.timeoutMs))}`);
        await client.query("SET LOCAL idle_in_transaction_session_timeout = 0");
        await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey("pr", key)]);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        if ((err as { code?: string }).code === "55P03") throw new PrLockTimeout(key, this.timeoutMs);
        throw err;
      }
      try {
        return await fn();
      } finally {
        await client.query("COMMIT").catch((err: Error) => (broken = err));
      }
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }
}

/** The per-PR lock for an audit store: advisory locks on its PostgreSQL lock pool, else in-process. */
export function prLockFor(store: { pgPool: pg.Pool | null; lockTimeoutMs: number }): PrLock {
  return store.pgPool ? new PgPrLock(store.pgPool, store.lockTimeoutMs) : new InProcessPrLock();
}
