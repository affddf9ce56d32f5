/**
 * Emergency declarations: who applied the emergency label, whether they may, and what the digest,
 * the verdict and the facts-gathering step (src/github/declarer.ts) make of it.
 */
import { describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { declarerFacts } from "../../src/evidence/declarer.js";
import type { Writer } from "../../src/github/publish.js";
import { declaredOnFromClaims, emergencyDeclaration } from "../../src/policy/emergency.js";
import type { LabelClaim } from "../../src/refs.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type { DeclarerFacts, Evidence, LabelEvent, Policy, ReviewInfo } from "../../src/policy/types.js";
import { renderVerdict } from "../../src/report/digest.js";
import { evidence as fixtureEvidence, HEAD } from "../helpers/fixtures.js";

type EvidenceOver = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: EvidenceOver = {}): Evidence =>
  fixtureEvidence(over as Parameters<typeof fixtureEvidence>[0]);

function policy(input: ConfigInput = {}): Policy {
  return {
    config: configSchema.parse(input),
    source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "x" },
  };
}

const ev = (actor: string | null, over: Partial<LabelEvent> & { bot?: boolean } = {}): LabelEvent => {
  const { bot, ...rest } = over;
  return {
    label: "emergency",
    actor: actor === null ? null : { login: actor, isBot: bot ?? false },
    at: "2026-11-20T03:00:00Z",
    ...rest,
  };
};

/**
 * A PR carrying the emergency label, with no approval and failing CI: only the emergency rules can
 * pass it. The newest emergency LabeledEvent was applied on the head (as changegate establishes it
 * from the labeled delivery) unless `declaredOn` says otherwise.
 */
function labelled(
  events: LabelEvent[],
  declarer?: DeclarerFacts,
  truncated = false,
  declaredOn: string | null = HEAD,
): Evidence {
  const newest = events
    .filter((e) => e.label.toLowerCase() === "emergency")
    .sort((a, b) => b.at.localeCompare(a.at))[0];
  return evidence({
    pr: { labels: ["emergency"] },
    reviews: [],
    checks: [
      {
        kind: "check_run",
        name: "build",
        state: "failure",
        raw: "failure",
        source: "github-actions",
        url: null,
      },
    ],
    labelHistory: { events, truncated },
    ...(declarer ? { declarer } : {}),
    ...(newest ? { declaredOn: { at: newest.at, headSha: declaredOn } } : {}),
  });
}

const ALLOWED: ConfigInput = {
  emergency: { allowed_declarers: ["oncall-lead", "acme/sre", "deploy-bot[bot]"] },
};

describe("declaredOnFromClaims: which head the labeled deliveries name for the newest LabeledEvent (pure)", () => {
  const c = policy().config;
  const claim = (over: Partial<LabelClaim> = {}): LabelClaim => ({
    label: "emergency",
    sender: "oncall-lead",
    headSha: "a".repeat(40),
    at: "2026-11-20T03:00:00Z",
    ...over,
  });
  const event = ev("oncall-lead");

  test("the delivery of this labelling names the head", () => {
    expect(declaredOnFromClaims(c, event, [claim()])).toBe("a".repeat(40));
    expect(
      declaredOnFromClaims(c, event, [
        claim({ label: "Emergency", sender: "OnCall-Lead", at: "2026-11-20T03:00:01Z" }),
      ]),
    ).toBe("a".repeat(40));
  });

  test("another label, another sender, or an earlier labelling's delivery names nothing", () => {
    expect(declaredOnFromClaims(c, event, [claim({ label: "bug" })])).toBeNull();
    expect(declaredOnFromClaims(c, event, [claim({ sender: "dev" })])).toBeNull();
    expect(declaredOnFromClaims(c, event, [claim({ at: "2026-11-20T02:59:00Z" })])).toBeNull();
    expect(declaredOnFromClaims(c, event, [])).toBeNull();
  });

  test("deliveries naming different heads: unknown (fail closed); an app's sender is name[bot]", () => {
    expect(declaredOnFromClaims(c, event, [claim(), claim({ headSha: "b".repeat(40) })])).toBeNull();
    expect(
      declaredOnFromClaims(c, ev("deploy-bot", { bot: true }), [claim({ sender: "deploy-bot[bot]" })]),
    ).toBe("a".repeat(40));
    expect(declaredOnFromClaims(c, ev(null), [claim()])).toBeNull();
  });
});

