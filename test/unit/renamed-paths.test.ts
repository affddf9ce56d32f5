/**
 * approvals.rules and renamed files: GraphQL names only a renamed file's new path; the old path
 * (REST previous_filename) counts for matching too, and when it could not be read a rule needing
 * files fails closed.
 */
import { describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { pathsToMatch, renamesUnseen } from "../../src/policy/renamed-paths.js";
import { teamsNeeded } from "../../src/policy/rules.js";
import type { ChangedFiles, Evidence, Policy, ReviewInfo, ReviewRuleResult } from "../../src/policy/types.js";
import { evidence, HEAD } from "../helpers/fixtures.js";

function policy(input: ConfigInput): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
  };
}
const approve = (login: string): ReviewInfo => ({
  author: { login, isBot: false },
  state: "APPROVED",
  submittedAt: "2026-11-20T10:00:00Z",
  commitOid: HEAD,
  authorCanPush: true,
  url: "https://x",
});
const infra = policy({
  approvals: {
    required: 1,
    rules: [{ name: "infrastructure", paths: ["infra/**"], teams: ["acme/sre"], required: 1 }],
  },
});
const owners = policy({ approvals: { required: 1, rules: [{ name: "owners", codeowners: true }] } });
const co = { path: ".github/CODEOWNERS", text: "* @alice\n/infra/ @acme/sre\n", tooLarge: false };
const rule = (e: Evidence, p: Policy, name: string) =>
  evaluate(p, e).rules.find((r): r is ReviewRuleResult => r.rule === "reviewers" && r.name === name)!;
const settings = { dismissStale: true, allowContributors: false };

/** docs/network.yaml, renamed from infra/network.yaml (GraphQL: the new path, changeType RENAMED). */
const movedOut = (previous?: ChangedFiles["previous"]): ChangedFiles => ({
  paths: ["docs/network.yaml", "README.md"],
  total: 2,
  complete: true,
  renamed: ["docs/network.yaml"],
  ...(previous ? { previous } : {}),
});

describe("a rename out of a protected path", () => {
  test("triggers the path rule through its old path: an outsider's approval is refused", () => {
    const e = evidence({
      files: movedOut({ paths: ["infra/network.yaml"], complete: true }),
      reviews: [approve("alice")],
      teams: { "acme/sre": ["sam"] },
    });
    const r = rule(e, infra, "infrastructure");
    expect(r.triggered).toBe(true);
    expect(r.status).toBe("fail");
    expect(r.files).toEqual(["infra/network.yaml"]);
    expect(evaluate(infra, e).conclusion).toBe("failure");
    expect(teamsNeeded(infra.config.approvals.rules!, e, settings)).toEqual(["acme/sre"]);
  });

  test("an SRE's approval meets it", () => {
    const e = evidence({
      files: movedOut({ paths: ["infra/network.yaml"], complete: true }),
      reviews: [approve("sam")],
      teams: { "acme/sre": ["sam"] },
    });
    expect(rule(e, infra, "infrastructure").status).toBe("pass");
  });

  test("CODEOWNERS: the old path's owners must approve as well as the new path's", () => {
    const e = evidence({
      files: movedOut({ paths: ["infra/network.yaml"], complete: true }),
      codeowners: co,
      reviews: [approve("alice")],
      teams: { "acme/sre": ["sam"] },
    });
    const r = rule(e, owners, "owners");
    expect(r.status).toBe("fail");
    expect(r.missing).toEqual(["needs 1 approval from @acme/sre for infra/network.yaml"]);
    expect(teamsNeeded(owners.config.approvals.rules!, e, settings)).toEqual(["acme/sre"]);
    const both = evidence({ ...e, reviews: [approve("alice"), approve("sam")] });
    expect(rule(both, owners, "owners").status).toBe("pass");
  });

  test("old paths not read, or read in part: every rule needing files fails closed, and no team is read", () => {
    for (const previous of [undefined, { paths: [], complete: false, problem: "GitHub answered 502" }]) {
      const e = evidence({
        files: movedOut(previous),
        codeowners: co,
        reviews: [approve("sam")],
        teams: { "acme/sre": ["sam"] },
      });
      for (const [p, name] of [
        [infra, "infrastructure"],
        [owners, "owners"],
      ] as const) {
        const r = rule(e, p, name);
        expect(r.status).toBe("fail");
        expect(r.summary).toContain("previous path of a renamed file could not be read");
        expect(teamsNeeded(p.config.approvals.rules!, e, settings)).toEqual([]);
      }
      if (previous) expect(rule(e, infra, "infrastructure").summary).toContain("GitHub answered 502");
    }
  });

  test("a rule without paths or codeowners does not care about renames", () => {
    const p = policy({ approvals: { required: 1, rules: [{ name: "anyone", users: ["sam"] }] } });
    expect(rule(evidence({ files: movedOut(), reviews: [approve("sam")] }), p, "anyone").status).toBe("pass");
  });
});

describe("pathsToMatch and renamesUnseen", () => {
  test("no rename: the paths as they are, nothing unseen", () => {
    const f = { paths: ["a", "b"], total: 2, complete: true, renamed: [] };
    expect(pathsToMatch(f)).toEqual(["a", "b"]);
    expect(renamesUnseen(f)).toBeNull();
    expect(renamesUnseen({ paths: ["a"], total: 1, complete: true })).toBeNull();
  });

  test("old paths follow the new ones, once each", () => {
    const f = {
      paths: ["docs/x", "y"],
      total: 2,
      complete: true,
      renamed: ["docs/x", "y"],
      previous: { paths: ["infra/x", "y"], complete: true },
    };
    expect(pathsToMatch(f)).toEqual(["docs/x", "y", "infra/x"]);
    expect(renamesUnseen(f)).toBeNull();
    expect(renamesUnseen({ ...f, previous: undefined })).toContain("2 renamed files");
  });
});
