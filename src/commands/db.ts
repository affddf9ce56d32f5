/**
 * `changegate db migrate [--grant-app-role ROLE]`: run the schema migrations as the tables' owner
 * (--database, else DATABASE_OWNER_URL, else DATABASE_URL) and, on PostgreSQL, give the app's role
 * exactly its rights (src/audit/roles.ts). Registered in src/cli.ts.
 */
import { loadSettings } from "../settings.js";
import type { Command } from "commander";
import { AuditStore } from "../audit/database.js";
import { AUDIT_TABLES, grantAppRole, validRoleName } from "../audit/roles.js";
import { databaseOption, EXIT, usage, type CliIo, type SetExit } from "./kit.js";

export function registerDb(program: Command, io: CliIo, setExit: SetExit): void {
  const db = program.command("db").description("the audit database's schema and roles");
  db.command("migrate")
    .description(
      "run pending schema migrations as the owner role (default: $DATABASE_OWNER_URL, else $DATABASE_URL)",
    )
    .option(
      "--grant-app-role <role>",
      "PostgreSQL: let this role (the app's DATABASE_URL user) only INSERT and SELECT audit records",
    )
    .addOption(databaseOption())
    .action(async (opts: { database?: string; grantAppRole?: string }) =>
      setExit(await migrateCommand(io, opts)),
    );
}

export async function migrateCommand(
  io: CliIo,
  opts: { database?: string; grantAppRole?: string },
): Promise<number> {
  if (opts.grantAppRole !== undefined && !validRoleName(opts.grantAppRole)) {
    throw usage(
      `--grant-app-role ${JSON.stringify(opts.grantAppRole)}: a role name of lower-case letters, digits and _`,
    );
  }
  const urls = loadSettings(io.env, ["store"]).store;
  const url = opts.database ?? (urls.ownerUrl || urls.databaseUrl);
  // Opening migrates (pending migrations run in one transaction; a newer schema is left alone).
  const store = await AuditStore.open(url, {
    migrate: true,
    cwd: io.cwd,
    connectTimeoutMs: 10_000,
    poolSize: 2,
    lockPoolSize: 1,
  });
  try {
    io.stdout.write(
      `${store.description}: schema migrated (${(await store.appliedMigrations()).join(", ")})\n`,
    );
    if (opts.grantAppRole !== undefined) {
      if (store.dialect !== "postgres")
        throw usage("--grant-app-role is for PostgreSQL (SQLite has no roles)");
      const statements = await grantAppRole(store, opts.grantAppRole);
      io.stdout.write(
        `granted ${opts.grantAppRole} the app's rights (${statements.length} statements): INSERT and SELECT only on the audit tables (${AUDIT_TABLES.join(", ")})\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
