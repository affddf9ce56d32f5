/**
 * Versioned schema migrations, run at start-up by Kysely's Migrator with an in-code provider.
 * Rules: a migration is never edited once released, only added; migrations only add (tables,
 * columns, indexes, triggers) and never drop or rewrite data; there are no `down` migrations.
 * One schema for SQLite and PostgreSQL: text timestamps (ISO-8601 UTC, normalised so they sort),
 * integer 0/1 flags, JSON payloads as canonical text. Only the append-only triggers differ by dialect.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

export type Dialect = "sqlite" | "postgres";

/** Records about a merge made after it (after-merge.ts): no new column, the payload says what. */
export type AfterMergeKind = "retro_review" | "retro_overdue" | "ticket_transition";

export const MIGRATION_TABLE = "changegate_migration";
export const MIGRATION_LOCK_TABLE = "changegate_migration_lock";

/** The audit tables (for the store's typed queries). */
export interface AuditRecordTable {
  /** The chain the record belongs to: the repository, lower-cased "owner/name". */
  chain: string;
  /** Position in the chain, from 1, without gaps. */
  seq: number;
  kind: "evaluation" | "merge" | "merge_group" | AfterMergeKind | "direct_push";
  recorded_at: string;
  installation_id: number;
  repo: string;
  pr_number: number;
  head_sha: string;
  delivery_id: string;
  outcome: string;
  /** Per-PR evaluation sequence (null for merges): a bigger one saw newer evidence. */
  sequence: number | null;
  /** Merges: GitHub's merged_at, normalised to toISOString(). */
  merged_at: string | null;
  /** Merges: 1 when the merge bypassed the gate. */
  bypass: number | null;
  /** Merges: seq of the evaluation that stood for the merged head, in the same chain. */
  standing_seq: number | null;
  /** Canonical JSON of the full record. */
  payload: string;
  prev_hash: string;
  hash: string;
}

/**
 * The one list of audit_record's columns, with how each is stored. `satisfies` ties it to
 * AuditRecordTable both ways: a column added to the table type and missing here (or listed here
 * and not in the table) does not compile. The hashed column set (hash.ts), the row normalisation
 * and the export's join (reader.ts) are all derived from it, so no column can escape the hash.
 */
export const AUDIT_RECORD_COLUMNS = {
  chain: "text",
  seq: "integer",
  kind: "text",
  recorded_at: "text",
  installation_id: "integer",
  repo: "text",
  pr_number: "integer",
  head_sha: "text",
  delivery_id: "text",
  outcome: "text",
  sequence: "integer?",
  merged_at: "text?",
  bypass: "integer?",
  standing_seq: "integer?",
  payload: "text",
  prev_hash: "text",
  hash: "text",
} as const satisfies { [K in keyof AuditRecordTable]-?: ColumnStorage<AuditRecordTable[K]> };

/** How a column is stored: text or integer, "?" when it may be null (checked against the table type). */
type ColumnStorage<T> = null extends T ? `${StorageOf<NonNullable<T>>}?` : StorageOf<T>;
type StorageOf<T> = [T] extends [string] ? "text" : [T] extends [number] ? "integer" : never;

export type AuditRecordColumn = keyof typeof AUDIT_RECORD_COLUMNS;

/** audit_record's column names, in table order. */
export const AUDIT_RECORD_COLUMN_NAMES = Object.keys(AUDIT_RECORD_COLUMNS) as AuditRecordColumn[];

export interface AuditChainTable {
  chain: string;
  seq: number;
  hash: string;
  updated_at: string;
}

export interface DeliveryTable {
  delivery_id: string;
  claimed_at: string;
  /** JSON PendingJob[]: the evaluations the delivery led to (null until known). */
  jobs: string | null;
  completed_at: string | null;
  /** Set when a starting process took the delivery over to resume it (a lease, see unfinished()). */
  resumed_at: string | null;
  /**
   * The process (a random id per start) that claimed or took the delivery over: another process resumes
   * it only once that one is gone (ledger.ts: a session advisory lock on PostgreSQL). Null in rows
   * written before 0003.
   */
  claimed_by: string | null;
}

export interface PrSequenceTable {
  pr_key: string;
  seq: number;
}

