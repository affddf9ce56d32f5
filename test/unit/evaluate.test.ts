import { describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type { CiCheck, Evidence, Policy, ReviewInfo, TicketEvidence } from "../../src/policy/types.js";
import { evidence as fixtureEvidence, HEAD } from "../helpers/fixtures.js";

/** The fixture's evidence(), with `pr` overridable field by field. */
type EvidenceOver = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: EvidenceOver = {}): Evidence =>
  fixtureEvidence(over as Parameters<typeof fixtureEvidence>[0]);

function policy(input: ConfigInput = {}): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
  };
}

const approval = (login: string): ReviewInfo => ({
  author: { login, isBot: false },
  state: "APPROVED",
  submittedAt: "2026-11-20T09:00:00Z",
  commitOid: HEAD,
  authorCanPush: true,
  url: "https://github.com/x",
});
const ci = (name: string, state: CiCheck["state"]): CiCheck => ({
  kind: "check_run",
  name,
  state,
  raw: state,
  source: "github-actions",
  url: null,
});
const green = [ci("build", "success")];
const red = [ci("build", "failure")];
const waiting = [ci("build", "pending")];
const ticketOk: TicketEvidence = {
  refs: [{ key: "OPS-1", foundIn: ["title"] }],
  lookup: {
    kind: "ok",
    found: [{ key: "OPS-1", summary: "s", status: "Approved", url: "https://j/OPS-1" }],
    unknown: [],
  },
};
const noTicket: TicketEvidence = { refs: [], lookup: { kind: "not_needed" } };

function pr(over: EvidenceOver = {}): Evidence {
  return evidence({ reviews: [approval("alice")], checks: green, ...over });
}

const ticketsOn: ConfigInput = { tickets: { required: true, projects: ["OPS"] } };

describe("gating", () => {
  test("a base branch that is not gated: success, Not gated, no rules", () => {
    const v = evaluate(policy(), pr({ pr: { baseRef: "develop" }, reviews: [], checks: red }));
    expect(v).toEqual({
      conclusion: "success",
      title: "Not gated: develop is not a gated branch",
      gated: false,
      emergency: false,
      draft: false,
      rules: [],
    });
  });

  test("the default branch is gated when `branches` is unset", () => {
    const v = evaluate(policy(), pr({ reviews: [] }));
    expect(v.gated).toBe(true);
    expect(v.conclusion).toBe("failure");
  });

  test("another default branch name", () => {
    const e = pr({ reviews: [], pr: { baseRef: "trunk" } });
    e.repo.defaultBranch = "trunk";
    expect(evaluate(policy(), e).gated).toBe(true);
    expect(evaluate(policy(), pr({ reviews: [], pr: { baseRef: "trunk" } })).gated).toBe(false);
  });

  test("globs in `branches`", () => {
    const p = policy({ branches: ["release/*"] });
    expect(evaluate(p, pr({ pr: { baseRef: "release/1.2" } })).gated).toBe(true);
    expect(evaluate(p, pr({ pr: { baseRef: "main" } })).gated).toBe(false);
  });
});

