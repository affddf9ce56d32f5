import { describe, expect, test } from "@jest/globals";
import { evaluationPayload } from "../../src/audit/payload.js";
import { configSchema } from "../../src/config/schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type { Policy, ReviewRuleResult } from "../../src/policy/types.js";
import { evidence, HEAD } from "../helpers/fixtures.js";

describe("the evaluation record keeps approvals.rules", () => {
  test("each rule's outcome and the approver's team at that time; not the team's member list", () => {
    const policy: Policy = {
      config: configSchema.parse({
        approvals: {
          rules: [
            { name: "infrastructure", paths: ["infra/**"], teams: ["acme/sre"] },
            { name: "db", paths: ["db/**"], users: ["dba"] },
          ],
        },
      }),
      source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
    };
    const e = evidence({
      files: { paths: ["infra/a.tf"], total: 1, complete: true },
      reviews: [
        {
          author: { login: "sam", isBot: false },
          state: "APPROVED",
          submittedAt: "2026-11-20T10:00:00Z",
          commitOid: HEAD,
          authorCanPush: true,
          url: "u",
        },
      ],
      teams: { "acme/sre": ["sam", "secret-member"] },
    });
    const verdict = evaluate(policy, e);
    const p = evaluationPayload(
      {
        at: "2026-11-20T10:01:00Z",
        deliveryId: "d",
        event: "pull_request_review.submitted",
        ref: { installationId: 1, owner: "acme", repo: "payments", number: 1 },
        evidence: e,
        policy,
        verdict,
        outcome: verdict.conclusion,
        error: null,
      },
      "test",
    );
    const rules = p.verdict!.rules.filter((r): r is ReviewRuleResult => r.rule === "reviewers");
    expect(rules.map((r) => [r.name, r.status])).toEqual([
      ["infrastructure", "pass"],
      ["db", "skipped"],
    ]);
    expect(rules[0]!.approvedBy).toEqual([{ login: "sam", teams: ["acme/sre"] }]);
    expect(JSON.stringify(p)).not.toContain("secret-member");
  });
});
