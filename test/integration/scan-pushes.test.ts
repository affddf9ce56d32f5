/**
 * The scan finds direct pushes whose push events were missed: the gated branch's history in the
 * window against the records. A commit of a merged PR is not one; a commit already on record (the
 * webhook's) is not recorded again; a second scan records nothing. Exact GraphQL request list: the
 * commits without a PR are read again once (after DIRECT_PUSH_RECHECK_MS); one GitHub has linked to
 * a PR merged moments ago, or the merge commit of a merge on record, is the merge scan's.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import { scanPushes } from "../../src/background/scan-pushes.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

let dir: string;
let store: AuditStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "changegate-scanpush-"));
  store = await AuditStore.open(`sqlite:${join(dir, "a.db")}`);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const commit = (
  oid: string,
  author: string,
  prs: { number: number; merged: boolean; baseRefName: string }[],
) => ({
  oid,
  committedDate: "2026-11-20T08:00:00Z",
  author: { name: author, user: { login: author } },
  // GitHub names each PR's base repository (only this repository's PRs cover a commit).
  associatedPullRequests: {
    nodes: prs.map((p) => ({ ...p, baseRepository: { nameWithOwner: "acme/payments" } })),
  },
});

/** GitHub's REST branch list: main (its head: A) and release. */
const branches = {
  async request(route: string) {
    if (route === "GET /repos/{owner}/{repo}/branches")
      return {
        data: [
          { name: "main", commit: { sha: A } },
          { name: "release", commit: { sha: B } },
        ],
      };
    return { data: {} };
  },
};

/** GitHub as a GraphQL reader: the policy read, then the history pages of `main` (two pages). */
function github(queries: string[]): GraphqlReader {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    async query(query: string, variables: Record<string, unknown>) {
      reads++;
      const name = /query (\w+)/.exec(query)![1]!;
      queries.push(
        `${name}${variables.after ? ` after=${variables.after}` : ""}${variables.ref ? ` ${variables.ref}` : ""}`,
      );
      if (name === "ChangegatePush") {
        return {
          data: {
            repository: {
              nameWithOwner: "acme/payments",
              defaultBranchRef: { name: "main" },
              policy: { text: "branches: [main, release/*]\n", isTruncated: false },
            },
            org: { policy: null },
          },
          errors: [],
        };
      }
      const page1 = {
        pageInfo: { hasNextPage: true, endCursor: "p2" },
        nodes: [
          commit(A, "mallory", []),
          commit(B, "dev", [{ number: 4, merged: true, baseRefName: "main" }]),
        ],
      };
      const page2 = {
        pageInfo: { hasNextPage: false, endCursor: null },
        nodes: [commit(C, "eve", [{ number: 5, merged: false, baseRefName: "main" }])],
      };
      return {
        data: { repository: { ref: { target: { history: variables.after ? page2 : page1 } } } },
        errors: [],
      };
    },
  } as GraphqlReader;
}

