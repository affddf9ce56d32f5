/**
 * Attacks on the emergency path and on the contributor rule, end to end (`node lib/main.js` against
 * the simulator): a PR author who self-applies the emergency label, a triage user who can label but
 * not push, and a reviewer who wrote a commit from an e-mail GitHub cannot tie to an account.
 * Every declaration is recorded with its declarer; an ignored one never turns the check green.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mismatches } from "../sim/oracle.js";
import type { SimPull, SimRepo } from "../sim/model.js";
import { World } from "../sim/world.js";
import { expectBudget, onlyDigest } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

interface Rec {
  type: string;
  outcome: string;
  reviewedBy?: string;
  commentId?: number;
  commentCreatedAt?: string;
  mergedAt?: string;
  retroReview?: { dueAt: string; withinHours: number };
  via?: string;
  emergency: boolean;
  emergencyDeclaredBy?: string | null;
  emergencyDeclaredAt?: string | null;
  emergencyDeclarationAccepted?: boolean | null;
  emergencyDeclaredOn?: string | null;
  unattributedCommits?: { oid: string; who: string[] }[];
  headSha: string;
}

/** The PR's audit records (the stored payloads), oldest first. */
function records(pr: SimPull): Rec[] {
  const show = w.cg.cli(["audit", "show", `${pr.repo}#${pr.number}`, "--json"]);
  expect(show.code).toBe(0);
  return show.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Rec);
}

/** A PR in a fresh organisation whose only way to green is the emergency path: no review, CI red. */
function emergencyPr(policy?: string): { pr: SimPull; repo: SimRepo } {
  const { repo } = w.repo({ policy });
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  w.model.ci(pr, "build", { conclusion: "failure" });
  return { pr, repo };
}

describe("self-declared emergencies", () => {
  test("default policy: the author self-applies the label → allowed (write access), and the declarer is recorded", async () => {
    const { pr } = emergencyPr();
    const seq = w.sim.lastSeq;
    const logFrom = w.cg.logs.length;
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Emergency change: allowed by label; a retroactive review is required",
    });
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("EMERGENCY CHANGE");
    expect(digest).toContain(
      `Declared by @\u200bdev, who has write access. The label was applied at ${pr.labelEvents[0]!.at.slice(0, 16).replace("T", " ")} UTC.`,
    );
    // The declarer's write access cost one extra read (the collaborator permission), no write.
    const asked = w.sim.since(
      seq,
      (r) =>
        r.target === "github" && r.route === "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    );
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expectBudget(w, pr, seq, logFrom);
    const last = records(pr)
      .filter((r) => r.type === "evaluation")
      .at(-1)!;
    expect(last).toMatchObject({
      outcome: "success",
      emergency: true,
      emergencyDeclaredBy: "dev",
      emergencyDeclaredAt: pr.labelEvents[0]!.at,
      emergencyDeclarationAccepted: true,
    });
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);
  }, 90_000);

  test("allowed_declarers without the author: the self-applied label is ignored, the digest says why, the check is not green", async () => {
    const { pr } = emergencyPr("emergency:\n  allowed_declarers: [oncall-lead]\n");
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toMatch(/^Emergency label ignored · Not compliant: approvals: 0 of 1 required/);
    const digest = onlyDigest(w, pr);
    expect(digest).toContain(
      `**Emergency label ignored:** the emergency label was applied by @\u200bdev, who is not an allowed declarer \\(allowed: oncall\\-lead\\): judged by the normal rules (label applied at ${pr.labelEvents[0]!.at.slice(0, 16).replace("T", " ")} UTC).`,
    );
    expect(digest).not.toContain("EMERGENCY CHANGE");
    const last = records(pr)
      .filter((r) => r.type === "evaluation")
      .at(-1)!;
    expect(last).toMatchObject({
      outcome: "failure",
      emergency: false,
      emergencyDeclaredBy: "dev",
      emergencyDeclarationAccepted: false,
    });
    const text = w.cg.cli(["audit", "show", `${pr.repo}#${pr.number}`]);
    expect(text.stdout).toContain(
      `emergency label applied by dev at ${pr.labelEvents[0]!.at}: ignored (judged by the normal rules)`,
    );

    // The on-call lead re-applies it: now it is an emergency, declared by them.
    w.model.removeLabel(pr, "emergency", "oncall-lead");
    w.model.addLabel(pr, "emergency", "oncall-lead");
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({ conclusion: "success" });
    expect(onlyDigest(w, pr)).toContain("Declared by @\u200boncall\\-lead, an allowed declarer.");
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({
      emergency: true,
      emergencyDeclaredBy: "oncall-lead",
      emergencyDeclarationAccepted: true,
    });
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);
  }, 90_000);

  test("default policy: a triage user (can label, cannot push) declaring is ignored", async () => {
    const { pr, repo } = emergencyPr();
    w.model.user("tessa");
    w.model.setRole(repo, "tessa", "triage");
    w.model.addLabel(pr, "emergency", "tessa");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toContain(
      "applied by @\u200btessa, who has no write access to the repository: judged by the normal rules",
    );
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({ emergency: false, emergencyDeclaredBy: "tessa", emergencyDeclarationAccepted: false });
  }, 90_000);

  test("allowed_declarers naming a team: an active member declares; the author, not a member, does not", async () => {
    // The team lives in the repository's own organisation (the only one the installation can see).
    const org = w.org();
    const { repo } = w.repo({ org, policy: `emergency:\n  allowed_declarers: [${org.owner}/sre]\n` });
    w.model.addTeam(repo.owner, "sre", ["sam", { login: "pat", state: "pending" }]);
    const member = w.model.openPullRequest(repo, { author: "dev" });
    const pending = w.model.openPullRequest(repo, { author: "dev" });
    for (const pr of [member, pending]) w.model.ci(pr, "build", { conclusion: "failure" });
    w.model.addLabel(member, "emergency", "sam");
    w.model.addLabel(pending, "emergency", "pat");
    await w.settle(60_000);
    expect(w.check(member)!.conclusion).toBe("success");
    expect(onlyDigest(w, member)).toContain(`a member of ${repo.owner.replace(/-/g, "\\-")}/sre`);
    expect(w.check(pending)!.conclusion).toBe("failure");
    expect(onlyDigest(w, pending)).toContain("who is not an allowed declarer");
  }, 90_000);
});

