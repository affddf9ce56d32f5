/**
 * approvals.rules and renamed files end to end: a PR renaming infra/network.yaml to
 * docs/network.yaml changes infra/ and needs the SRE approval (path rule and CODEOWNERS). The old
 * path comes from REST `GET /pulls/{n}/files` (previous_filename), read only when a file is RENAMED;
 * the simulator's files list keeps GitHub's paging (per_page ≤ 100, the first 3,000 files).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { World } from "../sim/world.js";
import { onlyDigest } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const filesReads = (seq: number) =>
  w.sim.since(seq, (r) => r.target === "github" && r.method === "GET" && /\/pulls\/\d+\/files/.test(r.path));

function infraPolicy(owner: string): string {
  return `approvals:\n  required: 1\n  rules:\n    - name: infrastructure\n      paths: ["infra/**"]\n      teams: [${owner}/sre]\n      required: 1\n`;
}

describe("a rename out of a protected path", () => {
  test("triggers the path rule: refused for an outsider, met by an SRE; one files page per evaluation", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    w.model.addTeam(org.owner, "sre", ["sam"]);
    const seq = w.sim.lastSeq;
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      files: ["docs/network.yaml", "README.md"],
      renames: { "docs/network.yaml": "infra/network.yaml" },
    });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    const check = w.check(pr)!;
    expect(check.conclusion).toBe("failure");
    expect(check.title).toContain(
      `infrastructure: needs 1 more approval from @${org.owner}/sre for infra/network.yaml`,
    );
    expect(onlyDigest(w, pr)).toContain("`infra/network.yaml`");
    const reads = filesReads(seq);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.status === 200)).toBe(true);

    w.model.review(pr, { author: "sam" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
  }, 120_000);

  test("CODEOWNERS: the old path's owner must approve", async () => {
    const org = w.org();
    const { repo } = w.repo({
      org,
      policy: "approvals:\n  required: 1\n  rules:\n    - name: owners\n      codeowners: true\n",
    });
    w.model.setFile(repo, ".github/CODEOWNERS", "* @alice\n/infra/ @ops-lead\n");
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      files: ["docs/network.yaml"],
      renames: { "docs/network.yaml": "infra/network.yaml" },
    });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("needs 1 approval from @ops-lead for infra/network.yaml");
    w.model.review(pr, { author: "ops-lead" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
  }, 120_000);

  test("no renamed file: the files list is never read", async () => {
    const org = w.org();
    const { repo } = w.repo({ org, policy: infraPolicy(org.owner) });
    w.model.addTeam(org.owner, "sre", ["sam"]);
    const seq = w.sim.lastSeq;
    const pr = w.model.openPullRequest(repo, { author: "dev", files: ["docs/network.yaml"] });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(filesReads(seq)).toHaveLength(0);
  }, 120_000);
});
