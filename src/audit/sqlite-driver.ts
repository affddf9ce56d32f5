/**
 * The SQLite driver under Kysely's SqliteDialect.
 *
 * On Node 22.16+ (the production image runs Node 24) it is Node's built-in `node:sqlite`: no native
 * addon at all. better-sqlite3 12 aborts the process on Node 24.19+ (its Statement destructor trips
 * `RemoveEnvironmentCleanupHook`'s `(env) != nullptr` check during GC — nodejs/node#65446), and
 * better-sqlite3 13, which fixes that, does not run on Node 20. On older Node (20) it is
 * better-sqlite3 12, which is fine there. Both are exercised by CI (Node 20 and Node 24 passes).
 */
import type { SqliteDatabase, SqliteStatement } from "kysely";

export interface SqliteConnection extends SqliteDatabase {
  /** Run a statement that returns nothing (PRAGMA settings). */
  exec(sql: string): void;
  readonly driver: "node:sqlite" | "better-sqlite3";
}

export interface SqliteOpenOptions {
  /** Wait this long for another process's write lock, in ms. */
  timeoutMs: number;
}

/** node:sqlite with StatementSync#columns (22.16 / 23.11+). */
export function hasNodeSqlite(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major >= 24 || (major === 23 && minor >= 11) || (major === 22 && minor >= 16);
}

export async function openSqliteConnection(
  path: string,
  options: SqliteOpenOptions,
): Promise<SqliteConnection> {
  if (hasNodeSqlite()) return openNodeSqlite(path, options);
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(path, { timeout: options.timeoutMs });
  // better-sqlite3's Database already has prepare/close/exec in the shape Kysely expects.
  const prepare = db.prepare.bind(db) as (sql: string) => SqliteStatement;
  return Object.assign(db, {
    driver: "better-sqlite3" as const,
    prepare: cachedPrepare(prepare),
  }) as unknown as SqliteConnection;
}

/** Prepared statements kept per SQL text (Kysely prepares every query anew; compiling one costs more than running it). */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * A bounded cache of prepared statements. Safe here: every statement runs to completion
 * synchronously (changegate never streams a query), so a cached statement is never busy.
 */
export function cachedPrepare(
  prepare: (sql: string) => SqliteStatement,
  size = STATEMENT_CACHE_SIZE,
): (sql: string) => SqliteStatement {
  const cache = new Map<string, SqliteStatement>();
  return (sql) => {
    const hit = cache.get(sql);
    if (hit) {
      // Most recently used last: the oldest goes first when the cache is full.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const st = prepare(sql);
    cache.set(sql, st);
    if (cache.size > size) cache.delete(cache.keys().next().value!);
    return st;
  };
}

interface NodeStatement {
  columns(): unknown[];
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...params: unknown[]): IterableIterator<unknown>;
}
interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

async function openNodeSqlite(path: string, options: SqliteOpenOptions): Promise<SqliteConnection> {
  const mod = (await import("node:sqlite" as string)) as {
    DatabaseSync: new (path: string, options: { timeout: number }) => NodeDatabase;
  };
  const db = new mod.DatabaseSync(path, { timeout: options.timeoutMs });
  return {
    driver: "node:sqlite",
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    prepare: cachedPrepare((sql: string): SqliteStatement => {
      const st = db.prepare(sql);
      return {
        reader: st.columns().length > 0,
        all: (params) => st.all(...(params as unknown[])),
        run: (params) => st.run(...(params as unknown[])),
        iterate: (params) => st.iterate(...(params as unknown[])),
      } as SqliteStatement;
    }),
  };
}