describe("emergencyDeclaration (pure)", () => {
  test("no label: not labelled, nothing to accept", () => {
    const d = emergencyDeclaration(
      policy().config,
      evidence({ labelHistory: { events: [ev("dev", { label: "bug" })], truncated: false } }),
    );
    expect(d).toEqual({ labelled: false, declarer: null, at: null, accepted: false, reason: "" });
  });

  test("default: the author self-applies the label with write access → accepted, declarer and time recorded", () => {
    const d = emergencyDeclaration(
      policy().config,
      labelled([ev("dev")], { login: "dev", canWrite: true, teams: [] }),
    );
    expect(d).toMatchObject({ labelled: true, declarer: "dev", at: "2026-11-20T03:00:00Z", accepted: true });
    expect(d.reason).toBe("declared by @dev, who has write access");
  });

  test("default: a labeller without write access (triage) → ignored, judged by the normal rules", () => {
    const d = emergencyDeclaration(
      policy().config,
      labelled([ev("triager")], { login: "triager", canWrite: false, teams: [] }),
    );
    expect(d.accepted).toBe(false);
    expect(d.reason).toMatch(/applied by @triager, who has no write access .*judged by the normal rules/);
  });

  test("default: facts missing or about someone else → ignored (fail closed)", () => {
    expect(emergencyDeclaration(policy().config, labelled([ev("dev")])).accepted).toBe(false);
    expect(
      emergencyDeclaration(
        policy().config,
        labelled([ev("dev")], { login: "mallory", canWrite: true, teams: [] }),
      ).accepted,
    ).toBe(false);
  });

  test("the newest LabeledEvent of the label decides (re-applied later by someone else)", () => {
    const events = [
      ev("oncall-lead", { at: "2026-11-20T01:00:00Z" }),
      ev("dev", { at: "2026-11-20T02:00:00Z" }),
      ev("ops", { label: "other", at: "2026-11-20T04:00:00Z" }),
    ];
    const d = emergencyDeclaration(
      policy(ALLOWED).config,
      labelled(events, { login: "dev", canWrite: null, teams: [] }),
    );
    expect(d).toMatchObject({ declarer: "dev", at: "2026-11-20T02:00:00Z", accepted: false });
  });

  test("a declaration covers only the head it was made on: another head, or an unknown one, is judged by the normal rules", () => {
    const facts = { login: "dev", canWrite: true, teams: [] };
    const OTHER = "c".repeat(40);
    const moved = emergencyDeclaration(policy().config, labelled([ev("dev")], facts, false, OTHER));
    expect(moved).toMatchObject({ accepted: false, declarer: "dev", declaredOn: OTHER });
    expect(moved.reason).toBe(
      `the emergency was declared on commit ccccccc (declared by @dev, who has write access), and the head is now ${HEAD.slice(0, 7)}, pushed since: a declaration covers only the commit it was made on, so judged by the normal rules (someone allowed to declare can remove the label and apply it again)`,
    );
    const unknown = emergencyDeclaration(policy().config, labelled([ev("dev")], facts, false, null));
    expect(unknown).toMatchObject({ accepted: false, declaredOn: null });
    expect(unknown.reason).toMatch(/cannot tell which commit the emergency label was applied on/);
    // A binding for an older LabeledEvent says nothing about the newest one.
    const stale = {
      ...labelled([ev("dev")], facts),
      declaredOn: { at: "2026-11-20T02:00:00Z", headSha: HEAD },
    };
    expect(emergencyDeclaration(policy().config, stale)).toMatchObject({ accepted: false, declaredOn: null });
    // No binding at all (a caller that established none): not accepted either.
    const { declaredOn: _, ...none } = labelled([ev("dev")], facts);
    expect(emergencyDeclaration(policy().config, none).accepted).toBe(false);
    expect(emergencyDeclaration(policy().config, labelled([ev("dev")], facts))).toMatchObject({
      accepted: true,
      declaredOn: HEAD,
    });
    // Who declared is judged first: a declarer not allowed is refused for that, wherever it was made.
    expect(
      emergencyDeclaration(
        policy(ALLOWED).config,
        labelled([ev("dev")], { login: "dev", canWrite: null, teams: [] }, false, OTHER),
      ).reason,
    ).toMatch(/not an allowed declarer/);
  });

  test("label names match case-insensitively, as the label itself does", () => {
    const d = emergencyDeclaration(
      policy().config,
      labelled([ev("dev", { label: "EMERGENCY" })], { login: "dev", canWrite: true, teams: [] }),
    );
    expect(d).toMatchObject({ declarer: "dev", accepted: true });
  });

  test("default: a deleted account's label is ignored (its write access cannot be checked), and so is a label a complete timeline has no event for", () => {
    const none = emergencyDeclaration(policy().config, labelled([]));
    expect(none).toMatchObject({ accepted: false, declarer: null, at: null });
    expect(none.reason).toMatch(/no record of who applied the emergency label or on which commit/);
    // Evidence with no timeline at all (a record from before changegate read timelines): judged as then.
    const { labelHistory: _, ...old } = labelled([]);
    const legacy = emergencyDeclaration(policy().config, old);
    expect(legacy).toMatchObject({ accepted: true, declarer: null, at: null });
    expect(legacy.reason).toMatch(/^declared by an unknown user/);
    const ghost = emergencyDeclaration(policy().config, labelled([ev(null)]));
    expect(ghost).toMatchObject({ accepted: false, declarer: null, at: "2026-11-20T03:00:00Z" });
    expect(ghost.reason).toMatch(/account that no longer exists/);
  });

  test("the label's event fell out of the window read (100+ newer label events): ignored in both modes", () => {
    for (const input of [{}, ALLOWED]) {
      const d = emergencyDeclaration(
        policy(input).config,
        labelled([ev("dev", { label: "noise" })], undefined, true),
      );
      expect(d.accepted).toBe(false);
      expect(d.reason).toContain("remove the label and apply it again");
    }
  });

  test("default: an app applying the label is not a person declaring an emergency", () => {
    const d = emergencyDeclaration(policy().config, labelled([ev("labeler", { bot: true })]));
    expect(d).toMatchObject({ accepted: false, declarer: "labeler[bot]" });
    expect(d.reason).toContain("list labeler[bot] in emergency.allowed_declarers");
  });

  test("allowed_declarers: a listed login is accepted without facts; a listed app too", () => {
    expect(emergencyDeclaration(policy(ALLOWED).config, labelled([ev("Oncall-Lead")]))).toMatchObject({
      accepted: true,
      declarer: "Oncall-Lead",
    });
    expect(
      emergencyDeclaration(policy(ALLOWED).config, labelled([ev("deploy-bot", { bot: true })])),
    ).toMatchObject({ accepted: true, declarer: "deploy-bot[bot]" });
  });

  test("allowed_declarers: an active member of a listed team is accepted", () => {
    const d = emergencyDeclaration(
      policy(ALLOWED).config,
      labelled([ev("sam")], { login: "sam", canWrite: null, teams: ["acme/sre"] }),
    );
    expect(d).toMatchObject({ accepted: true, declarer: "sam" });
    expect(d.reason).toContain("a member of acme/sre");
  });

  test("allowed_declarers: the author, not listed, is ignored and the reason names the allowed list", () => {
    const d = emergencyDeclaration(
      policy(ALLOWED).config,
      labelled([ev("dev")], { login: "dev", canWrite: null, teams: [] }),
    );
    expect(d.accepted).toBe(false);
    expect(d.reason).toBe(
      "the emergency label was applied by @dev, who is not an allowed declarer (allowed: oncall-lead, acme/sre, deploy-bot[bot]): judged by the normal rules",
    );
  });

  test("allowed_declarers: an unknown declarer is ignored (fail closed)", () => {
    expect(emergencyDeclaration(policy(ALLOWED).config, labelled([])).accepted).toBe(false);
    expect(emergencyDeclaration(policy(ALLOWED).config, labelled([ev(null)])).accepted).toBe(false);
  });

  test("allowed_declarers: a team claimed by facts but not listed does not count", () => {
    const d = emergencyDeclaration(
      policy(ALLOWED).config,
      labelled([ev("sam")], { login: "sam", canWrite: true, teams: ["acme/everyone"] }),
    );
    expect(d.accepted).toBe(false);
  });
});