export interface TicketPrTable {
  installation_id: number;
  repo_key: string;
  owner: string;
  repo: string;
  pr_number: number;
  /** "" marks a PR waiting on tickets that references none. */
  ticket_key: string;
  open: number;
  /** 1 when the tickets rule is the only one failing: the periodic ticket re-check visits it. */
  waiting: number;
  updated_at: string;
}

/**
 * A background job's lease and progress (audit/lease.ts): one row per job (`name`), held by one
 * replica until `expires_at`; `position` is the job's own note of where its last run got to.
 */
export interface BackgroundLeaseTable {
  name: string;
  holder: string;
  expires_at: string;
  position: string | null;
  updated_at: string;
}

/**
 * branch_head (bookkeeping, not evidence, not hashed): per repository and gated branch, the head the
 * last scan (or an examined push webhook) saw; the next scan examines the commits reachable from
 * today's head and not from it. walk_*: a walk over the scan's bound, to be continued by the next run
 * (the commits of walk_target not reachable from walk_stop, from walk_cursor on).
 */
export interface BranchHeadTable {
  /** Lower-cased "owner/name". */
  repo_key: string;
  branch: string;
  head_sha: string;
  walk_target: string | null;
  walk_stop: string | null;
  walk_cursor: string | null;
  updated_at: string;
}

export interface AuditDatabase {
  branch_head: BranchHeadTable;
  audit_record: AuditRecordTable;
  audit_chain: AuditChainTable;
  delivery: DeliveryTable;
  pr_sequence: PrSequenceTable;
  ticket_pr: TicketPrTable;
  background_lease: BackgroundLeaseTable;
}

