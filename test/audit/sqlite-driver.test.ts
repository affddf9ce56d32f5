import { describe, expect, test } from "@jest/globals";
import { cachedPrepare, hasNodeSqlite, openSqliteConnection } from "../../src/audit/sqlite-driver.js";

describe("SQLite driver choice", () => {
  test.each([
    ["20.20.2", false],
    ["22.15.1", false],
    ["22.16.0", true],
    ["23.10.0", false],
    ["23.11.0", true],
    ["24.0.0", true],
    ["26.1.0", true],
  ])("Node %s uses node:sqlite: %s", (version, expected) => {
    expect(hasNodeSqlite(version)).toBe(expected);
  });

  test("this runtime's driver speaks the statement interface Kysely uses", async () => {
    const db = await openSqliteConnection(":memory:", { timeoutMs: 1000 });
    try {
      expect(db.driver).toBe(hasNodeSqlite() ? "node:sqlite" : "better-sqlite3");
      db.exec("CREATE TABLE t (a INTEGER, b TEXT)");
      const insert = db.prepare("INSERT INTO t (a, b) VALUES (?, ?)");
      expect(insert.reader).toBe(false);
      const r = insert.run([1, "one"]);
      expect(Number(r.changes)).toBe(1);
      expect(Number(r.lastInsertRowid)).toBe(1);
      insert.run([2, "two"]);
      const select = db.prepare("SELECT a, b FROM t WHERE a >= ? ORDER BY a");
      expect(select.reader).toBe(true);
      expect(select.all([1]).map((row) => ({ ...(row as object) }))).toEqual([
        { a: 1, b: "one" },
        { a: 2, b: "two" },
      ]);
      expect([...select.iterate([2])].map((row) => (row as { b: string }).b)).toEqual(["two"]);
    } finally {
      db.close();
    }
  });

  test("prepared statements are reused per SQL text, the least recently used evicted past the bound", async () => {
    const compiled: string[] = [];
    const prepare = cachedPrepare((sql) => {
      compiled.push(sql);
      return { reader: false, sql } as never;
    }, 2);
    const a = prepare("select 1");
    expect(prepare("select 1")).toBe(a);
    prepare("select 2");
    prepare("select 1"); // now the most recent
    prepare("select 3"); // evicts "select 2"
    prepare("select 1");
    prepare("select 2");
    expect(compiled).toEqual(["select 1", "select 2", "select 3", "select 2"]);
    const db = await openSqliteConnection(":memory:", { timeoutMs: 1000 });
    try {
      db.exec("CREATE TABLE c (a INTEGER)");
      const ins = db.prepare("INSERT INTO c (a) VALUES (?)");
      expect(db.prepare("INSERT INTO c (a) VALUES (?)")).toBe(ins);
      ins.run([1]);
      db.prepare("INSERT INTO c (a) VALUES (?)").run([2]);
      expect(
        db
          .prepare("SELECT count(*) AS n FROM c")
          .all([])
          .map((r) => Number((r as { n: number }).n)),
      ).toEqual([2]);
    } finally {
      db.close();
    }
  });
});
