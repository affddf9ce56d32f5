/**
 * approvals.rules end to end: path and team rules, CODEOWNERS on the default branch, a membership
 * change re-judging the PR, GitHub's 3,000-file limit, and the read budget (1 read; +1 only with teams).
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

const reads = (seq: number, op?: string) =>
  w.sim.since(seq, (r) => r.target === "github" && r.route === "POST /graphql" && (!op || r.operation === op))
    .length;

function infraPolicy(owner: string): string {
  return `approvals:\n  required: 1\n  rules:\n    - name: infrastructure\n      paths: ["infra/**", "*.tf"]\n      teams: [${owner}/sre]\n      required: 1\n`;
}

describe("team and path rules", () => {
  test("an approval from outside the team is refused; a team member's counts; the team read is one read, cached", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    w.model.addTeam(org.owner, "sre", ["sam"]);
    const pr = w.model.openPullRequest(repo, { author: "dev", files: ["infra/main.tf", "README.md"] });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    let seq = w.sim.lastSeq;
    w.model.review(pr, { author: "alice" });
    await w.settle();
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toContain(
      `infrastructure: needs 1 more approval from @${org.owner}/sre for infra/main.tf`,
    );
    expect(reads(seq, "ChangegateTeams")).toBe(1);
    expect(reads(seq)).toBe(2);
    const body = onlyDigest(w, pr);
    expect(body).toContain("### Rule infrastructure");
    expect(body).toContain("`infra/main.tf`");

    seq = w.sim.lastSeq;
    w.model.review(pr, { author: "sam" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(reads(seq, "ChangegateTeams")).toBe(0); // cached for the installation
    expect(onlyDigest(w, pr)).toMatch(/Approved by: sam \(@\\?[^)]*sre\)/);
  }, 120_000);

  test("a membership change re-evaluates the PR", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    w.model.addTeam(org.owner, "sre", ["sam"]);
    const pr = w.model.openPullRequest(repo, { author: "dev", files: ["modules/vpc.tf"] });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    const seq = w.sim.lastSeq;
    w.model.setTeamMember(org.owner, "sre", "alice", true);
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(reads(seq, "ChangegateTeams")).toBe(1); // the cache was invalidated
  }, 120_000);

  test("a PR that misses the paths costs one read and passes on the general rule", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    w.model.addTeam(org.owner, "sre", ["sam"]);
    const pr = w.quietly(() => w.model.openPullRequest(repo, { author: "dev", files: ["src/app.ts"] }));
    const seq = w.sim.lastSeq;
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(reads(seq)).toBe(1);
  }, 120_000);

  test("more than 3,000 changed files fail closed with a clear message", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    const files = Array.from({ length: 3001 }, (_, i) => `src/f${i}.ts`);
    const pr: SimPull = w.model.openPullRequest(repo, { author: "dev", files });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toContain("3001 files");
  }, 120_000);
});

describe("CODEOWNERS", () => {
  test(".github/CODEOWNERS wins over the root one; last match wins; a file with no owner needs none", async () => {
    const org = w.org();
    const { repo } = w.repo({
      org,
      policy: "approvals:\n  required: 1\n  rules:\n    - name: owners\n      codeowners: true\n",
    });
    w.model.addTeam(org.owner, "web", ["wendy"]);
    w.model.setFile(repo, "CODEOWNERS", "* @root-owner\n");
    w.model.setFile(repo, ".github/CODEOWNERS", `* @${org.owner}/web\n/infra/ @ops-lead\n/docs/\n`);
    const pr = w.model.openPullRequest(repo, { author: "dev", files: ["infra/a.tf", "docs/x.md"] });
    w.model.review(pr, { author: "root-owner" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("needs 1 approval from @ops-lead for infra/a.tf");
    w.model.review(pr, { author: "ops-lead" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(evaluations(w, pr).length).toBeGreaterThan(0);
  }, 120_000);
});