test("the scan records the missed direct pushes of a gated branch once", async () => {
  const writer = new ChainWriter(store);
  const pushes = new ChainDirectPush(writer);
  const logs: string[] = [];
  const log = {
    info: (_o: object, m: string) => logs.push(m),
    warn: (_o: object, m: string) => logs.push(m),
    error: (_o: object, m: string) => logs.push(m),
  };
  // C's push was seen by the webhook already.
  await pushes.recordDirectPush({
    at: "2026-11-20T08:01:00Z",
    deliveryId: "hook",
    installationId: 77,
    owner: "acme",
    repo: "payments",
    branch: "main",
    pusher: "eve",
    before: B,
    after: C,
    forced: false,
    commitsWithoutPr: [C],
    examined: 1,
    pushedAt: "2026-11-20T08:01:00Z",
    policySource: "defaults",
  });
  const queries: string[] = [];
  const waits: number[] = [];
  const deps = {
    store: pushes,
    octokit: branches as never,
    reader: github(queries),
    installationId: 77,
    now: () => new Date("2026-11-21T00:00:00Z"),
    log,
    sleep: async (ms: number) => void waits.push(ms),
  };
  const window = { from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z" };
  const first = await scanPushes(deps, "acme/payments", window, "scan-1");
  // Every branch is listed (REST) and matched against the policy: release matches neither main nor release/*.
  // The policy, the history (two pages), and the re-read of the commit without a PR after 15 s.
  expect(queries).toStrictEqual([
    "ChangegatePush",
    "ChangegateBranchHistory refs/heads/main",
    "ChangegateBranchHistory after=p2 refs/heads/main",
    "ChangegatePush",
  ]);
  expect(waits).toStrictEqual([15_000]);
  expect(first.recorded.map((r) => r.sha)).toStrictEqual([A]);
  expect(first.commits).toBe(3);
  expect(logs.filter((l) => l.includes("is non-compliant!"))).toStrictEqual([
    `direct push to acme/payments main (commit ${A.slice(0, 12)} by mallory) is non-compliant! no merged pull request (found by the scan)`,
  ]);
  const rows = await store.db
    .selectFrom("audit_record")
    .selectAll()
    .where("kind", "=", "direct_push")
    .orderBy("seq")
    .execute();
  expect(rows.map((r) => r.head_sha)).toStrictEqual([C, A]);
  expect(JSON.parse(rows[1]!.payload)).toMatchObject({
    foundBy: "scan",
    author: "mallory",
    before: null,
    after: A,
    branch: "main",
  });

  const again: string[] = [];
  const second = await scanPushes({ ...deps, reader: github(again) }, "acme/payments", window, "scan-2");
  expect(second.recorded).toStrictEqual([]);
  // Nothing left without a record: no re-read, no wait.
  expect(again).toStrictEqual([
    "ChangegatePush",
    "ChangegateBranchHistory refs/heads/main",
    "ChangegateBranchHistory after=p2 refs/heads/main",
  ]);
  expect(waits).toStrictEqual([15_000]);
  expect(
    await store.db.selectFrom("audit_record").select("seq").where("kind", "=", "direct_push").execute(),
  ).toHaveLength(2);
});

/** GitHub where A has no PR in the history read; the re-read (ChangegatePush with c0) says `reread`. */
function linkedLater(
  queries: string[],
  reread: { number: number; merged: boolean; baseRefName: string }[],
): GraphqlReader {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    async query(query: string, variables: Record<string, unknown>) {
      reads++;
      const name = /query (\w+)/.exec(query)![1]!;
      queries.push(`${name}${variables.c0 ? ` c0=${String(variables.c0).slice(0, 4)}` : ""}`);
      if (name === "ChangegatePush") {
        const repository: Record<string, unknown> = {
          nameWithOwner: "acme/payments",
          defaultBranchRef: { name: "main" },
          policy: null,
        };
        if (variables.c0)
          repository.c0 = {
            oid: variables.c0,
            associatedPullRequests: {
              nodes: reread.map((p) => ({ ...p, baseRepository: { nameWithOwner: "acme/payments" } })),
            },
          };
        return { data: { repository, org: { policy: null } }, errors: [] };
      }
      return {
        data: {
          repository: {
            ref: {
              target: {
                history: {
                  pageInfo: { hasNextPage: false, endCursor: null },
                  nodes: [commit(A, "web-flow", [])],
                },
              },
            },
          },
        },
        errors: [],
      };
    },
  } as GraphqlReader;
}

