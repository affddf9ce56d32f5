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
  return harness({
    recorder: writer,
    directPush: new ChainDirectPush(writer),
    overdueIntervalMs: 0,
    now: () => new Date("2026-11-20T10:00:00Z"),
    sleep: async (ms) => void waits.push(ms),
    ...over,
  });
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
    repository: {
      name: "payments",
      full_name: "acme/payments",
      owner: { login: "acme" },
      pushed_at: 1795687200,
    },
    commits: [{ id: A, message: "straight to main" }],
    ...over,
  };
}

type Prs = { number: number; merged: boolean; baseRefName: string }[];

function pushAnswer(
  commits: [string, Prs][],
  policy: string | null = "audit:\n  issue_repo: acme/compliance\n",
) {
  const repository: Record<string, unknown> = {
    nameWithOwner: "acme/payments",
    defaultBranchRef: { name: "main" },
    policy: policy === null ? null : { text: policy, isTruncated: false },
  };
  // GitHub names each PR's base repository (only this repository's PRs cover a commit).
  commits.forEach(
    ([oid, prs], i) =>
      (repository[`c${i}`] = {
        oid,
        associatedPullRequests: {
          nodes: prs.map((p) => ({ ...p, baseRepository: { nameWithOwner: "acme/payments" } })),
        },
      }),
  );
  return { data: { repository, org: { policy: null } } };
}

function calls(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
}

async function pushRecords() {
  return store.db
    .selectFrom("audit_record")
    .selectAll()
    .where("kind", "=", "direct_push")
    .orderBy("seq")
    .execute();
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
    .post(
      "/repos/acme/compliance/issues",
      (b: { body: string; labels: string[] }) =>
        b.body.includes("Direct push") &&
        b.body.includes("`mallory`") &&
        b.labels.includes("changegate-bypass"),
    )
    .reply(201, { number: 9 });
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(scope.pendingMocks()).toStrictEqual([]);
  // The push's read, and the re-read of the commit without a PR after DIRECT_PUSH_RECHECK_MS (15 s by default).
  expect(calls(requests)).toStrictEqual([
    "POST /graphql",
    "POST /graphql",
    "GET /repos/acme/compliance/issues",
    "POST /repos/acme/compliance/issues",
  ]);
  expect(waits).toStrictEqual([15_000]);
  const [rec] = await pushRecords();
  expect(rec).toMatchObject({
    kind: "direct_push",
    pr_number: 0,
    head_sha: A,
    outcome: "direct_push",
    bypass: 1,
    merged_at: "2026-11-26T10:00:00.000Z",
  });
  expect(JSON.parse(rec!.payload)).toMatchObject({
    pusher: "mallory",
    before: B,
    after: A,
    forced: false,
    commitsWithoutPr: [A],
    branch: "main",
    policySource: "acme/payments:.github/changegate.yml",
  });
  const line = h.logs.find((l) => l.msg.includes("is non-compliant!"));
  expect(line?.msg).toContain("acme/payments main by mallory");
  expect(
    await h.changegate.metrics.registry.getSingleMetricAsString("changegate_bypasses_detected_total"),
  ).toMatch(/ 1$/m);
  expect((await verifyChains(new AuditReader(store))).ok).toBe(true);
});

test("a push that cannot be examined (GitHub's answer unreadable) is logged and counted as an evaluation error, never recorded as compliant", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .reply(200, { data: { repository: "not a repository" } });
  await h.deliver("push", pushEvent());
  expect(scope.pendingMocks()).toStrictEqual([]);
  expect(h.logs.some((l) => l.msg === "a push could not be examined; the audit scan finds it later")).toBe(
    true,
  );
  expect(h.logs.some((l) => /compliant\)$/.test(l.msg))).toBe(false);
  expect(await h.changegate.metrics.registry.getSingleMetricAsString("changegate_evaluations_total")).toMatch(
    /kind="error"[^\n]* 1$/m,
  );
  expect(await pushRecords()).toHaveLength(0);
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
  expect(JSON.parse(rec!.payload)).toMatchObject({
    before: D,
    after: C,
    forced: true,
    commitsWithoutPr: [],
    policySource: "defaults",
  });
  expect(
    h.logs.some((l) => l.msg.startsWith("force push to acme/payments main by mallory is non-compliant!")),
  ).toBe(true);
});

test("the push of a PR's merge (its commits and merge commit) is not a direct push", async () => {
  const h = await app();
  const pr = [{ number: 7, merged: true, baseRefName: "main" }];
  const scope = mockToken()
    .post("/graphql")
    .reply(
      200,
      pushAnswer([
        [C, pr],
        [A, pr],
      ]),
    );
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ commits: [{ id: C }, { id: A }] }));
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(await pushRecords()).toHaveLength(0);
  expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
});

