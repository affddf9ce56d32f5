/**
 * End to end, scenario by scenario: changegate runs as a real process (`node lib/main.js`, production
 * Octokit with throttling) against the GitHub simulator, fed the webhooks GitHub would send as the
 * simulated people and CI act. One process for the file; every scenario has its own organisation and
 * installation, so their write queues do not wait for each other.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { NON_COMPLIANT_PHRASE } from "../../src/contract.js";
import type { SimPull, SimRepo } from "../sim/model.js";
import { signature256 } from "../sim/webhooks.js";
import { World } from "../sim/world.js";
import { errorLines, evaluations, expectBudget, onlyDigest } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

/** A PR in a fresh organisation (its own installation) with a policy, opened by `dev`. */
function newPr(
  opts: { policy?: string; labels?: string[]; baseRef?: string; draft?: boolean; title?: string } = {},
): { pr: SimPull; repo: SimRepo } {
  const { repo } = w.repo({ policy: opts.policy });
  const pr = w.model.openPullRequest(repo, {
    author: "dev",
    labels: opts.labels,
    baseRef: opts.baseRef,
    draft: opts.draft,
    title: opts.title,
  });
  return { pr, repo };
}

describe("verdicts", () => {
  const s: Record<string, SimPull> = {};
  let seq = 0;
  let logFrom = 0;

  beforeAll(async () => {
    seq = w.sim.lastSeq;
    logFrom = w.cg.logs.length;
    const m = w.model;
    {
      const { pr } = newPr();
      m.ci(pr, "build", { conclusion: "success" });
      m.review(pr, { author: "alice" });
      s.compliant = pr;
    }
    {
      const { pr } = newPr();
      m.ci(pr, "build", { conclusion: "success" });
      s.noApproval = pr;
    }
    {
      const { pr } = newPr();
      m.review(pr, { author: "alice" });
      m.push(pr, [{ message: "Address review" }]);
      m.ci(pr, "build", { conclusion: "success" });
      s.stale = pr;
    }
    {
      const { pr } = newPr();
      m.ci(pr, "build", { conclusion: "success" });
      // GitHub refuses this (the simulator too, unless forced); changegate must not count it anyway.
      m.review(pr, { author: "dev", force: true });
      s.selfApproval = pr;
    }
    {
      const { pr } = newPr();
      m.push(pr, [{ message: "Help out", authors: ["bob"] }], { by: "bob" });
      m.ci(pr, "build", { conclusion: "success" });
      m.review(pr, { author: "bob" });
      s.contributor = pr;
    }
    {
      const { pr } = newPr();
      m.ci(pr, "build", { conclusion: "success" });
      m.review(pr, { author: "alice" });
      m.review(pr, { author: "carol", state: "CHANGES_REQUESTED" });
      s.changesRequested = pr;
    }
    {
      const { pr, repo } = newPr();
      m.setWriteAccess(repo, "outsider", false);
      m.ci(pr, "build", { conclusion: "success" });
      m.review(pr, { author: "outsider" });
      s.noWriteAccess = pr;
    }
    {
      const { pr } = newPr();
      m.review(pr, { author: "alice" });
      m.ci(pr, "build", { conclusion: "failure" });
      m.ci(pr, "lint", { conclusion: "success" });
      s.failingCi = pr;
    }
    {
      const { pr, repo } = newPr({ policy: "ci:\n  required: [build, integration]\n" });
      m.review(pr, { author: "alice" });
      m.ci(pr, "build", { conclusion: "success" });
      m.setStatus(repo, m.headSha(pr), { context: "legacy/jenkins", state: "success" });
      s.missingRequired = pr;
    }
    {
      const { pr, repo } = newPr();
      m.review(pr, { author: "alice" });
      m.ci(pr, "build", { conclusion: "success" });
      m.setStatus(repo, m.headSha(pr), { context: "legacy/jenkins", state: "failure" });
      s.failingStatus = pr;
    }
    {
      const { pr } = newPr({ labels: ["emergency"] });
      m.ci(pr, "build", { conclusion: "failure" });
      s.emergency = pr;
    }
    {
      const { pr } = newPr({ baseRef: "release/1.x" });
      s.notGated = pr;
    }
    {
      const { pr } = newPr({ draft: true });
      m.ci(pr, "build", { conclusion: "success" });
      m.review(pr, { author: "alice" });
      s.draft = pr;
    }
    await w.settle(60_000);
  }, 90_000);

  test("a compliant PR: check success, one digest listing what ships, within the API budget", () => {
    const pr = s.compliant!;
    expect(w.check(pr)).toMatchObject({
      status: "completed",
      conclusion: "success",
      title: "Compliant: approvals ok, ci ok",
    });
    const digest = onlyDigest(w, pr);
    expect(digest.split("\n")[0]).toContain("compliant");
    expect(digest).toContain("What is about to ship");
    expect(digest).toContain("alice");
    expect(w.checks(pr)).toHaveLength(1);
    const budget = expectBudget(w, pr, seq, logFrom);
    expect(budget.evaluations).toBeGreaterThanOrEqual(1);
    // Check and digest written once each: later evaluations found nothing to change.
    expect(budget.writes).toBe(2);
  });

  test("no approval → failure that asks for one", () => {
    const pr = s.noApproval!;
    expect(w.check(pr)).toMatchObject({
      conclusion: "failure",
      title: "Not compliant: approvals: 0 of 1 required",
    });
    expect(onlyDigest(w, pr)).toContain("Get 1 more approval");
  });

  test("an approval of an earlier commit does not count", () => {
    const pr = s.stale!;
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toMatch(/approved `[0-9a-f]{7}`?.*not the head commit|not the head commit/);
  });

  test("the author's own approval does not count", () => {
    const pr = s.selfApproval!;
    expect(w.check(pr)).toMatchObject({ conclusion: "failure" });
    expect(onlyDigest(w, pr)).toContain("is the PR author");
  });

  test("an approval by someone who committed to the PR does not count", () => {
    const pr = s.contributor!;
    expect(w.check(pr)).toMatchObject({ conclusion: "failure" });
    expect(onlyDigest(w, pr)).toContain("committed to this PR");
  });

  test("changes requested block even with an approval", () => {
    const pr = s.changesRequested!;
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("changes requested by carol");
  });

  test("an approval without write access does not count", () => {
    const pr = s.noWriteAccess!;
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toContain("has no write access");
  });

  test("failing CI → failure naming the check", () => {
    const pr = s.failingCi!;
    expect(w.check(pr)).toMatchObject({ conclusion: "failure", title: "Not compliant: ci: 1 check failed" });
    expect(onlyDigest(w, pr)).toContain("Fix the failing check: build.");
  });

  test("a failing commit status counts as CI", () => {
    const pr = s.failingStatus!;
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(onlyDigest(w, pr)).toContain("legacy/jenkins");
  });

  test("a required check that never reported keeps the check waiting, never green", () => {
    const pr = s.missingRequired!;
    expect(w.check(pr)).toMatchObject({
      status: "in_progress",
      conclusion: null,
      title: "Waiting: ci: waiting for integration",
    });
    expect(onlyDigest(w, pr)).toContain("integration");
  });

  test("the emergency label relaxes the rules and says so", () => {
    const pr = s.emergency!;
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Emergency change: allowed by label; a retroactive review is required",
    });
    expect(onlyDigest(w, pr)).toContain("EMERGENCY CHANGE");
  });

  test("a PR into a branch the policy does not gate passes without a digest", () => {
    const pr = s.notGated!;
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Not gated: release/1.x is not a gated branch",
    });
    expect(w.digests(pr)).toHaveLength(0);
  });

  test("a draft is evaluated and marked as one", () => {
    const pr = s.draft!;
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Draft · Compliant: approvals ok, ci ok",
    });
  });

  test("every evaluation stays within one read and two writes; changegate's own check events cause no evaluation loop", () => {
    for (const pr of Object.values(s)) expectBudget(w, pr, seq, logFrom);
    // changegate received its own check_run/check_suite events and ignored them: evaluations are
    // bounded by the events people and CI caused.
    const hooks = w.model.webhooks.filter((h) => h.appId === w.appId);
    const own = hooks.filter(
      (h) =>
        (h.payload.check_run as { app?: { id?: number } } | undefined)?.app?.id === w.appId ||
        (h.payload.check_suite as { app?: { id?: number } } | undefined)?.app?.id === w.appId,
    );
    expect(own.length).toBeGreaterThan(0);
    expect(evaluations(w, undefined, logFrom).length).toBeLessThanOrEqual(hooks.length - own.length);
    expect(errorLines(w, logFrom)).toEqual([]);
  });
});

