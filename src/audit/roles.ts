/**
 * PostgreSQL with two roles: an owner role that runs the migrations and owns the tables
 * (DATABASE_OWNER_URL or `changegate db migrate`), and the app's role (DATABASE_URL), which may
 * only INSERT and SELECT audit records. Only a table's owner (or a superuser) can drop or disable
 * its triggers, alter it or truncate it; the app's role is neither, so the append-only guards hold
 * against the app's own credentials. The grants are generated here once: `changegate db migrate
 * --grant-app-role ROLE` runs them, docs/audit.md shows them, the PostgreSQL tests use them.
 *
 * What the app's role may do, table by table. Every table the migrations create must be in exactly
 * one of the three lists below (test/audit/roles.pg.test.ts fails otherwise: a new table cannot
 * ship without this decision; a table in none of them gets no rights at all):
 *   AUDIT_TABLES        SELECT, INSERT only: the evidence and anything hashed or signed.
 *                       audit_record (the records), audit_chain (the insert-only log of chain heads,
 *                       migration 0006: a head cannot be rewound with the app's credentials). Both
 *                       also refuse UPDATE, DELETE and TRUNCATE by trigger, for the owner's sessions too.
 *   BOOKKEEPING_TABLES  what the app needs to run, not evidence, with the rights each needs:
 *                       the delivery ledger, per-PR evaluation sequence and Jira key index (SELECT,
 *                       INSERT, UPDATE, DELETE), the background job lease (SELECT, INSERT, UPDATE), the
 *                       scan's branch heads (SELECT, INSERT, UPDATE, DELETE); new bookkeeping here.
 *   READ_ONLY_TABLES    SELECT: the migration tables (the app checks the schema is current).
 */
import { sql } from "kysely";
import type { AuditStore } from "./database.js";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from "./migrations.js";

const ROLE = /^[a-z_][a-z0-9_$]{0,62}$/;

/** The evidence: the app's role may only add and read (never UPDATE, DELETE or TRUNCATE). */
export const AUDIT_TABLES = ["audit_record", "audit_chain"] as const;

/** What the app needs to run, not evidence: the app's role may change (and mostly remove) rows. */
export const BOOKKEEPING_TABLES: Readonly<Record<string, string>> = {
  delivery: "select, insert, update, delete",
  pr_sequence: "select, insert, update, delete",
  ticket_pr: "select, insert, update, delete",
  background_lease: "select, insert, update", // which replica runs a background job
  branch_head: "select, insert, update, delete", // where the scan walked each branch to
  branch_enforcement: "select, insert, update, delete", // when each gated branch's enforcement was last observed
};

/** The migration tables: read only (the app checks the schema is current). */
export const READ_ONLY_TABLES = [MIGRATION_TABLE, MIGRATION_LOCK_TABLE] as const;

export const APP_ROLE_PRIVILEGES: Record<string, string> = {
  ...Object.fromEntries(AUDIT_TABLES.map((t) => [t, "select, insert"])),
  ...BOOKKEEPING_TABLES,
  ...Object.fromEntries(READ_ONLY_TABLES.map((t) => [t, "select"])),
};

export function validRoleName(role: string): boolean {
  return ROLE.test(role);
}

/** The SQL that gives `role` exactly the app's rights in `schema` (names checked, then quoted). */
export function appRoleGrants(role: string, schema: string): string[] {
  if (!validRoleName(role))
    throw new Error(`role name ${JSON.stringify(role)}: use lower-case letters, digits and _ (at most 63)`);
  if (!ROLE.test(schema))
    throw new Error(
      `schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (at most 63)`,
    );
  const r = `"${role}"`;
  const s = `"${schema}"`;
  return [
    `revoke create on schema ${s} from ${r}`,
    `grant usage on schema ${s} to ${r}`,
    ...Object.entries(APP_ROLE_PRIVILEGES).flatMap(([table, privileges]) => [
      `revoke all on ${s}."${table}" from ${r}`,
      `grant ${privileges} on ${s}."${table}" to ${r}`,
    ]),
  ];
}

/** Run the grants on `store` (PostgreSQL, connected as the tables' owner) for its current schema. */
export async function grantAppRole(store: AuditStore, role: string): Promise<string[]> {
  if (store.dialect !== "postgres")
    throw new Error(
      "--grant-app-role is for PostgreSQL (SQLite has no roles: whoever can write the file owns it)",
    );
  const r = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
  const schema = r.rows[0]?.schema;
  if (!schema) throw new Error(`${store.description} has no schema on its search_path`);
  const statements = appRoleGrants(role, schema);
  await store.db.transaction().execute(async (tx) => {
    for (const statement of statements) await sql.raw(statement).execute(tx);
  });
  return statements;
}

/**
 * The app's store when the owner is separate: migrate with DATABASE_OWNER_URL (then close that
 * connection), and run with DATABASE_URL without DDL. Without DATABASE_OWNER_URL: one URL that
 * migrates and runs (SQLite, simple setups).
 */
export async function openAppStore(
  store: { databaseUrl: string | undefined; ownerUrl: string | null },
  open: (url: string | undefined, options: { migrate: boolean }) => Promise<AuditStore>,
): Promise<AuditStore> {
  if (!store.ownerUrl) return open(store.databaseUrl, { migrate: true });
  const owner = await open(store.ownerUrl, { migrate: true });
  await owner.close();
  return open(store.databaseUrl, { migrate: false });
}
