/**
 * The audit database: where it is (DATABASE_URL), opening it and migrating its schema. SQLite
 * (embedded default) or PostgreSQL (several replicas), one schema and one code path through Kysely.
 * DATABASE_URL picks it:
 *   unset / ""             → SQLite at ./data/changegate.db (directory created, WAL mode)
 *   sqlite:PATH            → SQLite at PATH (sqlite:///abs/path also works; sqlite::memory: for tests)
 *   postgres://… postgresql://… → PostgreSQL
 *
 * An opened AuditStore is only the handle. What is done with it lives one job per module:
 *   chain-writer.ts  ChainWriter, the Recorder: the only writer of audit_record (hash-chained)
 *   ticket-index.ts  StoreTicketIndex: the Jira key → PR index the writer keeps
 *   ledger.ts        StoreDeliveryLedger: webhook deliveries, processed once across replicas
 *   reader.ts        AuditReader: the read side of `changegate audit export | verify | show`
 *   src/intake/pg-pr-lock.ts: the per-PR lock across replicas, on `pgPool`
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { redact } from "../report/redact.js";
import { lockKey } from "./hash.js";
import {
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  migrationProvider,
  migrations,
  type AuditDatabase,
  type Dialect,
} from "./migrations.js";
import { openSqliteConnection, type SqliteConnection } from "./sqlite-driver.js";

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
  /** PostgreSQL pool for per-PR locks (`pgPool`), separate so lock holders never starve record writes (default 20). */
  lockPoolSize?: number;
  /** How long a per-PR lock waits for another replica's evaluation of the same PR (default 120 s): the lock pool's connect timeout. */
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

export class AuditStore {
  /** The clock records and ledger entries are stamped with (options.now, for tests). */
  readonly now: () => Date;