test("a push to an ungated branch is ignored; tag pushes and deleted branches are not even read", async () => {
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .reply(200, pushAnswer([[A, []]]));
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

/** A merge on record, as the pull_request.closed webhook (flows/merge.ts) writes it. */
async function recordMerge(over: {
  number: number;
  headSha: string;
  mergeCommitSha: string;
  baseRef?: string;
  title?: string;
}) {
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
    .reply(
      200,
      pushAnswer([
        [C, [{ number: 7, merged: true, baseRefName: "main" }]],
        [A, []],
      ]),
    )
    .post(
      "/graphql",
      (b: { variables: Record<string, unknown> }) => b.variables.c0 === A && b.variables.c1 === undefined,
    )
    .reply(200, pushAnswer([[A, [{ number: 7, merged: true, baseRefName: "main" }]]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ commits: [{ id: C }, { id: A }] }));
  expect(scope.pendingMocks()).toStrictEqual([]);
  // Only the commit without a PR is read again.
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  expect(waits).toStrictEqual([15_000]);
  expect(await pushRecords()).toHaveLength(0);
  expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
  expect(
    await h.changegate.metrics.registry.getSingleMetricAsString("changegate_bypasses_detected_total"),
  ).not.toMatch(/ 1$/m);
});

test("the merge commit of a merge on record into this branch is that merge's: no wait, no re-read, nothing recorded", async () => {
  await recordMerge({ number: 7, headSha: C, mergeCommitSha: A, baseRef: "main" });
  const h = await app();
  const scope = mockToken()
    .post("/graphql")
    .reply(200, pushAnswer([[A, []]]));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(waits).toStrictEqual([]);
  expect(await pushRecords()).toHaveLength(0);
});

test("a merge on record into another branch, an older merge record without its base, or a forged title cover nothing", async () => {
  await recordMerge({ number: 7, headSha: C, mergeCommitSha: A, baseRef: "develop" });
  await recordMerge({ number: 8, headSha: D, mergeCommitSha: A });
  await recordMerge({
    number: 9,
    headSha: D,
    mergeCommitSha: D,
    baseRef: "main",
    title: `"mergeCommitSha":"${A}"`,
  });
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
    .reply(
      200,
      pushAnswer(
        [
          [C, []],
          [A, []],
        ],
        null,
      ),
    )
    .post("/graphql")
    .reply(
      200,
      pushAnswer(
        [
          [C, [{ number: 7, merged: true, baseRefName: "main" }]],
          [A, []],
        ],
        null,
      ),
    );
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

// ---------------------------------------------------------------- issue 11: large pushes and a push that changes the policy

/** The n-th fake commit sha (40 hex). */
const sha = (n: number) => `f${n.toString(16).padStart(39, "0")}`;

/**
 * GitHub answering ChangegatePush from its variables: each asked commit (c0..cN) with `prsOf`'s
 * PRs, the policy at HEAD, and at the asked `before` (beforeRev/beforeExpr) the `beforePolicy`
 * (`unknown`: GitHub does not know the commit).
 */
function answerPush(o: {
  head: string | null;
  before?: string | null | "unknown";
  prsOf: (oid: string) => Prs;
}) {
  return (_uri: string, body: { variables: Record<string, unknown> }) => {
    const v = body.variables;
    const repository: Record<string, unknown> = {
      nameWithOwner: "acme/payments",
      defaultBranchRef: { name: "main" },
      policy: o.head === null ? null : { text: o.head, isTruncated: false },
    };
    if (v.readBefore) {
      const known = o.before !== "unknown";
      repository.beforeCommit = known ? { oid: v.beforeRev } : null;
      repository.policyBefore =
        known && typeof o.before === "string" ? { text: o.before, isTruncated: false } : null;
    }
    for (const [k, oid] of Object.entries(v))
      if (/^c\d+$/.test(k))
        repository[k] = { oid, associatedPullRequests: { nodes: o.prsOf(oid as string) } };
    return { data: { repository, org: { policy: null } } };
  };
}
const MERGED = [
  { number: 7, merged: true, baseRefName: "main", baseRepository: { nameWithOwner: "acme/payments" } },
];
const asked = (r: Recorded) =>
  Object.keys((r.body.variables ?? {}) as Record<string, unknown>).filter((k) => /^c\d+$/.test(k)).length;

test("a push of 101 commits is read whole, 21 commits a read: an early commit without a PR is found and recorded", async () => {
  const h = await app({ directPushRecheckMs: 0 });
  const commits = Array.from({ length: 101 }, (_, i) => ({ id: sha(i + 1) }));
  const early = sha(1);
  const scope = mockToken()
    .post("/graphql")
    .times(6)
    .reply(200, answerPush({ head: null, before: null, prsOf: (oid) => (oid === early ? [] : MERGED) }));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ after: sha(101), commits }));
  expect(scope.pendingMocks()).toStrictEqual([]);
  // ceil(101 / 21) = 5 reads of the push (the first also reads the policy before and after), then one re-read of the commit without a PR.
  expect(calls(requests)).toStrictEqual(Array(6).fill("POST /graphql"));
  expect(requests.map(asked)).toStrictEqual([21, 21, 21, 21, 17, 1]);
  expect(
    requests.map((r) => (r.body.variables as Record<string, unknown>).readBefore === true),
  ).toStrictEqual([true, false, false, false, false, false]);
  const [rec] = await pushRecords();
  expect(JSON.parse(rec!.payload)).toMatchObject({
    after: sha(101),
    commitsWithoutPr: [early],
    examined: 101,
  });
  expect(JSON.parse(rec!.payload).listTruncated).toBeUndefined();
});

