/**
 * PostgreSQL with an owner role and a restricted app role (real server, TEST_DATABASE_URL): the
 * owner migrates (`changegate db migrate --grant-app-role`), the app records and reads through its
 * own role, and that role cannot disable or drop the triggers, alter the tables, update, delete or
 * truncate records, or switch triggers off for its session.
 */
import { loadSettings } from "../../src/settings.js";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import pg from "pg";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { AuditReader } from "../../src/audit/reader.js";
import {
  appRoleGrants,
  AUDIT_TABLES,
  BOOKKEEPING_TABLES,
  openAppStore,
  READ_ONLY_TABLES,
} from "../../src/audit/roles.js";
import { verifyChains } from "../../src/audit/verify.js";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import { evaluation, merge, pgTestUrl } from "./records.js";

const base = pgTestUrl();

test("the grants name every audit table and refuse odd names", () => {
  const g = appRoleGrants("changegate_app", "audit");
  expect(g).toContain('grant select, insert on "audit"."audit_record" to "changegate_app"');
  expect(g).toContain('revoke create on schema "audit" from "changegate_app"');
  expect(() => appRoleGrants('x"; drop table audit_record; --', "audit")).toThrow(/role name/);
});

if (base) {
  const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const owner = `cg_owner_${id}`;
  const app = `cg_app_${id}`;
  const schema = `cg_roles_${id}`;
  const urlAs = (user: string) => {
    const u = new URL(base);
    u.username = user;
    u.password = "";
    u.searchParams.set("options", `-c search_path=${schema}`);
    return u.toString();
  };
  const admin = async (statements: string[]) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end();
    }
  };
  let appClient: pg.Client;

  beforeAll(async () => {
    await admin([
      `create role ${owner} login`,
      `create role ${app} login`,
      `create schema ${schema} authorization ${owner}`,
    ]);
    const database = new URL(base).pathname.slice(1);
    await admin([`grant connect on database "${database}" to ${owner}, ${app}`]);
    let out = "";
    const io: CliIo = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (out += s) },
      env: { DATABASE_OWNER_URL: urlAs(owner) },
      cwd: process.cwd(),
      now: () => new Date(),
    };
    const code = await main(["db", "migrate", "--grant-app-role", app], io);
    expect(out).toMatch(/schema migrated \(0001_audit_trail, 0002_append_only_guards/);
    expect(code).toBe(EXIT.ok);
    appClient = new pg.Client({ connectionString: urlAs(app) });
    await appClient.connect();
  }, 60_000);

  afterAll(async () => {
    await appClient?.end();
    await admin([
      `drop schema if exists ${schema} cascade`,
      `drop owned by ${app}`,
      `drop owned by ${owner}`,
      `drop role if exists ${app}`,
      `drop role if exists ${owner}`,
    ]);
  }, 60_000);

  describe("the app's role", () => {
    test("records, reads and verifies through the app (DATABASE_OWNER_URL migrates, DATABASE_URL runs without DDL)", async () => {
      const store = await openAppStore(
        loadSettings({ DATABASE_OWNER_URL: urlAs(owner), DATABASE_URL: urlAs(app) }, ["store"]).store,
        (url, o) => AuditStore.open(url, o),
      );
      try {
        const w = new ChainWriter(store);
        await w.recordEvaluation(evaluation({ number: 1 }));
        await w.recordMerge(merge({ number: 1 }));
        const report = await verifyChains(new AuditReader(store));
        expect(report).toMatchObject({ ok: true, records: 2 });
      } finally {
        await store.close();
      }
    }, 60_000);

    test.each([
      [
        "disable the triggers",
        "alter table audit_record disable trigger all",
        /must be owner of table audit_record/,
      ],
      [
        "disable one trigger",
        "alter table audit_record disable trigger audit_record_no_change",
        /must be owner of table audit_record/,
      ],
      [
        "drop a trigger",
        "drop trigger audit_record_no_change on audit_record",
        /must be owner of (table|relation) audit_record/,
      ],
      [
        "alter the table",
        "alter table audit_record add column note text",
        /must be owner of table audit_record/,
      ],
      ["drop the table", "drop table audit_record", /must be owner of table audit_record/],
      [
        "update a record",
        "update audit_record set outcome = 'success'",
        /permission denied for table audit_record/,
      ],
      ["delete records", "delete from audit_record", /permission denied for table audit_record/],
      ["truncate", "truncate audit_record", /permission denied for table audit_record/],
      [
        "switch triggers off for its session",
        "set session_replication_role = replica",
        /permission denied to set parameter "session_replication_role"/,
      ],
      [
        "replace the guard function",
        "create or replace function changegate_audit_append_only() returns trigger language plpgsql as $$ begin return old; end $$",
        /must be owner of function|permission denied for schema/,
      ],
      ["create a table in the schema", "create table sneaky (x int)", /permission denied for schema/],
    ])("cannot %s", async (_what, statement, message) => {
      await expect(appClient.query(statement)).rejects.toThrow(message);
    });

    // Issue 20 item 8: no audit table (the records, the chain heads) may be changed with the app's credentials.
    describe.each(AUDIT_TABLES)("audit table %s", (table) => {
      test.each([
        ["update", `update ${table} set seq = seq`],
        ["delete", `delete from ${table}`],
        ["truncate", `truncate ${table}`],
      ])("refuses %s to the app's role", async (_what, statement) => {
        await expect(appClient.query(statement)).rejects.toThrow(
          new RegExp(`permission denied for table ${table}`),
        );
      });

      test("grants the app's role INSERT and SELECT, nothing else", async () => {
        const privs = await appClient.query(
          "select privilege_type from information_schema.role_table_grants where table_schema = $1 and table_name = $2 and grantee = $3 order by 1",
          [schema, table, app],
        );
        expect(privs.rows.map((x: { privilege_type: string }) => x.privilege_type)).toEqual([
          "INSERT",
          "SELECT",
        ]);
      });

      test("refuses update and delete even to the owner (trigger)", async () => {
        const c = new pg.Client({ connectionString: urlAs(owner) });
        await c.connect();
        try {
          await expect(c.query(`update ${table} set seq = seq`)).rejects.toThrow(/refused/);
          await expect(c.query(`delete from ${table}`)).rejects.toThrow(/refused/);
          await expect(c.query(`truncate ${table}`)).rejects.toThrow(/refused/);
        } finally {
          await c.end();
        }
      });
    });

    test("a rewound chain head cannot be written by the app: its head log only grows", async () => {
      const before = await appClient.query(
        "select chain, max(seq)::int as seq, count(*)::int as n from audit_chain group by chain",
      );
      expect(before.rows.length).toBeGreaterThan(0);
      const { chain, seq } = before.rows[0] as { chain: string; seq: number };
      // Inserting an older head again is refused (the log's key is chain + seq).
      await expect(
        appClient.query("insert into audit_chain (chain, seq, hash, updated_at) values ($1, $2, $3, $4)", [
          chain,
          seq,
          "e".repeat(64),
          "x",
        ]),
      ).rejects.toThrow(/duplicate key/);
    });

    test("every table in the schema is classified in src/audit/roles.ts (audit, bookkeeping or read-only)", async () => {
      const r = await appClient.query(
        "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by 1",
        [schema],
      );
      const classified = new Set<string>([
        ...AUDIT_TABLES,
        ...Object.keys(BOOKKEEPING_TABLES),
        ...READ_ONLY_TABLES,
      ]);
      expect(
        r.rows.map((x: { table_name: string }) => x.table_name).filter((t: string) => !classified.has(t)),
      ).toEqual([]);
      for (const t of AUDIT_TABLES) expect(Object.keys(BOOKKEEPING_TABLES)).not.toContain(t);
    });

    test("can insert and select records (and nothing more on them)", async () => {
      const r = await appClient.query("select count(*)::int as n from audit_record");
      expect(r.rows[0].n).toBeGreaterThanOrEqual(2);
      const privs = await appClient.query(
        "select privilege_type from information_schema.role_table_grants where table_schema = $1 and table_name = 'audit_record' and grantee = $2 order by 1",
        [schema, app],
      );
      expect(privs.rows.map((x: { privilege_type: string }) => x.privilege_type)).toEqual([
        "INSERT",
        "SELECT",
      ]);
    });
  });
}
