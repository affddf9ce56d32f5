/**
 * Ways around the gate (issue 9), each closed: shared head commits, base retargets, forged merges,
 * an unreachable audit store, and failures that must still reach the PR. Real Probot + nock, exact
 * request lists.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { MemoryRecorder, type MergeRecord } from "../../src/audit/recorder.js";
import { DIGEST_MARKER } from "../../src/contract.js";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { evidenceData, HEAD, INSTALLATION_ID, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Recorded } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

interface CheckBody {
  head_sha?: string;
  status: string;
  conclusion?: string;
  output: { title: string; summary: string };
}

const calls = (rs: Recorded[]) => rs.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
const checks = (rs: Recorded[]) =>
  rs.filter((r) => r.path.includes("/check-runs")).map((r) => r.body as unknown as CheckBody);
const comments = (rs: Recorded[]) =>
  rs
    .filter((r) => r.method !== "GET" && r.path.includes("/comments"))
    .map((r) => (r.body as { body: string }).body);

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A merge-capturing recorder that keeps verdicts like the default one. */
class CapturingRecorder extends MemoryRecorder {
  readonly merges: MergeRecord[] = [];
  override async recordMerge(rec: MergeRecord) {
    this.merges.push(rec);
    return null;
  }
}

const failing = {
  id: 555,
  status: "COMPLETED",
  conclusion: "FAILURE",
  title: "Not compliant: approvals: 0 of 1 required",
  summary: "x",
};

