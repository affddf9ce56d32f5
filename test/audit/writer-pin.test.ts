/**
 * Every writer of audit_record (evaluation, merge, merge group, retroactive review, overdue mark,
 * ticket transition, direct push) builds its row through one builder; the records it writes must
 * hash exactly as the code before that builder wrote them. The hashes below were taken from the
 * writers as they were (each row spelled out at its own site); a record's hash covers every column,
 * the payload and the previous record's hash, so one changed byte anywhere changes every hash after it.
 */
import { expect, test } from "@jest/globals";
import { ChainAfterMerge } from "../../src/audit/after-merge.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import { recordHash } from "../../src/audit/hash.js";
import { changegateVersion } from "../../src/audit/version.js";
import { evidence, HEAD } from "../helpers/fixtures.js";

const ref = { installationId: 77, owner: "Acme", repo: "Payments", number: 12 };

test("the writers' records hash as before (pinned)", async () => {
  expect(changegateVersion()).toBe("0.1.0");
  const store = await AuditStore.open("sqlite::memory:", { now: () => new Date("2026-03-02T00:00:00.000Z") });
  try {
    const writer = new ChainWriter(store);
    const after = new ChainAfterMerge(writer);
    const pushes = new ChainDirectPush(writer);
    await writer.recordEvaluation({
      at: "2026-03-01T10:00:00+01:00",
      deliveryId: "d-eval",
      event: "pull_request.synchronize",
      ref,
      evidence: evidence({ pr: { number: 12, headSha: HEAD, title: "Pin it" } }),
      policy: null,
      verdict: null,
      outcome: "failure",
      error: "the policy file is invalid",
      sequence: 3,
    });
    await writer.recordMerge({
      at: "2026-03-01T11:00:00.000Z",
      deliveryId: "d-merge",
      ref,
      url: "https://github.com/Acme/Payments/pull/12",
      title: "Pin it",
      author: "dev",
      headSha: HEAD,
      mergedBy: "lead",
      mergedAt: "2026-03-01T10:59:59Z",
      mergeCommitSha: "c".repeat(40),
      baseRef: "main",
      outcome: "failure",
      emergency: true,
      gated: true,
      retroReview: { dueAt: "2026-03-03T11:00:00.000Z", withinHours: 48, issueRepo: "acme/audit" },
    });
    await writer.recordMergeGroup({
      at: "2026-03-01T10:30:00.000Z",
      deliveryId: "d-group",
      ref,
      action: "checks_requested",
      reason: null,
      baseRef: "main",
      baseSha: "d".repeat(40),
      headSha: "e".repeat(40),
      prs: [{ number: 12, headSha: HEAD, ok: false, why: "failing" }],
      outcome: "failure",
      error: null,
    });
    await after.recordRetroReview({
      at: "2026-03-02T09:00:00.000Z",
      deliveryId: "d-retro",
      ref,
      headSha: HEAD,
      by: "reviewer",
      reviewedAt: "2026-03-02T08:59:00.000Z",
      via: "comment",
      url: "https://github.com/Acme/Payments/pull/12#issuecomment-5",
      commentId: 5,
      dueAt: "2026-03-03T11:00:00.000Z",
      lateMs: 0,
    });
    await after.recordOverdue({
      at: "2026-03-04T00:00:00.000Z",
      ref: { ...ref, number: 13 },
      headSha: HEAD,
      dueAt: "2026-03-03T11:00:00.000Z",
      lateMs: 46_800_000,
    });
    await after.recordTransitions({
      at: "2026-03-01T11:00:05.000Z",
      deliveryId: "d-merge",
      ref,
      headSha: HEAD,
      target: "Done",
      results: [{ key: "OPS-1", result: "moved", status: "Done", transition: "Resolve", message: null }],
    });
    await pushes.recordDirectPush({
      at: "2026-03-01T12:00:00.000Z",
      deliveryId: "d-push",
      installationId: 77,
      owner: "Acme",
      repo: "Payments",
      branch: "main",
      pusher: "dev",
      before: "f".repeat(40),
      after: "1".repeat(40),
      forced: true,
      commitsWithoutPr: ["1".repeat(40)],
      examined: 1,
      pushedAt: "2026-03-01T11:59:58+00:00",
      policySource: "acme/payments:.github/changegate.yml",
    });
    const rows = await store.db.selectFrom("audit_record").selectAll().orderBy("seq").execute();
    for (const { hash, ...columns } of rows) expect(recordHash(columns)).toBe(hash);
    expect(rows.map((r) => [r.kind, r.seq, r.hash])).toStrictEqual(PINNED);
  } finally {
    await store.close();
  }
});

/** Taken at changegate 0.1.0 (every payload names the version: a version bump means taking them again). */
const PINNED = [
  ["evaluation", 1, "72c39d7737fe582f2cc7b6d42f2cb4050f8e746eca90da29036fb4c92e4ee4f7"],
  ["merge", 2, "16238b4d2abfc9a5218ce6446c62251ffa99c3664717deb372746169956d03d1"],
  ["merge_group", 3, "502741f0ce28fcc036f2bf95985c59bda63da4a222ae0dee97ae80cb5a011585"],
  ["retro_review", 4, "9b7786720f87a3d495b57473f1c23daab096f5bf2ea8f685b621a5482b897461"],
  ["retro_overdue", 5, "372c8b02d7be48005415a4aeddb1ff8a5742285b22306db0115ef0f5a0954a90"],
  ["ticket_transition", 6, "9d288209f9c563ca11433ee6e8c296a6b027e0382b6792617fd81b0e6b184a2e"],
  ["direct_push", 7, "b7ae642decba08312e36931bb9eaebfd411c587cc83356375d1b048caf9dc964"],
];