/** Every migration, by name; names sort in the order they must run. */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_audit_trail": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("audit_record")
          .addColumn("chain", "text", (c) => c.notNull())
          .addColumn("seq", "integer", (c) => c.notNull())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("recorded_at", "text", (c) => c.notNull())
          .addColumn("installation_id", "bigint", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("pr_number", "integer", (c) => c.notNull())
          .addColumn("head_sha", "text", (c) => c.notNull())
          .addColumn("delivery_id", "text", (c) => c.notNull())
          .addColumn("outcome", "text", (c) => c.notNull())
          .addColumn("sequence", "integer")
          .addColumn("merged_at", "text")
          .addColumn("bypass", "integer")
          .addColumn("standing_seq", "integer")
          .addColumn("payload", "text", (c) => c.notNull())
          .addColumn("prev_hash", "text", (c) => c.notNull())
          .addColumn("hash", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("audit_record_pk", ["chain", "seq"])
          .execute();
        await db.schema
          .createIndex("audit_record_pr")
          .on("audit_record")
          .columns(["chain", "pr_number", "seq"])
          .execute();
        await db.schema
          .createIndex("audit_record_merged")
          .on("audit_record")
          .columns(["kind", "merged_at"])
          .execute();

        await db.schema
          .createTable("audit_chain")
          .addColumn("chain", "text", (c) => c.primaryKey())
          .addColumn("seq", "integer", (c) => c.notNull())
          .addColumn("hash", "text", (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("delivery")
          .addColumn("delivery_id", "text", (c) => c.primaryKey())
          .addColumn("claimed_at", "text", (c) => c.notNull())
          .addColumn("jobs", "text")
          .addColumn("completed_at", "text")
          .addColumn("resumed_at", "text")
          .execute();
        await db.schema.createIndex("delivery_claimed").on("delivery").column("claimed_at").execute();
        await db.schema
          .createIndex("delivery_unfinished")
          .on("delivery")
          .columns(["completed_at", "claimed_at"])
          .execute();

        await db.schema
          .createTable("pr_sequence")
          .addColumn("pr_key", "text", (c) => c.primaryKey())
          .addColumn("seq", "integer", (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("ticket_pr")
          .addColumn("installation_id", "bigint", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("pr_number", "integer", (c) => c.notNull())
          .addColumn("ticket_key", "text", (c) => c.notNull())
          .addColumn("open", "integer", (c) => c.notNull())
          .addColumn("waiting", "integer", (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("ticket_pr_pk", ["installation_id", "repo_key", "pr_number", "ticket_key"])
          .execute();
        await db.schema
          .createIndex("ticket_pr_key")
          .on("ticket_pr")
          .columns(["ticket_key", "open"])
          .execute();
        await db.schema
          .createIndex("ticket_pr_waiting")
          .on("ticket_pr")
          .columns(["waiting", "open"])
          .execute();
      },
    },
    "0002_append_only_guards": {
      // Defence in depth: the app never updates or deletes audit records, and the database refuses
      // to. Someone with DDL rights can drop the guard; the hash chain still shows what they changed.
      async up(db: Kysely<any>) {
        if (dialect === "sqlite") {
          await sql`create trigger audit_record_no_update before update on audit_record
            begin select raise(abort, 'audit records are append-only: update refused'); end`.execute(db);
          await sql`create trigger audit_record_no_delete before delete on audit_record
            begin select raise(abort, 'audit records are append-only: delete refused'); end`.execute(db);
          return;
        }
        await sql`create or replace function changegate_audit_append_only() returns trigger language plpgsql as $$
          begin
            raise exception 'audit records are append-only: % refused', lower(tg_op);
          end
        $$`.execute(db);
        await sql`create trigger audit_record_no_change before update or delete on audit_record
          for each row execute function changegate_audit_append_only()`.execute(db);
        await sql`create trigger audit_record_no_truncate before truncate on audit_record
          for each statement execute function changegate_audit_append_only()`.execute(db);
      },
    },
    "0003_delivery_owner": {
      // Which process holds a delivery: a replica starting up no longer resumes a delivery that a live
      // replica claimed a moment ago and is evaluating (it was evaluated by both).
      async up(db: Kysely<any>) {
        await db.schema.alterTable("delivery").addColumn("claimed_by", "text").execute();
      },
    },
    "0004_background_lease": {
      // Bookkeeping, not evidence: which replica runs a background job (the webhook redelivery) and
      // where its last run got to.
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("background_lease")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("holder", "text", (c) => c.notNull())
          .addColumn("expires_at", "text", (c) => c.notNull())
          .addColumn("position", "text")
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();
      },
    },
    "0005_branch_head": {
      // The scan's bookkeeping (background/scan-pushes.ts): no trigger, no hash; rows are updated in place.
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("branch_head")
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("branch", "text", (c) => c.notNull())
          .addColumn("head_sha", "text", (c) => c.notNull())
          .addColumn("walk_target", "text")
          .addColumn("walk_stop", "text")
          .addColumn("walk_cursor", "text")
          .addColumn("updated_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("branch_head_pk", ["repo_key", "branch"])
          .execute();
      },
    },
    "0006_chain_head_log": {
      // The chain heads become an insert-only log (one row per record appended: chain, seq, hash),
      // so the app's role needs no UPDATE on any audit table and cannot rewind a head; the head of a
      // chain is its row with the highest seq. The rows already there (one per chain) are kept as
      // each chain's first log entry. Guarded like audit_record (update, delete, truncate refused).
      async up(db: Kysely<any>) {
        if (dialect === "sqlite") {
          await sql`create table audit_chain_log (chain text not null, seq integer not null, hash text not null, updated_at text not null,
            constraint audit_chain_pk primary key (chain, seq))`.execute(db);
          await sql`insert into audit_chain_log (chain, seq, hash, updated_at) select chain, seq, hash, updated_at from audit_chain`.execute(
            db,
          );
          await sql`drop table audit_chain`.execute(db);
          await sql`alter table audit_chain_log rename to audit_chain`.execute(db);
          await sql`create trigger audit_chain_no_update before update on audit_chain
            begin select raise(abort, 'chain heads are insert-only: update refused'); end`.execute(db);
          await sql`create trigger audit_chain_no_delete before delete on audit_chain
            begin select raise(abort, 'chain heads are insert-only: delete refused'); end`.execute(db);
          return;
        }
        await sql`alter table audit_chain drop constraint audit_chain_pkey`.execute(db);
        await sql`alter table audit_chain add constraint audit_chain_pk primary key (chain, seq)`.execute(db);
        await sql`create or replace function changegate_audit_insert_only() returns trigger language plpgsql as $$
          begin
            raise exception '% is insert-only: % refused', tg_table_name, lower(tg_op);
          end
        $$`.execute(db);
        await sql`create trigger audit_chain_no_change before update or delete on audit_chain
          for each row execute function changegate_audit_insert_only()`.execute(db);
        await sql`create trigger audit_chain_no_truncate before truncate on audit_chain
          for each statement execute function changegate_audit_insert_only()`.execute(db);
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