describe("shared head commits", () => {
  test("a PR into an ungated branch with the head of a failing gated PR does not turn the shared check green", async () => {
    const h = await harness();
    // #1 feature → main: no approval, failure.
    const one = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ number: 1, reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    await h.deliver("pull_request", pullRequestEvent("opened", { number: 1 }));
    expect(one.pendingMocks()).toStrictEqual([]);

    // #2 feature → develop (not gated), same head: the check stays failing and names #1.
    const spec2: EvidenceSpec = {
      number: 2,
      base: "develop",
      sharedHead: [{ number: 1, base: "main" }],
      ownCheck: failing,
    };
    const two = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData(spec2) })
      .patch(`${REPO_PATH}/check-runs/555`)
      .reply(200, { id: 555 })
      // #2's verdict is new, so #1 (which shares the head) is evaluated again to refresh its digest.
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          number: 1,
          reviews: [],
          sharedHead: [{ number: 2, base: "develop" }],
          ownCheck: failing,
          digest: { id: 777, body: "old" },
        }),
      })
      .patch(`${REPO_PATH}/check-runs/555`)
      .optionally()
      .reply(200, { id: 555 })
      .patch(`${REPO_PATH}/issues/comments/777`)
      .optionally()
      .reply(200, { id: 777 });
    const requests = recordRequests(two);
    await h.deliver("pull_request", pullRequestEvent("opened", { number: 2, base: "develop" }));
    await h.changegate.idle();
    expect(two.pendingMocks()).toStrictEqual([]);
    const first = checks(requests)[0]!;
    expect(first.conclusion).toBe("failure");
    expect(first.output.title).toMatch(
      /^#1 into main \(same head commit\): Not compliant: approvals: 0 of 1 required/,
    );
    expect(first.output.summary).toContain("**#1 into `main`** is failing (Not compliant");
    expect(first.output.summary).toContain("not gated"); // #2's own verdict is still explained
    // #2 is not gated: no digest is created for it; #1's refreshed check stays failing.
    expect(comments(requests).every((c) => !c.includes("#1 into"))).toBe(true);
    expect(checks(requests).every((c) => c.conclusion === "failure")).toBe(true);
  });

  test("a gated sibling changegate has not judged at this head yet holds the check at waiting, and is evaluated", async () => {
    const h = await harness();
    const scope = mockToken()
      // #2 → main, approved: compliant on its own.
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          number: 2,
          reviews: [{ login: "alice" }],
          sharedHead: [{ number: 1, base: "main" }],
        }),
      })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/2/comments`)
      .reply(201, { id: 778 })
      // #1 → main, unapproved, judged next: failure.
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          number: 1,
          reviews: [],
          sharedHead: [{ number: 2, base: "main" }],
          ownCheck: { ...failing, status: "IN_PROGRESS", conclusion: null },
        }),
      })
      .patch(`${REPO_PATH}/check-runs/555`)
      .reply(200, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 779 })
      // #1's verdict is new: #2 is evaluated again and names #1 in its digest.
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          number: 2,
          reviews: [{ login: "alice" }],
          sharedHead: [{ number: 1, base: "main" }],
          ownCheck: failing,
          digest: { id: 778, body: "old" },
        }),
      })
      .patch(`${REPO_PATH}/check-runs/555`)
      .optionally()
      .reply(200, { id: 555 })
      .patch(`${REPO_PATH}/issues/comments/778`)
      .reply(200, { id: 778 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened", { number: 2 }));
    await until(() => scope.pendingMocks().length === 0);
    await h.changegate.idle();
    const [firstCheck, secondCheck] = checks(requests);
    expect(firstCheck).toMatchObject({ status: "in_progress" });
    expect(firstCheck!.output.title).toBe("Waiting: #1 into main (same head commit) has not been judged yet");
    expect(secondCheck).toMatchObject({ conclusion: "failure" });
    expect(secondCheck!.output.title).toMatch(/^Not compliant/);
    const digest2 = comments(requests).at(-1)!;
    expect(digest2).toContain("**#1 into `main`** is failing (Not compliant");
    expect(digest2).toContain("compliant — ready to merge"); // its own verdict, still explained
    expect(digest2).toContain(DIGEST_MARKER);
  });

  test("an unrecorded verdict asks no sharer to look again (a store that fails to record cannot start a loop)", async () => {
    const h = await harness({
      recorder: {
        recordEvaluation: async () => {
          throw new Error("disk full");
        },
        recordMerge: async () => null,
        verdictsAt: async () => new Map(),
      },
    });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ number: 2, sharedHead: [{ number: 1, base: "main" }] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .post(`${REPO_PATH}/issues/2/comments`)
      .reply(201, { id: 2 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened", { number: 2 }));
    await h.changegate.idle();
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/2/comments`,
    ]);
    expect(checks(requests)[0]).toMatchObject({ conclusion: "failure" });
    expect(h.logs.filter((l) => l.pr === 1)).toEqual([]); // #1 was not asked to evaluate
  });

  test("a fork's head branch the app cannot read does not fail the evaluation; other errors still do", async () => {
    const h = await harness();
    const data = evidenceData({ reviews: [{ login: "alice" }] }) as {
      repository: { pullRequest: Record<string, unknown> };
    };
    data.repository.pullRequest.headRef = null;
    const forbidden = {
      type: "FORBIDDEN",
      path: ["repository", "pullRequest", "headRef"],
      message: "Resource not accessible by integration",
    };
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data, errors: [forbidden] })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 2 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(checks(requests)[0]).toMatchObject({ conclusion: "success" });

    const other = {
      type: "FORBIDDEN",
      path: ["repository", "pullRequest", "reviews"],
      message: "Resource not accessible by integration",
    };
    const again = mockToken()
      .post("/graphql")
      .reply(200, { data, errors: [other] })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 3 })
      .patch(`${REPO_PATH}/issues/comments/2`)
      .reply(200, { id: 2 });
    const more = recordRequests(again);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(again.pendingMocks()).toStrictEqual([]);
    expect(checks(more)[0]).toMatchObject({ conclusion: "failure" });
    expect(checks(more)[0]!.output.title).toContain("reading the pull request");
  });

  test("PRs of other repositories, closed PRs and PRs with another head are not sharers", async () => {
    const h = await harness();
    const spec: EvidenceSpec = {
      number: 2,
      base: "develop",
      sharedHead: [
        { number: 1, base: "main", repo: "acme/other" },
        { number: 3, base: "main", state: "CLOSED" },
        { number: 4, base: "main", head: "d".repeat(40) },
      ],
    };
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData(spec) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened", { number: 2, base: "develop" }));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
    expect(checks(requests)[0]).toMatchObject({ conclusion: "success" });
  });
});

describe("merges", () => {
  test("a merge is judged by the PR's own verdict, not by a check a sibling turned green", async () => {
    const recorder = new CapturingRecorder();
    const h = await harness({ recorder });
    const one = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(one.pendingMocks()).toStrictEqual([]);
    const green = { id: 555, status: "COMPLETED", conclusion: "SUCCESS", title: "Not gated", summary: "x" };
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ state: "MERGED", mergedBy: "mallory", ownCheck: green }) });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(recorder.merges).toHaveLength(1);
    expect(recorder.merges[0]).toMatchObject({ outcome: "failure", gated: true, mergedBy: "mallory" });
    expect(h.logs.map((l) => l.msg)).toContainEqual(
      expect.stringMatching(
        /acme\/payments#1 merged by mallory is non-compliant! its verdict on aaaaaaa was failure/,
      ),
    );
  });

  test("a verdict for another base does not count: retargeted to an ungated branch and back, then merged", async () => {
    const recorder = new CapturingRecorder();
    const h = await harness({ recorder });
    // Judged while into develop (not gated): success.
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ base: "develop" }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 });
    await h.deliver("pull_request", pullRequestEvent("edited", { base: "develop" }));
    // Retargeted to main and merged before changegate judged it there.
    mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({ state: "MERGED", ownCheck: { ...failing, conclusion: "SUCCESS" } }),
      });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(recorder.merges[0]).toMatchObject({ outcome: "none", gated: true });
    expect(h.logs.map((l) => l.msg)).toContainEqual(
      expect.stringContaining("is non-compliant! changegate never judged aaaaaaa into main"),
    );
  });

  test("a merge GitHub does not confirm is not recorded", async () => {
    for (const state of ["OPEN", "CLOSED"] as const) {
      const recorder = new CapturingRecorder();
      const h = await harness({ recorder });
      const scope = mockToken()
        .post("/graphql")
        .reply(200, { data: evidenceData({ state }) });
      await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
      expect(scope.pendingMocks()).toStrictEqual([]);
      expect(recorder.merges).toEqual([]);
      expect(h.logs.map((l) => l.msg)).toContainEqual(
        expect.stringContaining(`GitHub says the pull request is ${state.toLowerCase()}: nothing recorded`),
      );
      expect(h.logs.some((l) => l.msg.includes("is non-compliant!"))).toBe(false);
    }
  });
});