function quietDeps(reader: GraphqlReader, waits: number[]) {
  const log = { info: () => {}, warn: () => {}, error: () => {} };
  return {
    store: new ChainDirectPush(new ChainWriter(store)),
    octokit: branches as never,
    reader,
    installationId: 77,
    now: () => new Date("2026-11-21T00:00:00Z"),
    log,
    sleep: async (ms: number) => void waits.push(ms),
  };
}
const WINDOW = { from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z" };

test("a commit GitHub links to a PR merged moments ago is the merge scan's, not a direct push", async () => {
  const queries: string[] = [];
  const waits: number[] = [];
  const s = await scanPushes(
    {
      ...quietDeps(linkedLater(queries, [{ number: 9, merged: true, baseRefName: "main" }]), waits),
      recheckMs: 0,
    },
    "acme/payments",
    WINDOW,
    "scan-1",
  );
  expect(queries).toStrictEqual(["ChangegatePush", "ChangegateBranchHistory", "ChangegatePush c0=aaaa"]);
  expect(waits).toStrictEqual([]);
  expect(s.recorded).toStrictEqual([]);
  expect(
    await store.db.selectFrom("audit_record").select("seq").where("kind", "=", "direct_push").execute(),
  ).toHaveLength(0);
});

test("a PR merged into another branch does not cover the commit on re-read; a merge on record into this branch does, without a re-read", async () => {
  const queries: string[] = [];
  const s = await scanPushes(
    quietDeps(linkedLater(queries, [{ number: 9, merged: true, baseRefName: "develop" }]), []),
    "acme/payments",
    WINDOW,
    "scan-1",
  );
  expect(s.recorded.map((r) => r.sha)).toStrictEqual([A]);

  await store.close();
  store = await AuditStore.open(`sqlite:${join(dir, "b.db")}`);
  const writer = new ChainWriter(store);
  await writer.recordMerge({
    at: "2026-11-20T08:00:00Z",
    deliveryId: "m",
    ref: { installationId: 77, owner: "acme", repo: "payments", number: 9 },
    url: "https://github.com/acme/payments/pull/9",
    title: "t",
    author: "dev",
    headSha: C,
    mergedBy: "carol",
    mergedAt: "2026-11-20T08:00:00Z",
    mergeCommitSha: A,
    baseRef: "main",
    outcome: "success",
    emergency: false,
  });
  const fresh: string[] = [];
  const t = await scanPushes(quietDeps(linkedLater(fresh, []), []), "acme/payments", WINDOW, "scan-2");
  expect(fresh).toStrictEqual(["ChangegatePush", "ChangegateBranchHistory"]);
  expect(t.recorded).toStrictEqual([]);
});

test("a branch ungated during the window is still scanned: the policy at the window's start (one more read) gates it", async () => {
  const S = "5".repeat(40);
  const queries: string[] = [];
  const reader = {
    reads: 0,
    async query(query: string, variables: Record<string, unknown>) {
      const name = /query (\w+)/.exec(query)![1]!;
      queries.push(
        `${name}${variables.ref ? ` ${variables.ref}` : ""}${variables.rev ? ` ${String(variables.rev).slice(0, 4)}` : ""}${variables.c0 ? " c0" : ""}`,
      );
      if (name === "ChangegatePush") {
        expect(variables).toMatchObject(
          variables.c0 ? {} : { readStart: true, startUntil: "2026-11-19T23:59:59.000Z" },
        );
        const repository: Record<string, unknown> = {
          nameWithOwner: "acme/payments",
          defaultBranchRef: { name: "main", target: { history: { nodes: [{ oid: S }] } } },
          policy: { text: "branches: [release]\n", isTruncated: false },
        };
        if (variables.c0) repository.c0 = { oid: variables.c0, associatedPullRequests: { nodes: [] } };
        return { data: { repository, org: { policy: null } }, errors: [] };
      }
      if (name === "ChangegateFileAt")
        return { data: { repository: { commit: { oid: S }, file: null } }, errors: [] };
      const nodes = variables.ref === "refs/heads/main" ? [commit(A, "mallory", [])] : [];
      return {
        data: {
          repository: {
            ref: { target: { history: { pageInfo: { hasNextPage: false, endCursor: null }, nodes } } },
          },
        },
        errors: [],
      };
    },
  } as unknown as GraphqlReader;
  const s = await scanPushes({ ...quietDeps(reader, []), recheckMs: 0 }, "acme/payments", WINDOW, "scan-1");
  expect(queries).toStrictEqual([
    "ChangegatePush",
    "ChangegateFileAt 5555",
    "ChangegateBranchHistory refs/heads/main",
    "ChangegateBranchHistory refs/heads/release",
    "ChangegatePush c0",
  ]);
  expect(s.recorded.map((r) => [r.branch, r.sha])).toStrictEqual([["main", A]]);
  // Branch enforcement is seeded with the branches the policy gates now (release), not main, gated only at the window's start.
  expect(s.gated?.map((g) => g.branch)).toStrictEqual(["release"]);
  const [row] = await store.db
    .selectFrom("audit_record")
    .selectAll()
    .where("kind", "=", "direct_push")
    .execute();
  expect(JSON.parse(row!.payload)).toMatchObject({
    policySource: `defaults (in effect at ${S.slice(0, 12)}, at the start of the scan's window)`,
  });
});

test("the installation's repositories are paged without a cap: 1,050 repositories over 11 pages", async () => {
  const { installationRepos } = await import("../../src/background/scan-pushes.js");
  const pages: number[] = [];
  const octokit = {
    async request(route: string, p: Record<string, unknown>) {
      expect(route).toBe("GET /installation/repositories");
      const page = Number(p.page);
      pages.push(page);
      const from = (page - 1) * 100;
      const n = Math.max(0, Math.min(100, 1050 - from));
      return {
        data: {
          total_count: 1050,
          repositories: Array.from({ length: n }, (_, i) => ({ full_name: `acme/r${from + i}` })),
        },
      };
    },
  };
  const repos = await installationRepos(octokit);
  expect(repos).toHaveLength(1050);
  expect(repos.at(-1)).toBe("acme/r1049");
  expect(pages).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

test("a walk over the bound (2,500 commits since the head on record) is kept and continued by the next run, 20 compare pages a run", async () => {
  const { SqlBranchHeads } = await import("../../src/audit/branch-head.js");
  const S = "1".repeat(40);
  const T = "2".repeat(40);
  const sha = (i: number) => `f${i.toString(16).padStart(39, "0")}`;
  const heads = new SqlBranchHeads(store.db);
  await heads.set("acme/payments", "main", { head: S, walk: null });
  const pages: number[] = [];
  let activityReads = 0;
  const octokit = {
    async request(route: string, p: Record<string, unknown>) {
      if (route === "GET /repos/{owner}/{repo}/branches")
        return { data: [{ name: "main", commit: { sha: T } }] };
      if (route === "GET /repos/{owner}/{repo}/activity") {
        activityReads++;
        // GitHub's repository activity: the one push that moved main from S to T.
        return {
          data: [
            {
              before: S,
              after: T,
              timestamp: "2026-11-30T12:00:00Z",
              activity_type: "push",
              actor: { login: "mallory" },
            },
          ],
        };
      }
      expect(route).toBe("GET /repos/{owner}/{repo}/compare/{basehead}");
      expect(p.basehead).toBe(`${S}...${T}`);
      const page = Number(p.page);
      pages.push(page);
      const commits = Array.from({ length: Math.max(0, Math.min(100, 2500 - (page - 1) * 100)) }, (_, k) => ({
        sha: sha((page - 1) * 100 + k),
        commit: { committer: { date: "2019-01-01T00:00:00Z" } },
        author: { login: "dev" },
      }));
      return { data: { status: "ahead", total_commits: 2500, merge_base_commit: { sha: S }, commits } };
    },
  };
  // No commit is linked to a merged PR (the reader's aliases are not pushFactsAll's): each is recorded.
  const reader = {
    reads: 0,
    async query(_q: string, variables: Record<string, unknown>) {
      const repository: Record<string, unknown> = {
        nameWithOwner: "acme/payments",
        defaultBranchRef: { name: "main" },
        policy: null,
      };
      for (const [k, v] of Object.entries(variables))
        if (/^c\d+$/.test(k))
          repository[k] = {
            oid: v,
            associatedPullRequests: { nodes: [{ number: 1, merged: true, baseRefName: "main" }] },
          };
      return { data: { repository, org: { policy: null } }, errors: [] };
    },
  } as unknown as GraphqlReader;
  const deps = { ...quietDeps(reader, []), octokit: octokit as never, heads };
  const first = await scanPushes(deps, "acme/payments", WINDOW, "scan-1");
  expect(first.truncated).toEqual(["acme/payments main"]);
  expect(first.commits).toBe(2000);
  expect(pages).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  // Dated by the push that brought them (the activity's chain S -> T, read once), not their 2019 date,
  // though the walk stopped short of T at the bound.
  const pushedAt = async (sha: string) =>
    JSON.parse(
      (
        await store.db
          .selectFrom("audit_record")
          .select(["payload"])
          .where("kind", "=", "direct_push")
          .where("head_sha", "=", sha)
          .executeTakeFirstOrThrow()
      ).payload,
    ) as Record<string, unknown>;
  expect(activityReads).toBe(1);
  expect(await pushedAt(sha(0))).toMatchObject({
    pushedAt: "2026-11-30T12:00:00.000Z",
    pusher: "mallory",
    committedAt: "2019-01-01T00:00:00Z",
  });
  expect((await pushedAt(sha(1999))).pushedAt).toBe("2026-11-30T12:00:00.000Z");
  expect(await heads.get("acme/payments", "main")).toEqual({
    head: S,
    walk: { target: T, stop: S, cursor: "21" },
  });
  pages.length = 0;
  const second = await scanPushes(deps, "acme/payments", WINDOW, "scan-2");
  expect(second.truncated).toEqual([]);
  expect(second.commits).toBe(500);
  expect(pages).toEqual([21, 22, 23, 24, 25]);
  // A walk continued from an earlier run: its positions are not the chain's to place, so the time found.
  expect(activityReads).toBe(1);
  expect(await pushedAt(sha(2000))).toMatchObject({
    pushedAtIsWhenFound: true,
    pusher: null,
    committedAt: "2019-01-01T00:00:00Z",
  });
  expect(await heads.get("acme/payments", "main")).toEqual({ head: T, walk: null });
  pages.length = 0;
  expect((await scanPushes(deps, "acme/payments", WINDOW, "scan-3")).commits).toBe(0);
  expect(pages).toEqual([]); // the head on record is today's: no compare at all
});

/**
 * The refs walk against the push webhook: the scan lists main at L, then a push to main is examined
 * and moves the head on record to X (a descendant of L). compare(X...L) answers "behind": that is not
 * a rewrite, and no force push may be recorded (the record could never be taken back). A branch that
 * really went back (still at L when read again) is one.
 */
describe("a branch that moved while the scan ran is not a force push", () => {
  const L = "3".repeat(40);
  const X = "4".repeat(40);
  function setup(listedAfter: string) {
    let listings = 0;
    const octokit = {
      async request(route: string, p: Record<string, unknown>) {
        if (route === "GET /repos/{owner}/{repo}/branches")
          return { data: [{ name: "main", commit: { sha: listings++ === 0 ? L : listedAfter } }] };
        // GitHub's repository activity lists no force push: the record keeps the time it was found.
        if (route === "GET /repos/{owner}/{repo}/activity") return { data: [] };
        expect(route).toBe("GET /repos/{owner}/{repo}/compare/{basehead}");
        // After a rewrite the new line is walked from the merge base (L itself here: nothing new).
        if (p.basehead === `${L}...${L}`)
          return {
            data: { status: "identical", total_commits: 0, merge_base_commit: { sha: L }, commits: [] },
          };
        expect(p.basehead).toBe(`${X}...${L}`);
        return { data: { status: "behind", total_commits: 0, merge_base_commit: { sha: L }, commits: [] } };
      },
    };
    const reader = {
      reads: 0,
      async query() {
        return {
          data: {
            repository: { nameWithOwner: "acme/payments", defaultBranchRef: { name: "main" }, policy: null },
            org: { policy: null },
          },
          errors: [],
        };
      },
    } as unknown as GraphqlReader;
    return { octokit, reader };
  }

  test("moved on (read again, main is past the listed head): nothing recorded, the head on record kept", async () => {
    const { SqlBranchHeads } = await import("../../src/audit/branch-head.js");
    const heads = new SqlBranchHeads(store.db);
    await heads.set("acme/payments", "main", { head: X, walk: null });
    const { octokit, reader } = setup(X);
    const s = await scanPushes(
      { ...quietDeps(reader, []), octokit: octokit as never, heads },
      "acme/payments",
      WINDOW,
      "scan-race",
    );
    expect(s.forced).toEqual([]);
    expect(s.recorded).toEqual([]);
    expect(await heads.get("acme/payments", "main")).toEqual({ head: X, walk: null });
  });

  test("really went back (still at the listed head when read again): recorded as a force push found by the scan", async () => {
    const { SqlBranchHeads } = await import("../../src/audit/branch-head.js");
    const heads = new SqlBranchHeads(store.db);
    await heads.set("acme/payments", "main", { head: X, walk: null });
    const { octokit, reader } = setup(L);
    const s = await scanPushes(
      { ...quietDeps(reader, []), octokit: octokit as never, heads },
      "acme/payments",
      WINDOW,
      "scan-rewind",
    );
    expect(s.forced.map((f) => [f.branch, f.before, f.after])).toEqual([["main", X, L]]);
  });
});

test("a walk whose ends GitHub no longer knows starts over by the window, instead of failing every later run", async () => {
  const { SqlBranchHeads } = await import("../../src/audit/branch-head.js");
  const S = "5".repeat(40);
  const T = "6".repeat(40);
  const heads = new SqlBranchHeads(store.db);
  await heads.set("acme/payments", "main", { head: S, walk: { target: T, stop: S, cursor: "3" } });
  const octokit = {
    async request(route: string) {
      if (route === "GET /repos/{owner}/{repo}/branches")
        return { data: [{ name: "main", commit: { sha: T } }] };
      throw Object.assign(new Error("Not Found"), { status: 404 });
    },
  };
  const queries: string[] = [];
  const deps = { ...quietDeps(github(queries), []), octokit: octokit as never, heads };
  const s = await scanPushes(deps, "acme/payments", WINDOW, "scan-gone");
  // The window was read instead (the history query), and the head on record is today's.
  expect(queries.some((q) => q.startsWith("ChangegateHistory") || q.includes("History"))).toBe(true);
  expect(s.commits).toBeGreaterThan(0);
  expect(await heads.get("acme/payments", "main")).toEqual({ head: T, walk: null });
});
