/**
 * push events through a real Probot instance, GitHub as nock, a real SQLite audit store: a direct
 * push recorded and reported (log, bypass issue, metric), a force push with before/after, a PR's
 * merge push is not a direct push, an ungated branch and a tag push ignored, a redelivery recorded
 * once. Exact request lists: ONE GraphQL read per push, and one more (after DIRECT_PUSH_RECHECK_MS)
 * only when a commit had no merged PR. A merge's push that GitHub had not linked yet (the re-read
 * finds the PR, or the merge is on record) is not a direct push; a force push back to an `after`
 * on record is recorded.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import { AuditReader } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";
import { INSTALLATION_ID } from "../helpers/fixtures.js";
import { harness, mockToken, recordRequests, type Harness, type Recorded } from "../helpers/probot.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const D = "d".repeat(40);

let dir: string;
let store: AuditStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "changegate-push-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  nock.disableNetConnect();
  store = await AuditStore.open(`sqlite:${join(dir, `${Math.random().toString(36).slice(2)}.db`)}`);
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
});

let waits: number[];
beforeEach(() => {
  waits = [];
});

async function app(over: Partial<Parameters<typeof harness>[0]> = {}): Promise<Harness> {
  const writer = new ChainWriter(store);
  return harness({ recorder: writer, directPush: new ChainDirectPush(writer), overdueIntervalMs: 0, now: () => new Date("2026-11-20T10:00:00Z"), sleep: async (ms) => void waits.push(ms), ...over });
}

function pushEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ref: "refs/heads/main",
    before: B,
    after: A,
    forced: false,
    deleted: false,
    created: false,
    pusher: { name: "mallory", email: "m@example.test" },
    installation: { id: INSTALLATION_ID },
    repository: { name: "payments", full_name: "acme/payments", owner: { login: "acme" }, pushed_at: 1795687200 },
    commits: [{ id: A, message: "straight to main" }],
    ...over,
  };
}

type Prs = { number: number; merged: boolean; baseRefName: string }[];

function pushAnswer(commits: [string, Prs][], policy: string | null = "audit:\n  issue_repo: acme/compliance\n") {
  const repository: Record<string, unknown> = {
    nameWithOwner: "acme/payments",
    defaultBranchRef: { name: "main" },
    policy: policy === null ? null : { text: policy, isTruncated: false },
  };
  commits.forEach(([oid, prs], i) => (repository[`c${i}`] = { oid, associatedPullRequests: { nodes: prs } }));
  return { data: { repository, org: { policy: null } } };
}

function calls(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
}

async function pushRecords() {
  return store.db.selectFrom("audit_record").selectAll().where("kind", "=", "direct_push").orderBy("seq").execute();
}

test("a direct push to a gated branch is recorded, logged as non-compliant, listed and counted", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .times(2)
    .reply(200, pushAnswer([[A, []]]))
    .get("/repos/acme/compliance/issues")
    .query(true)
    .reply(200, [])
    .post("/repos/acme/compliance/issues", (b: { body: string; labels: string[] }) => b.body.includes("Direct push") && b.body.includes("`mallory`") && b.labels.includes("changegate-bypass"))
    .reply(201, { number: 9 });
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(scope.pendingMocks()).toStrictEqual([]);
  // The push's read, and the re-read of the commit without a PR after DIRECT_PUSH_RECHECK_MS (15 s by default).
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql", "GET /repos/acme/compliance/issues", "POST /repos/acme/compliance/issues"]);
  expect(waits).toStrictEqual([15_000]);
  const [rec] = await pushRecords();
  expect(rec).toMatchObject({ kind: "direct_push", pr_number: 0, head_sha: A, outcome: "direct_push", bypass: 1, merged_at: "2026-11-26T10:00:00.000Z" });
  expect(JSON.parse(rec!.payload)).toMatchObject({ pusher: "mallory", before: B, after: A, forced: false, commitsWithoutPr: [A], branch: "main", policySource: "acme/payments:.github/changegate.yml" });
  const line = h.logs.find((l) => l.msg.includes("is non-compliant!"));
  expect(line?.msg).toContain("acme/payments main by mallory");
  expect(await h.changegate.metrics.registry.getSingleMetricAsString("changegate_bypasses_detected_total")).toMatch(/ 1$/m);
  expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
});

test("a force push is recorded with before and after even when every commit belongs to a merged PR", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .reply(200, pushAnswer([[C, [{ number: 5, merged: true, baseRefName: "main" }]]], null));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ forced: true, before: D, after: C, commits: [] }));
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  const [rec] = await pushRecords();
  expect(rec).toMatchObject({ outcome: "force_push", head_sha: C });
  expect(JSON.parse(rec!.payload)).toMatchObject({ before: D, after: C, forced: true, commitsWithoutPr: [], policySource: "defaults" });
  expect(h.logs.some((l) => l.msg.startsWith("force push to acme/payments main by mallory is non-compliant!"))).toBe(true);
});

test("the push of a PR's merge (its commits and merge commit) is not a direct push", async () => {
  const h = await app();
  const pr = [{ number: 7, merged: true, baseRefName: "main" }];
  const scope = mockToken().post("/graphql").reply(200, pushAnswer([[C, pr], [A, pr]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ commits: [{ id: C }, { id: A }] }));
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(await pushRecords()).toHaveLength(0);
  expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
});

test("a push to an ungated branch is ignored; tag pushes and deleted branches are not even read", async () => {
  const h = await app();
  const scope = mockToken().post("/graphql").reply(200, pushAnswer([[A, []]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ ref: "refs/heads/feature/x" }));
  await h.deliver("push", pushEvent({ ref: "refs/tags/v1.0.0" }));
  await h.deliver("push", pushEvent({ deleted: true, after: "0".repeat(40), commits: [] }));
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(await pushRecords()).toHaveLength(0);
});

test("a redelivery (or a second replica) records the push once and lists it once", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .times(4)
    .reply(200, pushAnswer([[A, []]], "{}\n"));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent(), "push-1");
  await h.deliver("push", pushEvent(), "push-1");
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql", "POST /graphql", "POST /graphql"]);
  expect(await pushRecords()).toHaveLength(1);
  expect(h.logs.filter((l) => l.msg.includes("is non-compliant!"))).toHaveLength(1);
});

test("a hostile payload is refused cheaply (no read, nothing recorded)", async () => {
  const h = await app();
  await h.deliver("push", pushEvent({ after: "not-a-sha" }));
  await h.deliver("push", pushEvent({ commits: Array.from({ length: 5000 }, () => ({ id: A })) }));
  expect(await pushRecords()).toHaveLength(0);
  expect(h.logs.filter((l) => l.msg.includes("push event without the fields"))).toHaveLength(2);
});

/** A merge on record, as the pull_request.closed webhook (runtime/merge.ts) writes it. */
async function recordMerge(over: { number: number; headSha: string; mergeCommitSha: string; baseRef?: string; title?: string }) {
  const writer = new ChainWriter(store);
  await writer.recordMerge({
    at: "2026-11-20T09:59:58Z",
    deliveryId: `merge-${over.number}`,
    ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: over.number },
    url: `https://github.com/acme/payments/pull/${over.number}`,
    title: over.title ?? "Speed up settlement",
    author: "dev",
    headSha: over.headSha,
    mergedBy: "carol",
    mergedAt: "2026-11-20T09:59:58Z",
    mergeCommitSha: over.mergeCommitSha,
    ...(over.baseRef ? { baseRef: over.baseRef } : {}),
    outcome: "success",
    emergency: false,
  });
}

