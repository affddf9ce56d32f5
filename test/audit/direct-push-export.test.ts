/** direct_push records in the export: one row each, change_type direct_push, a bypass; once per (repo, after). */
import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainDirectPush, type DirectPushRecord } from "../../src/audit/direct-push.js";
import { csvLine, exportRows, type ExportRow } from "../../src/audit/export.js";
import { AuditReader } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";
import { merge } from "./records.js";

let dir: string;
let store: AuditStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "changegate-dp-"));
  store = await AuditStore.open(`sqlite:${join(dir, "a.db")}`);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const A = "a".repeat(40);
const B = "b".repeat(40);
const push = (over: Partial<DirectPushRecord> = {}): DirectPushRecord => ({
  at: "2026-03-01T12:00:00Z",
  deliveryId: "d-1",
  installationId: 77,
  owner: "acme",
  repo: "payments",
  branch: "main",
  pusher: "mallory",
  before: B,
  after: A,
  forced: true,
  commitsWithoutPr: [A],
  examined: 1,
  pushedAt: "2026-03-01T11:59:00Z",
  policySource: "defaults",
  ...over,
});

test("a direct push is one export row, after the merges of its time, change_type direct_push", async () => {
  const writer = new ChainWriter(store);
  const pushes = new ChainDirectPush(writer);
  await writer.recordMerge(merge({ number: 1, mergedAt: "2026-03-01T10:00:00Z" }));
  const first = await pushes.recordDirectPush(push());
  const again = await pushes.recordDirectPush(push({ deliveryId: "d-2" }));
  expect(first.duplicate).toBe(false);
  expect(again).toEqual({ id: first.id, duplicate: true });
  const q = { from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" };
  const rows: ExportRow[] = [];
  for await (const r of exportRows(new AuditReader(store).merges({ ...q, directPushes: true }))) rows.push(r);
  expect(rows.map((r) => [r.pr, r.change_type])).toEqual([
    [1, "merge"],
    [0, "direct_push"],
  ]);
  expect(rows[1]).toMatchObject({
    repo: "acme/payments",
    merged_by: "mallory",
    bypass: true,
    base: "main",
    head_sha: A,
    merged_at: "2026-03-01T11:59:00.000Z",
    record: first.id,
  });
  expect(rows[1]!.title).toContain(`force push ${B.slice(0, 12)} → ${A.slice(0, 12)}`);
  expect(csvLine(rows[1]!).trimEnd().endsWith(",direct_push,true,,,")).toBe(true);
  // Without the option the merges alone (other readers of merges are unchanged).
  const merges: ExportRow[] = [];
  for await (const r of exportRows(new AuditReader(store).merges(q))) merges.push(r);
  expect(merges).toHaveLength(1);
  expect(await pushes.recordedPushShas("ACME/payments")).toEqual(new Set([A]));
  expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
});
