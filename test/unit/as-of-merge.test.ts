/** evidenceAsOfMerge: only what stood when the PR merged counts. Pure. */
import { describe, expect, test } from "@jest/globals";
import { configSchema, defaultConfig } from "../../src/config/schema.js";
import { checksAsOfMerge, evidenceAsOfMerge } from "../../src/policy/as-of-merge.js";
import type { CiCheck } from "../../src/policy/types.js";
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
const merged = (over: Parameters<typeof evidence>[0] = {}) =>
  evidence({
    ...over,
    pr: { state: "MERGED", mergedAt: "2026-03-01T12:00:00Z", mergedBy: "admin", ...over.pr },
  });

describe("evidenceAsOfMerge", () => {
  test("approvals submitted after the merge do not count; those up to the merge do", () => {
    const e = evidenceAsOfMerge(
      merged({
        reviews: [
          review("alice", "2026-03-01T11:00:00Z"),
          review("bob", "2026-03-01T12:00:00Z"),
          review("carol", "2026-03-01T12:00:01Z"),
          review("dan", null),
        ],
      }),
    );
    expect(e.reviews.map((r) => r.author?.login)).toEqual(["alice", "bob"]);
  });

  test("a PR approved only after it merged is judged a failure as of its merge", () => {
    const policy = {
      config: defaultConfig(),
      source: { kind: "defaults" as const, location: "built-in defaults", contentHash: "" },
    };
    const late = merged({ reviews: [review("alice", "2026-03-02T09:00:00Z")] });
    expect(evaluate(policy, late).conclusion).toBe("success");
    expect(evaluate(policy, evidenceAsOfMerge(late)).conclusion).toBe("failure");
  });

  test("an emergency label applied after the merge declares nothing", () => {
    const e = evidenceAsOfMerge(
      merged({
        pr: { labels: ["emergency", "ready"] },
        labelHistory: {
          truncated: false,
          events: [
            { label: "emergency", actor: { login: "ops", isBot: false }, at: "2026-03-01T13:00:00Z" },
            { label: "ready", actor: null, at: "2026-03-01T10:00:00Z" },
          ],
        },
      }),
    );
    expect(e.pr.labels).toEqual(["ready"]);
    expect(e.labelHistory!.events.map((x) => x.label)).toEqual(["ready"]);
  });

  test("no mergedAt: no review counts (fail closed)", () => {
    expect(
      evidenceAsOfMerge(
        merged({ pr: { mergedAt: null }, reviews: [review("alice", "2026-03-01T11:00:00Z")] }),
      ).reviews,
    ).toEqual([]);
  });
});

describe("checksAsOfMerge: CI as it stood at the merge (12:00:00)", () => {
  const MERGED = "2026-03-01T12:00:00Z";
  const run = (
    state: CiCheck["state"],
    raw: string,
    createdAt: string | null | undefined,
    completedAt: string | null | undefined,
  ): CiCheck => ({
    kind: "check_run",
    name: "build",
    state,
    raw,
    source: "github-actions",
    url: null,
    ...(createdAt !== undefined ? { createdAt } : {}),
    ...(completedAt !== undefined ? { completedAt } : {}),
  });
  test.each<[string, CiCheck, CiCheck["state"], CiCheck["afterMerge"]]>([
    [
      "completed before the merge: counts as it is",
      run("success", "success", "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z"),
      "success",
      undefined,
    ],
    [
      "completed in the merge's own second: counts",
      run("success", "success", "2026-03-01T11:00:00Z", MERGED),
      "success",
      undefined,
    ],
    [
      "a failure before the merge stays a failure",
      run("failure", "failure", "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z"),
      "failure",
      undefined,
    ],
    [
      "running at the merge, green after it: pending",
      run("success", "success", "2026-03-01T11:00:00Z", "2026-03-01T12:00:01Z"),
      "pending",
      "completed_after_merge",
    ],
    [
      "created after the merge: pending",
      run("success", "success", "2026-03-01T12:30:00Z", "2026-03-01T12:31:00Z"),
      "pending",
      "created_after_merge",
    ],
    [
      "a failure created after the merge: pending too (it stood at no merge)",
      run("failure", "failure", "2026-03-01T12:30:00Z", "2026-03-01T12:31:00Z"),
      "pending",
      "created_after_merge",
    ],
    [
      "still running, started before the merge: pending, as it was",
      run("pending", "in_progress", "2026-03-01T11:00:00Z", null),
      "pending",
      undefined,
    ],
    [
      "completed with no completion time: pending",
      run("success", "success", "2026-03-01T11:00:00Z", null),
      "pending",
      "completed_after_merge",
    ],
    [
      "no times (an answer without them): pending",
      run("success", "success", undefined, undefined),
      "pending",
      "time_unknown",
    ],
  ])("%s", (_name, check, state, afterMerge) => {
    const [out] = checksAsOfMerge([check], MERGED);
    expect(out!.state).toBe(state);
    expect(out!.afterMerge).toBe(afterMerge);
    expect(out!.raw).toBe(check.raw); // GitHub's word of now is kept
  });

  test("a commit status posted after the merge does not count; no mergedAt: nothing counts", () => {
    const status: CiCheck = {
      kind: "status",
      name: "ci/jenkins",
      state: "success",
      raw: "success",
      source: "jenkins",
      url: null,
      createdAt: "2026-03-01T12:00:05Z",
      completedAt: "2026-03-01T12:00:05Z",
    };
    expect(checksAsOfMerge([status], MERGED)[0]).toMatchObject({
      state: "pending",
      afterMerge: "created_after_merge",
    });
    expect(
      checksAsOfMerge(
        [{ ...status, createdAt: "2026-03-01T11:00:00Z", completedAt: "2026-03-01T11:00:00Z" }],
        null,
      )[0],
    ).toMatchObject({ state: "pending", afterMerge: "time_unknown" });
  });

  test("a required check that went green only after the merge fails the verdict as of the merge", () => {
    const policy = {
      config: configSchema.parse({ ci: { required: ["build"] } }),
      source: { kind: "defaults" as const, location: "built-in defaults", contentHash: "" },
    };
    const e = merged({
      reviews: [review("alice", "2026-03-01T11:00:00Z")],
      checks: [run("success", "success", "2026-03-01T11:00:00Z", "2026-03-01T12:10:00Z")],
    });
    expect(evaluate(policy, e).conclusion).toBe("success");
    expect(evaluate(policy, evidenceAsOfMerge(e)).conclusion).toBe("pending");
  });
});
