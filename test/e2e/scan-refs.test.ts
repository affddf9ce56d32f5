/**
 * The scan walks refs, not dates (issue 19), end to end: changegate's CLI as the GitHub App against
 * the simulator. After its first look at a branch the scan keeps the head it saw; the next scan
 * examines the commits reachable from today's head and not from that one, whatever their dates:
 * a direct push back-dated to 2019 whose delivery failed is found; a force push the webhook missed
 * is found and recorded as forced; a branch gated by a glob is listed and walked. The checkpoint
 * issue is pinned through the client's GraphQL endpoint (GHES: /api/graphql, not /api/v3/graphql).
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { AuditStore } from "../../src/audit/database.js";
import { World } from "../sim/world.js";

let w: World;
const POLICY = "approvals:\n  required: 1\n";

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

/** The CLI with the app's credentials; no pacing, no re-read wait. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  w.cg.cliAsApp(args, { CHANGEGATE_SEARCH_PACE_MS: "0", DIRECT_PUSH_RECHECK_MS: "0", ...env });
/** The simulator's clock (a new logical second, ahead of real time when events are many) plus an hour. */
const until = () => new Date(Date.parse(w.model.tick()) + 3_600_000).toISOString();

interface ScanJson {
  failed: unknown[];
  directPushes: {
    recorded: { repo: string; branch: string; sha: string }[];
    truncated: string[];
    forced: { repo: string; branch: string; before: string; after: string; record: string }[];
  };
}

/** A scan whose window starts at `since` (after the repository's initial commit). */
async function scanRepo(name: string, since: string): Promise<ScanJson> {
  const r = await cli(["audit", "scan", "--since", since, "--until", until(), "--repo", name, "--json"]);
  expect(r.stderr).not.toMatch(/ERROR/);
  return JSON.parse(r.stdout) as ScanJson;
}

async function directPushPayloads(name: string): Promise<Record<string, unknown>[]> {
  const store = await AuditStore.open(w.cg.env().DATABASE_URL, { cwd: w.cg.dataDir });
  try {
    const rows = await store.db
      .selectFrom("audit_record")
      .select(["payload"])
      .where("kind", "=", "direct_push")
      .where("chain", "=", name.toLowerCase())
      .orderBy("seq")
      .execute();
    return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
  } finally {
    await store.close();
  }
}

/** The merged_at column (the export's) of the direct_push record of `after` with `outcome`. */
async function mergedAtOf(name: string, after: string, outcome: string): Promise<string | null> {
  const store = await AuditStore.open(w.cg.env().DATABASE_URL, { cwd: w.cg.dataDir });
  try {
    const row = await store.db
      .selectFrom("audit_record")
      .select(["merged_at"])
      .where("kind", "=", "direct_push")
      .where("chain", "=", name.toLowerCase())
      .where("head_sha", "=", after)
      .where("outcome", "=", outcome)
      .executeTakeFirst();
    return row?.merged_at ?? null;
  } finally {
    await store.close();
  }
}

