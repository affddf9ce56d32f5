/**
 * branch_head: the scan's bookkeeping of where each gated branch stood. An examined push webhook
 * moves the head only when it continues the head on record (`before` = head, no walk pending), so a
 * push whose delivery was lost in between is never skipped by the next scan.
 */
import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { AuditStore } from "../../src/audit/database.js";
import { SqlBranchHeads } from "../../src/audit/branch-head.js";
import { tempDir } from "./records.js";

const [A, B, C, D] = ["a", "b", "c", "d"].map((x) => x.repeat(40)) as [string, string, string, string];
let tmp: ReturnType<typeof tempDir>;
let store: AuditStore;
beforeEach(async () => {
  tmp = tempDir();
  store = await AuditStore.open(`sqlite:${tmp.dir}/a.db`);
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

test("set, get (case-insensitive repository), and a push that continues the head moves it; one that does not, never", async () => {
  const heads = new SqlBranchHeads(store.db);
  expect(await heads.get("acme/pay", "main")).toBeNull();
  expect(await heads.advance("acme/pay", "main", A, B)).toBe(false); // no head on record: the scan's first look decides
  await heads.set("Acme/Pay", "main", { head: A, walk: null });
  expect(await heads.get("acme/pay", "main")).toEqual({ head: A, walk: null });
  expect(await heads.advance("acme/pay", "main", A, B)).toBe(true);
  // A push from C (a push from B to C was lost): the head stays at B, the scan walks B..today.
  expect(await heads.advance("acme/pay", "main", C, D)).toBe(false);
  expect(await heads.get("acme/pay", "main")).toEqual({ head: B, walk: null });
  // A walk pending (a long divergence): pushes do not move the head until the scan finishes it.
  await heads.set("acme/pay", "main", { head: B, walk: { target: D, stop: B, cursor: "3" } });
  expect(await heads.advance("acme/pay", "main", B, C)).toBe(false);
  expect(await heads.get("acme/pay", "main")).toEqual({ head: B, walk: { target: D, stop: B, cursor: "3" } });
  // Another branch is its own row.
  expect(await heads.get("acme/pay", "release/1")).toBeNull();
});
