/**
 * `changegate check owner/name#N` against the GitHub simulator: the app's own gather → policy →
 * digest stages, read with the app's credentials (or a token), printing the digest and the verdict
 * and writing nothing to GitHub (no check run, no comment) and nothing to any audit store.
 * In process (no build needed): `main(argv, io)` with the simulator's GHE_HOST.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createPublicKey } from "node:crypto";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import { appKeyPair } from "../sim/driver.js";
import { runCli } from "../helpers/cli-run.js";
import type { SimInstallation, SimRepo } from "../sim/model.js";
import { Simulator } from "../sim/server.js";
import { World } from "../sim/world.js";
import { DIGEST_MARKER } from "../../src/contract.js";

const APP_ID = 4343;
let sim: Simulator;
let privateKey: string;
let owner: string;
let installation: SimInstallation;
let repoSeq = 0;

beforeAll(async () => {
  sim = await Simulator.start();
  privateKey = appKeyPair().privateKey;
  sim.model.addApp({ id: APP_ID, slug: "changegate", publicKey: createPublicKey(privateKey), events: [] });
  owner = "acme";
  installation = sim.model.addInstallation(APP_ID, owner);
}, 60_000);
afterAll(async () => {
  await sim?.stop();
});

function newRepo(policy: string | null = "approvals:\n  required: 1\nci:\n  required: [build]\n"): SimRepo {
  return sim.model.addRepo({
    owner,
    name: `svc${++repoSeq}`,
    files: policy === null ? {} : { ".github/changegate.yml": policy },
  });
}

function appEnv(): Record<string, string> {
  return { APP_ID: String(APP_ID), PRIVATE_KEY: privateKey, GHE_HOST: sim.gheHost, GHE_PROTOCOL: "http" };
}

async function run(argv: string[], env: Record<string, string | undefined>) {
  const seq = sim.requests.length === 0 ? 0 : sim.requests[sim.requests.length - 1]!.seq;
  const r = await runCli(argv, env);
  return { ...r, requests: sim.since(seq, () => true).filter((x) => x.target === "github") };
}

/** Every request was a read: GETs, GraphQL queries, and the installation token GitHub's auth creates. */
function expectNoWrites(
  requests: { method: string; route: string; operation: string | null; body: unknown }[],
) {
  const writes = requests.filter(
    (r) =>
      r.method !== "GET" &&
      r.route !== "POST /graphql" &&
      r.route !== "POST /app/installations/{installation_id}/access_tokens",
  );
  expect(writes).toEqual([]);
  for (const r of requests.filter((x) => x.route === "POST /graphql")) {
    expect(JSON.stringify(r.body)).not.toMatch(/\bmutation\b/);
  }
}

