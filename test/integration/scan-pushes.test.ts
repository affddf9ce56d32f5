/**
 * The scan finds direct pushes whose push events were missed: the gated branch's history in the
 * window against the records. A commit of a merged PR is not one; a commit already on record (the
 * webhook's) is not recorded again; a second scan records nothing. Exact GraphQL request list.
 */
import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import { scanPushes } from "../../src/runtime/scan-pushes.js";

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

const commit = (oid: string, author: string, prs: { number: number; merged: boolean; baseRefName: string }[]) => ({
  oid,
  committedDate: "2026-11-20T08:00:00Z",
  author: { name: author, user: { login: author } },
  associatedPullRequests: { nodes: prs },
});

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
      queries.push(`${name}${variables.after ? ` after=${variables.after}` : ""}${variables.ref ? ` ${variables.ref}` : ""}`);
      if (name === "ChangegatePush") {
        return { data: { repository: { nameWithOwner: "acme/payments", defaultBranchRef: { name: "main" }, policy: { text: "branches: [main, release/*]\n", isTruncated: false } }, org: { policy: null } }, errors: [] };
      }
      const page1 = { pageInfo: { hasNextPage: true, endCursor: "p2" }, nodes: [commit(A, "mallory", []), commit(B, "dev", [{ number: 4, merged: true, baseRefName: "main" }])] };
      const page2 = { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [commit(C, "eve", [{ number: 5, merged: false, baseRefName: "main" }])] };
      return { data: { repository: { ref: { target: { history: variables.after ? page2 : page1 } } } }, errors: [] };
    },
  } as GraphqlReader;
}

test("the scan records the missed direct pushes of a gated branch once", async () => {
  const writer = new ChainWriter(store);
  const pushes = new ChainDirectPush(writer);
  const logs: string[] = [];
  const log = { info: (_o: object, m: string) => logs.push(m), warn: (_o: object, m: string) => logs.push(m), error: (_o: object, m: string) => logs.push(m) };
  // C's push was seen by the webhook already.
  await pushes.recordDirectPush({ at: "2026-11-20T08:01:00Z", deliveryId: "hook", installationId: 77, owner: "acme", repo: "payments", branch: "main", pusher: "eve", before: B, after: C, forced: false, commitsWithoutPr: [C], examined: 1, pushedAt: "2026-11-20T08:01:00Z", policySource: "defaults" });
  const queries: string[] = [];
  const deps = { store: pushes, octokit: { request: async () => ({ data: {} }) } as never, reader: github(queries), installationId: 77, now: () => new Date("2026-11-21T00:00:00Z"), log };
  const window = { from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z" };
  const first = await scanPushes(deps, "acme/payments", window, "scan-1");
  // release/* is a glob: only the literal gated branches are walked.
  expect(queries).toStrictEqual(["ChangegatePush", "ChangegateBranchHistory refs/heads/main", "ChangegateBranchHistory after=p2 refs/heads/main"]);
  expect(first.recorded.map((r) => r.sha)).toStrictEqual([A]);
  expect(first.commits).toBe(3);
  expect(logs.filter((l) => l.includes("is non-compliant!"))).toStrictEqual([`direct push to acme/payments main (commit ${A.slice(0, 12)} by mallory) is non-compliant! no merged pull request (found by the scan)`]);
  const rows = await store.db.selectFrom("audit_record").selectAll().where("kind", "=", "direct_push").orderBy("seq").execute();
  expect(rows.map((r) => r.head_sha)).toStrictEqual([C, A]);
  expect(JSON.parse(rows[1]!.payload)).toMatchObject({ foundBy: "scan", author: "mallory", before: null, after: A, branch: "main" });

  const second = await scanPushes({ ...deps, reader: github([]) }, "acme/payments", window, "scan-2");
  expect(second.recorded).toStrictEqual([]);
  expect(await store.db.selectFrom("audit_record").select("seq").where("kind", "=", "direct_push").execute()).toHaveLength(2);
});
