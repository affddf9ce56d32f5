/**
 * Direct pushes end to end: `node lib/main.js` against the simulator, whose branches are commit
 * histories and which sends GitHub's `push` webhook for every push (a PR's merge included). A push
 * straight to the gated default branch is recorded once (`direct_push`), logged `is non-compliant!`
 * and listed in the audit issue; a force push keeps before/after; a PR merged through the gate is
 * not a direct push; an ungated branch is ignored; a redelivery records nothing; a push whose
 * webhook was lost is found by `changegate audit scan --direct-pushes`, once.
 */
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { NON_COMPLIANT_PHRASE } from "../../src/contract.js";
import { ENTRY } from "../sim/driver.js";
import type { SimRepo } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  w = await World.start({ env: { DIRECT_PUSH_RECHECK_MS: "200" } });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

interface PushPayload {
  branch: string;
  pusher: string | null;
  before: string | null;
  after: string;
  forced: boolean;
  commitsWithoutPr: string[];
  foundBy?: string;
  author?: string | null;
  policySource?: string;
  examined?: number;
}

/**
 * The repository's direct_push records, straight from the audit store (sqlite), read by a child
 * process through changegate's own SQLite driver: node:sqlite on Node 24, better-sqlite3 on Node 20
 * (whose native module is built for one Node version only).
 */
function pushRecords(repo: SimRepo): (PushPayload & { outcome: string; head_sha: string; bypass: number })[] {
  const file = w.cg.env().DATABASE_URL!.replace(/^sqlite:/, "");
  const driver = pathToFileURL(join(dirname(ENTRY), "audit", "sqlite-driver.js")).href;
  const script = `import { openSqliteConnection } from ${JSON.stringify(driver)};
const db = await openSqliteConnection(process.argv[1], { timeoutMs: 5000 });
try {
  const rows = db.prepare("select outcome, head_sha, bypass, payload from audit_record where chain = ? and kind = 'direct_push' order by seq").all([process.argv[2]]);
  process.stdout.write(JSON.stringify(rows));
} finally {
  db.close();
}`;
  const r = spawnSync(
    process.execPath,
    ["--no-warnings", "--input-type=module", "-e", script, file, repo.fullName.toLowerCase()],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`reading the audit store failed: ${r.stderr}`);
  const rows = JSON.parse(r.stdout) as {
    outcome: string;
    head_sha: string;
    bypass: number;
    payload: string;
  }[];
  return rows.map((row) => ({
    ...(JSON.parse(row.payload) as PushPayload),
    outcome: row.outcome,
    head_sha: row.head_sha,
    bypass: Number(row.bypass),
  }));
}

function exported(repo: SimRepo): Record<string, unknown>[] {
  const out = w.cg.cli([
    "audit",
    "export",
    "--from",
    "2000-01-01",
    "--to",
    "2100-01-01",
    "--repo",
    repo.fullName,
    "--format",
    "json",
  ]);
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as { changes: Record<string, unknown>[] }).changes;
}

/** The CLI with the app's GitHub credentials (the scan reads GitHub); the search is not paced in tests. */
const cli = (args: string[]) => w.cg.cliAsApp(args, { CHANGEGATE_SEARCH_PACE_MS: "0" });

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The push deliveries changegate answered for a repository's ref update to `after`. */
function pushDeliveries(repo: SimRepo, after: string) {
  return w
    .deliveries()
    .filter(
      (d) =>
        d.name === "push" &&
        d.body.includes(`"after":"${after}"`) &&
        d.body.includes(`"full_name":"${repo.fullName}"`),
    );
}

/** Lines of changegate's log containing the phrase and mentioning `text`. */
function alarms(text: string, from = 0) {
  return w.cg.logs
    .slice(from)
    .filter((l) => typeof l.msg === "string" && l.msg.includes(NON_COMPLIANT_PHRASE) && l.msg.includes(text));
}

function gatedRepo(opts: { issueRepo?: boolean } = {}): SimRepo {
  const org = w.org();
  const policy = `approvals:\n  required: 1\n${opts.issueRepo ? `audit:\n  issue_repo: ${org.owner}/compliance\n` : ""}`;
  const { repo } = w.repo({ policy, org });
  if (opts.issueRepo) w.model.addRepo({ owner: org.owner, name: "compliance" });
  return repo;
}

