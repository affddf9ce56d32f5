import { describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { teamsNeeded } from "../../src/policy/rules.js";
import type { Evidence, Policy, ReviewInfo, ReviewRuleResult } from "../../src/policy/types.js";
import { renderVerdict } from "../../src/report/digest.js";
import { evidence, HEAD, OLD } from "../helpers/fixtures.js";

function policy(input: ConfigInput): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
  };
}
let n = 0;
function approve(login: string, over: Partial<ReviewInfo> = {}): ReviewInfo {
  n++;
  return {
    author: { login, isBot: false },
    state: "APPROVED",
    submittedAt: `2026-11-20T10:00:${String(n % 60).padStart(2, "0")}Z`,
    commitOid: HEAD,
    authorCanPush: true,
    url: "https://x",
    ...over,
  };
}
const infra: ConfigInput = {
  approvals: {
    required: 1,
    rules: [{ name: "infrastructure", paths: ["infra/**", "*.tf"], teams: ["acme/sre"], required: 1 }],
  },
};
const owners: ConfigInput = { approvals: { required: 1, rules: [{ name: "owners", codeowners: true }] } };
const files = (...paths: string[]) => ({ paths, total: paths.length, complete: true });
const rule = (e: Evidence, p: Policy, name: string) =>
  evaluate(p, e).rules.find((r): r is ReviewRuleResult => r.rule === "reviewers" && r.name === name)!;

describe("team and path rules", () => {
  test("a path rule hit: a team member's approval counts and is recorded with the team", () => {
    const e = evidence({
      files: files("infra/main.tf", "README.md"),
      reviews: [approve("sam")],
      teams: { "acme/sre": ["sam"] },
    });
    const v = evaluate(policy(infra), e);
    const r = rule(e, policy(infra), "infrastructure");
    expect(r.status).toBe("pass");
    expect(r.files).toEqual(["infra/main.tf"]);
    expect(r.approvedBy).toEqual([{ login: "sam", teams: ["acme/sre"] }]);
    expect(v.conclusion).toBe("success");
  });

  test("a path rule hit: an approval from outside the team is refused, and the title names the rule", () => {
    const e = evidence({
      files: files("infra/main.tf"),
      reviews: [approve("alice")],
      teams: { "acme/sre": ["sam"] },
    });
    const v = evaluate(policy(infra), e);
    expect(v.conclusion).toBe("failure");
    expect(v.title).toContain("infrastructure: needs 1 more approval from @acme/sre for infra/main.tf");
    const body = renderVerdict(v, e, policy(infra)).comment;
    expect(body).toContain("### Rule infrastructure");
    expect(body).toContain("infra/main.tf");
  });

  test("a glob without a slash matches at any depth; a path rule missed is not triggered", () => {
    expect(
      rule(
        evidence({
          files: files("modules/net/vpc.tf"),
          reviews: [approve("alice")],
          teams: { "acme/sre": [] },
        }),
        policy(infra),
        "infrastructure",
      ).status,
    ).toBe("fail");
    const missed = evidence({ files: files("src/app.ts"), reviews: [approve("alice")] });
    const r = rule(missed, policy(infra), "infrastructure");
    expect(r.status).toBe("skipped");
    expect(r.triggered).toBe(false);
    expect(evaluate(policy(infra), missed).conclusion).toBe("success");
  });

  test("a stale team approval does not count (dismiss_stale)", () => {
    const e = evidence({
      files: files("infra/a.tf"),
      reviews: [approve("sam", { commitOid: OLD })],
      teams: { "acme/sre": ["sam"] },
    });
    expect(rule(e, policy(infra), "infrastructure").status).toBe("fail");
  });

  test("a contributor in the team does not count; nor does the author or a bot", () => {
    const e = evidence({
      files: files("infra/a.tf"),
      commits: [
        {
          oid: HEAD,
          headline: "x",
          message: "x",
          authors: ["sam"],
          committer: "sam",
          isMerge: false,
          url: "u",
        },
      ],
      reviews: [
        approve("sam"),
        approve("dev"),
        approve("robot[bot]", { author: { login: "robot[bot]", isBot: true } }),
      ],
      teams: { "acme/sre": ["sam", "dev", "robot[bot]"] },
    });
    const r = rule(e, policy(infra), "infrastructure");
    expect(r.status).toBe("fail");
    expect(r.approvedBy).toEqual([]);
  });

  test("users and required: 2", () => {
    const p = policy({
      approvals: { rules: [{ name: "db", paths: ["db/**"], users: ["dba1", "dba2"], required: 2 }] },
    });
    const one = evidence({ files: files("db/m.sql"), reviews: [approve("dba1"), approve("alice")] });
    expect(rule(one, p, "db").missing).toEqual(["needs 1 more approval from @dba1 or @dba2 for db/m.sql"]);
    expect(
      rule(evidence({ files: files("db/m.sql"), reviews: [approve("dba1"), approve("DBA2")] }), p, "db")
        .status,
    ).toBe("pass");
  });

  test("fail closed: more than 3,000 files, files not read, a team not read", () => {
    const big = evidence({
      files: { paths: [], total: 3001, complete: false },
      reviews: [approve("sam")],
      teams: { "acme/sre": ["sam"] },
    });
    const r = rule(big, policy(infra), "infrastructure");
    expect(r.status).toBe("fail");
    expect(r.summary).toContain("3001 files");
    expect(rule(evidence({ reviews: [approve("sam")] }), policy(infra), "infrastructure").status).toBe(
      "fail",
    );
    const unread = rule(
      evidence({ files: files("infra/a.tf"), reviews: [approve("sam")] }),
      policy(infra),
      "infrastructure",
    );
    expect(unread.status).toBe("fail");
    expect(unread.missing).toContain("the members of @acme/sre could not be read");
  });

  test("teams are needed only when a triggered rule names them and someone eligible approved", () => {
    const c = policy(infra).config.approvals.rules!;
    const s = { dismissStale: true, allowContributors: false };
    expect(teamsNeeded(c, evidence({ files: files("infra/a.tf"), reviews: [approve("sam")] }), s)).toEqual([
      "acme/sre",
    ]);
    expect(teamsNeeded(c, evidence({ files: files("infra/a.tf"), reviews: [] }), s)).toEqual([]);
    expect(teamsNeeded(c, evidence({ files: files("src/a.ts"), reviews: [approve("sam")] }), s)).toEqual([]);
  });

  test("an accepted emergency relaxes the rules like approvals", () => {
    const p = policy({ ...infra, emergency: { approvals_required: 0 } });
    const e = evidence({
      files: files("infra/a.tf"),
      pr: { labels: ["emergency"] },
      labelHistory: {
        events: [{ label: "emergency", actor: { login: "lead", isBot: false }, at: "2026-11-20T09:00:00Z" }],
        truncated: false,
      },
      declarer: { login: "lead", canWrite: true, teams: [] },
      declaredOn: { at: "2026-11-20T09:00:00Z", headSha: HEAD },
    });
    const v = evaluate(p, e);
    expect(v.emergency).toBe(true);
    expect(rule(e, p, "infrastructure").status).toBe("skipped");
  });
});

