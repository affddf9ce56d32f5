/** `changegate rehearse`'s output (src/report/rehearsal.ts): the table, the summary, the floors, hostile text. */
import { describe, expect, test } from "@jest/globals";
import type { Verdict } from "../../src/policy/types.js";
import { firstUnmet, rehearsedOutcome, renderRehearsal, type Rehearsal } from "../../src/report/rehearsal.js";

const verdict = (v: Partial<Verdict>): Verdict => ({
  conclusion: "failure",
  title: "not compliant",
  gated: true,
  emergency: false,
  draft: false,
  rules: [],
  ...v,
});

const base: Rehearsal = {
  kind: "changegate-rehearsal",
  repo: "acme/svc",
  from: "2026-01-01T00:00:00.000Z",
  to: "2026-02-01T00:00:00.000Z",
  policy: { file: "strict.yml", source: "acme/svc:strict.yml" },
  floors: null,
  merges: 2,
  blocked: 1,
  errors: 0,
  rows: [
    {
      pr: "acme/svc#1",
      url: "u",
      mergedAt: "2026-01-02T00:00:00Z",
      mergedBy: "alice",
      recorded: "success",
      rehearsed: "allowed",
      conclusion: "success",
      reason: null,
    },
    {
      pr: "acme/svc#2",
      url: "u",
      mergedAt: "2026-01-03T00:00:00Z",
      mergedBy: "eve\u001b[2J",
      recorded: null,
      rehearsed: "blocked",
      conclusion: "failure",
      reason: "approvals: 1 of 2\u202e approvals",
    },
  ],
  notes: [],
};

describe("rehearsal", () => {
  test("the outcome: gated and not green is blocked (pending CI too); no verdict is blocked", () => {
    expect(rehearsedOutcome(verdict({ conclusion: "success" }))).toBe("allowed");
    expect(rehearsedOutcome(verdict({ conclusion: "pending" }))).toBe("blocked");
    expect(rehearsedOutcome(verdict({ conclusion: "failure" }))).toBe("blocked");
    expect(rehearsedOutcome(verdict({ conclusion: "success", gated: false }))).toBe("not gated");
    expect(rehearsedOutcome(null)).toBe("blocked");
  });

  test("the first unmet rule: failing before pending, else the title", () => {
    const rules = [
      { rule: "ci", status: "pending", summary: "build running", todo: [] },
      { rule: "approvals", status: "fail", summary: "1 of 2 approvals", todo: [] },
    ] as unknown as Verdict["rules"];
    expect(firstUnmet(verdict({ rules }))).toBe("approvals: 1 of 2 approvals");
    expect(firstUnmet(verdict({ rules: [rules[0]!] }))).toBe("ci: build running");
    expect(firstUnmet(verdict({ title: "the policy file is invalid" }))).toBe("the policy file is invalid");
  });

  test("the table, the summary line, no control characters", () => {
    const out = renderRehearsal(base);
    expect(out).toMatch(/^PR\s+merged at\s+merged by\s+recorded\s+rehearsed\s+first unmet rule$/m);
    expect(out).toMatch(/^acme\/svc#1\s+2026-01-02T00:00:00Z\s+alice\s+success\s+ALLOWED$/m);
    expect(out).toMatch(
      /^acme\/svc#2\s+2026-01-03T00:00:00Z\s+eve\[2J\s+-\s+BLOCKED\s+approvals: 1 of 2 approvals$/m,
    );
    expect(out).toMatch(/^2 merges, 1 would have been blocked\n$/m);
    expect(out).not.toMatch(/[\u001b\u202e]/);
    expect(renderRehearsal({ ...base, errors: 1 })).toMatch(
      /1 would have been blocked, 1 could not be judged/,
    );
  });

  test("floors that changed the proposed policy are listed; floors that did not are said once", () => {
    const changed = renderRehearsal({
      ...base,
      floors: {
        location: "acme/.github:.github/changegate.yml",
        changed: [{ key: "approvals.required", message: "the org floor is 2" }],
      },
    });
    expect(changed).toMatch(
      /Org floors from acme\/\.github:\.github\/changegate\.yml changed the rehearsed policy:\n  approvals\.required: the org floor is 2/,
    );
    const unchanged = renderRehearsal({
      ...base,
      floors: { location: "acme/.github:.github/changegate.yml", changed: [] },
    });
    expect(unchanged).toMatch(/apply; they did not change the proposed policy/);
  });
});