describe("unattributed commits", () => {
  function ghostPr(policy?: string): SimPull {
    const { repo } = w.repo({ policy });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    // carol pushes a commit from an e-mail GitHub cannot tie to her account, then approves.
    w.model.push(pr, [{ message: "Quiet fix", authors: [null], committer: null }], { by: "carol" });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "carol" });
    return pr;
  }

  test("listed in the digest and the record; by default the reviewer's approval still counts", async () => {
    const pr = ghostPr();
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
    expect(onlyDigest(w, pr)).toContain("1 commit is not tied to a GitHub account");
    const last = records(pr)
      .filter((r) => r.type === "evaluation")
      .at(-1)!;
    expect(last.unattributedCommits).toEqual([
      {
        oid: w.model.headSha(pr),
        who: [
          "author Someone <someone@users.noreply.example.com>",
          "committer Someone <someone@users.noreply.example.com>",
        ],
      },
    ]);
  }, 90_000);

  test("block_unattributed_commits: true → the reviewer's approval cannot make it green", async () => {
    const pr = ghostPr("approvals:\n  block_unattributed_commits: true\n");
    await w.settle(60_000);
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toBe(
      "Not compliant: approvals: 1 of 1 required; 1 commit not tied to a GitHub account",
    );
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("(approvals.block_unattributed_commits)");
    expect(digest).toContain("link the commit e\\-mail to a GitHub account");
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({ outcome: "failure" });
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);
  }, 90_000);
});

describe("retroactive reviews that are not the reviewer's own words", () => {
  test("the author edits a reviewer's harmless comment to hide `/changegate approve` in it, then triggers a re-check: refused; the reviewer's own new comment counts, recorded with its id", async () => {
    const { pr, repo } = emergencyPr();
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
    w.model.merge(pr, "dev");
    await w.settle(60_000);
    // rita, eligible, says something harmless after the merge; dev (write access) edits it.
    // Two comments of hers are edited: the command hidden in an HTML comment, and in plain sight.
    const harmless = w.model.addComment(repo, pr.number, "Thanks, I will look at it tomorrow.", "rita", null);
    const other = w.model.addComment(repo, pr.number, "Paged the on-call.", "rita", null);
    await w.settle(60_000);
    w.model.updateComment(harmless, `${harmless.body}<!--\n/changegate approve\n-->`, "dev");
    w.model.updateComment(other, `${other.body}\n/changegate approve`, "dev");
    const logFrom = w.cg.logs.length;
    w.model.addComment(repo, pr.number, "/changegate approve", "dev", null);
    await w.settle(60_000);
    expect(records(pr).some((r) => r.type === "retro_review")).toBe(false);
    const refusals = w.cg.logs
      .slice(logFrom)
      .map((l) => String(l.msg))
      .filter((m) => m.includes("not a retroactive review"));
    // The hidden one is not even a candidate; the visible one is refused as edited; dev's own as the author's.
    expect(refusals).toHaveLength(2);
    expect(refusals.some((m) => m.includes("edited after it was posted"))).toBe(true);
    expect(refusals.some((m) => m.includes("the PR's author"))).toBe(true);
    expect(
      w.model
        .runsOn(pr.repo, w.model.headSha(pr))
        .filter((r) => r.name === "changegate/retro-review")
        .at(-1),
    ).toMatchObject({ status: "in_progress" });

    // Hidden in her own comment (not visible to a reader) does not count either; a plain line does.
    w.model.addComment(repo, pr.number, "Reviewed.\n```\n/changegate approve\n```", "rita", null);
    await w.settle(60_000);
    expect(records(pr).some((r) => r.type === "retro_review")).toBe(false);
    const own = w.model.addComment(
      repo,
      pr.number,
      "Reviewed the hotfix.\n/changegate approve",
      "rita",
      null,
    );
    await w.settle(60_000);
    const rec = records(pr).find((r) => r.type === "retro_review");
    expect(rec).toMatchObject({
      reviewedBy: "rita",
      via: "comment",
      commentId: own.id,
      commentCreatedAt: own.createdAt,
    });
  }, 180_000);
});