describe("normal path", () => {
  test("compliant: success, every rule named in the title, in rule order", () => {
    const v = evaluate(policy(), pr());
    expect(v.conclusion).toBe("success");
    expect(v.title).toBe("Compliant: approvals ok, ci ok");
    expect(v.rules.map((r) => [r.rule, r.status])).toEqual([
      ["approvals", "pass"],
      ["ci", "pass"],
      ["tickets", "skipped"],
    ]);
  });

  test("with tickets required and fine", () => {
    const v = evaluate(policy(ticketsOn), pr({ tickets: ticketOk }));
    expect(v.conclusion).toBe("success");
    expect(v.title).toBe("Compliant: approvals ok, ci ok, tickets ok");
  });

  test.each<[string, Partial<Evidence>, ConfigInput, "success" | "failure" | "pending", RegExp]>([
    ["missing approval", { reviews: [] }, {}, "failure", /^Not compliant: approvals: 0 of 1 required$/],
    ["CI failing", { checks: red }, {}, "failure", /^Not compliant: ci: 1 check failed$/],
    ["CI pending", { checks: waiting }, {}, "pending", /^Waiting: ci: waiting for build$/],
    [
      "CI pending but approvals missing: failure, not pending",
      { checks: waiting, reviews: [] },
      {},
      "failure",
      /^Not compliant: approvals/,
    ],
    [
      "CI pending but ticket missing: failure",
      { checks: waiting },
      ticketsOn,
      "failure",
      /^Not compliant: tickets: no ticket referenced$/,
    ],
    [
      "required check missing: pending",
      {},
      { ci: { required: ["deploy"] } },
      "pending",
      /waiting for deploy/,
    ],
    [
      "everything wrong: every problem in the title",
      { checks: red, reviews: [] },
      ticketsOn,
      "failure",
      /approvals: .*; ci: .*; tickets: /,
    ],
    [
      "Jira down: failure",
      { tickets: { refs: ticketOk.refs, lookup: { kind: "unreachable", message: "timeout" } } },
      ticketsOn,
      "failure",
      /Jira could not be reached/,
    ],
  ])("%s", (_name, over, config, conclusion, title) => {
    const v = evaluate(policy(config), pr(over));
    expect(v.conclusion).toBe(conclusion);
    expect(v.title).toMatch(title);
    expect(v.emergency).toBe(false);
  });

  test("approvals.required 2 is honoured", () => {
    expect(evaluate(policy({ approvals: { required: 2 } }), pr()).conclusion).toBe("failure");
    expect(
      evaluate(policy({ approvals: { required: 2 } }), pr({ reviews: [approval("alice"), approval("bob")] }))
        .conclusion,
    ).toBe("success");
  });
});