describe("CI pending → in progress → green on check_suite.completed", () => {
  test("the same check run goes from in_progress to success, the digest is edited in place", async () => {
    const { pr } = newPr();
    const m = w.model;
    m.review(pr, { author: "alice" });
    const build = m.ci(pr, "build", { status: "in_progress" });
    await w.settle();
    const waiting = w.check(pr);
    expect(waiting).toMatchObject({
      status: "in_progress",
      conclusion: null,
      title: "Waiting: ci: waiting for build",
    });
    const before = onlyDigest(w, pr);
    expect(before.split("\n")[0]).toContain("waiting for CI");

    m.updateCheckRun(build, { status: "completed", conclusion: "success" });
    await w.settle();
    const done = w.check(pr);
    expect(done?.id).toBe(waiting?.id);
    expect(done).toMatchObject({ status: "completed", conclusion: "success" });
    expect(done?.history.map((h) => h.status)).toEqual(["in_progress", "completed"]);
    expect(w.checks(pr)).toHaveLength(1);
    expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
  }, 30_000);
});

describe("policy files", () => {
  test("an invalid value fails the check naming the file and the key", async () => {
    const { pr, repo } = newPr({ policy: "approvals:\n  required: two\n" });
    w.model.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    const check = w.check(pr);
    expect(check?.conclusion).toBe("failure");
    expect(check?.title).toContain(`Invalid policy ${repo.fullName}:.github/changegate.yml`);
    expect(check?.title).toContain("approvals.required");
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("the policy file is invalid");
    expect(digest).toContain("approvals.required");
  });

  test("a YAML syntax error names the line", async () => {
    const { pr, repo } = newPr({ policy: "approvals:\n  required: [1\nci: {}\n" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain(`${repo.fullName}:.github/changegate.yml`);
    expect(w.check(pr)?.title).toMatch(/line \d+/);
  });

  test("without a policy of its own a repository follows the owner's .github repository", async () => {
    const o = w.org();
    const { repo } = w.repo({ org: o, orgPolicy: "approvals:\n  required: 2\n" });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      conclusion: "failure",
      title: "Not compliant: approvals: 1 of 2 required",
    });
    // (markdown-escaped in the digest: org names may contain "-")
    expect(onlyDigest(w, pr).replace(/\\/g, "")).toContain(`${o.owner}/.github:.github/changegate.yml`);
    w.model.review(pr, { author: "erin" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
  });

  test("a policy changed on the default branch applies at the next event", async () => {
    const { pr, repo } = newPr();
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    w.model.setFile(repo, ".github/changegate.yml", "approvals:\n  required: 2\n");
    w.model.editPullRequest(pr, { body: "poke" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      conclusion: "failure",
      title: "Not compliant: approvals: 1 of 2 required",
    });
  });
});

describe("when changegate itself breaks", () => {
  test("a malformed answer while following _extends: check failure, digest with the error and its stack", async () => {
    const o = w.org();
    w.model.addRepo({
      owner: o.owner,
      name: "policies",
      files: { ".github/changegate.yml": "approvals:\n  required: 1\n" },
    });
    const { repo } = w.repo({ org: o, policy: "_extends: policies\nci:\n  required: [build]\n" });
    const fault = w.sim.fault({
      operation: "ChangegateFile",
      installationId: o.installation.id,
      kind: "malformedData",
      data: { repository: { object: { text: 42 } } },
    });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    await w.settle();
    fault.remove();
    expect(fault.hits).toBeGreaterThanOrEqual(1);
    const check = w.check(pr);
    expect(check?.conclusion).toBe("failure");
    expect(check?.title).toMatch(/^changegate error while reading the pull request from GitHub: /);
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("changegate failed");
    expect(digest).toContain("Stack trace");
    expect(digest).toMatch(/GatherError: .*policies/);
    expect(digest).toMatch(/\n\s+at .+\(file:\/\//);
  });

  test("a malformed evidence answer: the check fails on the webhook's head with the stack, the digest is replaced, and it recovers", async () => {
    const { pr } = newPr();
    const m = w.model;
    m.ci(pr, "build", { conclusion: "success" });
    m.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");

    const fault = w.sim.fault({ operation: "ChangegateEvidence", repo: pr.repo, kind: "malformedData" });
    m.editPullRequest(pr, { title: "Faster payments, take two" });
    await w.settle();
    fault.remove();
    const failed = w.check(pr);
    expect(failed).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(failed?.title).toContain("changegate error while reading the pull request from GitHub");
    expect(failed?.summary).toContain("Stack trace");
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("changegate failed");
    expect(digest).toMatch(
      /GatherError: GitHub's answer to the evidence query is not what changegate expects/,
    );

    // Someone presses Re-evaluate once GitHub is well again.
    m.requestAction(failed!, "reevaluate", "dev");
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
  }, 30_000);
});

describe("deliveries", () => {
  test("a redelivered webhook (same delivery id) is processed once; a new event that changes nothing costs one read and no write", async () => {
    const { pr } = newPr();
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    const opened = w.model.webhooks.find(
      (h) =>
        h.appId === w.appId &&
        h.name === "pull_request" &&
        h.action === "opened" &&
        (h.payload.repository as { full_name: string }).full_name === pr.repo,
    )!;
    const before = await w.cg.health();
    const seq = w.sim.lastSeq;
    const res = await w.cg.deliver("pull_request", opened.payload, { id: opened.id });
    expect(res.status).toBeLessThan(300);
    await w.settle();
    const after = await w.cg.health();
    expect(after.duplicates).toBe(before.duplicates + 1);
    expect(w.sim.since(seq, (r) => r.repo === pr.repo)).toEqual([]);

    const logFrom = w.cg.logs.length;
    const seq2 = w.sim.lastSeq;
    w.model.editPullRequest(pr, { body: "no real change" });
    await w.settle();
    const budget = expectBudget(w, pr, seq2, logFrom);
    expect(budget).toEqual({ reads: 1, writes: 0, evaluations: 1 });
  });

  test("a bad or missing signature is rejected and no API call is made", async () => {
    const { pr } = newPr();
    const opened = w.model.webhooks.find(
      (h) => h.appId === w.appId && (h.payload.repository as { full_name: string }).full_name === pr.repo,
    )!;
    await w.settle();
    const installation = opened.installationId;
    const seq = w.sim.lastSeq;
    const health = await w.cg.health();
    const forged = await w.cg.deliver(
      "pull_request",
      { ...opened.payload, action: "synchronize" },
      { secret: "not-the-secret" },
    );
    const unsigned = await w.cg.deliver(
      "pull_request",
      { ...opened.payload, action: "synchronize" },
      { signature: null },
    );
    const original = JSON.stringify(opened.payload);
    const tampered = await w.cg.deliver("pull_request", null, {
      body: original.replace('"action":"opened"', '"action":"reopened"'),
      signature: signature256(w.secret, original),
    });
    for (const r of [forged, unsigned, tampered]) expect([400, 401]).toContain(r.status);
    await w.settle();
    expect(w.sim.since(seq, (r) => r.installationId === installation)).toEqual([]);
    expect((await w.cg.health()).deliveries).toBe(health.deliveries);
  });

  test("the Re-evaluate button re-runs the evaluation (one read, nothing to write)", async () => {
    const { pr } = newPr();
    w.model.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    const logFrom = w.cg.logs.length;
    const seq = w.sim.lastSeq;
    w.model.requestAction(w.check(pr)!, "reevaluate", "dev");
    await w.settle();
    expect(expectBudget(w, pr, seq, logFrom)).toEqual({ reads: 1, writes: 0, evaluations: 1 });
  });

  test("a deleted digest is posted again, still one per PR", async () => {
    const { pr } = newPr();
    w.model.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    w.model.deleteComment(w.digest(pr)!, "dev");
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
  });
});

describe("merges", () => {
  test(`a non-compliant PR merged anyway logs "${NON_COMPLIANT_PHRASE}"; a compliant merge does not`, async () => {
    const bad = newPr().pr;
    const good = newPr().pr;
    w.model.ci(bad, "build", { conclusion: "success" });
    w.model.ci(good, "build", { conclusion: "success" });
    w.model.review(good, { author: "alice" });
    await w.settle();
    expect(w.check(bad)?.conclusion).toBe("failure");
    expect(w.check(good)?.conclusion).toBe("success");
    const logFrom = w.cg.logs.length;
    w.model.merge(bad, "admin");
    w.model.merge(good, "alice");
    await w.settle();
    const alarms = w.cg.logs
      .slice(logFrom)
      .filter((l) => typeof l.msg === "string" && l.msg.includes(NON_COMPLIANT_PHRASE));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.msg).toContain(`${bad.repo}#${bad.number}`);
    expect(alarms[0]!.msg).toContain("admin");
    expect(
      w.cg.logs
        .slice(logFrom)
        .some((l) => typeof l.msg === "string" && l.msg.includes(`${good.repo}#${good.number} merged`)),
    ).toBe(true);
  });
});