describe("push webhooks", () => {
  test("a direct push to the gated default branch: one record, the non-compliant log line, the audit issue", async () => {
    const repo = gatedRepo({ issueRepo: true });
    const from = w.cg.logs.length;
    const { before, after, shas } = w.model.directPush(
      repo,
      "main",
      [{ message: "hotfix straight to main" }, { message: "and another" }],
      { by: "mallory" },
    );
    await w.settle();
    await until(() => pushRecords(repo).length > 0);
    const recs = pushRecords(repo);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      branch: "main",
      pusher: "mallory",
      before,
      after,
      forced: false,
      outcome: "direct_push",
      head_sha: after,
      bypass: 1,
    });
    expect([...recs[0]!.commitsWithoutPr].sort()).toEqual([...shas].sort());
    await until(() => alarms(repo.fullName, from).length > 0);
    const line = alarms(repo.fullName, from);
    expect(line).toHaveLength(1);
    expect(line[0]!.msg).toContain("main");
    expect(line[0]!.msg).toContain("mallory");

    await until(() => [...w.model.issues.values()].some((i) => i.repo === `${repo.owner}/compliance`));
    const issue = [...w.model.issues.values()].find((i) => i.repo === `${repo.owner}/compliance`)!;
    expect(issue.labels).toContain("changegate-bypass");
    const text = [issue.body, ...w.model.commentsOf(issue.repo, issue.number).map((c) => c.body)].join("\n");
    expect(text).toContain(after.slice(0, 12));
    expect(text).toContain("mallory");

    const rows = exported(repo).filter((r) => r.change_type === "direct_push");
    expect(rows).toEqual([
      expect.objectContaining({
        head_sha: after,
        merged_by: "mallory",
        base: "main",
        bypass: true,
        found_by: "webhook",
      }),
    ]);
  }, 120_000);

  test("a force push is recorded with before, after and forced", async () => {
    const repo = gatedRepo();
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    w.model.merge(pr, "alice");
    await w.settle();
    const from = w.cg.logs.length;
    // Rewrite main: drop the merge commit, put one new commit in its place.
    const { before, after } = w.model.directPush(repo, "main", [{ message: "rewritten" }], {
      by: "mallory",
      force: true,
    });
    expect(before).toBe(pr.mergeCommitSha);
    const hook = w.model.webhooks.filter((h) => h.name === "push").at(-1)!;
    expect(hook.payload).toMatchObject({
      ref: "refs/heads/main",
      before,
      after,
      forced: true,
      created: false,
      deleted: false,
      pusher: { name: "mallory" },
    });
    await w.settle();
    await until(() => pushRecords(repo).length > 0);
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({
        before,
        after,
        forced: true,
        outcome: "force_push",
        pusher: "mallory",
        commitsWithoutPr: [after],
      }),
    ]);
    await until(() => alarms(repo.fullName, from).length > 0);
    expect(alarms(repo.fullName, from)[0]).toMatchObject({ before, after, forced: true });
  }, 120_000);

  test("a PR merged through the gate is not a direct push: its push arrives, its merge is on record, no direct_push", async () => {
    const repo = gatedRepo();
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      commits: [{ message: "one" }, { message: "two" }],
    });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    const from = w.cg.logs.length;
    const sha = w.model.merge(pr, "alice");
    const hook = w.model.webhooks.filter((h) => h.name === "push").at(-1)!;
    expect(hook.payload).toMatchObject({
      ref: "refs/heads/main",
      after: sha,
      forced: false,
      pusher: { name: "alice" },
    });
    expect((hook.payload.commits as { id: string }[]).map((c) => c.id)).toEqual([...pr.commits, sha]);
    await w.settle();
    await until(() => pushDeliveries(repo, sha).some((d) => d.status !== null));
    expect(pushDeliveries(repo, sha).every((d) => d.status! >= 200 && d.status! < 300)).toBe(true);
    await until(() => exported(repo).some((r) => r.pr === pr.number && r.change_type === "merge"));
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo)).toEqual([]);
    expect(alarms(repo.fullName, from)).toEqual([]);
    expect(exported(repo).map((r) => r.change_type)).toEqual(["merge"]);
  }, 120_000);

  test("a PR of a fork, merged into the fork's main, does not vouch for a direct push of its commit to this repository's main", async () => {
    const repo = gatedRepo();
    const fork = w.model.forkRepo(repo, "mallory");
    // mallory pushes straight to main; the push webhook is held while her fork's PR, holding the
    // very commit, is merged into the fork's main (GitHub then names that PR for the commit).
    w.autoDeliver = false;
    const { after, shas } = w.model.directPush(repo, "main", [{ message: "unreviewed change" }], {
      by: "mallory",
    });
    const forkPr = w.model.openPullRequest(fork, { author: "mallory", commitShas: shas });
    w.model.merge(forkPr, "mallory");
    w.autoDeliver = true;
    await w.release();
    await w.settle();
    await until(() => pushRecords(repo).length > 0);
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({
        branch: "main",
        pusher: "mallory",
        after,
        outcome: "direct_push",
        commitsWithoutPr: shas,
      }),
    ]);
  }, 120_000);

  test("a push to an ungated branch is ignored", async () => {
    const repo = gatedRepo();
    const from = w.cg.logs.length;
    const { after } = w.model.directPush(repo, "scratch", [{ message: "experiment" }], { by: "dev" });
    await w.settle();
    await until(() => pushDeliveries(repo, after).some((d) => d.status !== null));
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo)).toEqual([]);
    expect(alarms(repo.fullName, from)).toEqual([]);
  }, 120_000);

  test("a redelivery of the same push (same or new delivery id) records once", async () => {
    const repo = gatedRepo();
    const from = w.cg.logs.length;
    const { after } = w.model.directPush(repo, "main", [{ message: "direct" }], { by: "mallory" });
    await w.settle();
    await until(() => pushRecords(repo).length === 1);
    const hook = w.model.webhooks.filter((h) => h.name === "push" && h.payload.after === after).at(-1)!;
    await w.cg.deliver("push", hook.payload, { id: hook.id });
    await w.cg.deliver("push", hook.payload);
    await w.settle();
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo)).toHaveLength(1);
    expect(alarms(repo.fullName, from)).toHaveLength(1);
  }, 120_000);
});

