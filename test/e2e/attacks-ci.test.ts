/**
 * Attacks on CI evidence, end to end (hole 8 of issue 9): a required check pinned to its source in
 * `ci.required` cannot be satisfied by a same-named commit status that any writer can post, nor by a
 * check run from another GitHub App. changegate runs as a real process against the simulator; the
 * spoofs and the real CI reach it as the webhooks GitHub would send.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { SimApp, SimPull, SimRepo } from "../sim/model.js";
import { mismatches } from "../sim/oracle.js";
import { World } from "../sim/world.js";
import { expectBudget, onlyDigest } from "./helpers.js";

let w: World;
let evil: SimApp;

beforeAll(async () => {
  w = await World.start();
  // Another GitHub App, installed nowhere changegate could tell apart: all it does is post check runs.
  evil = w.model.addApp({ id: 6_660_001, slug: "evil-app", events: null });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const PINNED_TO_ACTIONS = "ci:\n  required:\n    - { name: build, app: github-actions }\n";
const PINNED_TO_JENKINS = "ci:\n  required:\n    - { name: ci/jenkins, creator: jenkins-bot }\n";

function approvedPr(policy: string): { pr: SimPull; repo: SimRepo } {
  const { repo } = w.repo({ policy });
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  w.model.review(pr, { author: "alice" });
  return { pr, repo };
}

describe("{ name: build, app: github-actions }", () => {
  let pr: SimPull;
  let repo: SimRepo;
  let seq = 0;
  let logFrom = 0;

  beforeAll(async () => {
    seq = w.sim.lastSeq;
    logFrom = w.cg.logs.length;
    ({ pr, repo } = approvedPr(PINNED_TO_ACTIONS));
    await w.settle();
  });

  test("a commit status `build` posted by a random writer does not satisfy it", async () => {
    w.model.setStatus(repo, w.model.headSha(pr), { context: "build", state: "success", creator: "mallory" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      status: "in_progress",
      conclusion: null,
      title: "Waiting: ci: waiting for build (check run by app github-actions)",
    });
    const digest = onlyDigest(w, pr);
    expect(digest).toContain(
      "**build** was reported as a commit status by mallory, not as a check run by app github\\-actions: not counted.",
    );
  });

  test("nor does another app's check run `build`, and the digest names that app", async () => {
    w.model.ci(pr, "build", { conclusion: "success", appId: evil.id });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "in_progress", conclusion: null });
    const digest = onlyDigest(w, pr);
    expect(digest).toContain(
      "| [build](https://ci.example.com/build) | ✅ success | ⚠️ not counted | app evil\\-app |",
    );
    expect(digest).toContain("**build** was reported by app evil\\-app, not github\\-actions: not counted.");
    expect(digest).toContain(
      "| build | ⏳ not reported | yes, pinned to a check run by app github\\-actions |  |",
    );
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);
  });

  test("the real GitHub Actions run does, with the foreign results still listed as not counted", async () => {
    w.model.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      status: "completed",
      conclusion: "success",
      title: "Compliant: approvals ok, ci ok",
    });
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("yes, pinned to a check run by app github\\-actions | app github\\-actions |");
    expect(digest).toContain("**build** was reported by app evil\\-app, not github\\-actions: not counted.");
    expect(digest).not.toContain("not reported");
    expect(await mismatches(w.model, w.appId, pr)).toEqual([]);
    expectBudget(w, pr, seq, logFrom);
  });

  test("the foreign app's build failing afterwards still fails CI: every result must be green", async () => {
    w.model.ci(pr, "build", { conclusion: "failure", appId: evil.id });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      status: "completed",
      conclusion: "failure",
      title: "Not compliant: ci: 1 check failed",
    });
  });
});

describe("{ name: ci/jenkins, creator: jenkins-bot }", () => {
  test("a status from another writer, or from a GitHub App's bot of that name, does not satisfy it; one by jenkins-bot does", async () => {
    const { pr, repo } = approvedPr(PINNED_TO_JENKINS);
    const sha = w.model.headSha(pr);
    w.model.setStatus(repo, sha, { context: "ci/jenkins", state: "success", creator: "mallory" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      status: "in_progress",
      title: "Waiting: ci: waiting for ci/jenkins (commit status by jenkins-bot)",
    });
    expect(onlyDigest(w, pr)).toContain(
      "**ci/jenkins** was reported by mallory, not jenkins\\-bot: not counted.",
    );

    // GraphQL shows a bot as plain "jenkins-bot"; changegate must still tell it from the user.
    w.model.addApp({ id: 6_660_002, slug: "jenkins-bot", events: null });
    w.model.setStatus(repo, sha, { context: "ci/jenkins", state: "success", creator: "jenkins-bot[bot]" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "in_progress" });
    expect(onlyDigest(w, pr)).toContain(
      "**ci/jenkins** was reported by jenkins\\-bot\\[bot\\], not jenkins\\-bot: not counted.",
    );

    w.model.setStatus(repo, sha, { context: "ci/jenkins", state: "success", creator: "jenkins-bot" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(onlyDigest(w, pr)).toContain(
      "| ci/jenkins | ✅ success | yes, pinned to a commit status by jenkins\\-bot | commit status by jenkins\\-bot |",
    );
  });

  test("a later spoofed status of that context replaces the real one in GitHub's rollup: the check goes back to waiting, never green", async () => {
    const { pr, repo } = approvedPr(PINNED_TO_JENKINS);
    const sha = w.model.headSha(pr);
    w.model.setStatus(repo, sha, { context: "ci/jenkins", state: "success", creator: "jenkins-bot" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
    w.model.setStatus(repo, sha, { context: "ci/jenkins", state: "success", creator: "mallory" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "in_progress", conclusion: null });
  });
});
