import { describe, expect, test } from "@jest/globals";
import picomatch from "picomatch";
import {
  classifyEnforcement,
  requiredCheckIn,
  rulesetIncludes,
  type EnforcementFacts,
} from "../../src/policy/enforcement.js";

const APP = 4242;
const base: EnforcementFacts = { appId: APP, rules: [], classic: { kind: "none" }, inactive: [] };
const rule = (context: string, appId: number | null, rulesetId = 7) => ({
  context,
  appId,
  rulesetId,
  source: "acme/payments",
});
const codes = (f: EnforcementFacts) => classifyEnforcement(f).missing.map((m) => m.code);

describe("classifyEnforcement", () => {
  test("an active ruleset requiring changegate pinned to this app: enforced", () => {
    const e = classifyEnforcement({ ...base, rules: [rule("build", null), rule("changegate", APP, 12)] });
    expect(e).toEqual({ state: "enforced", missing: [], by: "ruleset 12" });
  });

  test("classic protection pinned to this app: enforced", () => {
    const e = classifyEnforcement({
      ...base,
      classic: { kind: "read", checks: [{ context: "changegate", appId: APP }] },
    });
    expect(e).toEqual({ state: "enforced", missing: [], by: "classic branch protection" });
  });

  test("nothing requires it", () => {
    expect(classifyEnforcement(base).state).toBe("not_enforced");
    expect(codes(base)).toEqual(["not_required"]);
  });

  test("required, but any source may satisfy it (ruleset without integration_id, classic app_id null or -1)", () => {
    expect(codes({ ...base, rules: [rule("changegate", null)] })).toEqual(["any_source"]);
    expect(
      codes({ ...base, classic: { kind: "read", checks: [{ context: "changegate", appId: -1 }] } }),
    ).toEqual(["any_source"]);
  });

  test("pinned to another app", () => {
    const e = classifyEnforcement({ ...base, rules: [rule("changegate", 999)] });
    expect(e.state).toBe("not_enforced");
    expect(e.missing.map((m) => m.code)).toEqual(["other_app"]);
    expect(e.missing[0]!.text).toContain("App ID 999");
  });

  test("a check of another name pinned to this app does not count", () => {
    expect(codes({ ...base, rules: [rule("changegate-lite", APP)] })).toEqual(["not_required"]);
  });

  test("only in evaluate mode, and classic unreadable, are both named", () => {
    const f: EnforcementFacts = {
      ...base,
      classic: { kind: "not_accessible", status: 403 },
      inactive: [{ id: 3, name: "gate", enforcement: "evaluate", appId: APP }],
    };
    expect(codes(f)).toEqual(["evaluate_only", "not_required", "classic_unreadable"]);
    expect(classifyEnforcement(f).missing[0]!.text).toMatch(/only in evaluate mode/);
  });

  test("without APP_ID nothing can be pinned to changegate: never enforced", () => {
    const e = classifyEnforcement({ ...base, appId: 0, rules: [rule("changegate", 0)] });
    expect(e.state).toBe("not_enforced");
    expect(e.missing.map((m) => m.code)).toEqual(["app_id_unknown", "any_source"]);
  });
});

describe("rulesets not in force", () => {
  test("requiredCheckIn finds changegate in a required_status_checks rule", () => {
    expect(
      requiredCheckIn([
        { type: "deletion" },
        {
          type: "required_status_checks",
          parameters: { required_status_checks: [{ context: "changegate", integration_id: APP }] },
        },
      ]),
    ).toEqual({ context: "changegate", appId: APP });
    expect(
      requiredCheckIn([
        { type: "required_status_checks", parameters: { required_status_checks: [{ context: "x" }] } },
      ]),
    ).toBeUndefined();
  });

  test("rulesetIncludes: ~ALL, ~DEFAULT_BRANCH, refs/heads globs and exclusions", () => {
    const m = (p: string, n: string) => picomatch.isMatch(n, p);
    expect(rulesetIncludes({ ref_name: { include: ["~ALL"], exclude: [] } }, "dev", "main", m)).toBe(true);
    expect(rulesetIncludes({ ref_name: { include: ["~DEFAULT_BRANCH"] } }, "dev", "main", m)).toBe(false);
    expect(rulesetIncludes({ ref_name: { include: ["~DEFAULT_BRANCH"] } }, "main", "main", m)).toBe(true);
    expect(rulesetIncludes({ ref_name: { include: ["refs/heads/release/*"] } }, "release/1", "main", m)).toBe(
      true,
    );
    expect(
      rulesetIncludes({ ref_name: { include: ["~ALL"], exclude: ["refs/heads/main"] } }, "main", "main", m),
    ).toBe(false);
  });
});