describe("evaluate and render with a declaration", () => {
  test("ignored label: the PR is judged by the normal rules, the check is not green, the digest says why", () => {
    const p = policy(ALLOWED);
    const e = labelled([ev("dev")], { login: "dev", canWrite: null, teams: [] });
    const v = evaluate(p, e);
    expect(v.emergency).toBe(false);
    expect(v.conclusion).toBe("failure");
    expect(v.declaration).toMatchObject({ labelled: true, accepted: false, declarer: "dev" });
    expect(v.title).toMatch(/^Emergency label ignored · Not compliant: approvals: 0 of 1 required/);
    const body = renderVerdict(v, e, p).comment;
    expect(body).toContain("**Emergency label ignored:**");
    expect(body).toContain(
      "who is not an allowed declarer \\(allowed: oncall\\-lead, acme/sre, deploy\\-bot\\[bot\\]\\): judged by the normal rules (label applied at 2026-11-20 03:00 UTC).",
    );
    expect(body).not.toContain("EMERGENCY CHANGE");
    expect(body).not.toMatch(/(^|[^`])@dev\b/); // the declarer's login does not ping
  });

  test("accepted label: success, and the digest names the declarer and the time", () => {
    const p = policy();
    const e = labelled([ev("dev")], { login: "dev", canWrite: true, teams: [] });
    const v = evaluate(p, e);
    expect(v).toMatchObject({ emergency: true, conclusion: "success" });
    const body = renderVerdict(v, e, p).comment;
    expect(body).toContain("EMERGENCY CHANGE");
    expect(body).toContain(
      "Declared by @\u200bdev, who has write access. The label was applied at 2026-11-20 03:00 UTC.",
    );
  });

  test("an unknown declarer is said so in the digest, and the PR is judged by the normal rules", () => {
    const p = policy();
    const e = labelled([ev(null)]);
    const v = evaluate(p, e);
    expect(v.emergency).toBe(false);
    const body = renderVerdict(v, e, p).comment;
    expect(body).toContain("account that no longer exists");
  });

  test("a PR without the label carries no declaration", () => {
    const review: ReviewInfo = {
      author: { login: "alice", isBot: false },
      state: "APPROVED",
      submittedAt: "2026-11-20T09:00:00Z",
      commitOid: HEAD,
      authorCanPush: true,
      url: "u",
    };
    const v = evaluate(policy(), evidence({ reviews: [review] }));
    expect(v.declaration).toBeUndefined();
    expect(v.title).toMatch(/^Compliant/);
  });
});

describe("emergency.allowed_declarers in the policy", () => {
  test.each(["alice", "deploy-bot[bot]", "acme/sre", "acme/release.managers"])("%j is valid", (d) => {
    expect(configSchema.safeParse({ emergency: { allowed_declarers: [d] } }).success).toBe(true);
  });
  test.each(["", "@alice", "acme/", "a/b/c", "al ice", "-alice"])("%j is rejected", (d) => {
    const r = configSchema.safeParse({ emergency: { allowed_declarers: [d] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["emergency", "allowed_declarers", 0]);
  });
  test("an empty list is rejected (nobody could declare: say emergency.enabled: false instead)", () => {
    const r = configSchema.safeParse({ emergency: { allowed_declarers: [] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toContain("emergency.enabled: false");
  });
  test("not set by default", () => {
    expect(configSchema.parse({}).emergency.allowed_declarers).toBeUndefined();
  });
});

describe("declarerFacts (the extra step, src/evidence/declarer.ts)", () => {
  type Answer = { status: number; data?: unknown };
  function fakeOctokit(answers: Record<string, Answer>): Writer & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      async request(route: string, params: Record<string, unknown>) {
        const path = route.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k]));
        calls.push(path);
        const a = answers[path];
        if (!a) throw Object.assign(new Error(`unexpected ${path}`), { status: 599 });
        if (a.status >= 400) throw Object.assign(new Error(`HTTP ${a.status}`), { status: a.status });
        return { data: a.data };
      },
    };
  }
  const ref = { owner: "acme", repo: "payments" };
  const perm = (login: string) => `GET /repos/acme/payments/collaborators/${login}/permission`;
  const member = (team: string, login: string) =>
    `GET /orgs/${team.split("/")[0]}/teams/${team.split("/")[1]}/memberships/${login}`;

  test("no emergency label: no request at all", async () => {
    const o = fakeOctokit({});
    expect(
      await declarerFacts(
        o,
        ref,
        configSchema.parse({}),
        evidence({ labelHistory: { events: [ev("dev")], truncated: false } }),
      ),
    ).toBeNull();
    expect(o.calls).toEqual([]);
  });

  test.each([
    ["admin", true],
    ["maintain", true],
    ["write", true],
    ["triage", false],
    ["read", false],
    ["none", false],
  ])("default rule: permission %j → canWrite %j, one request", async (permission, canWrite) => {
    const o = fakeOctokit({ [perm("dev")]: { status: 200, data: { permission, role_name: "write" } } });
    const f = await declarerFacts(o, ref, configSchema.parse({}), labelled([ev("dev")]));
    expect(f).toEqual({ login: "dev", canWrite, teams: [] });
    expect(o.calls).toEqual([perm("dev")]);
  });

  test("default rule: 404 (not a collaborator) → no write access", async () => {
    const o = fakeOctokit({ [perm("dev")]: { status: 404 } });
    expect(await declarerFacts(o, ref, configSchema.parse({}), labelled([ev("dev")]))).toEqual({
      login: "dev",
      canWrite: false,
      teams: [],
    });
  });

  test("any other error throws (the pipeline's failure report keeps the check from turning green)", async () => {
    for (const status of [403, 500]) {
      const o = fakeOctokit({ [perm("dev")]: { status } });
      await expect(declarerFacts(o, ref, configSchema.parse({}), labelled([ev("dev")]))).rejects.toThrow(
        `HTTP ${status}`,
      );
    }
    const malformed = fakeOctokit({ [perm("dev")]: { status: 200, data: { role: "write" } } });
    await expect(
      declarerFacts(malformed, ref, configSchema.parse({}), labelled([ev("dev")])),
    ).rejects.toThrow(/malformed/);
  });

  test("a PR into a branch that is not gated: no request (it is not judged)", async () => {
    const o = fakeOctokit({});
    const e = labelled([ev("dev")]);
    expect(
      await declarerFacts(o, ref, configSchema.parse({}), { ...e, pr: { ...e.pr, baseRef: "sandbox" } }),
    ).toBeNull();
    expect(o.calls).toEqual([]);
  });

  test("unknown declarers and apps need no request", async () => {
    const o = fakeOctokit({});
    expect(await declarerFacts(o, ref, configSchema.parse({}), labelled([]))).toBeNull();
    expect(await declarerFacts(o, ref, configSchema.parse({}), labelled([ev(null)]))).toBeNull();
    expect(
      await declarerFacts(o, ref, configSchema.parse({}), labelled([ev("labeler", { bot: true })])),
    ).toBeNull();
    expect(o.calls).toEqual([]);
  });

  test("allowed_declarers: a listed login needs no request", async () => {
    const o = fakeOctokit({});
    expect(
      await declarerFacts(o, ref, configSchema.parse(ALLOWED), labelled([ev("oncall-lead")])),
    ).toBeNull();
    expect(o.calls).toEqual([]);
  });

  test("allowed_declarers: teams are asked in order until one answers active; pending and 404 are not membership", async () => {
    const c = configSchema.parse({
      emergency: { allowed_declarers: ["acme/sre", "acme/oncall", "acme/leads"] },
    });
    const o = fakeOctokit({
      [member("acme/sre", "sam")]: { status: 404 },
      [member("acme/oncall", "sam")]: { status: 200, data: { state: "pending", role: "member" } },
      [member("acme/leads", "sam")]: { status: 200, data: { state: "active", role: "member" } },
    });
    expect(await declarerFacts(o, ref, c, labelled([ev("sam")]))).toEqual({
      login: "sam",
      canWrite: null,
      teams: ["acme/leads"],
    });
    expect(o.calls).toEqual([
      member("acme/sre", "sam"),
      member("acme/oncall", "sam"),
      member("acme/leads", "sam"),
    ]);
    const first = fakeOctokit({ [member("acme/sre", "sam")]: { status: 200, data: { state: "active" } } });
    expect(await declarerFacts(first, ref, c, labelled([ev("sam")]))).toEqual({
      login: "sam",
      canWrite: null,
      teams: ["acme/sre"],
    });
    expect(first.calls).toHaveLength(1);
  });
});