  private constructor(
    /** Kysely over the store (tests and tools may query it; only ChainWriter writes audit_record). */
    readonly db: Kysely<AuditDatabase>,
    readonly location: StoreLocation,
    /**
     * PostgreSQL: a pool of its own for per-PR lock sessions (src/intake/pg-pr-lock.ts), null on
     * SQLite (one process per file: an in-process lock is enough).
     */
    readonly pgPool: pg.Pool | null,
    readonly options: OpenOptions,
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

  /** How long a per-PR lock waits (OpenOptions.lockTimeoutMs, default 120 s). */
  get lockTimeoutMs(): number {
    return this.options.lockTimeoutMs ?? 120_000;
  }

  static async open(url: string | undefined, options: OpenOptions = {}): Promise<AuditStore> {
    const location = parseDatabaseUrl(url, options.cwd);
    const store =
      location.dialect === "sqlite"
        ? await openSqlite(location.path, options)
        : openPostgres(location.url, options);
    try {
      await sql`select 1`.execute(store.db).catch((err: unknown) => {
        throw new StoreError(
          "unreachable",
          `cannot reach the audit database ${store.description}: ${redact(errorMessage(err))}`,
        );
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
  static create(
    db: Kysely<AuditDatabase>,
    location: StoreLocation,
    pgPool: pg.Pool | null,
    options: OpenOptions,
  ): AuditStore {
    return new AuditStore(db, location, pgPool, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers.splice(0)) await fn().catch(() => {});
    await this.db.destroy();
    await this.pgPool?.end();
  }

  private readonly closers: (() => Promise<void>)[] = [];
  private closed = false;

  /** Run `fn` when the store closes, before its pools end (a session held on the lock pool gives its connection back). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /**
   * Run bookkeeping statements (the delivery ledger: claims, pending jobs, completions) without
   * waiting for the disk. On SQLite they run with `synchronous = NORMAL` (WAL: durable when the
   * process dies, possibly rolled back by a power cut or an OS crash), the audit records keep
   * `synchronous = FULL`. What a power cut can cost: a redelivery processed twice (harmless: an
   * evaluation repeats, a merge is recorded once) or an unfinished delivery not resumed (the start-up
   * reconcile re-evaluates open PRs; the audit scan finds an unrecorded merge). Each fsync held the
   * whole process ~3 ms on the bench's disk, one per webhook. PostgreSQL: unchanged (the server
   * syncs; this process does not wait on a disk).
   */
  async bookkeeping<T>(fn: (db: Kysely<AuditDatabase>) => Promise<T>): Promise<T> {
    if (this.dialect !== "sqlite") return fn(this.db);
    return this.db.connection().execute(async (conn) => {
      await sql`pragma synchronous = normal`.execute(conn);
      try {
        return await fn(conn);
      } finally {
        await sql`pragma synchronous = full`.execute(conn);
      }
    });
  }

  /**
   * Run `fn` in a write transaction that holds `chain` across processes: a transaction-scoped
   * advisory lock on PostgreSQL, BEGIN IMMEDIATE (the whole database) on SQLite.
   */
  async inChainTransaction<T>(chain: string, fn: (tx: Kysely<AuditDatabase>) => Promise<T>): Promise<T> {
    if (this.dialect === "postgres") {
      return this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${lockKey("chain", chain)}::bigint)`.execute(trx);
        return fn(trx);
      });
    }
    return this.immediate(fn);
  }

  /** SQLite: BEGIN IMMEDIATE … COMMIT on one connection (one writer at a time, across processes). */
  private immediate<T>(fn: (conn: Kysely<AuditDatabase>) => Promise<T>): Promise<T> {
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
      if (error)
        throw new StoreError(
          "schema",
          `migrating the audit database ${this.description} failed: ${redact(errorMessage(error))}`,
        );
      return {
        applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName),
        newer: [],
      };
    };
    if (this.dialect === "postgres") return run(this.db); // Kysely: one transaction under an advisory lock
    // SQLite: DDL is transactional; BEGIN IMMEDIATE makes the whole run atomic and one process at a time.
    return this.immediate(run);
  }

  private async currentSchema(db: Kysely<AuditDatabase>): Promise<string> {
    const r = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = r.rows[0]?.schema;
    if (!schema)
      throw new StoreError(
        "schema",
        `the audit database ${this.description} has no schema on its search_path to create tables in`,
      );
    return schema;
  }

  private async appliedMigrationsOn(db: Kysely<AuditDatabase>): Promise<string[]> {
    // A plain query (not introspection): it sees exactly the tables on the search path.
    try {
      const r = await sql<{
        name: string;
      }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
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
      throw new StoreError(
        "schema",
        `${this.description} holds no changegate audit trail (no audit_record table): is this the database changegate writes to?`,
      );
    }
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorMessage).join("; ");
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}

async function openSqlite(path: string, options: OpenOptions): Promise<AuditStore> {
  const location: StoreLocation = { dialect: "sqlite", path };
  if (path !== ":memory:") {
    if (options.mustExist && !existsSync(path)) {
      throw new StoreError(
        "unreachable",
        `no audit database at ${path} (set DATABASE_URL or --database to where changegate writes its records)`,
      );
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
    throw new StoreError(
      "unreachable",
      `cannot open the audit database sqlite:${path}: ${errorMessage(err)}`,
    );
  }
  const db = new Kysely<AuditDatabase>({ dialect: new SqliteDialect({ database }) });
  return AuditStore.create(db, location, null, options);
}

/** PostgreSQL's int8 (counts, bigint columns) as JS numbers: every value we store is far below 2^53. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as never,
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
  const pool = new pg.Pool({
    ...common,
    max: options.poolSize ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
  });
  pool.on("error", onError);
  // Lock sessions: one per PR being evaluated, held while it runs. Waiting for a free one counts
  // against the lock timeout, like waiting for the lock itself.
  const lockPool = new pg.Pool({
    ...common,
    max: options.lockPoolSize ?? 20,
    connectionTimeoutMillis: options.lockTimeoutMs ?? 120_000,
  });
  lockPool.on("error", onError);
  const db = new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool }) });
  return AuditStore.create(db, location, lockPool, options);
}

/** The app's entry point: open (and migrate) the store DATABASE_URL names. */
export function openStore(url: string | undefined, options: OpenOptions = {}): Promise<AuditStore> {
  return AuditStore.open(url, options);
}
