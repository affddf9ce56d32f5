/**
 * The store on a real PostgreSQL: TEST_DATABASE_URL (start one with `eval "$(.ci/postgres.sh)"`).
 * Without it these tests do not run here, except under CI, where the missing URL fails the suite.
 * Each test gets a schema of its own on that database.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { sql } from "kysely";
import pg from "pg";
import { lockKey } from "../../src/audit/hash.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { PrLockTimeout } from "../../src/intake/pr-lock.js";
import { AuditReader } from "../../src/audit/reader.js";
import { prLockFor } from "../../src/intake/pg-pr-lock.js";
import { verifyChains } from "../../src/audit/verify.js";
import { prKey } from "../../src/github/types.js";
import { join } from "node:path";
import { main } from "../../src/cli.js";
import { storeContract } from "./contract.js";
import { goldenStore } from "./golden.js";
import { evaluation, pgSchema, pgTestUrl, ref, tempDir } from "./records.js";

const base = pgTestUrl();

describe("pgTestUrl: CI never skips the PostgreSQL tests", () => {
  test("under CI a missing TEST_DATABASE_URL is an error; elsewhere the tests are left out", () => {
    expect(() => pgTestUrl({ CI: "true" })).toThrow(/TEST_DATABASE_URL/);
    expect(() => pgTestUrl({ CI: "1", TEST_DATABASE_URL: " " })).toThrow(/\.ci\/postgres\.sh/);
    expect(pgTestUrl({})).toBeNull();
    expect(pgTestUrl({ CI: "false" })).toBeNull();
    expect(pgTestUrl({ CI: "true", TEST_DATABASE_URL: "postgres://127.0.0.1/x" })).toBe(
      "postgres://127.0.0.1/x",
    );
  });
});

if (base) {
  let schema: { url: string; drop: () => Promise<void> };
  beforeEach(async () => {
    schema = await pgSchema(base);
  });
  afterEach(async () => {
    await schema.drop();
  });

  describe("PostgreSQL store", () => {
    storeContract(() => ({
      name: "postgres",
      url: schema.url,
      concurrentInstances: true,
      open: (options) => AuditStore.open(schema.url, options),
    }));
  });

  describe("PostgreSQL: several replicas", () => {
    const stores: AuditStore[] = [];
    const open = async (options: Parameters<typeof AuditStore.open>[1] = {}) => {
      const s = await AuditStore.open(schema.url, options);
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });

    test("two replicas migrating a fresh database at the same time both start", async () => {
      const [a, b] = await Promise.all([open(), open()]);
      expect(await a.appliedMigrations()).toEqual(await b.appliedMigrations());
      expect(await new AuditReader(a).countRecords()).toBe(0);
    });

    test("heavy concurrent appends to one chain from two pools stay gap-free and valid", async () => {
      const a = await open({ poolSize: 8 });
      const b = await open({ poolSize: 8 });
      const n = 120;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          new ChainWriter(i % 2 ? a : b).recordEvaluation(
            evaluation({ number: 1 + (i % 5), deliveryId: `p-${i}` }),
          ),
        ),
      );
      expect(new Set(results.map((r) => r.seq)).size).toBe(n);
      expect(Math.max(...results.map((r) => r.seq))).toBe(n);
      expect(await verifyChains(new AuditReader(b))).toMatchObject({ ok: true, records: n, chains: 1 });
    });

    /** pg_locks' view of the advisory lock withPrLock takes for `key` (a bigint splits into classid, objid). */
    function lockWhere(key: string): string {
      const k = BigInt.asUintN(64, BigInt(lockKey("pr", key)));
      return `l.locktype = 'advisory' and l.classid = ${k >> 32n} and l.objid = ${k & 0xffffffffn} and l.objsubid = 1`;
    }

    /** Sessions waiting for the PR lock of `key`. */
    async function waiters(key: string): Promise<number> {
      const c = new pg.Client({ connectionString: base! });
      await c.connect();
      try {
        const r = await c.query(
          `select count(*)::int as n from pg_locks l where ${lockWhere(key)} and not l.granted`,
        );
        return (r.rows[0] as { n: number }).n;
      } finally {
        await c.end();
      }
    }

    async function until(condition: () => Promise<boolean>): Promise<void> {
      for (let i = 0; i < 500; i++) {
        if (await condition()) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("condition never became true");
    }

    test("the PR lock excludes across two instances: the second waits in PostgreSQL until the first is done", async () => {
      const a = await open();
      const b = await open();
      const key = prKey(ref(12));
      const events: string[] = [];
      let releaseA!: () => void;
      let aInside!: () => void;
      const aEntered = new Promise<void>((r) => (aInside = r));
      const first = prLockFor(a).withPrLock(key, async () => {
        events.push("a in");
        aInside();
        await new Promise<void>((r) => (releaseA = r));
        events.push("a out");
        return "a";
      });
      await aEntered;
      const second = prLockFor(b).withPrLock(key, async () => {
        events.push("b in");
        return "b";
      });
      await until(async () => (await waiters(key)) === 1);
      expect(events).toEqual(["a in"]);
      // Another PR is not held up.
      expect(await prLockFor(b).withPrLock(prKey(ref(13)), async () => "other")).toBe("other");
      releaseA();
      expect(await first).toBe("a");
      expect(await second).toBe("b");
      expect(events).toEqual(["a in", "a out", "b in"]);
    });

    test("a PR lock held longer than the timeout fails the waiter with PrLockTimeout, and the holder's work stands", async () => {
      const a = await open();
      const b = await open({ lockTimeoutMs: 200 });
      const key = prKey(ref(14));
      let releaseA!: () => void;
      let aInside!: () => void;
      const aEntered = new Promise<void>((r) => (aInside = r));
      const first = prLockFor(a).withPrLock(key, async () => {
        aInside();
        await new Promise<void>((r) => (releaseA = r));
        await new ChainWriter(a).recordEvaluation(evaluation({ number: 14 }));
      });
      await aEntered;
      let ran = false;
      const err = await prLockFor(b)
        .withPrLock(key, async () => {
          ran = true;
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrLockTimeout);
      expect(ran).toBe(false);
      releaseA();
      await first;
      expect(await new AuditReader(b).countRecords()).toBe(1);
      expect(await prLockFor(b).withPrLock(key, async () => "free again")).toBe("free again");
    });

    test("a replica that dies holding a PR lock releases it (its connection closes)", async () => {
      const a = await open();
      const b = await open({ lockTimeoutMs: 5000 });
      const key = prKey(ref(15));
      let aInside!: () => void;
      let finishA!: () => void;
      const aEntered = new Promise<void>((r) => (aInside = r));
      const first = prLockFor(a).withPrLock(key, async () => {
        aInside();
        await new Promise<void>((r) => (finishA = r)); // hangs until the test lets it go
        return "a finished late";
      });
      await aEntered;
      // Kill a's lock session from the server side, as a crashed process's connection would end.
      const c = new pg.Client({ connectionString: base! });
      await c.connect();
      try {
        const killed = await c.query(
          `select pg_terminate_backend(l.pid) as ok from pg_locks l where ${lockWhere(key)} and l.granted`,
        );
        expect(killed.rows).toEqual([{ ok: true }]);
      } finally {
        await c.end();
      }
      expect(await prLockFor(b).withPrLock(key, async () => "taken over")).toBe("taken over");
      // The survivor of a lost connection finishes without crashing the process (its lock was gone;
      // the store still records its late result, after the other's, in chain order).
      finishA();
      expect(await first).toBe("a finished late");
    });

    test("an unreachable server is a clear error naming the database without its password", async () => {
      const err = await AuditStore.open("postgres://changegate:s3cretpw@127.0.0.1:1/audit", {
        connectTimeoutMs: 2000,
      }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /cannot reach the audit database postgres:\/\/changegate@127\.0\.0\.1:1\/audit/,
      );
      expect((err as Error).message).not.toMatch(/s3cretpw/);
    });

    test("the same records give the same hashes and the same export from PostgreSQL as from SQLite; the CLI reads both", async () => {
      await (await goldenStore(schema.url)).close();
      const tmp = tempDir();
      try {
        await (await goldenStore(`sqlite:${join(tmp.dir, "golden.db")}`)).close();
        const cli = async (argv: string[]) => {
          let stdout = "";
          let stderr = "";
          const code = await main(argv, {
            stdout: { write: (x: string) => (stdout += x) },
            stderr: { write: (x: string) => (stderr += x) },
            env: {},
            cwd: tmp.dir,
            now: () => new Date(0),
          });
          return { code, stdout, stderr };
        };
        const period = ["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31"];
        const fromPg = await cli([...period, "--database", schema.url]);
        const fromSqlite = await cli([...period, "--database", "sqlite:golden.db"]);
        expect(fromPg.code).toBe(0);
        expect(fromPg.stdout.split("\r\n")).toHaveLength(6);
        expect(fromPg.stdout).toBe(fromSqlite.stdout);
        const verified = await cli(["audit", "verify", "--database", schema.url]);
        expect(verified).toMatchObject({
          code: 0,
          stdout: expect.stringMatching(/^audit trail OK: 8 records in 2 chains/),
        });
        expect(verified.stdout.split("\n").slice(2)).toEqual(
          (await cli(["audit", "verify", "--database", "sqlite:golden.db"])).stdout.split("\n").slice(2),
        );
        const shown = await cli(["audit", "show", "acme/ledger#3", "--database", schema.url]);
        expect(shown.stdout).toMatch(/MERGE {2}compliant/);
      } finally {
        tmp.cleanup();
      }
    });

    test("records hold installation ids beyond 32 bits and read back as numbers", async () => {
      const a = await open();
      const big = { ...evaluation({ number: 3 }), ref: { ...ref(3), installationId: 5_000_000_000 } };
      await new ChainWriter(a).recordEvaluation(big);
      const rows = await new AuditReader(a).prRecords("acme/payments", 3);
      expect(rows[0]!.installation_id).toBe(5_000_000_000);
      expect(await verifyChains(new AuditReader(a))).toMatchObject({ ok: true });
      const raw = await sql<{ n: number }>`select count(*) as n from audit_record`.execute(a.db);
      expect(raw.rows[0]!.n).toBe(1);
    });
  });
}