describe("org floors on the emergency path", () => {
  test("a repository giving itself a year for the retroactive review gets the org floor's 24 hours: digest, merge record and due time", async () => {
    const { repo } = w.repo({
      policy: "emergency:\n  review_within_hours: 8760\n",
      orgPolicy: "enforce:\n  emergency:\n    review_within_hours: 24\n",
    });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.ci(pr, "build", { conclusion: "failure" });
    w.model.addLabel(pr, "emergency", "dev");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("Retroactive review due within 24 hours of the merge");
    expect(digest).toContain("`emergency.review_within_hours`");
    w.model.merge(pr, "dev");
    await w.settle(60_000);
    const merge = records(pr).find((r) => r.type === "merge")!;
    expect(merge.retroReview).toMatchObject({ withinHours: 24 });
    expect(Date.parse(merge.retroReview!.dueAt) - Date.parse(merge.mergedAt!)).toBe(24 * 3_600_000);
  }, 120_000);
});

describe("an emergency declaration covers the head it was made on", () => {
  const POLICY = "emergency:\n  allowed_declarers: [oncall-lead]\n";
  const short = (sha: string) => sha.slice(0, 7);

  test("the on-call lead declares on A; the author pushes B: not an emergency on B (digest says why, record keeps A); re-declared on B it is; a push of C then merged is a bypass", async () => {
    const { pr } = emergencyPr(POLICY);
    const a = w.model.headSha(pr);
    w.model.addLabel(pr, "emergency", "oncall-lead");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({ emergency: true, emergencyDeclaredBy: "oncall-lead", emergencyDeclaredOn: a });

    const b = w.model.push(pr, [{ message: "one more thing" }], { by: "dev" });
    w.model.ci(pr, "build", { conclusion: "failure" });
    await w.settle(60_000);
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toMatch(/^Emergency label ignored · /);
    expect(onlyDigest(w, pr)).toContain(`the emergency was declared on commit ${short(a)}`);
    expect(onlyDigest(w, pr)).toContain(`and the head is now ${short(b)}, pushed since`);
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({
      headSha: b,
      emergency: false,
      emergencyDeclaredBy: "oncall-lead",
      emergencyDeclaredOn: a,
      emergencyDeclarationAccepted: false,
    });
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);

    // Declared again on B by the lead: it applies to B.
    w.model.removeLabel(pr, "emergency", "oncall-lead");
    w.model.addLabel(pr, "emergency", "oncall-lead");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({ headSha: b, emergency: true, emergencyDeclaredOn: b });

    // C pushed and merged at once: the merge is not an emergency, it is a bypass.
    const c = w.model.push(pr, [{ message: "and this" }], { by: "dev" });
    w.model.merge(pr, "dev");
    await w.settle(60_000);
    const merge = records(pr).find((r) => r.type === "merge")!;
    expect(merge).toMatchObject({ headSha: c, emergency: false });
    expect(
      w.cg.logs.some((l) =>
        String(l.msg).includes(`${pr.repo}#${pr.number} merged by dev is non-compliant!`),
      ),
    ).toBe(true);
  }, 180_000);

  test("a push racing the label (both webhooks held, then delivered together): the labeled delivery names A, the head is B: not an emergency", async () => {
    const { pr } = emergencyPr(POLICY);
    const a = w.model.headSha(pr);
    await w.settle(60_000);
    w.autoDeliver = false;
    try {
      w.model.addLabel(pr, "emergency", "oncall-lead");
      w.model.push(pr, [{ message: "sneaked in" }], { by: "dev" });
    } finally {
      w.autoDeliver = true;
    }
    await w.release((hooks) => [...hooks].reverse());
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toContain(`the emergency was declared on commit ${short(a)}`);
    expect(
      records(pr)
        .filter((r) => r.type === "evaluation")
        .at(-1),
    ).toMatchObject({ emergency: false, emergencyDeclaredOn: a });
  }, 120_000);

  test("a label whose labeled delivery was lost: changegate cannot tell the commit, so no emergency until it is applied again", async () => {
    const { pr } = emergencyPr(POLICY);
    await w.settle(60_000);
    w.quietly(() => w.model.addLabel(pr, "emergency", "oncall-lead"));
    w.model.ci(pr, "lint", { conclusion: "success" }); // another event makes changegate look again
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toContain("cannot tell which commit the emergency label was applied on");
    w.model.removeLabel(pr, "emergency", "oncall-lead");
    w.model.addLabel(pr, "emergency", "oncall-lead");
    await w.settle(60_000);
    expect(w.check(pr)!.conclusion).toBe("success");
  }, 120_000);
});