describe("large pushes", () => {
  // GitHub's push webhook lists up to 2,048 commits (the 20-commit limit is the timeline's only),
  // so a push of 101 commits straight to main is an ordinary delivery and must be recorded, every
  // commit examined (21 a GraphQL read).
  test("a direct push of 101 commits is recorded, every commit examined", async () => {
    const repo = gatedRepo();
    const { after } = w.model.directPush(
      repo,
      "main",
      Array.from({ length: 101 }, (_, i) => ({ message: `bulk ${i}` })),
      { by: "mallory" },
    );
    const hook = w.model.webhooks.filter((h) => h.name === "push").at(-1)!;
    expect((hook.payload.commits as unknown[]).length).toBe(101);
    await w.settle();
    await until(() => pushDeliveries(repo, after).some((d) => d.status !== null));
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({ after, branch: "main", pusher: "mallory", examined: 101 }),
    ]);
    expect(pushRecords(repo)[0]!.commitsWithoutPr).toHaveLength(101);
  }, 120_000);
});

describe("a push that changes the policy", () => {
  // A direct push whose commit rewrites .github/changegate.yml so that main is no longer gated is
  // still a direct push to a gated branch: main was gated when the push arrived.
  // The policy is read at HEAD (after the push) and at `before` (policy/push-gate.ts): gated when
  // either gates it, and the record says which policy did.
  test("a direct push that ungates main in the same commit is recorded", async () => {
    const repo = gatedRepo();
    const { before, after } = w.model.directPush(repo, "main", [{ message: "stop gating main" }], {
      by: "mallory",
      files: { ".github/changegate.yml": "branches: [release]\n" },
    });
    await w.settle();
    await until(() => pushDeliveries(repo, after).some((d) => d.status !== null));
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({ after, branch: "main", pusher: "mallory" }),
    ]);
    expect(pushRecords(repo)[0]!.policySource).toBe(
      `${repo.fullName}:.github/changegate.yml at ${before.slice(0, 12)} (before the push)`,
    );
  }, 120_000);

  test("the next push to main, under the new policy that no longer gates it, is not recorded; a push to the newly gated branch is", async () => {
    const repo = gatedRepo();
    w.model.directPush(repo, "main", [{ message: "gate release only" }], {
      by: "mallory",
      files: { ".github/changegate.yml": "branches: [release]\n" },
    });
    await w.settle();
    await until(() => pushRecords(repo).length === 1);
    const { after } = w.model.directPush(repo, "main", [{ message: "now ungated" }], { by: "dev" });
    const rel = w.model.directPush(repo, "release", [{ message: "straight to release" }], { by: "dev" });
    await w.settle();
    await until(
      () =>
        pushDeliveries(repo, after).some((d) => d.status !== null) &&
        pushDeliveries(repo, rel.after).some((d) => d.status !== null),
    );
    await until(() => pushRecords(repo).length === 2);
    await sleep(1500);
    await w.settle();
    expect(pushRecords(repo).map((r) => [r.branch, r.after])).toEqual([
      ["main", expect.any(String)],
      ["release", rel.after],
    ]);
  }, 120_000);
});

