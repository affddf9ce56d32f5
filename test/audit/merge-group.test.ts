import { afterAll, expect, test } from "@jest/globals";
import { join } from "node:path";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { AuditReader } from "../../src/audit/reader.js";
import type { MergeGroupRecord } from "../../src/audit/recorder.js";
import { verifyChains } from "../../src/audit/verify.js";
import { evaluation, ref, tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function group(action: MergeGroupRecord["action"], outcome: MergeGroupRecord["outcome"]): MergeGroupRecord {
  return {
    at: "2026-03-01T10:05:00Z",
    deliveryId: `mg-${action}`,
    ref: ref(1),
    action,
    reason: action === "destroyed" ? "merged" : null,
    baseRef: "main",
    baseSha: "b".repeat(40),
    headSha: "9".repeat(40),
    prs:
      action === "destroyed"
        ? []
        : [{ number: 1, headSha: "1".repeat(40), ok: true, why: "compliant at 1111111" }],
    outcome,
    error: null,
  };
}

test("merge group records (checks_requested, destroyed) join the repository's chain, verify, and are not evaluations", async () => {
  const store = await AuditStore.open(`sqlite:${join(tmp.dir, "mg.db")}`);
  try {
    const rec = new ChainWriter(store);
    const e = await rec.recordEvaluation(evaluation({ number: 1, at: "2026-03-01T10:00:00Z" }));
    const g = await rec.recordMergeGroup(group("checks_requested", "success"));
    const d = await rec.recordMergeGroup(group("destroyed", "destroyed"));
    expect([e.id, g.id, d.id]).toEqual(["acme/payments@1", "acme/payments@2", "acme/payments@3"]);
    const rows = [];
    for await (const r of new AuditReader(store).chainRecords("acme/payments")) rows.push(r);
    expect(rows.map((r) => r.kind)).toEqual(["evaluation", "merge_group", "merge_group"]);
    expect(JSON.parse(rows[2]!.payload)).toMatchObject({
      type: "merge_group",
      action: "destroyed",
      reason: "merged",
      headSha: "9".repeat(40),
    });
    expect(await verifyChains(new AuditReader(store))).toMatchObject({ ok: true, records: 3, problems: [] });
    // The group's head is not the PR's head: no verdict of PR #1 stands for it.
    expect((await rec.verdictsAt(ref(1), "9".repeat(40), [1])).size).toBe(0);
  } finally {
    await store.close();
  }
});

test("audit show renders a merge group record as one (not as an evaluation)", async () => {
  const { renderPrRecords } = await import("../../src/audit/show.js");
  const store = await AuditStore.open(`sqlite:${join(tmp.dir, "mg-show.db")}`);
  try {
    const rec = new ChainWriter(store);
    await rec.recordEvaluation(evaluation({ number: 1, at: "2026-03-01T10:00:00Z" }));
    await rec.recordMergeGroup({
      ...group("checks_requested", "failure"),
      prs: [{ number: 1, headSha: "1".repeat(40), ok: false, why: "its verdict is failure" }],
    });
    const rows = [];
    for await (const r of new AuditReader(store).chainRecords("acme/payments")) rows.push(r);
    const text = renderPrRecords("acme/payments", 1, rows);
    expect(text).toContain("MERGE GROUP CHECKS_REQUESTED  FAILURE");
    expect(text).toContain("#1 NOT COMPLIANT: its verdict is failure");
  } finally {
    await store.close();
  }
});
