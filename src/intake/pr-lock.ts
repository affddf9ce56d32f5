/**
 * pr-lock: single-flight per PR. The in-process lock serves one process (SQLite); the PostgreSQL
 * advisory lock (intake/pg-pr-lock.ts, with the audit store) serves replicas. This module loads
 * neither pg nor Kysely, so the app gets an in-process lock without a database driver.
 */

/** Cross-process single-flight per PR; `key` is prKey(ref), the scheduler's key. */
export interface PrLock {
  withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export class PrLockTimeout extends Error {
  constructor(
    readonly key: string,
    timeoutMs: number,
  ) {
    super(
      `another changegate process held the lock on ${key} for more than ${Math.round(timeoutMs / 1000)} s`,
    );
    this.name = "PrLockTimeout";
  }
}

/** A lock timeout from any lock implementation (matched by name too, so a copy of the class counts). */
export function isPrLockTimeout(err: unknown): err is Error {
  return err instanceof PrLockTimeout || (err instanceof Error && err.name === "PrLockTimeout");
}

/** One process (SQLite): evaluations of one PR run one after another. */
export class InProcessPrLock implements PrLock {
  private readonly tails = new Map<string, Promise<void>>();

  async withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
