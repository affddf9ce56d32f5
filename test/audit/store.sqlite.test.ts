import { afterAll, beforeEach, describe, expect, test } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditStore, parseDatabaseUrl, StoreError } from "../../src/audit/database.js";
import { InProcessPrLock } from "../../src/intake/pr-lock.js";
import { StoreDeliveryLedger } from "../../src/audit/ledger.js";
import { storeContract } from "./contract.js";
import { tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

// Each contract test gets a database file of its own (opened by every instance of that test).
let n = 0;
let current = "";
beforeEach(() => {
  current = join(tmp.dir, `contract-${++n}.db`);
});

describe("SQLite store", () => {
  storeContract(() => ({
    name: "sqlite",
    url: `sqlite:${current}`,
    concurrentInstances: false,
    open: (options) => AuditStore.open(`sqlite:${current}`, options),
  }));
});

describe("DATABASE_URL", () => {
  test("unset means SQLite at ./data/changegate.db; sqlite: and postgres URLs are understood", () => {
    expect(parseDatabaseUrl(undefined, "/srv/app")).toEqual({
      dialect: "sqlite",
      path: "/srv/app/data/changegate.db",
    });
    expect(parseDatabaseUrl("  ", "/srv/app")).toEqual({
      dialect: "sqlite",
      path: "/srv/app/data/changegate.db",
    });
    expect(parseDatabaseUrl("sqlite:audit.db", "/srv/app")).toEqual({
      dialect: "sqlite",
      path: "/srv/app/audit.db",
    });
    expect(parseDatabaseUrl("sqlite:///var/lib/cg.db", "/srv/app")).toEqual({
      dialect: "sqlite",
      path: "/var/lib/cg.db",
    });
    expect(parseDatabaseUrl("sqlite::memory:")).toEqual({ dialect: "sqlite", path: ":memory:" });
    expect(parseDatabaseUrl("postgres://u:p@db:5432/cg")).toEqual({
      dialect: "postgres",
      url: "postgres://u:p@db:5432/cg",
    });
    expect(parseDatabaseUrl("postgresql://db/cg")).toEqual({
      dialect: "postgres",
      url: "postgresql://db/cg",
    });
  });

  test("anything else is refused with the forms that work, and no credentials", () => {
    expect(() => parseDatabaseUrl("mysql://root:hunter2@db/cg")).toThrow(StoreError);
    expect(() => parseDatabaseUrl("mysql://root:hunter2@db/cg")).toThrow(
      /scheme "mysql:".*sqlite:PATH, postgres:\/\//,
    );
    expect(() => parseDatabaseUrl("mysql://root:hunter2@db/cg")).not.toThrow(/hunter2/);
    expect(() => parseDatabaseUrl("sqlite:")).toThrow(/needs a path/);
  });
});

describe("SQLite specifics", () => {
  test("the ledger's bookkeeping runs with synchronous NORMAL; audit records stay FULL, before and after", async () => {
    const store = await AuditStore.open(`sqlite:${join(tmp.dir, "sync.db")}`);
    try {
      const level = async (db: typeof store.db) =>
        (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]!.synchronous;
      expect(await level(store.db)).toBe(2); // FULL
      const inside = await store.bookkeeping((db) => level(db));
      expect(inside).toBe(1); // NORMAL
      const ledger = new StoreDeliveryLedger(store);
      expect(await ledger.claim("sync-1")).toBe(true);
      await ledger.completeMany(["sync-1"]);
      // A failing bookkeeping statement restores FULL too.
      await expect(store.bookkeeping(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      expect(await level(store.db)).toBe(2);
    } finally {
      await store.close();
    }
  });

  test("the default store creates its directory and runs in WAL mode", async () => {
    const cwd = join(tmp.dir, "fresh-install");
    const store = await AuditStore.open(undefined, { cwd });
    try {
      expect(existsSync(join(cwd, "data", "changegate.db"))).toBe(true);
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      expect(mode.rows[0]!.journal_mode).toBe("wal");
      expect(store.description).toBe(`sqlite:${join(cwd, "data", "changegate.db")}`);
    } finally {
      await store.close();
    }
  });

  test("reading a store that does not exist fails clearly and creates nothing", async () => {
    const path = join(tmp.dir, "nowhere", "changegate.db");
    await expect(AuditStore.open(`sqlite:${path}`, { migrate: false, mustExist: true })).rejects.toThrow(
      /no audit database at .*nowhere/,
    );
    expect(existsSync(path)).toBe(false);
  });

  test("a SQLite file without the audit tables is not taken for an audit trail", async () => {
    const path = join(tmp.dir, "other.db");
    const other = await AuditStore.open(`sqlite:${path}`, { migrate: false }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(StoreError);
    expect((other as StoreError).kind).toBe("schema");
  });

  test("the in-process PR lock runs one holder per key at a time, other keys in parallel", async () => {
    const lock = new InProcessPrLock();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.withPrLock("k", async () => {
      events.push("first in");
      await new Promise<void>((r) => (releaseFirst = r));
      events.push("first out");
    });
    const second = lock.withPrLock("k", async () => {
      events.push("second in");
      return 2;
    });
    const other = await lock.withPrLock("other", async () => {
      events.push("other");
      return 3;
    });
    expect(other).toBe(3);
    expect(events).toEqual(["first in", "other"]);
    releaseFirst();
    await first;
    expect(await second).toBe(2);
    expect(events).toEqual(["first in", "other", "first out", "second in"]);
    await expect(lock.withPrLock("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await lock.withPrLock("k", async () => "after a failure")).toBe("after a failure");
  });
});
