/**
 * policy/push-gate: a branch is gated for a push when the policy after it OR the one before it (the
 * scan: at its window's start) gates it; an invalid or unknown policy gates every branch. And
 * judgePush never calls a push whose commit list may be cut short (2,048 listed) compliant.
 */
import { describe, expect, test } from "@jest/globals";
import { configSchema } from "../../src/config/schema.js";
import { judgePush } from "../../src/policy/direct-push.js";
import { pushGate, scannableBranches, type PolicyPoint } from "../../src/policy/push-gate.js";

const point = (branches: string[] | undefined, source: string): PolicyPoint => ({
  config: configSchema.parse(branches ? { branches } : {}),
  source,
});
const onlyRelease = point(["release"], "acme/p:.github/changegate.yml");
const defaults = point(undefined, "acme/p:.github/changegate.yml at bbbbbbbbbbbb (before the push)");

describe("pushGate", () => {
  test("a push that ungates main is gated by the policy before it, and says so", () => {
    expect(pushGate("main", "main", onlyRelease, defaults)).toStrictEqual({
      gated: true,
      policySource: defaults.source,
      by: "earlier",
    });
  });
  test("the policy after the push gates on its own (and is the source named when both gate)", () => {
    expect(pushGate("release", "main", onlyRelease, null)).toStrictEqual({
      gated: true,
      policySource: onlyRelease.source,
      by: "now",
    });
    expect(pushGate("main", "main", defaults, defaults)).toMatchObject({ by: "now" });
  });
  test("gated by neither: not gated", () => {
    expect(pushGate("main", "main", onlyRelease, point(["release", "hotfix/*"], "x"))).toStrictEqual({
      gated: false,
      policySource: onlyRelease.source,
      by: null,
    });
    expect(pushGate("scratch", "main", defaults, defaults).gated).toBe(false);
  });
  test("an invalid or unknown policy at either point gates every branch", () => {
    const invalid: PolicyPoint = {
      config: null,
      source: "invalid policy (acme/p:.github/changegate.yml): every branch gated",
    };
    expect(pushGate("scratch", "main", onlyRelease, invalid)).toStrictEqual({
      gated: true,
      policySource: invalid.source,
      by: "earlier",
    });
    expect(pushGate("scratch", "main", invalid, onlyRelease)).toMatchObject({ gated: true, by: "now" });
  });
});

describe("scannableBranches", () => {
  test("the default branch and every literal branch of either policy, if either gates it; globs are not walked", () => {
    const got = scannableBranches("main", onlyRelease, point(["main", "develop", "hotfix/*"], "start"));
    expect(got.map((b) => [b.branch, b.gate.by])).toStrictEqual([
      ["main", "earlier"],
      ["release", "now"],
      ["develop", "earlier"],
    ]);
  });
  test("without an earlier policy, only the policy now counts", () => {
    expect(scannableBranches("main", onlyRelease, null).map((b) => b.branch)).toStrictEqual(["release"]);
  });
});

describe("judgePush with a list at GitHub's limit", () => {
  const covered = {
    sha: "a".repeat(40),
    prs: [{ number: 1, merged: true, baseRef: "main", baseRepo: "acme/app" }],
  };
  test("every listed commit covered: still recorded, saying why", () => {
    const j = judgePush({
      repo: "acme/app",
      branch: "main",
      gated: true,
      forced: false,
      commits: [covered],
      listTruncated: true,
    });
    expect(j).toMatchObject({ record: true, withoutPr: [] });
    expect(j.why).toContain("2,048");
  });
  test("not at the limit: compliant as before", () => {
    expect(
      judgePush({
        repo: "acme/app",
        branch: "main",
        gated: true,
        forced: false,
        commits: [covered],
        listTruncated: false,
      }).record,
    ).toBe(false);
  });
  test("an ungated branch stays ungated", () => {
    expect(
      judgePush({
        repo: "acme/app",
        branch: "main",
        gated: false,
        forced: false,
        commits: [covered],
        listTruncated: true,
      }).record,
    ).toBe(false);
  });
});