describe("the audit store down", () => {
  test("a delivery the store cannot claim fails the check on the payload's head, then is retried", async () => {
    const inner = new MemoryDeliveryLedger();
    let down = true;
    const ledger = {
      claim: async (id: string) => {
        if (down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        return inner.claim(id);
      },
      pending: inner.pending.bind(inner),
      complete: inner.complete.bind(inner),
      unfinished: inner.unfinished.bind(inner),
    };
    const h = await harness({ ledger, laterRetryMs: [50] });
    const scope = mockToken()
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 9 })
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [{ login: "alice" }] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 10 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(checks(requests)).toHaveLength(1);
    expect(checks(requests)[0]).toMatchObject({ head_sha: HEAD, status: "completed", conclusion: "failure" });
    expect(checks(requests)[0]!.output.title).toContain("audit store");
    down = false;
    await until(() => scope.pendingMocks().length === 0);
    await h.changegate.idle();
    expect(calls(requests)).toEqual([
      `POST ${REPO_PATH}/check-runs`,
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(checks(requests)[1]).toMatchObject({ conclusion: "success" });
  });

  test("a delivery the store cannot queue fails the check too", async () => {
    const inner = new MemoryDeliveryLedger();
    const ledger = {
      claim: inner.claim.bind(inner),
      pending: async () => {
        throw new Error("SQLITE_FULL: database or disk is full");
      },
      complete: inner.complete.bind(inner),
      unfinished: inner.unfinished.bind(inner),
    };
    const h = await harness({ ledger, laterRetryMs: [] });
    const scope = mockToken().post(`${REPO_PATH}/check-runs`).reply(201, { id: 9 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(checks(requests)[0]).toMatchObject({ head_sha: HEAD, conclusion: "failure" });
    expect(h.logs.map((l) => l.msg)).toContainEqual(expect.stringContaining("giving up on a delivery"));
  });

  test("the PR lock failing (it lives in the store) fails the check on the announced head", async () => {
    const prLock = {
      withPrLock: async () => {
        throw new Error("the lock pool is exhausted");
      },
    };
    const h = await harness({ prLock });
    const scope = mockToken().post(`${REPO_PATH}/check-runs`).reply(201, { id: 9 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(checks(requests)[0]).toMatchObject({ head_sha: HEAD, conclusion: "failure" });
    expect(checks(requests)[0]!.output.title).toContain("audit store");
  });
});

describe("failures reach the PR", () => {
  test("a first failure creates the digest with the failure report", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(502, { message: "Bad gateway" })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 9 })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 780 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(comments(requests)[0]).toContain("changegate failed");
    expect(comments(requests)[0]).toContain(DIGEST_MARKER);
  });

  test("no digest is created when changegate could not look for an existing one, nor for a PR known to be ungated", async () => {
    const h = await harness();
    // Known ungated from an earlier read.
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ base: "develop" }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 });
    await h.deliver("pull_request", pullRequestEvent("opened", { base: "develop" }));
    const scope = mockToken()
      .post("/graphql")
      .reply(502, { message: "Bad gateway" })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 9 })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, []);
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize", { base: "develop" }));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(comments(requests)).toEqual([]);
  });

  test("an evaluation with no announced head (Jira, re-check, reconcile) fails the head it last saw", async () => {
    const h = await harness();
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ reviews: [] }) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    await h.deliver("pull_request", pullRequestEvent("opened"));
    const scope = mockToken()
      .post("/graphql")
      .reply(502, { message: "Bad gateway" })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 9 })
      .patch(`${REPO_PATH}/issues/comments/777`)
      .reply(200, { id: 777 });
    const requests = recordRequests(scope);
    await h.changegate.request({
      ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
      deliveryId: "jira-1",
      event: "jira: OPS-1 changed",
    });
    await h.changegate.idle();
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(checks(requests)[0]).toMatchObject({ head_sha: HEAD, conclusion: "failure" });
  });
});
