/** The audit record of an evaluation keeps what a required check was pinned to and whose results did not count. */
import { describe, expect, test } from "@jest/globals";
import { evaluationPayload } from "../../src/audit/payload.js";
import type { CiResult } from "../../src/policy/types.js";
import { evaluation } from "./records.js";

function ciRule(p: ReturnType<typeof evaluationPayload>): CiResult {
  const r = p.verdict!.rules.find((x) => x.rule === "ci");
  if (!r || r.rule !== "ci") throw new Error("no ci rule in the record");
  return r;
}

describe("audit record: pinned required checks", () => {
  test("the pin is in the recorded policy and on the CI line that met it", () => {
    const p = evaluationPayload(
      evaluation({
        policy: { ci: { required: [{ name: "build", app: "github-actions" }, "lint"] } },
        checks: [
          { name: "build", state: "success" },
          { name: "lint", state: "success" },
        ],
      }),
      "test",
    );
    expect(p.policy!.config.ci.required).toEqual([
      { name: "build", app: "github-actions" },
      { name: "lint" },
    ]);
    const ci = ciRule(p);
    expect(ci.status).toBe("pass");
    expect(ci.checks).toContainEqual(
      expect.objectContaining({
        name: "build",
        source: "github-actions",
        required: true,
        requirement: { name: "build", app: "github-actions" },
        notCountedFor: [],
      }),
    );
    expect(ci.checks).toContainEqual(
      expect.objectContaining({ name: "lint", required: true, requirement: { name: "lint" } }),
    );
    expect(p.evidence.checks).toContainEqual(
      expect.objectContaining({ name: "build", source: "github-actions" }),
    );
  });

  test("a result from another source is recorded as not counted, with the pin it failed, and the requirement as missing", () => {
    const p = evaluationPayload(
      evaluation({
        approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z" }],
        policy: { ci: { required: [{ name: "build", app: "internal-ci" }] } },
        checks: [{ name: "build", state: "success" }],
      }),
      "test",
    );
    expect(p.outcome).toBe("pending");
    const ci = ciRule(p);
    expect(ci.checks).toEqual([
      expect.objectContaining({
        name: "build",
        state: "missing",
        required: true,
        requirement: { name: "build", app: "internal-ci" },
        source: null,
      }),
      expect.objectContaining({
        name: "build",
        state: "success",
        required: false,
        requirement: null,
        source: "github-actions",
        notCountedFor: [{ name: "build", app: "internal-ci" }],
      }),
    ]);
    expect(ci.todo).toContain(
      "build reported by app github-actions does not count: the policy requires it as a check run by app internal-ci.",
    );
  });
});
