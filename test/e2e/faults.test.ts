/**
 * GitHub misbehaving, with production settings (Probot's throttling and retries, changegate's
 * reader): server errors and secondary rate limits on reads and writes are retried within limits and
 * every PR reaches a definite outcome (never left in progress, never silently missing).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";
import { evaluations, onlyDigest } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

/** A PR that is compliant once evaluated, in its own organisation. */
function compliantPr(): { pr: SimPull; installationId: number } {
  const { repo, installation } = w.repo();
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  w.model.ci(pr, "build", { conclusion: "success" });
  w.model.review(pr, { author: "alice" });
  return { pr, installationId: installation.id };
}

function expectCompliant(pr: SimPull): void {
  expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  expect(w.checks(pr)).toHaveLength(1);
  expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
}

describe("reads", () => {
  test("502 on the evidence query: retried, then compliant", async () => {
    const { pr } = compliantPr();
    const f = w.sim.fault({
      operation: "ChangegateEvidence",
      repo: pr.repo,
      kind: "status",
      status: 502,
      times: 1,
    });
    await w.settle(60_000);
    expect(f.hits).toBe(1);
    expectCompliant(pr);
  }, 60_000);

  test("secondary rate limits (403 and 429 with retry-after) on reads: waited out, then compliant", async () => {
    const { pr } = compliantPr();
    const a = w.sim.fault({
      operation: "ChangegateEvidence",
      repo: pr.repo,
      kind: "secondary",
      status: 403,
      retryAfterSeconds: 1,
      times: 1,
    });
    const b = w.sim.fault({
      operation: "ChangegateEvidence",
      repo: pr.repo,
      kind: "secondary",
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    await w.settle(60_000);
    expect(a.hits + b.hits).toBe(2);
    expectCompliant(pr);
  }, 60_000);

  test("a slow GitHub (2 s per read) still ends compliant", async () => {
    const { pr } = compliantPr();
    w.sim.fault({ operation: "ChangegateEvidence", repo: pr.repo, kind: "delay", ms: 2000 });
    await w.settle(60_000);
    expectCompliant(pr);
  }, 60_000);

  test("reads failing for good: a definite failure naming GitHub's error (not in progress, not missing); the next event after recovery passes", async () => {
    // Set up without events, then one event: one evaluation (its retries take ~15 s).
    const { pr } = w.quietly(() => compliantPr());
    const f = w.sim.fault({ operation: "ChangegateEvidence", repo: pr.repo, kind: "status", status: 503 });
    w.model.editPullRequest(pr, { body: "GitHub is down" });
    await w.settle(60_000);
    f.remove();
    const failed = w.check(pr);
    expect(failed).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(failed?.title).toContain("changegate error while reading the pull request from GitHub");
    expect(failed?.summary).toContain("Stack trace");
    w.model.editPullRequest(pr, { body: "GitHub is back" });
    await w.settle(60_000);
    expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  }, 90_000);
});

describe("writes", () => {
  test("502 on creating the check run: retried, one check run, compliant", async () => {
    const { pr, installationId } = compliantPr();
    const f = w.sim.fault({
      route: "POST /repos/{owner}/{repo}/check-runs",
      installationId,
      kind: "status",
      status: 502,
      times: 1,
    });
    await w.settle(60_000);
    expect(f.hits).toBe(1);
    expectCompliant(pr);
  }, 60_000);

  test("a secondary rate limit on posting the digest: retried after retry-after, one digest", async () => {
    const { pr, installationId } = compliantPr();
    const f = w.sim.fault({
      route: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
      installationId,
      kind: "secondary",
      retryAfterSeconds: 1,
      times: 1,
    });
    await w.settle(60_000);
    expect(f.hits).toBe(1);
    expectCompliant(pr);
  }, 60_000);

  test("429 on updating the check from in_progress to done: retried, the check does not stay in progress", async () => {
    const { repo, installation } = w.repo();
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(pr, { author: "alice" });
    const build = w.model.ci(pr, "build", { status: "in_progress" });
    await w.settle(60_000);
    expect(w.check(pr)?.status).toBe("in_progress");
    const f = w.sim.fault({
      route: "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
      installationId: installation.id,
      kind: "secondary",
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    w.model.updateCheckRun(build, { conclusion: "success" });
    await w.settle(60_000);
    expect(f.hits).toBe(1);
    expectCompliant(pr);
  }, 60_000);

  test("retried writes are not duplicated: every evaluation wrote at most twice", () => {
    const lines = evaluations(w);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => Number(l.writes) > 2)).toEqual([]);
  });
});

describe("a hanging GitHub", () => {
  // Last in the file: an evaluation that never ends would keep every later settle() waiting.
  test("a read that never answers is abandoned and retried: the PR still reaches a definite outcome", async () => {
    const { pr } = compliantPr();
    const f = w.sim.fault({ operation: "ChangegateEvidence", repo: pr.repo, kind: "hang", times: 1 });
    // GitHub itself gives up on a request after 10 s; changegate should not wait much longer.
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && w.check(pr)?.status !== "completed")
      await new Promise((r) => setTimeout(r, 250));
    expect(f.hits).toBe(1);
    expect(w.check(pr)?.status).toBe("completed");
  }, 60_000);
});