describe("emergency", () => {
  const label = (labels: string[]) => ({ pr: { labels } });

  test.each(["emergency", "EMERGENCY", "Emergency"])(
    "label %j (case-insensitive) → success, Emergency change",
    (l) => {
      const v = evaluate(
        policy(ticketsOn),
        pr({ reviews: [], checks: red, tickets: noTicket, ...label(["bug", l]) }),
      );
      expect(v.emergency).toBe(true);
      expect(v.conclusion).toBe("success");
      expect(v.title).toContain("Emergency change");
      expect(v.rules.find((r) => r.rule === "ci")!.status).toBe("skipped");
      expect(v.rules.find((r) => r.rule === "tickets")!.status).toBe("skipped");
      for (const r of v.rules) expect(r.todo).toEqual([]);
    },
  );

  test("a custom label", () => {
    const p = policy({ emergency: { label: "Hotfix-Now" } });
    expect(evaluate(p, pr({ reviews: [], ...label(["hotfix-now"]) })).emergency).toBe(true);
    expect(evaluate(p, pr({ reviews: [], ...label(["emergency"]) })).emergency).toBe(false);
  });

  test("emergency.approvals_required unmet → failure, saying the emergency change is not allowed yet", () => {
    const v = evaluate(
      policy({ emergency: { approvals_required: 1 } }),
      pr({ reviews: [], ...label(["emergency"]) }),
    );
    expect(v.emergency).toBe(true);
    expect(v.conclusion).toBe("failure");
    expect(v.title).toMatch(/^Emergency change not allowed yet \(approvals: 0 of 1 required\)$/);
  });

  test("emergency.approvals_required met", () => {
    const v = evaluate(
      policy({ approvals: { required: 3 }, emergency: { approvals_required: 1 } }),
      pr(label(["emergency"])),
    );
    expect(v.conclusion).toBe("success");
    const a = v.rules.find((r) => r.rule === "approvals")!;
    expect(a.status).toBe("pass");
    if (a.rule === "approvals") expect(a.required).toBe(1);
  });

  test.each<[string, CiCheck[], "success" | "failure" | "pending"]>([
    ["green", green, "success"],
    ["red", red, "failure"],
    ["pending", waiting, "pending"],
  ])("require_ci honoured: CI %s", (_n, checks, conclusion) => {
    const v = evaluate(
      policy({ emergency: { require_ci: true } }),
      pr({ reviews: [], checks, ...label(["emergency"]) }),
    );
    expect(v.conclusion).toBe(conclusion);
    expect(v.rules.find((r) => r.rule === "ci")!.status).not.toBe("skipped");
    if (conclusion === "pending") expect(v.title).toMatch(/^Emergency change: waiting/);
    if (conclusion === "failure") expect(v.title).toMatch(/^Emergency change not allowed yet/);
  });

  test("require_ci honours ci.required too", () => {
    const v = evaluate(
      policy({ ci: { required: ["deploy"] }, emergency: { require_ci: true } }),
      pr({ ...label(["emergency"]) }),
    );
    expect(v.conclusion).toBe("pending");
  });

  test("without require_ci, a missing required check does not hold an emergency", () => {
    const v = evaluate(policy({ ci: { required: ["deploy"] } }), pr({ checks: [], ...label(["emergency"]) }));
    expect(v.conclusion).toBe("success");
  });

  test.each<[string, TicketEvidence, "success" | "failure"]>([
    ["with a fine ticket", ticketOk, "success"],
    ["without a ticket", noTicket, "failure"],
  ])("require_ticket honoured: %s", (_n, tickets, conclusion) => {
    const v = evaluate(
      policy({ ...ticketsOn, emergency: { require_ticket: true } }),
      pr({ reviews: [], tickets, ...label(["emergency"]) }),
    );
    expect(v.conclusion).toBe(conclusion);
    expect(v.rules.find((r) => r.rule === "tickets")!.status).not.toBe("skipped");
  });

  test("require_ticket makes an emergency change need a ticket even when tickets are not required normally", () => {
    const p = policy({ tickets: { projects: ["OPS"] }, emergency: { require_ticket: true } });
    const emergencyWithout = evaluate(p, pr({ reviews: [], tickets: noTicket, ...label(["emergency"]) }));
    expect(emergencyWithout.conclusion).toBe("failure");
    expect(emergencyWithout.rules.find((r) => r.rule === "tickets")!.summary).toBe("no ticket referenced");
    const normalWithout = evaluate(p, pr({ reviews: [approval("alice")], tickets: noTicket }));
    expect(normalWithout.rules.find((r) => r.rule === "tickets")!.status).toBe("skipped");
  });

  test("emergency.require_ticket without tickets.projects is an invalid policy", () => {
    const r = configSchema.safeParse({ emergency: { require_ticket: true } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["emergency", "require_ticket"]);
  });

  test("emergency.enabled false ignores the label", () => {
    const v = evaluate(
      policy({ emergency: { enabled: false } }),
      pr({ reviews: [], ...label(["emergency"]) }),
    );
    expect(v.emergency).toBe(false);
    expect(v.conclusion).toBe("failure");
    expect(v.title).toMatch(/^Not compliant/);
  });

  test("a label that merely contains the word is not the label", () => {
    expect(evaluate(policy(), pr({ reviews: [], ...label(["not-an-emergency"]) })).emergency).toBe(false);
  });

  test("a writer's requested changes still block an emergency", () => {
    const blocked: ReviewInfo = { ...approval("carol"), state: "CHANGES_REQUESTED" };
    const v = evaluate(policy(), pr({ reviews: [blocked], ...label(["emergency"]) }));
    expect(v.conclusion).toBe("failure");
  });

  test("an emergency on a branch that is not gated is just not gated", () => {
    const v = evaluate(policy(), pr({ pr: { baseRef: "develop", labels: ["emergency"] } }));
    expect(v.gated).toBe(false);
    expect(v.emergency).toBe(false);
  });
});

describe("drafts", () => {
  test.each<[string, Partial<Evidence>, ConfigInput, RegExp]>([
    ["compliant", {}, {}, /^Draft · Compliant/],
    ["failing", { reviews: [] }, {}, /^Draft · Not compliant/],
    ["waiting", { checks: waiting }, {}, /^Draft · Waiting/],
  ])("draft prefix when %s", (_n, over, config, title) => {
    const v = evaluate(policy(config), pr({ ...over, pr: { isDraft: true } }));
    expect(v.draft).toBe(true);
    expect(v.title).toMatch(title);
  });

  test("draft emergency", () => {
    const v = evaluate(policy(), pr({ pr: { isDraft: true, labels: ["emergency"] } }));
    expect(v.title).toMatch(/^Draft · Emergency change/);
  });

  test("not a draft: no prefix", () => {
    expect(evaluate(policy(), pr()).title).not.toContain("Draft");
  });
});