describe("audit scan walks refs", () => {
  test("a direct push back-dated to 2019 whose delivery failed is found by the next scan", async () => {
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    const first = await scanRepo(name, since); // the first look: the window, and main's head on record
    expect(first.directPushes.recorded).toEqual([]);
    const { shas } = w.quietly(() =>
      w.model.directPush(
        repo,
        "main",
        [{ message: "old-looking hotfix", authors: ["mallory"], date: "2019-03-01T10:00:00Z" }],
        { by: "mallory" },
      ),
    );
    expect(w.model.commits.get(shas[0]!)!.date).toBe("2019-03-01T10:00:00Z");
    // When the simulator made the push (its clock), not the commit's date.
    const pushedAt = new Date(w.model.stamp()).toISOString();
    const seq = w.sim.lastSeq;
    const second = await scanRepo(name, since);
    expect(second.failed).toEqual([]);
    // Refs, not dates: one branch list, one compare from the head on record, no history window.
    const reqs = w.sim.since(seq, (x) => x.installationId === installation.id);
    const routes = reqs.map((x) => (x.route === "POST /graphql" ? `graphql ${x.operation}` : x.route));
    expect(routes.filter((r) => r === "GET /repos/{owner}/{repo}/branches")).toHaveLength(1);
    expect(routes.filter((r) => r === "GET /repos/{owner}/{repo}/compare/{basehead}")).toHaveLength(1);
    expect(routes.filter((r) => r === "graphql ChangegateBranchHistory")).toEqual([]);
    expect(second.directPushes.recorded.map((r) => [r.branch, r.sha])).toEqual([["main", shas[0]]]);
    const [rec] = await directPushPayloads(name);
    expect(rec).toMatchObject({ foundBy: "scan", after: shas[0], forced: false, branch: "main" });
    // Dated by the push that brought it (GitHub's repository activity), not by the commit's own date:
    // the export's merged_at puts it in the period it reached the branch. The commit's date is kept.
    expect(rec).toMatchObject({ pushedAt, pusher: "mallory", committedAt: "2019-03-01T10:00:00Z" });
    expect(rec!.pushedAtIsWhenFound).toBeUndefined();
    expect(await mergedAtOf(name, shas[0]!, "direct_push")).toBe(pushedAt);
    // Nothing found twice.
    expect((await scanRepo(name, since)).directPushes.recorded).toEqual([]);
  }, 180_000);

  test("a force push the webhook missed is found and recorded as forced (before: the head the last scan saw)", async () => {
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    const { after: seen } = w.model.directPush(
      repo,
      "main",
      [{ message: "seen push", authors: ["mallory"] }],
      { by: "mallory" },
    );
    await w.settle();
    await scanRepo(name, since); // main's head on record: `seen`
    const rewritten = w.quietly(() =>
      w.model.directPush(repo, "main", [{ message: "rewritten", authors: ["mallory"] }], {
        by: "mallory",
        force: true,
      }),
    );
    // When the simulator made the force push (its clock: whole seconds; the scan's time has its milliseconds).
    const forcedAt = new Date(w.model.stamp()).toISOString();
    expect(rewritten.before).toBe(seen);
    const s = await scanRepo(name, since);
    expect(s.directPushes.forced).toEqual([
      expect.objectContaining({ repo: name, branch: "main", before: seen, after: rewritten.after }),
    ]);
    expect(s.directPushes.recorded.map((r) => r.sha)).toEqual(rewritten.shas); // the new line's commit, without a PR
    const records = await directPushPayloads(name);
    // The new line's commit reached the branch with the force push: its time and pusher.
    expect(records.find((r) => r.forced === false && r.after === rewritten.shas[0])).toMatchObject({
      pushedAt: forcedAt,
      pusher: "mallory",
    });
    const forced = records.filter((r) => r.forced === true);
    expect(forced).toEqual([
      expect.objectContaining({ foundBy: "scan", before: seen, after: rewritten.after, branch: "main" }),
    ]);
    // The time and pusher GitHub's repository activity gives, not the scan's time and no one.
    expect(forced[0]).toMatchObject({ pushedAt: forcedAt, pusher: "mallory" });
    expect(forced[0]!.pushedAtIsWhenFound).toBeUndefined();
    expect(await mergedAtOf(name, rewritten.after, "force_push")).toBe(forcedAt);
    expect((await scanRepo(name, since)).directPushes.forced).toEqual([]);
  }, 180_000);

  test("two lost pushes with a merged pull request between them: each commit takes the time and pusher of its own push", async () => {
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    await scanRepo(name, since); // main's head on record
    const one = w.quietly(() =>
      w.model.directPush(
        repo,
        "main",
        [{ message: "first", authors: ["mallory"], date: "2019-03-01T10:00:00Z" }],
        {
          by: "mallory",
        },
      ),
    );
    const firstAt = new Date(w.model.stamp()).toISOString();
    w.model.tick();
    const pr = w.quietly(() => w.model.openPullRequest(repo, { author: "dev" }));
    w.quietly(() => w.model.review(pr, { author: "alice" }));
    w.quietly(() => w.model.merge(pr, "alice"));
    w.model.tick();
    const two = w.quietly(() =>
      w.model.directPush(
        repo,
        "main",
        [
          { message: "second", authors: ["eve"], date: "2018-01-01T00:00:00Z" },
          { message: "third", authors: ["eve"], date: "2018-01-02T00:00:00Z" },
        ],
        { by: "eve" },
      ),
    );
    const secondAt = new Date(w.model.stamp()).toISOString();
    expect(secondAt).not.toBe(firstAt);
    const s = await scanRepo(name, since);
    expect(s.directPushes.recorded.map((r) => r.sha).sort()).toEqual([...one.shas, ...two.shas].sort());
    const records = await directPushPayloads(name);
    const of = (sha: string) => records.find((r) => r.after === sha);
    expect(of(one.shas[0]!)).toMatchObject({ pushedAt: firstAt, pusher: "mallory" });
    for (const sha of two.shas) expect(of(sha)).toMatchObject({ pushedAt: secondAt, pusher: "eve" });
    for (const r of records) expect(r.pushedAtIsWhenFound).toBeUndefined();
  }, 180_000);

  test("a back-dated direct push GitHub's activity does not date (404) keeps the scan's time and says so", async () => {
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    await scanRepo(name, since); // main's head on record
    const { shas } = w.quietly(() =>
      w.model.directPush(
        repo,
        "main",
        [{ message: "old-looking hotfix", authors: ["mallory"], date: "2019-03-01T10:00:00Z" }],
        { by: "mallory" },
      ),
    );
    const pushedAt = new Date(w.model.stamp()).toISOString();
    const f = w.sim.fault({
      route: "GET /repos/{owner}/{repo}/activity",
      repo: name,
      kind: "status",
      status: 404,
    });
    try {
      const started = Date.now();
      const s = await scanRepo(name, since);
      const ended = Date.now();
      expect(f.hits).toBeGreaterThan(0);
      expect(s.directPushes.recorded.map((r) => [r.branch, r.sha])).toEqual([["main", shas[0]]]);
      const [rec] = await directPushPayloads(name);
      expect(rec).toMatchObject({
        foundBy: "scan",
        after: shas[0],
        pusher: null,
        author: "mallory",
        pushedAtIsWhenFound: true,
        committedAt: "2019-03-01T10:00:00Z",
      });
      const at = Date.parse(rec!.pushedAt as string);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(ended + 1000);
      expect(rec!.pushedAt).not.toBe(pushedAt);
      expect(await mergedAtOf(name, shas[0]!, "direct_push")).toBe(rec!.pushedAt);
    } finally {
      f.remove();
    }
  }, 180_000);

  test("a force push GitHub's activity does not list (404: not on this GitHub version) keeps the scan's time and says so", async () => {
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    const { after: seen } = w.model.directPush(
      repo,
      "main",
      [{ message: "seen push", authors: ["mallory"] }],
      {
        by: "mallory",
      },
    );
    await w.settle();
    await scanRepo(name, since);
    const rewritten = w.quietly(() =>
      w.model.directPush(repo, "main", [{ message: "rewritten", authors: ["mallory"] }], {
        by: "mallory",
        force: true,
      }),
    );
    const forcedAt = new Date(w.model.stamp()).toISOString();
    const f = w.sim.fault({
      route: "GET /repos/{owner}/{repo}/activity",
      repo: name,
      kind: "status",
      status: 404,
    });
    try {
      const started = Date.now();
      const s = await scanRepo(name, since);
      const ended = Date.now();
      expect(f.hits).toBeGreaterThan(0);
      expect(s.directPushes.forced).toEqual([
        expect.objectContaining({ repo: name, branch: "main", before: seen, after: rewritten.after }),
      ]);
      const forced = (await directPushPayloads(name)).filter((r) => r.forced === true);
      expect(forced).toEqual([
        expect.objectContaining({ foundBy: "scan", pusher: null, pushedAtIsWhenFound: true }),
      ]);
      const at = Date.parse(forced[0]!.pushedAt as string);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(ended + 1000);
      expect(forced[0]!.pushedAt).not.toBe(forcedAt);
    } finally {
      f.remove();
    }
  }, 180_000);

  test("a branch gated by a glob (release/*) is listed and walked", async () => {
    const { repo, installation } = w.repo({ policy: 'approvals:\n  required: 1\nbranches: ["release/*"]\n' });
    const name = `${installation.account}/service`;
    const since = w.model.tick();
    w.quietly(() => w.model.createBranch(repo, "release/1.0"));
    const { shas } = w.quietly(() =>
      w.model.directPush(repo, "release/1.0", [{ message: "straight to release", authors: ["mallory"] }], {
        by: "mallory",
      }),
    );
    const s = await scanRepo(name, since);
    expect(s.directPushes.recorded.map((r) => [r.branch, r.sha])).toEqual([["release/1.0", shas[0]]]);
    // And once its head is on record, a later lost push to it is found by the walk.
    const later = w.quietly(() =>
      w.model.directPush(
        repo,
        "release/1.0",
        [{ message: "again", authors: ["mallory"], date: "2020-01-01T00:00:00Z" }],
        { by: "mallory" },
      ),
    );
    expect((await scanRepo(name, since)).directPushes.recorded.map((r) => [r.branch, r.sha])).toEqual([
      ["release/1.0", later.shas[0]],
    ]);
  }, 180_000);
});

describe("the checkpoint issue on GitHub Enterprise Server", () => {
  test("is pinned through the client's GraphQL endpoint (/api/graphql; /api/v3/graphql is not GraphQL there)", async () => {
    const { installation } = w.repo({ policy: POLICY, name: "audit" });
    const issueRepo = `${installation.account}/audit`;
    const key = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const seq = w.sim.lastSeq;
    const r = await cli(["audit", "checkpoint"], { AUDIT_SIGNING_KEY: key, AUDIT_ISSUE_REPO: issueRepo });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/could not pin/);
    const issue = [...w.model.issues.values()].find((i) => i.repo === issueRepo)!;
    expect(issue.pinned).toBe(true);
    const pins = w.sim.since(seq, (x) => x.operation === "ChangegatePinIssue");
    expect(pins.map((x) => [x.route, x.status])).toEqual([["POST /graphql", 200]]);
    // The REST base does not serve GraphQL on GHES: what `request("POST /graphql")` reached before.
    const app = await fetch(`http://${w.sim.gheHost}/api/v3/graphql`, { method: "POST", body: "{}" });
    expect(app.status).toBe(404);
  }, 120_000);
});
