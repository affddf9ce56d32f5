/**
 * `changegate rehearse --policy FILE --repo owner/name --since DATE` against the GitHub simulator:
 * the merges of a window judged as of their merge against a proposed policy, the table and the
 * JSON, the org's floors still applied, an invalid file refused before any GitHub call, and no
 * writes (no POST/PATCH/PUT/DELETE to GitHub but the installation token, no GraphQL mutation, no
 * audit record). In process (no build needed): `main(argv, io)` with the simulator's GHE_HOST.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { EXIT } from "../../src/cli.js";
import { runCli } from "../helpers/cli-run.js";
import { appKeyPair } from "../sim/driver.js";
import type { SimPull, SimRepo } from "../sim/model.js";
import { Simulator } from "../sim/server.js";

const APP_ID = 4545;
let sim: Simulator;
let privateKey: string;
let dir: string;
let dbUrl: string;
const owner = "rehearsal-co";
let repo: SimRepo;
let twoApprovals: SimPull;
let oneApproval: SimPull;
let unapproved: SimPull;
let since = "";
/** The simulator's clock runs ahead of real time (a second per action): the window ends in an hour. */
let until = "";

function appEnv(): Record<string, string> {
  return {
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    GHE_HOST: sim.gheHost,
    GHE_PROTOCOL: "http",
    CHANGEGATE_SEARCH_PACE_MS: "0",
  };
}

async function run(argv: string[], env: Record<string, string | undefined> = appEnv()) {
  const seq = sim.requests.length === 0 ? 0 : sim.requests[sim.requests.length - 1]!.seq;
  const r = await runCli(argv, env, dir);
  return { ...r, requests: sim.since(seq, () => true).filter((x) => x.target === "github") };
}

function expectNoWrites(requests: { method: string; route: string; body: unknown }[]) {
  const writes = requests.filter(
    (r) =>
      r.method !== "GET" &&
      r.route !== "POST /graphql" &&
      r.route !== "POST /app/installations/{installation_id}/access_tokens",
  );
  expect(writes).toEqual([]);
  for (const r of requests.filter((x) => x.route === "POST /graphql"))
    expect(JSON.stringify(r.body)).not.toMatch(/\bmutation\b/);
}

