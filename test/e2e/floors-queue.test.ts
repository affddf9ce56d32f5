/**
 * End to end on the simulator: org floors from the owner's `.github` repository, and GitHub's merge
 * queue (merge_group checks_requested / destroyed) against `node lib/main.js`.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { CHECK_NAME } from "../../src/contract.js";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const ORG_POLICY = "enforce:\n  approvals:\n    required: 2\n  ci:\n    required: [build]\n";

function groupCheck(pr: SimPull, headSha: string) {
  const runs = w.model.runsOn(pr.repo, headSha).filter((r) => r.name === CHECK_NAME);
  return runs[runs.length - 1];
}

describe("org floors", () => {
  test("a repository file asking for fewer approvals gets the floor, and the digest says why", async () => {
    const { repo } = w.repo({ policy: "approvals:\n  required: 0\n", orgPolicy: ORG_POLICY });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "failure" });
    const digest = w.digests(pr)[0]!.body;
    expect(digest).toContain("Org floors applied");
    expect(digest).toContain("`approvals.required`");
    w.model.review(pr, { author: "bob" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ conclusion: "success" });
  }, 120_000);

  test("a repository without a file is gated by the floors; a broken org file fails closed", async () => {
    const { repo } = w.repo({ policy: null, orgPolicy: ORG_POLICY });
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ conclusion: "failure" });
    const broken = w.repo({
      policy: "approvals:\n  required: 5\n",
      orgPolicy: "enforce:\n  approvals:\n    required: -1\n",
    });
    const pr2 = w.model.openPullRequest(broken.repo, { author: "dev" });
    await w.settle();
    expect(w.check(pr2)).toMatchObject({ conclusion: "failure" });
    expect(w.check(pr2)!.title).toContain(".github:.github/changegate.yml");
  }, 120_000);
});

describe("merge queue", () => {
  test("a group of compliant PRs passes; a group holding a non-compliant PR fails naming it; destroyed is recorded", async () => {
    const { repo } = w.repo({ policy: "approvals:\n  required: 1\n" });
    const good = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(good, { author: "alice" });
    const bad = w.model.openPullRequest(repo, { author: "dev" });
    await w.settle();
    expect(w.check(good)).toMatchObject({ conclusion: "success" });
    expect(w.check(bad)).toMatchObject({ conclusion: "failure" });

    const first = w.model.enqueue(good);
    await w.settle();
    expect(groupCheck(good, first.headSha)).toMatchObject({ status: "completed", conclusion: "success" });

    // Queued behind #good, #bad's group holds both: it fails, naming #bad only.
    const second = w.model.enqueue(bad);
    await w.settle();
    const failed = groupCheck(bad, second.headSha)!;
    expect(failed).toMatchObject({ conclusion: "failure" });
    expect(failed.title).toBe(`Merge group not compliant: #${bad.number}`);

    w.model.dequeue(bad);
    w.model.mergeQueueFront(repo.fullName, "main");
    await w.settle();
    const shown = w.cg.cli(["audit", "show", `${repo.fullName}#${good.number}`]);
    expect(shown.stdout).toContain("MERGE GROUP CHECKS_REQUESTED  SUCCESS");
    expect(shown.stdout).toContain("MERGE GROUP DESTROYED  DESTROYED");
    expect(shown.stdout).toContain("(merged)");
    // The merge through the queue is recorded like any merge, from the PR's own verdict.
    expect(shown.stdout).toMatch(/ MERGE  compliant  head /);
    expect(shown.stdout).toContain("merged by github-merge-queue");
    const badShown = w.cg.cli(["audit", "show", `${repo.fullName}#${bad.number}`]);
    expect(badShown.stdout).toContain("(dequeued)");
  }, 180_000);
});
