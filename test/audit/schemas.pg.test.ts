/**
 * Two changegate databases in one PostgreSQL database, in different schemas (search_path): each
 * migrates its own schema. (Kysely's existence check saw the other schema's migration tables,
 * skipped creating them, then failed — found when the PostgreSQL suites ran in parallel.)
 */
import { describe, expect, test } from "@jest/globals";
import { AuditStore } from "../../src/audit/database.js";
import { AuditReader } from "../../src/audit/reader.js";
import { pgSchema, pgTestUrl } from "./records.js";

const base = pgTestUrl();
// Without PostgreSQL (and without CI) the suite is left out, and the end of the run says so (pg-teardown.mjs).
const describeWithPostgres = base ? describe : describe.skip;

describeWithPostgres("PostgreSQL schemas", () => {
  test("a schema is migrated even when another schema of the database already holds changegate's tables", async () => {
    const first = await pgSchema(base!);
    const second = await pgSchema(base!);
    try {
      const a = await AuditStore.open(first.url);
      const applied = await a.appliedMigrations();
      await a.close();
      expect(applied.length).toBeGreaterThan(0);
      const b = await AuditStore.open(second.url);
      try {
        expect(await b.appliedMigrations()).toEqual(applied);
        expect(await new AuditReader(b).countRecords()).toBe(0);
      } finally {
        await b.close();
      }
    } finally {
      await first.drop();
      await second.drop();
    }
  });
});