describe("check owner/name#N with the app's credentials", () => {
  test("a compliant PR: the digest, COMPLIANT, exit 0, one GraphQL read, nothing written", async () => {
    const repo = newRepo();
    const pr = sim.model.openPullRequest(repo, { author: "dev", title: "Add the ledger" });
    sim.model.ci(pr, "build", { conclusion: "success" });
    sim.model.review(pr, { author: "alice" });
    const checksBefore = sim.model.runsOn(repo.fullName, sim.model.headSha(pr)).length;
    const r = await run(["check", `${repo.fullName}#${pr.number}`], appEnv());
    expect(r.stderr).toContain(
      `note: read as GitHub App ${APP_ID}, installation ${installation.id}; nothing is posted or recorded`,
    );
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^## ✅ changegate: compliant — ready to merge/);
    expect(r.stdout).toMatch(new RegExp(`${repo.fullName}#${pr.number} at [0-9a-f]{12}: COMPLIANT — `));
    expect(r.stdout).not.toContain("changegate:digest");
    expect(r.requests.filter((x) => x.route === "POST /graphql")).toHaveLength(1);
    expect(r.requests.map((x) => x.route)).toEqual(
      expect.arrayContaining([
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
        "POST /graphql",
      ]),
    );
    expectNoWrites(r.requests);
    expect(sim.model.runsOn(repo.fullName, sim.model.headSha(pr))).toHaveLength(checksBefore);
    expect(sim.model.commentsOf(repo.fullName, pr.number)).toEqual([]);
  }, 60_000);

  test("a PR without the approval: NOT COMPLIANT, exit 1, saying what to do; --json gives the verdict", async () => {
    const repo = newRepo();
    const pr = sim.model.openPullRequest(repo, { author: "dev" });
    sim.model.ci(pr, "build", { conclusion: "success" });
    const r = await run(["check", `http://${sim.gheHost}/${repo.fullName}/pull/${pr.number}`], appEnv());
    expect(r.code).toBe(EXIT.failed);
    expect(r.stdout).toMatch(/## ❌ changegate: not compliant/);
    expect(r.stdout).toMatch(/What to do/);
    expect(r.stdout).toMatch(/: NOT COMPLIANT — /);
    expectNoWrites(r.requests);

    const j = await run(["check", "--json", `${repo.fullName}#${pr.number}`], appEnv());
    expect(j.code).toBe(EXIT.failed);
    expect(JSON.parse(j.stdout)).toMatchObject({
      pr: `${repo.fullName}#${pr.number}`,
      state: "OPEN",
      outcome: "not compliant",
      conclusion: "failure",
      reads: 1,
      head: sim.model.headSha(pr),
    });
    expect(sim.model.commentsOf(repo.fullName, pr.number)).toEqual([]);
  }, 60_000);

  test("CI still running: WAITING FOR CI, exit 1; an invalid policy: INVALID POLICY, exit 1", async () => {
    const repo = newRepo();
    const pr = sim.model.openPullRequest(repo, { author: "dev" });
    sim.model.review(pr, { author: "alice" });
    sim.model.ci(pr, "build", { status: "in_progress" });
    const waiting = await run(["check", `${repo.fullName}#${pr.number}`], appEnv());
    expect(waiting.code).toBe(EXIT.failed);
    expect(waiting.stdout).toMatch(/: WAITING FOR CI — /);

    const bad = newRepo("approvals:\n  required: lots\n");
    const pr2 = sim.model.openPullRequest(bad, { author: "dev" });
    const invalid = await run(["check", `${bad.fullName}#${pr2.number}`], appEnv());
    expect(invalid.code).toBe(EXIT.failed);
    expect(invalid.stdout).toMatch(/the policy file is invalid/);
    expect(invalid.stdout).toMatch(/: INVALID POLICY — /);
    expectNoWrites(invalid.requests);
  }, 60_000);

  test("hostile text in the PR cannot drive the terminal: control characters are removed", async () => {
    const repo = newRepo("approvals:\n  required: 0\n");
    const pr = sim.model.openPullRequest(repo, {
      author: "dev",
      title: "x \u001b]0;owned\u0007\u001b[2J",
      commits: [{ message: "boom \u001b[31mred\u202e" }],
    });
    const r = await run(["check", `${repo.fullName}#${pr.number}`], appEnv());
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  }, 60_000);
});

describe("check owner/name#N: other credentials and errors", () => {
  test("GITHUB_TOKEN: same verdict, no installation lookup; changegate's own check run is not counted as CI", async () => {
    const repo = newRepo("approvals:\n  required: 1\n");
    const pr = sim.model.openPullRequest(repo, { author: "dev" });
    sim.model.review(pr, { author: "alice" });
    // A failing changegate check from an earlier evaluation must not fail the "all CI green" rule.
    sim.model.ci(pr, "changegate", { conclusion: "failure", appId: APP_ID });
    const token = "ghs_clitesttoken0000000000000000000000";
    sim.tokens.set(token, {
      installationId: installation.id,
      appId: APP_ID,
      expiresAt: Date.now() + 3_600_000,
    });
    const r = await run(["check", `${repo.fullName}#${pr.number}`], {
      GITHUB_TOKEN: token,
      GHE_HOST: sim.gheHost,
      GHE_PROTOCOL: "http",
    });
    expect(r.stderr).toContain("note: read as GITHUB_TOKEN");
    expect(r.stderr).toMatch(/APP_ID is not set: check runs named "changegate" are not counted as CI/);
    expect(r.code).toBe(EXIT.ok);
    expect(r.requests.map((x) => x.route)).toEqual(["POST /graphql"]);
    expect(r.stderr).not.toContain(token);
  }, 60_000);

  test("the app is not installed on the owner: exit 2 saying so", async () => {
    const other = sim.model.addRepo({ owner: "elsewhere", name: "svc", files: {} });
    const r = await run(["check", `${other.fullName}#1`], appEnv());
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(new RegExp(`the GitHub App ${APP_ID} is not installed on elsewhere/svc`));
  }, 60_000);

  test("no such PR: exit 4 naming the stage; wrong key: exit 2; nothing secret printed", async () => {
    const repo = newRepo();
    const missing = await run(["check", `${repo.fullName}#999`], appEnv());
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(new RegExp(`could not evaluate ${repo.fullName}#999`));
    const wrongKey = appKeyPair().privateKey;
    const denied = await run(["check", `${repo.fullName}#1`], { ...appEnv(), PRIVATE_KEY: wrongKey });
    expect(denied.code).toBe(EXIT.usage);
    expect(denied.stderr).toMatch(/GitHub refused the app's credentials/);
    expect(denied.stderr).not.toContain("PRIVATE KEY");
  }, 60_000);
});

describe("check owner/name#N prints what the running app posts", () => {
  let w: World;
  beforeAll(async () => {
    w = await World.start();
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
  });

  // DATABASE_URL: the app's audit store, read-only, for the commit the emergency label was applied on.
  const env = () => ({
    APP_ID: String(w.appId),
    PRIVATE_KEY: w.privateKey,
    GHE_HOST: w.sim.gheHost,
    GHE_PROTOCOL: "http",
    DATABASE_URL: `sqlite:${join(w.cg.dataDir, "audit.db")}`,
  });
  async function cli(pr: { repo: string; number: number }) {
    let stdout = "";
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true, isTTY: false },
      env: env(),
      cwd: process.cwd(),
      now: () => new Date(),
    };
    const code = await main(["check", "--json", `${pr.repo}#${pr.number}`], io);
    return { code, out: JSON.parse(stdout) as { digest: string; conclusion: string; title: string } };
  }

  test("compliant, not compliant, and an emergency declared by a writer (the declarer read): the same digest and title as the app's", async () => {
    const { repo } = w.repo({ policy: "approvals:\n  required: 1\nci:\n  required: [build]\n" });
    w.model.setRole(repo, "oncall", "write");
    const ok = w.model.openPullRequest(repo, { author: "dev", title: "ready" });
    w.model.ci(ok, "build", { conclusion: "success" });
    w.model.review(ok, { author: "alice" });
    const bad = w.model.openPullRequest(repo, { author: "dev", title: "not ready" });
    w.model.ci(bad, "build", { conclusion: "failure" });
    const urgent = w.model.openPullRequest(repo, { author: "dev", title: "hotfix" });
    w.model.addLabel(urgent, "emergency", "oncall");
    await w.settle(120_000);
    const expected = { [ok.number]: 0, [bad.number]: 1, [urgent.number]: 0 };
    for (const pr of [ok, bad, urgent]) {
      const before = w.sim.requests.length;
      const { code, out } = await cli(pr);
      const posted = w.digests(pr);
      expect(posted).toHaveLength(1);
      expect(`${out.digest}\n\n${DIGEST_MARKER}`).toBe(posted[0]!.body);
      expect(out.title).toBe(w.check(pr)!.title);
      expect(code).toBe(expected[pr.number]);
      expectNoWrites(w.sim.requests.slice(before).filter((r) => r.target === "github"));
    }
    expect(
      w.sim.requests.some((r) => r.route === "GET /repos/{owner}/{repo}/collaborators/{username}/permission"),
    ).toBe(true);
  }, 240_000);
});
