import { describe, expect, test } from "@jest/globals";
import { configSchema } from "../../src/config/schema.js";
import type { Gathered } from "../../src/github/gather.js";
import { mergeRecordOf } from "../../src/flows/merge.js";

const pr = {
  url: "https://github.com/acme/pay/pull/7",
  title: "Hotfix",
  author: { login: "dev" },
  headSha: "a".repeat(40),
  mergedBy: "oncall",
  mergedAt: "2026-03-01T10:00:00Z",
  mergeCommitSha: "b".repeat(40),
} as unknown as Gathered["evidence"]["pr"];
const at = {
  at: "2026-03-01T10:00:05.000Z",
  deliveryId: "d1",
  ref: { installationId: 1, owner: "acme", repo: "pay", number: 7 },
};

describe("mergeRecordOf (the webhook path and the scan write merges alike)", () => {
  test("an emergency merge into a gated branch owes a retroactive review: due review_within_hours after the merge", () => {
    const config = configSchema.parse({
      emergency: { review_within_hours: 24 },
      audit: { issue_repo: "acme/audit" },
    });
    const rec = mergeRecordOf(at, pr, { outcome: "success", emergency: true, gated: true }, config);
    expect(rec).toMatchObject({
      mergedBy: "oncall",
      mergedAt: "2026-03-01T10:00:00Z",
      author: "dev",
      outcome: "success",
      emergency: true,
      gated: true,
    });
    expect(rec.retroReview).toEqual({
      dueAt: "2026-03-02T10:00:00.000Z",
      withinHours: 24,
      issueRepo: "acme/audit",
    });
  });

  test("no retroactive review for a normal merge, an ungated branch, or an unknown policy", () => {
    const config = configSchema.parse({});
    expect(
      mergeRecordOf(at, pr, { outcome: "success", emergency: false, gated: true }, config).retroReview,
    ).toBeUndefined();
    expect(
      mergeRecordOf(at, pr, { outcome: "success", emergency: true, gated: false }, config).retroReview,
    ).toBeUndefined();
    expect(
      mergeRecordOf(at, pr, { outcome: "failure", emergency: true, gated: true }, null).retroReview,
    ).toBeUndefined();
  });
});
