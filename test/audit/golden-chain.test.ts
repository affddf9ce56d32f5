/**
 * The hashes of records written before the hashed column set was derived from one definition
 * (fixtures/golden-chain.json, made with that code) must keep verifying: a hash never changes.
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { GENESIS_HASH, recordHash } from "../../src/audit/hash.js";
import { AuditStore } from "../../src/audit/database.js";
import { AuditReader, type AuditRow } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden-chain.json", import.meta.url), "utf8")) as {
  heads: { chain: string; seq: number; hash: string }[];
  rows: AuditRow[];
};

describe("golden chain (hashes written by earlier code)", () => {
  test("every record's hash is recomputed exactly from its columns, and each names the previous one", () => {
    expect(golden.rows).toHaveLength(8);
    const last = new Map<string, string>();
    for (const row of golden.rows) {
      const { hash, ...columns } = row;
      expect(recordHash(columns)).toBe(hash);
      expect(row.prev_hash).toBe(last.get(row.chain) ?? GENESIS_HASH);
      last.set(row.chain, hash);
    }
    expect(golden.heads.map((h) => [h.chain, h.hash])).toEqual([...last.entries()].sort());
  });

  test("the same rows, stored and read back, verify", async () => {
    const store = await AuditStore.open("sqlite::memory:");
    try {
      await store.db.insertInto("audit_record").values(golden.rows).execute();
      await store.db
        .insertInto("audit_chain")
        .values(golden.heads.map((h) => ({ ...h, updated_at: "2026-03-03T00:00:00.000Z" })))
        .execute();
      const report = await verifyChains(new AuditReader(store));
      expect(report).toMatchObject({ ok: true, chains: 2, records: 8, problems: [] });
      expect(report.heads).toEqual(golden.heads);
    } finally {
      await store.close();
    }
  });
});