async function recordCount(): Promise<number> {
  const store = await AuditStore.open(dbUrl, { migrate: false, mustExist: true });
  try {
    const r = await store.db
      .selectFrom("audit_record")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  sim = await Simulator.start();
  sim.searchRules.perMinute = 10_000;
  privateKey = appKeyPair().privateKey;
  sim.model.addApp({ id: APP_ID, slug: "changegate", publicKey: createPublicKey(privateKey), events: [] });
  sim.model.addInstallation(APP_ID, owner);
  dir = mkdtempSync(join(tmpdir(), "cg-rehearse-"));
  since = new Date(Date.now() - 3_600_000).toISOString();
  until = new Date(Date.now() + 3_600_000).toISOString();
  repo = sim.model.addRepo({
    owner,
    name: "payments",
    files: { ".github/changegate.yml": "approvals:\n  required: 1\n" },
  });
  twoApprovals = sim.model.openPullRequest(repo, { author: "dev", title: "two approvals" });
  sim.model.review(twoApprovals, { author: "alice" });
  sim.model.review(twoApprovals, { author: "bob" });
  sim.model.merge(twoApprovals, "alice");
  oneApproval = sim.model.openPullRequest(repo, { author: "dev", title: "one approval" });
  sim.model.review(oneApproval, { author: "alice" });
  sim.model.merge(oneApproval, "alice");
  unapproved = sim.model.openPullRequest(repo, { author: "dev", title: "no approval \u001b[2J" });
  sim.model.merge(unapproved, "admin");
  sim.model.openPullRequest(repo, { author: "dev", title: "still open" });

  // Today's record of one merge, in a store the rehearsal may read and must not write.
  dbUrl = `sqlite:${join(dir, "audit.db")}`;
  const store = await AuditStore.open(dbUrl);
  await new ChainWriter(store).recordMerge({
    at: new Date().toISOString(),
    deliveryId: "d-1",
    ref: { installationId: 1, owner, repo: "payments", number: oneApproval.number },
    url: `http://x/${repo.fullName}/pull/${oneApproval.number}`,
    title: "one approval",
    author: "dev",
    headSha: sim.model.headSha(oneApproval),
    mergedBy: "alice",
    mergedAt: new Date().toISOString(),
    mergeCommitSha: null,
    outcome: "success",
    emergency: false,
    gated: true,
  });
  await store.close();
  writeFileSync(join(dir, "strict.yml"), "approvals:\n  required: 2\n");
  writeFileSync(join(dir, "same.yml"), "approvals:\n  required: 1\n");
  writeFileSync(join(dir, "invalid.yml"), "approvals:\n  required: lots\n  colour: blue\n");
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("changegate rehearse", () => {
  test("a stricter policy: the table says which merges would have been blocked and why; exit 1; nothing written", async () => {
    const before = await recordCount();
    const r = await run([
      "rehearse",
      "--policy",
      "strict.yml",
      "--repo",
      repo.fullName,
      "--since",
      since,
      "--until",
      until,
      "--database",
      dbUrl,
    ]);
    expect(r.stderr).toContain(`note: read as GitHub App ${APP_ID}`);
    expect(r.code).toBe(EXIT.failed);
    const lines = r.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("PR "))).toMatch(
      /PR\s+merged at\s+merged by\s+recorded\s+rehearsed\s+first unmet rule/,
    );
    const row = (pr: SimPull) => lines.find((l) => l.startsWith(`${repo.fullName}#${pr.number} `)) ?? "";
    expect(row(twoApprovals)).toMatch(/\bALLOWED\b/);
    expect(row(oneApproval)).toMatch(/\bsuccess\b.*\bBLOCKED\b.*approvals: /);
    expect(row(unapproved)).toMatch(/\badmin\b.*\bBLOCKED\b.*approvals: /);
    expect(r.stdout).toMatch(/^3 merges, 2 would have been blocked$/m);
    expect(r.stdout).not.toMatch(/\u001b/);
    expectNoWrites(r.requests);
    expect(r.requests.filter((x) => x.route === "GET /search/issues").length).toBeGreaterThan(0);
    expect(await recordCount()).toBe(before);
  }, 90_000);

  test("--json: the same rows as JSON; the policy in force today blocks only the unapproved merge", async () => {
    const r = await run([
      "rehearse",
      "--policy",
      "same.yml",
      "--repo",
      repo.fullName,
      "--since",
      since,
      "--until",
      until,
      "--json",
      "--database",
      dbUrl,
    ]);
    expect(r.code).toBe(EXIT.failed);
    const doc = JSON.parse(r.stdout) as {
      kind: string;
      merges: number;
      blocked: number;
      rows: {
        pr: string;
        rehearsed: string;
        recorded: string | null;
        reason: string | null;
        mergedBy: string;
      }[];
    };
    expect(doc).toMatchObject({ kind: "changegate-rehearsal", merges: 3, blocked: 1 });
    expect(doc.rows.map((x) => [x.pr, x.rehearsed])).toEqual([
      [`${repo.fullName}#${twoApprovals.number}`, "allowed"],
      [`${repo.fullName}#${oneApproval.number}`, "allowed"],
      [`${repo.fullName}#${unapproved.number}`, "blocked"],
    ]);
    expect(doc.rows[1]!.recorded).toBe("success");
    expect(doc.rows[2]).toMatchObject({ mergedBy: "admin", reason: expect.stringMatching(/^approvals: /) });
    expectNoWrites(r.requests);
  }, 90_000);

  test("no merge would be blocked: exit 0", async () => {
    writeFileSync(join(dir, "lenient.yml"), "approvals:\n  required: 0\n");
    const r = await run([
      "rehearse",
      "--policy",
      "lenient.yml",
      "--repo",
      repo.fullName,
      "--since",
      since,
      "--until",
      until,
      "--until",
      until,
    ]);
    expect(r.stdout).toMatch(/^3 merges, 0 would have been blocked$/m);
    expect(r.stderr).toMatch(/no audit store here/);
    expect(r.code).toBe(EXIT.ok);
  }, 90_000);

  test("an invalid policy file: config check's messages, exit 1, before any GitHub call", async () => {
    const r = await run([
      "rehearse",
      "--policy",
      "invalid.yml",
      "--repo",
      repo.fullName,
      "--since",
      since,
      "--until",
      until,
      "--until",
      until,
    ]);
    const check = await run(["config", "check", "invalid.yml"]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toBe(check.stderr);
    expect(r.stderr).toMatch(/line 2: approvals\.required: /);
    expect(r.requests).toEqual([]);
    const missing = await run([
      "rehearse",
      "--policy",
      "nope.yml",
      "--repo",
      repo.fullName,
      "--since",
      since,
      "--until",
      until,
      "--until",
      until,
    ]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.requests).toEqual([]);
  }, 60_000);

  test("bad arguments and credentials: exit 2, nothing secret printed", async () => {
    expect(
      (
        await run([
          "rehearse",
          "--policy",
          "strict.yml",
          "--repo",
          "not-a-repo",
          "--since",
          since,
          "--until",
          until,
          "--until",
          until,
        ])
      ).code,
    ).toBe(EXIT.usage);
    expect(
      (await run(["rehearse", "--policy", "strict.yml", "--repo", repo.fullName, "--since", "yesterday"]))
        .code,
    ).toBe(EXIT.usage);
    const none = await run(
      [
        "rehearse",
        "--policy",
        "strict.yml",
        "--repo",
        repo.fullName,
        "--since",
        since,
        "--until",
        until,
        "--until",
        until,
      ],
      { GHE_HOST: sim.gheHost, GHE_PROTOCOL: "http" },
    );
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toMatch(/no GitHub credentials/);
    const wrong = await run(
      [
        "rehearse",
        "--policy",
        "strict.yml",
        "--repo",
        repo.fullName,
        "--since",
        since,
        "--until",
        until,
        "--until",
        until,
      ],
      { ...appEnv(), PRIVATE_KEY: appKeyPair().privateKey },
    );
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.stderr).toMatch(/GitHub refused the app's credentials/);
    expect(wrong.stderr).not.toContain("PRIVATE KEY");
  }, 60_000);

  test("the org's floors still apply to the rehearsed policy, and the output says so", async () => {
    const org = "floored-co";
    sim.model.addInstallation(APP_ID, org);
    sim.model.addRepo({
      owner: org,
      name: ".github",
      files: { ".github/changegate.yml": "enforce:\n  approvals:\n    required: 2\n" },
    });
    const svc = sim.model.addRepo({ owner: org, name: "svc", files: {} });
    const pr = sim.model.openPullRequest(svc, { author: "dev" });
    sim.model.review(pr, { author: "alice" });
    sim.model.merge(pr, "alice");
    writeFileSync(join(dir, "weak.yml"), "approvals:\n  required: 0\n");
    const r = await run([
      "rehearse",
      "--policy",
      "weak.yml",
      "--repo",
      svc.fullName,
      "--since",
      since,
      "--until",
      until,
      "--until",
      until,
    ]);
    expect(r.stdout).toMatch(
      new RegExp(
        `Org floors from ${org}/\\.github:\\.github/changegate\\.yml changed the rehearsed policy:\\n  approvals\\.required: `,
      ),
    );
    expect(r.stdout).toMatch(/^1 merge, 1 would have been blocked$/m);
    expect(r.code).toBe(EXIT.failed);
    const j = await run([
      "rehearse",
      "--policy",
      "weak.yml",
      "--repo",
      svc.fullName,
      "--since",
      since,
      "--until",
      until,
      "--json",
    ]);
    expect(JSON.parse(j.stdout)).toMatchObject({
      floors: { changed: [expect.objectContaining({ key: "approvals.required" })] },
      blocked: 1,
    });
    expectNoWrites(j.requests);
  }, 90_000);

  test("a team rule: a merge approved by a team member is judged with the team's members (read as the app does), not refused for want of them", async () => {
    const infra = sim.model.addRepo({
      owner,
      name: "infra",
      files: { ".github/changegate.yml": "approvals:\n  required: 1\n" },
    });
    sim.model.addTeam(owner, "sre", ["sam"]);
    const bySre = sim.model.openPullRequest(infra, {
      author: "dev",
      title: "by sre",
      files: ["infra/main.tf"],
    });
    sim.model.review(bySre, { author: "sam" });
    sim.model.merge(bySre, "sam");
    const byOther = sim.model.openPullRequest(infra, {
      author: "dev",
      title: "by other",
      files: ["infra/vpc.tf"],
    });
    sim.model.review(byOther, { author: "alice" });
    sim.model.merge(byOther, "alice");
    writeFileSync(
      join(dir, "team.yml"),
      `approvals:\n  required: 1\n  rules:\n    - name: infrastructure\n      paths: ["infra/**"]\n      teams: [${owner}/sre]\n      required: 1\n`,
    );
    const r = await run([
      "rehearse",
      "--policy",
      "team.yml",
      "--repo",
      infra.fullName,
      "--since",
      since,
      "--until",
      until,
      "--json",
    ]);
    const rows = (
      JSON.parse(r.stdout) as { rows: { pr: string; rehearsed: string; reason: string | null }[] }
    ).rows;
    const row = (pr: SimPull) => rows.find((x) => x.pr === `${infra.fullName}#${pr.number}`)!;
    expect(row(bySre)).toMatchObject({ rehearsed: "allowed" });
    expect(row(byOther)).toMatchObject({
      rehearsed: "blocked",
      reason: expect.stringContaining(`needs 1 more approval from @${owner}/sre`),
    });
    expectNoWrites(r.requests);
  }, 90_000);
});