describe("CODEOWNERS rule", () => {
  const co = (text: string) => ({ path: ".github/CODEOWNERS", text, tooLarge: false });
  const text = "* @acme/web\ninfra/ @acme/sre @ops-lead\n/docs/\n";

  test("each owned file needs one of its owners; a file with no owner needs none", () => {
    const e = evidence({
      files: files("infra/a.tf", "src/x.ts", "docs/readme.md"),
      codeowners: co(text),
      reviews: [approve("ops-lead")],
      teams: { "acme/web": ["wendy"], "acme/sre": [] },
    });
    const r = rule(e, policy(owners), "owners");
    expect(r.status).toBe("fail");
    expect(r.missing).toEqual(["needs 1 approval from @acme/web for src/x.ts"]);
    expect(r.approvedBy).toEqual([{ login: "ops-lead", teams: [] }]);
    const both = evidence({ ...e, reviews: [approve("ops-lead"), approve("wendy")] });
    const ok = rule(both, policy(owners), "owners");
    expect(ok.status).toBe("pass");
    expect(ok.approvedBy).toContainEqual({ login: "wendy", teams: ["acme/web"] });
  });

  test("no CODEOWNERS, or one over 3 MB, fails the rule", () => {
    expect(
      rule(
        evidence({ files: files("a"), codeowners: null, reviews: [approve("x")] }),
        policy(owners),
        "owners",
      ).status,
    ).toBe("fail");
    expect(
      rule(
        evidence({ files: files("a"), codeowners: { ...co("*"), tooLarge: true }, reviews: [approve("x")] }),
        policy(owners),
        "owners",
      ).summary,
    ).toContain("3 MB");
  });

  test("the teams read are the owners of the changed files only", () => {
    const c = policy(owners).config.approvals.rules!;
    const e = evidence({ files: files("infra/a.tf"), codeowners: co(text), reviews: [approve("x")] });
    expect(teamsNeeded(c, e, { dismissStale: true, allowContributors: false })).toEqual(["acme/sre"]);
  });
});

describe("approvals.rules schema", () => {
  test("bad globs, teams with @, codeowners with teams, duplicate names are refused", () => {
    const bad = configSchema.safeParse({
      approvals: {
        rules: [
          { name: "a", paths: ["[abc"] },
          { name: "b", teams: ["@acme/sre"] },
          { name: "c", codeowners: true, users: ["x"] },
          { name: "A" },
        ],
      },
    });
    expect(bad.success).toBe(false);
    const msgs = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
    expect(msgs).toMatch(/approvals\.rules\.0\.paths\.0: invalid glob/);
    expect(msgs).toMatch(/approvals\.rules\.1\.teams\.0: expected a team as org\/team-slug/);
    expect(msgs).toMatch(/codeowners rule takes its owners from CODEOWNERS/);
    expect(msgs).toMatch(/rule names must be unique/);
  });
});