test("a merge's push that GitHub had not linked to its PR yet: the re-read finds the merged PR, nothing is recorded", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .reply(200, pushAnswer([[C, [{ number: 7, merged: true, baseRefName: "main" }]], [A, []]]))
    .post("/graphql", (b: { variables: Record<string, unknown> }) => b.variables.c0 === A && b.variables.c1 === undefined)
    .reply(200, pushAnswer([[A, [{ number: 7, merged: true, baseRefName: "main" }]]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ commits: [{ id: C }, { id: A }] }));
  expect(scope.pendingMocks()).toStrictEqual([]);
  // Only the commit without a PR is read again.
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  expect(waits).toStrictEqual([15_000]);
  expect(await pushRecords()).toHaveLength(0);
  expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
  expect(await h.changegate.metrics.registry.getSingleMetricAsString("changegate_bypasses_detected_total")).not.toMatch(/ 1$/m);
});

test("the merge commit of a merge on record into this branch is that merge's: no wait, no re-read, nothing recorded", async () => {
  await recordMerge({ number: 7, headSha: C, mergeCommitSha: A, baseRef: "main" });
  const h = await app();
  const scope = mockToken().post("/graphql").reply(200, pushAnswer([[A, []]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(waits).toStrictEqual([]);
  expect(await pushRecords()).toHaveLength(0);
});

test("a merge on record into another branch, an older merge record without its base, or a forged title cover nothing", async () => {
  await recordMerge({ number: 7, headSha: C, mergeCommitSha: A, baseRef: "develop" });
  await recordMerge({ number: 8, headSha: D, mergeCommitSha: A });
  await recordMerge({ number: 9, headSha: D, mergeCommitSha: D, baseRef: "main", title: `"mergeCommitSha":"${A}"` });
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .times(2)
    .reply(200, pushAnswer([[A, []]], null));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  const [rec] = await pushRecords();
  expect(JSON.parse(rec!.payload)).toMatchObject({ after: A, commitsWithoutPr: [A] });
});

test("DIRECT_PUSH_RECHECK_MS=0: no wait, still one re-read; only the commits still without a PR are recorded", async () => {
  const h = await app({ directPushRecheckMs: 0 });
  const scope = mockToken()
    .post("/graphql")
    .reply(200, pushAnswer([[C, []], [A, []]], null))
    .post("/graphql")
    .reply(200, pushAnswer([[C, [{ number: 7, merged: true, baseRefName: "main" }]], [A, []]], null));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ commits: [{ id: C }, { id: A }] }));
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  expect(waits).toStrictEqual([]);
  const [rec] = await pushRecords();
  expect(JSON.parse(rec!.payload)).toMatchObject({ after: A, commitsWithoutPr: [A] });
});

test("a force push back to an `after` already on record is a change of its own; its redelivery is not", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .times(6)
    .reply(200, pushAnswer([[A, []]], null));
  // B → A (a direct push), then main reset away (C) and force-pushed back to A from C, then GitHub redelivers that force push.
  await h.deliver("push", pushEvent(), "push-1");
  await h.deliver("push", pushEvent({ forced: true, before: C, after: A, commits: [] }), "push-2");
  await h.deliver("push", pushEvent({ forced: true, before: C, after: A, commits: [] }), "push-2");
  expect(scope.pendingMocks()).toStrictEqual([]);
  const recs = await pushRecords();
  expect(recs.map((r) => [r.outcome, r.delivery_id, r.head_sha])).toStrictEqual([
    ["direct_push", "push-1", A],
    ["force_push", "push-2", A],
  ]);
  expect(JSON.parse(recs[1]!.payload)).toMatchObject({ before: C, after: A, forced: true });
  expect(h.logs.filter((l) => l.msg.includes("is non-compliant!"))).toHaveLength(2);
  expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
});
