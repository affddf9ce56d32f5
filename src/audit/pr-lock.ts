/**
 * TEMPORARY home (issue 10): PrLock, InProcessPrLock and PrLockTimeout move to
 * src/runtime/pr-lock.ts, which the other half of the restructuring creates; at the merge the
 * imports of this file are repointed there and this file is deleted. Nothing in src/audit uses it.
 */

/** Cross-process single-flight per PR; `key` is prKey(ref), the scheduler's key. */
export interface PrLock {
  withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export class PrLockTimeout extends Error {
  constructor(readonly key: string, timeoutMs: number) {
    super(`another changegate process held the lock on ${key} for more than ${Math.round(timeoutMs / 1000)} s`);
    this.name = "PrLockTimeout";
  }
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
