/** evidenceAsOfMerge: only what stood when the PR merged counts. Pure. */
import { describe, expect, test } from "@jest/globals";
import { defaultConfig } from "../../src/config/schema.js";
import { evidenceAsOfMerge } from "../../src/policy/as-of-merge.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { evidence, HEAD } from "../helpers/fixtures.js";

const review = (login: string, at: string | null, commitOid = HEAD) => ({
  author: { login, isBot: false },
  state: "APPROVED" as const,
  submittedAt: at,
  commitOid,
  authorCanPush: true,
  url: `https://github.com/r/${login}`,
});
const merged = (over: Parameters<typeof evidence>[0] = {}) => evidence({ ...over, pr: { state: "MERGED", mergedAt: "2026-03-01T12:00:00Z", mergedBy: "admin", ...over.pr } });

describe("evidenceAsOfMerge", () => {
  test("approvals submitted after the merge do not count; those up to the merge do", () => {
    const e = evidenceAsOfMerge(merged({ reviews: [review("alice", "2026-03-01T11:00:00Z"), review("bob", "2026-03-01T12:00:00Z"), review("carol", "2026-03-01T12:00:01Z"), review("dan", null)] }));
    expect(e.reviews.map((r) => r.author?.login)).toEqual(["alice", "bob"]);
  });

  test("a PR approved only after it merged is judged a failure as of its merge", () => {
    const policy = { config: defaultConfig(), source: { kind: "defaults" as const, location: "built-in defaults", contentHash: "" } };
    const late = merged({ reviews: [review("alice", "2026-03-02T09:00:00Z")] });
    expect(evaluate(policy, late).conclusion).toBe("success");
    expect(evaluate(policy, evidenceAsOfMerge(late)).conclusion).toBe("failure");
  });

  test("an emergency label applied after the merge declares nothing", () => {
    const e = evidenceAsOfMerge(
      merged({
        pr: { labels: ["emergency", "ready"] },
        labelHistory: { truncated: false, events: [{ label: "emergency", actor: { login: "ops", isBot: false }, at: "2026-03-01T13:00:00Z" }, { label: "ready", actor: null, at: "2026-03-01T10:00:00Z" }] },
      }),
    );
    expect(e.pr.labels).toEqual(["ready"]);
    expect(e.labelHistory!.events.map((x) => x.label)).toEqual(["ready"]);
  });

  test("no mergedAt: no review counts (fail closed)", () => {
    expect(evidenceAsOfMerge(merged({ pr: { mergedAt: null }, reviews: [review("alice", "2026-03-01T11:00:00Z")] })).reviews).toEqual([]);
  });
});
