/**
 * push events through a real Probot instance, GitHub as nock, a real SQLite audit store: a direct
 * push recorded and reported (log, bypass issue, metric), a force push with before/after, a PR's
 * merge push is not a direct push, an ungated branch and a tag push ignored, a redelivery recorded
 * once. Exact request lists: ONE GraphQL read per push.
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

async function app(): Promise<Harness> {
  const writer = new ChainWriter(store);
  return harness({ recorder: writer, directPush: new ChainDirectPush(writer), overdueIntervalMs: 0, now: () => new Date("2026-11-20T10:00:00Z") });
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
    .reply(200, pushAnswer([[A, []]]))
    .get("/repos/acme/compliance/issues")
    .query(true)
    .reply(200, [])
    .post("/repos/acme/compliance/issues", (b: { body: string; labels: string[] }) => b.body.includes("Direct push") && b.body.includes("`mallory`") && b.labels.includes("changegate-bypass"))
    .reply(201, { number: 9 });
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(scope.pendingMocks()).toStrictEqual([]);
  expect(calls(requests)).toStrictEqual(["POST /graphql", "GET /repos/acme/compliance/issues", "POST /repos/acme/compliance/issues"]);
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
    .times(2)
    .reply(200, pushAnswer([[A, []]], "{}\n"));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent(), "push-1");
  await h.deliver("push", pushEvent(), "push-1");
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
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