describe("audit scan --direct-pushes", () => {
  test("a lost push that ungated main is found by the scan: main was gated at the window's start", async () => {
    const repo = gatedRepo();
    const since = w.model.tick();
    const { after, before } = w.quietly(() =>
      w.model.directPush(repo, "main", [{ message: "ungate main, quietly", authors: ["mallory"] }], {
        by: "mallory",
        files: { ".github/changegate.yml": "branches: [release]\n" },
      }),
    );
    await w.settle();
    expect(pushDeliveries(repo, after)).toEqual([]);
    const until_ = new Date(Date.parse(w.model.tick()) + 3_600_000).toISOString();
    const out = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      until_,
      "--repo",
      repo.fullName,
      "--direct-pushes",
      "--json",
    ]);
    expect(out.code).toBe(0);
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({
        after,
        branch: "main",
        foundBy: "scan",
        policySource: `${repo.fullName}:.github/changegate.yml at ${before.slice(0, 12)} (at the start of the scan's window)`,
      }),
    ]);
  }, 180_000);

  test("a push whose webhook was lost is found by the scan, recorded with foundBy scan; a second scan records nothing", async () => {
    const repo = gatedRepo();
    // Merged through the gate (heard), then a direct push that changegate never hears of.
    const pr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(pr, { author: "alice" });
    await w.settle();
    const since = w.model.tick(); // after the repository's initial commit
    w.model.merge(pr, "alice");
    await w.settle();
    const { after } = w.quietly(() =>
      w.model.directPush(repo, "main", [{ message: "lost push", authors: ["mallory"] }], { by: "mallory" }),
    );
    await w.settle();
    expect(pushDeliveries(repo, after)).toEqual([]);
    expect(pushRecords(repo)).toEqual([]);
    const until_ = new Date(Date.parse(w.model.tick()) + 3_600_000).toISOString();

    const first = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      until_,
      "--repo",
      repo.fullName,
      "--direct-pushes",
      "--json",
    ]);
    expect(first.stderr).toContain(NON_COMPLIANT_PHRASE);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as {
      directPushes?: { recorded: { repo: string; branch: string; sha: string }[]; truncated: string[] };
    };
    expect(summary.directPushes).toEqual({
      recorded: [expect.objectContaining({ repo: repo.fullName, branch: "main", sha: after })],
      truncated: [],
      forced: [],
    });
    expect(pushRecords(repo)).toEqual([
      expect.objectContaining({ after, branch: "main", foundBy: "scan", author: "mallory", forced: false }),
    ]);

    const second = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      until_,
      "--repo",
      repo.fullName,
      "--direct-pushes",
      "--json",
    ]);
    expect(second.code).toBe(0);
    expect(
      (JSON.parse(second.stdout) as { directPushes?: { recorded: unknown[] } }).directPushes?.recorded,
    ).toEqual([]);
    expect(pushRecords(repo)).toHaveLength(1);
    expect(exported(repo).filter((r) => r.change_type === "direct_push")).toEqual([
      expect.objectContaining({ head_sha: after, found_by: "scan" }),
    ]);
  }, 180_000);

  test("a git author name with terminal escapes does not reach the terminal through `audit scan` (issue 20 item 9)", async () => {
    const repo = gatedRepo();
    const since = w.model.tick();
    const evil = "Mallory \u001b]0;owned\u0007\u001b[2J\u001b[31mGREEN\u202e";
    const { after } = w.quietly(() =>
      w.model.directPush(repo, "main", [{ message: "quiet push", authors: [null], unlinkedName: evil }], {
        by: "mallory",
      }),
    );
    await w.settle();
    expect(pushRecords(repo)).toEqual([]);
    const until_ = new Date(Date.parse(w.model.tick()) + 3_600_000).toISOString();
    const out = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      until_,
      "--repo",
      repo.fullName,
      "--direct-pushes",
    ]);
    expect(out.code).toBe(0);
    expect(pushRecords(repo)).toEqual([expect.objectContaining({ after, foundBy: "scan" })]);
    // The name is shown, its control characters are not.
    expect(out.stderr).toContain(NON_COMPLIANT_PHRASE);
    expect(out.stderr).toContain("Mallory ]0;owned[2J[31mGREEN");
    for (const text of [out.stdout, out.stderr])
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  }, 180_000);
});
