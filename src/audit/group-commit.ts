/**
 * Group commit of SQLite write transactions: the appends (audit records) asked for in one event-loop
 * turn share one BEGIN IMMEDIATE … COMMIT, so one fsync (`synchronous = FULL`) instead of one each.
 * Better-sqlite3 and node:sqlite are synchronous: every fsync held the whole process (~3 ms on the
 * bench's disk), once per record.
 *
 * Each append runs inside its own SAVEPOINT, in the order asked: one that throws is rolled back to
 * its savepoint and rejects alone; the others stay in the transaction. Every append resolves only
 * once the COMMIT has returned, so a record is durable before its caller (the pipeline) publishes
 * the verdict it records; if the COMMIT fails, every append of the group rejects (and the pipeline
 * fails closed). Appends asked while a group is being written wait for the next group.
 */
import { sql, type Kysely } from "kysely";

/** At most this many appends share one transaction (a bound on how long one group holds the store). */
export const MAX_GROUP = 64;

interface Pending<DB> {
  fn: (tx: Kysely<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<DB> {
  private queue: Pending<DB>[] = [];
  private scheduled = false;
  private writing = false;
  /** Transactions committed and appends they carried (tests, figures). */
  readonly stats = { commits: 0, appends: 0 };

  constructor(
    /** Runs `fn` holding the store's one connection (Kysely's `db.connection().execute`). */
    private readonly withConnection: <T>(fn: (conn: Kysely<DB>) => Promise<T>) => Promise<T>,
    private readonly maxGroup = MAX_GROUP,
  ) {}

  /** Run `fn` in the next group's transaction; resolves with its result once that group is committed. */
  run<T>(fn: (tx: Kysely<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.queue.length === 0) return;
    this.scheduled = true;
    // The rest of this turn's appends join the group.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const group = this.queue.splice(0, this.maxGroup);
    this.writing = true;
    try {
      await this.write(group);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  private async write(group: Pending<DB>[]): Promise<void> {
    const done: { p: Pending<DB>; value: unknown }[] = [];
    try {
      await this.withConnection(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          for (const p of group) {
            await sql`savepoint append`.execute(conn);
            try {
              const value = await p.fn(conn);
              await sql`release append`.execute(conn);
              done.push({ p, value });
            } catch (err) {
              await sql`rollback to append`.execute(conn);
              await sql`release append`.execute(conn);
              p.reject(err);
            }
          }
          await sql`commit`.execute(conn);
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => {});
          throw err;
        }
      });
    } catch (err) {
      // Nothing of this group is on record: every append that had not failed on its own fails now.
      for (const { p } of done) p.reject(err);
      for (const p of group) if (!done.some((d) => d.p === p)) p.reject(err);
      return;
    }
    this.stats.commits++;
    this.stats.appends += done.length;
    for (const { p, value } of done) p.resolve(value);
  }
}