test("a payload listing 2,048 commits (GitHub's limit, maybe cut short) is never judged compliant: recorded with listTruncated; 2,049 is refused", async () => {
  const h = await app({ directPushRecheckMs: 0 });
  const commits = Array.from({ length: 2048 }, (_, i) => ({ id: sha(i + 1) }));
  const scope = mockToken()
    .post("/graphql")
    .times(98)
    .reply(200, answerPush({ head: null, before: null, prsOf: () => MERGED }));
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent({ after: sha(2048), commits }));
  expect(scope.pendingMocks()).toStrictEqual([]);
  expect(requests).toHaveLength(98); // ceil(2048 / 21), no re-read: every listed commit has its merged PR
  const [rec] = await pushRecords();
  expect(rec).toMatchObject({ outcome: "direct_push", bypass: 1 });
  expect(JSON.parse(rec!.payload)).toMatchObject({
    commitsWithoutPr: [],
    examined: 2048,
    listTruncated: true,
  });
  expect(h.logs.find((l) => l.msg.includes("is non-compliant!"))?.msg).toContain("2,048");

  await h.deliver("push", pushEvent({ after: sha(2049), commits: [...commits, { id: sha(2049) }] }));
  expect(requests).toHaveLength(98);
  expect(h.logs.filter((l) => l.msg.includes("push event without the fields"))).toHaveLength(1);
});

test("a direct push to main that rewrites the policy to ungate main is gated by the policy before it (one read for both)", async () => {
  const h = await app({ directPushRecheckMs: 0 });
  const scope = mockToken()
    .post("/graphql")
    .times(2)
    .reply(
      200,
      answerPush({ head: "branches: [release]\n", before: "approvals:\n  required: 1\n", prsOf: () => [] }),
    );
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  expect(scope.pendingMocks()).toStrictEqual([]);
  expect(calls(requests)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  expect(requests[0]!.body.variables).toMatchObject({
    readBefore: true,
    beforeRev: B,
    beforeExpr: `${B}:.github/changegate.yml`,
    policyExpr: "HEAD:.github/changegate.yml",
  });
  const [rec] = await pushRecords();
  expect(JSON.parse(rec!.payload)).toMatchObject({
    after: A,
    commitsWithoutPr: [A],
    policySource: `acme/payments:.github/changegate.yml at ${B.slice(0, 12)} (before the push)`,
  });
});

test.each([
  [
    "an invalid policy",
    "branches: {not: a list}\n",
    `invalid policy (acme/payments:.github/changegate.yml) at ${B.slice(0, 12)} (before the push): every branch gated`,
  ],
  [
    "a commit GitHub does not know",
    "unknown",
    `the policy before the push is unknown (commit ${B.slice(0, 12)} unknown to GitHub): every branch gated`,
  ],
  ["no file (the defaults: main gated)", null, `defaults (in effect at ${B.slice(0, 12)}, before the push)`],
] as const)(
  "before the push, %s gates main (fail closed) though the policy after does not",
  async (_what, before, source) => {
    {
      const h = await app({ directPushRecheckMs: 0 });
      const scope = mockToken()
        .post("/graphql")
        .times(2)
        .reply(200, answerPush({ head: "branches: [release]\n", before, prsOf: () => [] }));
      await h.deliver("push", pushEvent());
      expect(scope.pendingMocks()).toStrictEqual([]);
      const recs = await pushRecords();
      expect(recs.map((r) => JSON.parse(r.payload).policySource)).toStrictEqual([source]);
    }
  },
);

test("ungated before and after: not recorded; a push to another branch or creating one is judged by the default branch's policy alone", async () => {
  const h = await app({ directPushRecheckMs: 0 });
  const scope = mockToken()
    .post("/graphql")
    .times(3)
    .reply(
      200,
      answerPush({ head: "branches: [release]\n", before: "branches: [release]\n", prsOf: () => [] }),
    );
  const requests = recordRequests(scope);
  await h.deliver("push", pushEvent());
  // A file on the feature branch at `before` that would gate it is not the policy (the default branch's is).
  nock.cleanAll();
  const scope2 = mockToken()
    .post("/graphql")
    .times(2)
    .reply(200, answerPush({ head: "branches: [release]\n", before: "branches: ['**']\n", prsOf: () => [] }));
  const more = recordRequests(scope2);
  await h.deliver("push", pushEvent({ ref: "refs/heads/feature/x" }));
  await h.deliver("push", pushEvent({ ref: "refs/heads/feature/y", created: true, before: "0".repeat(40) }));
  expect(calls(requests)).toStrictEqual(["POST /graphql"]);
  expect(calls(more)).toStrictEqual(["POST /graphql", "POST /graphql"]);
  expect((more[1]!.body.variables as Record<string, unknown>).readBefore).toBeUndefined();
  expect(await pushRecords()).toHaveLength(0);
  void scope;
});
