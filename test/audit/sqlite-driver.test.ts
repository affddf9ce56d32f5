import { describe, expect, test } from "@jest/globals";
import { hasNodeSqlite, openSqliteConnection } from "../../src/audit/sqlite-driver.js";

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
});
