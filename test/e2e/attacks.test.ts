/**
 * Attacks on the gate, end to end (issue 9): a real `node lib/main.js` against the simulator.
 * Shared head commits across gated and ungated PRs, a base retargeted around the gate, a forged
 * merge event, and the audit store becoming unreachable. (Edge, CI-pinning and emergency attacks
 * have their own files: attacks-*.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { NON_COMPLIANT_PHRASE } from "../../src/contract.js";
import { openSqliteConnection } from "../../src/audit/sqlite-driver.js";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const POLICY = "branches: [main]\napprovals:\n  required: 1\n";

function logsAbout(pr: SimPull, from = 0): string[] {
  return w.cg.logs
    .slice(from)
    .map((l) => l.msg)
    .filter((m) => typeof m === "string" && m.includes(`${pr.repo}#${pr.number}`));
}

describe("merge commits", () => {
  test("a reviewer who pushes a merge commit carrying their own change into the PR cannot approve it", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    m.ci(pr, "build", { conclusion: "success" });
    // alice merges main into the PR branch locally, slipping her own edit into the merge commit.
    const head = m.push(
      pr,
      [{ message: "Merge branch 'main' into feature", authors: ["alice"], committer: "alice", merge: true }],
      { by: "alice" },
    );
    m.ci(pr, "build", { conclusion: "success" });
    m.review(pr, { author: "alice", commit: head });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "failure" });
    const digest = w.digests(pr).at(-1)!.body;
    expect(digest).toContain(`Merge commit \`${head.slice(0, 7)}\` by alice counts as alice's contribution`);
    expect(digest).toContain(`made merge commit ${head.slice(0, 7)} in this PR`);
    // Another reviewer, who made no commit, still can.
    m.review(pr, { author: "bob", commit: head });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  }, 60_000);
});

describe("shared head commits", () => {
  test("a PR into an ungated branch from the same branch cannot turn the gated PR's check green", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const gated = m.openPullRequest(repo, { author: "dev", headRef: "feature" });
    m.ci(gated, "build", { conclusion: "success" });
    await w.settle();
    expect(w.check(gated)).toMatchObject({ status: "completed", conclusion: "failure" });

    const ungated = m.openPullRequest(repo, { author: "dev", sameHeadAs: gated, baseRef: "develop" });
    expect(m.headSha(ungated)).toBe(m.headSha(gated));
    await w.settle();
    const check = w.check(gated)!;
    expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
    // Never green in between: the ungated PR's evaluation showed the gated PR's verdict.
    const history = w.checks(gated).flatMap((r) => r.history);
    expect(history.filter((h) => h.conclusion === "success")).toEqual([]);
    expect(history.map((h) => h.title)).toContainEqual(
      expect.stringContaining(`#${gated.number} into main (same head commit)`),
    );
    // Once it is approved, the shared check turns green: the ungated PR never held it back.
    m.review(gated, { author: "alice" });
    await w.settle();
    expect(w.check(gated)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(w.digests(ungated)).toEqual([]); // not gated: no digest of its own
  }, 60_000);

  test("two gated PRs on one head: the easier verdict does not win, and each digest names the other", async () => {
    const { repo } = w.repo({ policy: 'branches: [main, "release/*"]\n' });
    const m = w.model;
    const release = m.openPullRequest(repo, { author: "dev", baseRef: "release/1.0", headRef: "hotfix" });
    m.ci(release, "build", { conclusion: "success" });
    m.review(release, { author: "alice" });
    await w.settle();
    expect(w.check(release)?.conclusion).toBe("success");

    const main = m.openPullRequest(repo, { author: "dev", sameHeadAs: release, baseRef: "main" });
    await w.settle();
    expect(w.check(release)).toMatchObject({ conclusion: "failure" });
    expect(w.digest(release)!.body).toContain(`**#${main.number} into \`main\`** is failing`);
    expect(w.digest(main)!.body).toMatch(/not compliant/);
  }, 60_000);
});

describe("changegate's own check run", () => {
  test("after many runs on one head (reopen cycles), the newest is the one updated", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    m.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    // Twelve earlier runs of changegate on this head, each newer than the last: more than a page of 10.
    w.quietly(() => {
      for (let i = 0; i < 12; i++) {
        m.createCheckRun(repo, w.appId, {
          name: "changegate",
          headSha: m.headSha(pr),
          status: "completed",
          conclusion: "failure",
          title: `old run ${i}`,
          summary: "old",
        });
      }
    });
    m.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  }, 60_000);
});

describe("base retargets", () => {
  test("retargeted to an ungated branch and back: re-evaluated each time; merged before changegate saw it back, a bypass", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    m.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");

    m.editPullRequest(pr, { baseRef: "develop" });
    await w.settle();
    expect(w.check(pr)).toMatchObject({ conclusion: "success" });
    expect(w.check(pr)!.title).toMatch(/^Not gated/);

    m.editPullRequest(pr, { baseRef: "main" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");

    // The race: into develop (green), back to main and merged before changegate hears of it.
    m.editPullRequest(pr, { baseRef: "develop" });
    await w.settle();
    const from = w.cg.logs.length;
    w.quietly(() => m.editPullRequest(pr, { baseRef: "main" }));
    m.merge(pr, "mallory");
    await w.settle();
    const lines = logsAbout(pr, from);
    expect(lines).toContainEqual(
      expect.stringContaining(`merged by mallory ${NON_COMPLIANT_PHRASE} changegate never judged`),
    );
  }, 60_000);
});

describe("forged merges", () => {
  test("a signed 'merged' event for an open PR records nothing", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    await w.settle();
    const opened = w
      .deliveries()
      .find(
        (d) =>
          d.name === "pull_request" && d.action === "opened" && d.body.includes(`"full_name":"${pr.repo}"`),
      )!;
    const payload = JSON.parse(opened.body) as { action: string; pull_request: Record<string, unknown> };
    payload.action = "closed";
    Object.assign(payload.pull_request, {
      state: "closed",
      merged: true,
      merged_at: new Date().toISOString(),
      merged_by: { login: "mallory" },
    });
    const from = w.cg.logs.length;
    const answer = await w.cg.deliver("pull_request", payload);
    expect(answer.status).toBeLessThan(300);
    await w.settle();
    const lines = logsAbout(pr, from);
    expect(lines).toContainEqual(
      expect.stringContaining("GitHub says the pull request is open: nothing recorded"),
    );
    expect(lines.some((l) => l.includes(NON_COMPLIANT_PHRASE) || l.includes("(compliant)"))).toBe(false);
    const shown = w.cg.cli(["audit", "show", `${pr.repo}#${pr.number}`, "--json"]);
    expect(shown.stdout).not.toContain('"type":"merge"');
  }, 60_000);
});

describe("the audit store down", () => {
  test("a locked store fails the check naming the store; once it is back, the next event judges the PR", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const m = w.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    m.ci(pr, "build", { conclusion: "success" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    m.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");

    // Someone holds SQLite's write lock past changegate's busy timeout (10 s): the store is "down".
    const db = await openSqliteConnection(join(w.cg.dataDir, "audit.db"), { timeoutMs: 1000 });
    db.exec("BEGIN EXCLUSIVE");
    try {
      m.push(pr, [{ message: "More" }]);
      const deadline = Date.now() + 30_000;
      while (!(w.check(pr)?.status === "completed" && w.check(pr)?.conclusion === "failure")) {
        if (Date.now() > deadline)
          throw new Error(`no failure check while the store was down: ${JSON.stringify(w.check(pr))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(w.check(pr)!.title).toContain("audit store");
    } finally {
      db.exec("ROLLBACK");
      db.close();
    }
    expect(w.cg.exitInfo).toBeNull();
    m.review(pr, { author: "carol" });
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  }, 90_000);
});
