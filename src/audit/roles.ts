/**
 * PostgreSQL with two roles: an owner role that runs the migrations and owns the tables
 * (DATABASE_OWNER_URL or `changegate db migrate`), and the app's role (DATABASE_URL), which may
 * only INSERT and SELECT audit records. Only a table's owner (or a superuser) can drop or disable
 * its triggers, alter it or truncate it; the app's role is neither, so the append-only guards hold
 * against the app's own credentials. The grants are generated here once: `changegate db migrate
 * --grant-app-role ROLE` runs them, docs/audit.md shows them, the PostgreSQL tests use them.
 *
 * What the app's role may do, table by table:
 *   audit_record                    SELECT, INSERT                  (the evidence: append-only)
 *   audit_chain                     SELECT, INSERT, UPDATE          (each chain's head moves forward)
 *   delivery, pr_sequence, ticket_pr, branch_head  SELECT, INSERT, UPDATE, DELETE  (bookkeeping, not evidence)
 *   background_lease                SELECT, INSERT, UPDATE          (which replica runs a background job)
 *   changegate_migration(_lock)     SELECT                          (the app checks the schema is current)
 */
import { sql } from "kysely";
import type { AuditStore } from "./database.js";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from "./migrations.js";

const ROLE = /^[a-z_][a-z0-9_$]{0,62}$/;

export const APP_ROLE_PRIVILEGES: Record<string, string> = {
  audit_record: "select, insert",
  audit_chain: "select, insert, update",
  delivery: "select, insert, update, delete",
  pr_sequence: "select, insert, update, delete",
  ticket_pr: "select, insert, update, delete",
  background_lease: "select, insert, update",
  branch_head: "select, insert, update, delete",
  [MIGRATION_TABLE]: "select",
  [MIGRATION_LOCK_TABLE]: "select",
};

export function validRoleName(role: string): boolean {
  return ROLE.test(role);
}

/** The SQL that gives `role` exactly the app's rights in `schema` (names checked, then quoted). */
export function appRoleGrants(role: string, schema: string): string[] {
  if (!validRoleName(role)) throw new Error(`role name ${JSON.stringify(role)}: use lower-case letters, digits and _ (at most 63)`);
  if (!ROLE.test(schema)) throw new Error(`schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (at most 63)`);
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
  if (store.dialect !== "postgres") throw new Error("--grant-app-role is for PostgreSQL (SQLite has no roles: whoever can write the file owns it)");
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
  env: Record<string, string | undefined>,
  open: (url: string | undefined, options: { migrate: boolean }) => Promise<AuditStore>,
): Promise<AuditStore> {
  const ownerUrl = env.DATABASE_OWNER_URL?.trim();
  if (!ownerUrl) return open(env.DATABASE_URL, { migrate: true });
  const owner = await open(ownerUrl, { migrate: true });
  await owner.close();
  return open(env.DATABASE_URL, { migrate: false });
}
