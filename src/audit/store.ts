/**
 * The audit store: SQLite (embedded default) or PostgreSQL (several replicas), one schema and one
 * code path through Kysely. DATABASE_URL picks it:
 *   unset / ""             → SQLite at ./data/changegate.db (directory created, WAL mode)
 *   sqlite:PATH            → SQLite at PATH (sqlite:///abs/path also works; sqlite::memory: for tests)
 *   postgres://… postgresql://… → PostgreSQL
 *
 * Records are append-only and hash-chained, one chain per repository (lower-cased "owner/name"):
 * each record stores the previous record's hash and its own hash over all its columns. Appending
 * to a chain is serialised across processes: a transaction-scoped advisory lock per chain on
 * PostgreSQL, BEGIN IMMEDIATE on SQLite. The store also holds the delivery ledger (a redelivered
 * webhook is processed once across all replicas), a per-PR evaluation sequence (an older
 * evaluation never overwrites a newer one), the per-PR lock (single-flight across replicas) and
 * the Jira key → PR index.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { openSqliteConnection, type SqliteConnection } from "./sqlite-driver.js";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Selectable } from "kysely";
import pg from "pg";
import type { EvaluationRecord, MergeReceipt, MergeRecord, OwnVerdict, Recorder, RepoRef } from "./recorder.js";
import type { DeliveryLedger, PendingJob } from "../runtime/dedupe.js";
import { prKey, type PrRef } from "../github/types.js";
import { redact } from "../report/redact.js";
import { isBypass } from "./bypass.js";
import { canonicalJson, GENESIS_HASH, lockKey, recordHash, type HashedColumns } from "./hash.js";
import {
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  migrationProvider,
  migrations,
  type AuditDatabase,
  type AuditRecordTable,
  type Dialect,
} from "./migrations.js";
import { chainOf, evaluationPayload, mergePayload, normaliseTime, type StandingVerdict } from "./payload.js";
import { changegateVersion } from "./version.js";
import { ticketIndexEntry } from "../policy/tickets.js";

export type StoreLocation = { dialect: "sqlite"; path: string } | { dialect: "postgres"; url: string };

export const DEFAULT_SQLITE_PATH = "./data/changegate.db";

/** Why the store could not be used; the CLI maps `kind` to its exit code. */
export class StoreError extends Error {
  constructor(
    readonly kind: "config" | "unreachable" | "schema",
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

/** Parse DATABASE_URL (see the header). Relative SQLite paths resolve against `cwd`. */
export function parseDatabaseUrl(url: string | undefined, cwd: string = process.cwd()): StoreLocation {
  const u = (url ?? "").trim();
  if (u === "") return { dialect: "sqlite", path: resolve(cwd, DEFAULT_SQLITE_PATH) };
  if (/^postgres(ql)?:\/\//i.test(u)) {
    try {
      new URL(u);
    } catch {
      throw new StoreError("config", `the database URL is not a valid URL: ${describeUrl(u)}`);
    }
    return { dialect: "postgres", url: u };
  }
  if (/^sqlite:/i.test(u)) {
    let path = u.slice("sqlite:".length);
    if (path.startsWith("///")) path = path.slice(2);
    if (path === "") throw new StoreError("config", "sqlite: needs a path, e.g. sqlite:./data/changegate.db");
    return { dialect: "sqlite", path: path === ":memory:" ? path : resolve(cwd, path) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u)?.[1];
  throw new StoreError(
    "config",
    `unsupported database URL${scheme ? ` (scheme "${scheme}:")` : ""}: use sqlite:PATH, postgres://… or postgresql://…, or leave DATABASE_URL unset for SQLite at ${DEFAULT_SQLITE_PATH}`,
  );
}

/** A database URL without credentials, for messages and export manifests. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return redact(url.replace(/\/\/[^@/]*@/, "//***@"));
  }
}

export function describeLocation(loc: StoreLocation): string {
  return loc.dialect === "sqlite" ? `sqlite:${loc.path}` : describeUrl(loc.url);
}

export interface OpenOptions {
  /** Run pending migrations (the app does at start-up; the CLI's read commands do not). */
  migrate?: boolean;
  /** SQLite: refuse to create the file (read commands on a store that does not exist). */
  mustExist?: boolean;
  /** PostgreSQL pool for queries (default 10 connections). */
  poolSize?: number;
  /** PostgreSQL pool for per-PR locks, separate so lock holders never starve record writes (default 20). */
  lockPoolSize?: number;
  /** How long withPrLock waits for another replica's evaluation of the same PR (default 120 s). */
  lockTimeoutMs?: number;
  /** PostgreSQL connect timeout (default 10 s) and statement timeout (default 30 s). */
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** SQLite: wait this long for another process's write lock (default 10 s). */
  busyTimeoutMs?: number;
  /** Errors of idle PostgreSQL connections (server restart, network): logged, never a crash. */
  onError?: (err: Error) => void;
  now?: () => Date;
  /** Where relative SQLite paths resolve (default process.cwd()). */
  cwd?: string;
}

export interface AppendedRecord {
  chain: string;
  seq: number;
  hash: string;
  /** "owner/name@seq": how the CLI and the bypass issue name a record. */
  id: string;
}

export interface MergeRecorded extends AppendedRecord {
  bypass: boolean;
  standing: StandingVerdict | null;
  /** The merge was on record already (a resumed or repeated delivery): nothing was appended. */
  duplicate: boolean;
}

export interface LatestEvaluation {
  seq: number;
  sequence: number;
  headSha: string;
  outcome: string;
  at: string;
}

export type AuditRow = Selectable<AuditRecordTable>;

/** Cross-process single-flight per PR; `key` is prKey(ref), the scheduler's key. */
export interface PrLock {
  withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** The Jira helper's view of the index (same shape as TicketIndex in src/jira/webhook.ts). */
export interface TicketIndex {
  prsForKey(key: string): Promise<PrRef[]>;
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

/**
 * PostgreSQL: a transaction-scoped advisory lock on a hash of the PR key, held on a connection of a
 * pool of its own while `fn` runs. It is released on commit, or by the server when the process or
 * its connection dies, so a crashed replica never leaves a PR locked.
 */
class PgPrLock implements PrLock {
  constructor(
    private readonly pool: pg.Pool,
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

/**
 * The delivery ledger shared by every process: a redelivered webhook is processed once (a unique
 * insert), and the evaluations a delivery led to are written down before they run, so a delivery
 * whose process was killed is resumed by the next process that starts.
 */
export class StoreDeliveryLedger implements DeliveryLedger {
  constructor(private readonly store: AuditStore) {}

  claim(deliveryId: string): Promise<boolean> {
    return this.store.claimDelivery(deliveryId);
  }

  pending(deliveryId: string, jobs: PendingJob[]): Promise<void> {
    return this.store.deliveryPending(deliveryId, jobs);
  }

  complete(deliveryId: string): Promise<void> {
    return this.store.deliveryComplete(deliveryId);
  }

  unfinished(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]> {
    return this.store.unfinishedDeliveries();
  }
}

/**
 * The pipeline's Recorder, backed by the store; also the durable Jira key → PR index. A failure to
 * record rejects (the pipeline then fails closed: the check does not go green).
 */
export class StoreRecorder implements Recorder, TicketIndex {
  constructor(readonly store: AuditStore) {}

  async recordEvaluation(rec: EvaluationRecord): Promise<void> {
    await this.store.recordEvaluation(rec);
  }

  async recordMerge(rec: MergeRecord): Promise<MergeReceipt> {
    const r = await this.store.recordMerge(rec);
    return { id: r.id, duplicate: r.duplicate };
  }

  /** recordEvaluation, resolving with the record's id and hash. */
  appendEvaluation(rec: EvaluationRecord): Promise<AppendedRecord> {
    return this.store.recordEvaluation(rec);
  }

  /** recordMerge, resolving with the record's id, `bypass` (isBypass) and whether it was already recorded. */
  appendMerge(rec: MergeRecord): Promise<MergeRecorded> {
    return this.store.recordMerge(rec);
  }

  verdictsAt(repo: RepoRef, headSha: string, numbers: number[]): Promise<Map<number, OwnVerdict>> {
    return this.store.verdictsAt(repo, headSha, numbers);
  }

  prsForKey(key: string): Promise<PrRef[]> {
    return this.store.prsForKey(key);
  }

  waitingOnTickets(): Promise<PrRef[]> {
    return this.store.waitingOnTickets();
  }
}

const DELIVERY_RETENTION_MS = 14 * 24 * 3600_000;
const PRUNE_EVERY = 1000;
/** A process that took over an unfinished delivery and died too: another may take it after this. */
const RESUME_LEASE_MS = 10 * 60_000;

export class AuditStore {
  private claims = 0;
  private readonly version = changegateVersion();
  private readonly now: () => Date;
  private readonly inProcessLock = new InProcessPrLock();

  private constructor(
    /** Kysely over the store (tests and tools may query it; the app only appends). */
    readonly db: Kysely<AuditDatabase>,
    readonly location: StoreLocation,
    private readonly lockPool: pg.Pool | null,
    private readonly options: OpenOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  get dialect(): Dialect {
    return this.location.dialect;
  }

  /** Where the store is, without credentials. */
  get description(): string {
    return describeLocation(this.location);
  }

  static async open(url: string | undefined, options: OpenOptions = {}): Promise<AuditStore> {
    const location = parseDatabaseUrl(url, options.cwd);
    const store = location.dialect === "sqlite" ? await openSqlite(location.path, options) : openPostgres(location.url, options);
    try {
      await sql`select 1`.execute(store.db).catch((err: unknown) => {
        throw new StoreError("unreachable", `cannot reach the audit database ${store.description}: ${redact(errorMessage(err))}`);
      });
      if (options.migrate ?? true) await store.migrate();
      else await store.assertSchema();
      return store;
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }

  /** @internal constructor for the open* helpers below. */
  static create(db: Kysely<AuditDatabase>, location: StoreLocation, lockPool: pg.Pool | null, options: OpenOptions): AuditStore {
    return new AuditStore(db, location, lockPool, options);
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.lockPool?.end();
  }

  // ---------------------------------------------------------------- migrations

  /** Migration names this database has run. */
  appliedMigrations(): Promise<string[]> {
    return this.appliedMigrationsOn(this.db);
  }

  /**
   * Run pending migrations. A database migrated by a newer changegate (names this version does not
   * know) is left alone: migrations only add, so this version still works on it (rolling deploys).
   */
  async migrate(): Promise<{ applied: string[]; newer: string[] }> {
    const known = Object.keys(migrations(this.dialect));
    const run = async (db: Kysely<AuditDatabase>) => {
      const executed = await this.appliedMigrationsOn(db);
      const newer = executed.filter((n) => !known.includes(n));
      if (newer.length > 0) return { applied: [], newer };
      if (known.every((n) => executed.includes(n))) return { applied: [], newer: [] };
      const migrator = new Migrator({
        db,
        provider: migrationProvider(this.dialect),
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
        // PostgreSQL: name the schema on the search path. Left unset, Kysely's existence check sees
        // its tables in any schema of the database, skips creating them here, then fails.
        ...(this.dialect === "postgres" ? { migrationTableSchema: await this.currentSchema(db) } : {}),
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw new StoreError("schema", `migrating the audit database ${this.description} failed: ${redact(errorMessage(error))}`);
      return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName), newer: [] };
    };
    if (this.dialect === "postgres") return run(this.db); // Kysely: one transaction under an advisory lock
    // SQLite: DDL is transactional; BEGIN IMMEDIATE makes the whole run atomic and one process at a time.
    return this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await run(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw err;
      }
    });
  }

  private async currentSchema(db: Kysely<AuditDatabase>): Promise<string> {
    const r = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = r.rows[0]?.schema;
    if (!schema) throw new StoreError("schema", `the audit database ${this.description} has no schema on its search_path to create tables in`);
    return schema;
  }

  private async appliedMigrationsOn(db: Kysely<AuditDatabase>): Promise<string[]> {
    // A plain query (not introspection): it sees exactly the tables on the search path.
    try {
      const r = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
      return r.rows.map((x) => x.name);
    } catch {
      return [];
    }
  }

  /** For read-only use: the audit tables must exist. */
  async assertSchema(): Promise<void> {
    try {
      await sql`select 1 from audit_record limit 1`.execute(this.db);
    } catch {
      throw new StoreError("schema", `${this.description} holds no changegate audit trail (no audit_record table): is this the database changegate writes to?`);
    }
  }

  // ---------------------------------------------------------------- appending

  /**
   * Append one record to `chain` inside a transaction that holds the chain: the previous record is
   * read, the new one hashed and inserted, the chain head updated, and `after` run, atomically.
   */
  private async append<P extends Omit<HashedColumns, "chain" | "seq" | "prev_hash"> | null>(
    chain: string,
    prepare: (tx: Kysely<AuditDatabase>) => Promise<P>,
    after?: (tx: Kysely<AuditDatabase>) => Promise<void>,
  ): Promise<P extends null ? AppendedRecord | null : AppendedRecord> {
    type R = P extends null ? AppendedRecord | null : AppendedRecord;
    return this.inChainTransaction(chain, async (tx) => {
      const last = await tx
        .selectFrom("audit_record")
        .select(["seq", "hash"])
        .where("chain", "=", chain)
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      const columns = await prepare(tx);
      if (columns === null) return null as R;
      const row: HashedColumns = { ...columns, chain, seq: (last?.seq ?? 0) + 1, prev_hash: last?.hash ?? GENESIS_HASH };
      const hash = recordHash(row);
      await tx
        .insertInto("audit_record")
        .values({ ...row, kind: row.kind as AuditRecordTable["kind"], hash })
        .execute();
      const updatedAt = this.now().toISOString();
      await tx
        .insertInto("audit_chain")
        .values({ chain, seq: row.seq, hash, updated_at: updatedAt })
        .onConflict((oc) => oc.column("chain").doUpdateSet({ seq: row.seq, hash, updated_at: updatedAt }))
        .execute();
      if (after) await after(tx);
      return { chain, seq: row.seq, hash, id: `${chain}@${row.seq}` } as R;
    });
  }

  private async inChainTransaction<T>(chain: string, fn: (tx: Kysely<AuditDatabase>) => Promise<T>): Promise<T> {
    if (this.dialect === "postgres") {
      return this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${lockKey("chain", chain)}::bigint)`.execute(trx);
        return fn(trx);
      });
    }
    return this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw err;
      }
    });
  }

  async recordEvaluation(rec: EvaluationRecord): Promise<AppendedRecord> {
    const { ref } = rec;
    const sequence = rec.sequence ?? (await this.nextSequence(ref));
    const payload = evaluationPayload({ ...rec, sequence }, this.version);
    const chain = chainOf(ref.owner, ref.repo);
    return this.append(
      chain,
      async () => ({
        kind: "evaluation",
        recorded_at: normaliseTime(rec.at),
        installation_id: ref.installationId,
        repo: `${ref.owner}/${ref.repo}`,
        pr_number: ref.number,
        head_sha: rec.evidence.pr.headSha,
        delivery_id: rec.deliveryId,
        outcome: rec.outcome,
        sequence,
        merged_at: null,
        bypass: null,
        standing_seq: null,
        payload: canonicalJson(payload),
      }),
      (tx) => this.indexTickets(tx, rec),
    );
  }

  async recordMerge(rec: MergeRecord): Promise<MergeRecorded> {
    const { ref } = rec;
    const chain = chainOf(ref.owner, ref.repo);
    const bypass = isBypass(rec);
    let standing: StandingVerdict | null = null;
    let existing: AppendedRecord | null = null;
    const appended = await this.append(
      chain,
      async (tx) => {
        // A merge happens once: a resumed or repeated delivery finds it on record and appends nothing.
        const prior = await tx
          .selectFrom("audit_record")
          .select(["seq", "hash", "standing_seq"])
          .where("chain", "=", chain)
          .where("pr_number", "=", ref.number)
          .where("installation_id", "=", ref.installationId)
          .where("kind", "=", "merge")
          .where("head_sha", "=", rec.headSha)
          .orderBy("seq")
          .limit(1)
          .executeTakeFirst();
        if (prior) {
          existing = { chain, seq: prior.seq, hash: prior.hash, id: `${chain}@${prior.seq}` };
          return null;
        }
        const s = await tx
          .selectFrom("audit_record")
          .select(["seq", "hash", "outcome", "recorded_at"])
          .where("chain", "=", chain)
          .where("pr_number", "=", ref.number)
          .where("installation_id", "=", ref.installationId)
          .where("kind", "=", "evaluation")
          .where("head_sha", "=", rec.headSha)
          .orderBy("sequence", "desc")
          .orderBy("seq", "desc")
          .limit(1)
          .executeTakeFirst();
        standing = s ? { seq: s.seq, hash: s.hash, outcome: s.outcome, at: s.recorded_at } : null;
        const payload = mergePayload(rec, bypass, standing, this.version);
        return {
          kind: "merge",
          recorded_at: normaliseTime(rec.at),
          installation_id: ref.installationId,
          repo: `${ref.owner}/${ref.repo}`,
          pr_number: ref.number,
          head_sha: rec.headSha,
          delivery_id: rec.deliveryId,
          outcome: rec.outcome,
          sequence: null,
          merged_at: normaliseTime(rec.mergedAt ?? rec.at),
          bypass: bypass ? 1 : 0,
          standing_seq: standing?.seq ?? null,
          payload: canonicalJson(payload),
        };
      },
      async (tx) => {
        await tx
          .updateTable("ticket_pr")
          .set({ open: 0, waiting: 0, updated_at: this.now().toISOString() })
          .where("installation_id", "=", ref.installationId)
          .where("repo_key", "=", chain)
          .where("pr_number", "=", ref.number)
          .execute();
      },
    );
    if (appended) return { ...appended, bypass, standing, duplicate: false };
    return { ...existing!, bypass, standing: null, duplicate: true };
  }

  /**
   * The Jira key → PR index, as the in-memory one in src/jira/webhook.ts keeps it: a PR's keys are
   * replaced by those of its latest evaluation (none when the policy skips the tickets rule), and
   * `waiting` marks PRs whose only failing rule is tickets. It is an index, not an audit record.
   */
  private async indexTickets(tx: Kysely<AuditDatabase>, rec: EvaluationRecord): Promise<void> {
    const { ref } = rec;
    const repoKey = chainOf(ref.owner, ref.repo);
    const entry = ticketIndexEntry(rec.verdict, rec.evidence.tickets.refs);
    const waiting = entry.waiting ? 1 : 0;
    const open = rec.evidence.pr.state === "OPEN" ? 1 : 0;
    const keys = entry.keys;
    if (keys.length === 0 && waiting) keys.push("");
    let stale = tx
      .deleteFrom("ticket_pr")
      .where("installation_id", "=", ref.installationId)
      .where("repo_key", "=", repoKey)
      .where("pr_number", "=", ref.number);
    if (keys.length > 0) stale = stale.where("ticket_key", "not in", keys);
    await stale.execute();
    const updatedAt = this.now().toISOString();
    for (const key of keys) {
      await tx
        .insertInto("ticket_pr")
        .values({ installation_id: ref.installationId, repo_key: repoKey, owner: ref.owner, repo: ref.repo, pr_number: ref.number, ticket_key: key, open, waiting, updated_at: updatedAt })
        .onConflict((oc) =>
          oc.columns(["installation_id", "repo_key", "pr_number", "ticket_key"]).doUpdateSet({ open, waiting, owner: ref.owner, repo: ref.repo, updated_at: updatedAt }),
        )
        .execute();
    }
  }

  // ---------------------------------------------------------------- replicas

  /** true the first time any process claims `deliveryId`, false for every repeat. */
  async claimDelivery(deliveryId: string): Promise<boolean> {
    const now = this.now();
    const r = await this.db
      .insertInto("delivery")
      .values({ delivery_id: deliveryId, claimed_at: now.toISOString() })
      .onConflict((oc) => oc.column("delivery_id").doNothing())
      .executeTakeFirst();
    if (++this.claims % PRUNE_EVERY === 0) {
      // GitHub redelivers at most 3 days back: ids older than the retention can go.
      await this.db
        .deleteFrom("delivery")
        .where("claimed_at", "<", new Date(now.getTime() - DELIVERY_RETENTION_MS).toISOString())
        .execute()
        .catch(() => {});
    }
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** The per-PR lock: an advisory lock on PostgreSQL, in-process on SQLite (one process per file). */
  prLock(): PrLock {
    if (this.lockPool) return new PgPrLock(this.lockPool, this.options.lockTimeoutMs ?? 120_000);
    return this.inProcessLock;
  }

  withPrLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.prLock().withPrLock(key, fn);
  }

  /**
   * The next evaluation sequence of a PR (1, 2, …), atomically across processes. Take it before
   * gathering: an evaluation with a bigger sequence saw newer (or equal) evidence.
   */
  async nextSequence(ref: PrRef): Promise<number> {
    const r = await this.db
      .insertInto("pr_sequence")
      .values({ pr_key: prKey(ref), seq: 1 })
      .onConflict((oc) => oc.column("pr_key").doUpdateSet({ seq: sql<number>`pr_sequence.seq + 1` }))
      .returning("seq")
      .executeTakeFirstOrThrow();
    return Number(r.seq);
  }

  /** The recorded evaluation of this PR that saw the newest evidence, or null. */
  async latestEvaluation(ref: PrRef): Promise<LatestEvaluation | null> {
    const r = await this.db
      .selectFrom("audit_record")
      .select(["seq", "sequence", "head_sha", "outcome", "recorded_at"])
      .where("chain", "=", chainOf(ref.owner, ref.repo))
      .where("pr_number", "=", ref.number)
      .where("installation_id", "=", ref.installationId)
      .where("kind", "=", "evaluation")
      .orderBy("sequence", "desc")
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    return r ? { seq: r.seq, sequence: r.sequence ?? 0, headSha: r.head_sha, outcome: r.outcome, at: r.recorded_at } : null;
  }

  /**
   * Each PR's own verdict at `headSha`: its latest recorded evaluation of that head (the one that saw
   * the newest evidence). The shared-head check and the merge record are decided from these.
   */
  async verdictsAt(repo: RepoRef, headSha: string, numbers: number[]): Promise<Map<number, OwnVerdict>> {
    const out = new Map<number, OwnVerdict>();
    if (numbers.length === 0) return out;
    const rows = await this.db
      .selectFrom("audit_record")
      .select(["pr_number", "sequence", "seq", "outcome", "payload"])
      .where("chain", "=", chainOf(repo.owner, repo.repo))
      .where("pr_number", "in", numbers)
      .where("installation_id", "=", repo.installationId)
      .where("kind", "=", "evaluation")
      .where("head_sha", "=", headSha)
      .orderBy("sequence", "desc")
      .orderBy("seq", "desc")
      .execute();
    for (const r of rows) {
      if (out.has(r.pr_number)) continue;
      const p = JSON.parse(r.payload) as { base?: string; gated?: boolean | null; emergency?: boolean; error?: string | null; verdict?: { title?: string } | null };
      out.set(r.pr_number, {
        number: r.pr_number,
        headSha,
        base: p.base ?? "",
        outcome: r.outcome as OwnVerdict["outcome"],
        gated: p.gated ?? null,
        emergency: p.emergency ?? false,
        title: p.verdict?.title ?? p.error ?? "",
      });
    }
    return out;
  }

  /** Has an evaluation that saw newer evidence than `sequence` been recorded (by any process)? Then don't publish. */
  async isSuperseded(ref: PrRef, sequence: number): Promise<boolean> {
    const latest = await this.latestEvaluation(ref);
    return latest !== null && latest.sequence > sequence;
  }

  /** Open PRs whose latest evaluation referenced the Jira key. */
  async prsForKey(key: string): Promise<PrRef[]> {
    if (key.trim() === "") return [];
    const rows = await this.db
      .selectFrom("ticket_pr")
      .select(["installation_id", "owner", "repo", "pr_number"])
      .where("ticket_key", "=", key.trim().toUpperCase())
      .where("open", "=", 1)
      .orderBy("repo_key")
      .orderBy("pr_number")
      .orderBy("installation_id")
      .execute();
    return rows.map((r) => ({ installationId: Number(r.installation_id), owner: r.owner, repo: r.repo, number: r.pr_number }));
  }

  /** Open PRs whose only failing rule is tickets (the periodic ticket re-check's list). */
  async waitingOnTickets(): Promise<PrRef[]> {
    const rows = await this.db
      .selectFrom("ticket_pr")
      .select(["installation_id", "owner", "repo", "pr_number"])
      .distinct()
      .where("waiting", "=", 1)
      .where("open", "=", 1)
      .orderBy("owner")
      .orderBy("repo")
      .orderBy("pr_number")
      .orderBy("installation_id")
      .execute();
    return rows.map((r) => ({ installationId: Number(r.installation_id), owner: r.owner, repo: r.repo, number: r.pr_number }));
  }

  // ---------------------------------------------------------------- deliveries

  async deliveryPending(deliveryId: string, jobs: PendingJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const text = JSON.stringify(jobs);
    const now = this.now().toISOString();
    await this.db
      .insertInto("delivery")
      .values({ delivery_id: deliveryId, claimed_at: now, jobs: text, completed_at: null, resumed_at: null })
      .onConflict((oc) => oc.column("delivery_id").doUpdateSet({ jobs: text, completed_at: null }))
      .execute();
  }

  async deliveryComplete(deliveryId: string): Promise<void> {
    await this.db.updateTable("delivery").set({ completed_at: this.now().toISOString() }).where("delivery_id", "=", deliveryId).execute();
  }

  /**
   * Deliveries whose evaluations never finished, oldest first, taken over by this process: each is
   * handed to one caller (a lease of RESUME_LEASE_MS), so replicas starting together do not all
   * resume the same delivery. A delivery still running on a live replica may be resumed once more:
   * evaluating again is harmless, and a merge is recorded once (recordMerge finds it on record).
   */
  async unfinishedDeliveries(): Promise<{ deliveryId: string; jobs: PendingJob[] }[]> {
    const now = this.now();
    const rows = await this.db
      .updateTable("delivery")
      .set({ resumed_at: now.toISOString() })
      .where("completed_at", "is", null)
      .where("jobs", "is not", null)
      .where((eb) => eb.or([eb("resumed_at", "is", null), eb("resumed_at", "<", new Date(now.getTime() - RESUME_LEASE_MS).toISOString())]))
      .returning(["delivery_id", "claimed_at", "jobs"])
      .execute();
    return rows
      .sort((a, b) => a.claimed_at.localeCompare(b.claimed_at) || a.delivery_id.localeCompare(b.delivery_id))
      .flatMap((r) => {
        const jobs = parseJobs(r.jobs);
        return jobs ? [{ deliveryId: r.delivery_id, jobs }] : [];
      });
  }

  // ---------------------------------------------------------------- reading

  /** Every chain, sorted. */
  async chains(): Promise<string[]> {
    const a = await this.db.selectFrom("audit_chain").select("chain").execute();
    const b = await this.db.selectFrom("audit_record").select("chain").distinct().execute();
    return [...new Set([...a, ...b].map((r) => r.chain))].sort();
  }

  async chainHeads(): Promise<{ chain: string; seq: number; hash: string }[]> {
    const rows = await this.db.selectFrom("audit_chain").select(["chain", "seq", "hash"]).orderBy("chain").execute();
    return rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), hash: r.hash }));
  }

  async chainHead(chain: string): Promise<{ seq: number; hash: string } | null> {
    const r = await this.db.selectFrom("audit_chain").select(["seq", "hash"]).where("chain", "=", chain).executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : null;
  }

  async countRecords(chain?: string): Promise<number> {
    let q = this.db.selectFrom("audit_record").select((eb) => eb.fn.countAll<number>().as("n"));
    if (chain) q = q.where("chain", "=", chain);
    const r = await q.executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** A chain's records in order, a page at a time. */
  async *chainRecords(chain: string, pageSize = 1000): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const rows = await this.db
        .selectFrom("audit_record")
        .selectAll()
        .where("chain", "=", chain)
        .where("seq", ">", after)
        .orderBy("seq")
        .limit(pageSize)
        .execute();
      for (const r of rows) yield normaliseRow(r);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Every record of one PR (repo is "owner/name", any case), in chain order. */
  async prRecords(repo: string, number: number): Promise<AuditRow[]> {
    const rows = await this.db
      .selectFrom("audit_record")
      .selectAll()
      .where("chain", "=", repo.toLowerCase())
      .where("pr_number", "=", number)
      .orderBy("seq")
      .execute();
    return rows.map(normaliseRow);
  }

  async countMerges(q: MergeQuery): Promise<number> {
    let s = this.db
      .selectFrom("audit_record")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("kind", "=", "merge")
      .where("merged_at", ">=", q.from)
      .where("merged_at", "<", q.to);
    if (q.repo) s = s.where("chain", "=", q.repo.toLowerCase());
    return Number((await s.executeTakeFirstOrThrow()).n);
  }

  /**
   * Merge records with merged_at in [from, to) (ISO instants), optionally of one repository, sorted
   * by merged_at, repository, PR, each with the evaluation that stood for the merged head.
   */
  async *merges(q: MergeQuery, pageSize = 500): AsyncGenerator<{ merge: AuditRow; standing: AuditRow | null }> {
    let after: AuditRow | null = null;
    for (;;) {
      let s = this.db
        .selectFrom("audit_record as m")
        .leftJoin("audit_record as e", (j) => j.onRef("e.chain", "=", "m.chain").onRef("e.seq", "=", "m.standing_seq"))
        .selectAll("m")
        .select([
          "e.seq as e_seq",
          "e.kind as e_kind",
          "e.recorded_at as e_recorded_at",
          "e.installation_id as e_installation_id",
          "e.repo as e_repo",
          "e.pr_number as e_pr_number",
          "e.head_sha as e_head_sha",
          "e.delivery_id as e_delivery_id",
          "e.outcome as e_outcome",
          "e.sequence as e_sequence",
          "e.payload as e_payload",
          "e.prev_hash as e_prev_hash",
          "e.hash as e_hash",
        ])
        .where("m.kind", "=", "merge")
        .where("m.merged_at", ">=", q.from)
        .where("m.merged_at", "<", q.to);
      if (q.repo) s = s.where("m.chain", "=", q.repo.toLowerCase());
      if (after) {
        const a: AuditRow = after;
        s = s.where((eb) =>
          eb(eb.refTuple("m.merged_at", "m.chain", "m.pr_number", "m.seq"), ">", eb.tuple(a.merged_at!, a.chain, a.pr_number, a.seq)),
        );
      }
      const rows = await s.orderBy("m.merged_at").orderBy("m.chain").orderBy("m.pr_number").orderBy("m.seq").limit(pageSize).execute();
      for (const r of rows) {
        const merge = normaliseRow(r);
        const standing: AuditRow | null =
          r.e_seq === null || r.e_seq === undefined
            ? null
            : normaliseRow({
                chain: r.chain,
                seq: r.e_seq,
                kind: r.e_kind as AuditRow["kind"],
                recorded_at: r.e_recorded_at!,
                installation_id: r.e_installation_id!,
                repo: r.e_repo!,
                pr_number: r.e_pr_number!,
                head_sha: r.e_head_sha!,
                delivery_id: r.e_delivery_id!,
                outcome: r.e_outcome!,
                sequence: r.e_sequence ?? null,
                merged_at: null,
                bypass: null,
                standing_seq: null,
                payload: r.e_payload!,
                prev_hash: r.e_prev_hash!,
                hash: r.e_hash!,
              });
        yield { merge, standing };
      }
      if (rows.length < pageSize) return;
      after = normaliseRow(rows[rows.length - 1]!);
    }
  }
}

export interface MergeQuery {
  /** ISO instants: merged_at >= from and < to. */
  from: string;
  to: string;
  repo?: string | null;
}

/** Same JS types from both drivers (PostgreSQL's bigint arrives as a number via the type parser). */
function normaliseRow(r: AuditRow): AuditRow {
  const n = (v: number | null) => (v === null || v === undefined ? null : Number(v));
  return {
    chain: r.chain,
    seq: Number(r.seq),
    kind: r.kind,
    recorded_at: r.recorded_at,
    installation_id: Number(r.installation_id),
    repo: r.repo,
    pr_number: Number(r.pr_number),
    head_sha: r.head_sha,
    delivery_id: r.delivery_id,
    outcome: r.outcome,
    sequence: n(r.sequence),
    merged_at: r.merged_at ?? null,
    bypass: n(r.bypass),
    standing_seq: n(r.standing_seq),
    payload: r.payload,
    prev_hash: r.prev_hash,
    hash: r.hash,
  };
}

/** True when the check fails and the tickets rule is the only rule failing (as src/jira/webhook.ts decides). */
function parseJobs(text: string | null): PendingJob[] | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return null;
    return v.filter(
      (j): j is PendingJob =>
        typeof j === "object" &&
        j !== null &&
        typeof j.ref?.installationId === "number" &&
        typeof j.ref?.owner === "string" &&
        typeof j.ref?.repo === "string" &&
        typeof j.ref?.number === "number" &&
        typeof j.event === "string" &&
        typeof j.merge === "boolean",
    );
  } catch {
    return null;
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorMessage).join("; ");
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

async function openSqlite(path: string, options: OpenOptions): Promise<AuditStore> {
  const location: StoreLocation = { dialect: "sqlite", path };
  if (path !== ":memory:") {
    if (options.mustExist && !existsSync(path)) {
      throw new StoreError("unreachable", `no audit database at ${path} (set DATABASE_URL or --database to where changegate writes its records)`);
    }
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StoreError("unreachable", `cannot create the directory for ${path}: ${errorMessage(err)}`);
    }
  }
  let database: SqliteConnection;
  try {
    database = await openSqliteConnection(path, { timeoutMs: options.busyTimeoutMs ?? 10_000 });
    if (path !== ":memory:") database.exec("PRAGMA journal_mode = WAL");
    // FULL: a committed record survives a power cut too, not only a killed process.
    database.exec("PRAGMA synchronous = FULL");
    database.exec("PRAGMA foreign_keys = ON");
  } catch (err) {
    throw new StoreError("unreachable", `cannot open the audit database sqlite:${path}: ${errorMessage(err)}`);
  }
  const db = new Kysely<AuditDatabase>({ dialect: new SqliteDialect({ database }) });
  return AuditStore.create(db, location, null, options);
}

/** PostgreSQL's int8 (counts, bigint columns) as JS numbers: every value we store is far below 2^53. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as never,
};

function openPostgres(url: string, options: OpenOptions): AuditStore {
  const location: StoreLocation = { dialect: "postgres", url };
  const onError = (err: Error) => options.onError?.(new Error(redact(err.message)));
  const common = {
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: "changegate",
    types: pgTypes,
  };
  const pool = new pg.Pool({ ...common, max: options.poolSize ?? 10, statement_timeout: options.statementTimeoutMs ?? 30_000 });
  pool.on("error", onError);
  // Lock sessions: one per PR being evaluated, held while it runs. Waiting for a free one counts
  // against the lock timeout, like waiting for the lock itself.
  const lockPool = new pg.Pool({ ...common, max: options.lockPoolSize ?? 20, connectionTimeoutMillis: options.lockTimeoutMs ?? 120_000 });
  lockPool.on("error", onError);
  const db = new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool }) });
  return AuditStore.create(db, location, lockPool, options);
}

/** The app's entry point: open (and migrate) the store DATABASE_URL names. */
export function openStore(url: string | undefined = process.env.DATABASE_URL, options: OpenOptions = {}): Promise<AuditStore> {
  return AuditStore.open(url, options);
}
