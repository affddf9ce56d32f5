/**
 * Org floors and the merge queue inside one process: real Probot, GitHub as nock, exact requests.
 * Floors come in the one evidence read; a merge group costs one queue read and one check write.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import type { OwnVerdict, Recorder } from "../../src/audit/recorder.js";
import { gather } from "../../src/github/gather.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import { evidenceData, HEAD, INSTALLATION_ID } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Recorded } from "../helpers/probot.js";
import { GITHUB_WRITE_LIMITS, MemoryWriteLimiter } from "../../src/github/write-limits.js";
import { WriteScheduler } from "../../src/github/write-scheduler.js";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";

const REPO_PATH = "/repos/acme/payments";
const BASE_SHA = "b".repeat(40);
const GROUP = "9".repeat(40);
const ORG =
  "approvals:\n  required: 1\nenforce:\n  approvals:\n    required: 2\n  ci:\n    required: [build]\n";

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const calls = (requests: Recorded[]) => requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);

describe("org floors", () => {
  test("a repository file asking for less: one read, the floor wins, the digest says which key and why", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          policy: "approvals:\n  required: 0\n",
          orgPolicy: ORG,
          reviews: [{ login: "alice" }],
        }),
      })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(requests[0]!.body).toMatchObject({ variables: { readOrg: true } });
    const check = requests[1]!.body as { conclusion: string; output: { title: string } };
    const comment = (requests[2]!.body as { body: string }).body;
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toContain("1 of 2 required");
    expect(comment).toContain("Org floors applied");
    expect(comment).toContain("`approvals.required`");
    expect(comment).toContain("`ci.required`");
  });

  test("an invalid org file fails a repository that has its own valid file, naming the org file", async () => {
    const h = await harness();
    const scope = mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          policy: "approvals:\n  required: 3\n",
          orgPolicy: "enforce:\n  approvals:\n    required: lots\n",
          reviews: [{ login: "alice" }],
        }),
      })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(calls(requests)).toHaveLength(3);
    const check = requests[1]!.body as { conclusion: string; output: { title: string } };
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toContain("acme/.github:.github/changegate.yml");
  });
});

describe("the owner's .github repository itself", () => {
  test("is not read twice: readOrg is false and its own file is also the org file", async () => {
    const variables: Record<string, unknown>[] = [];
    const reader = {
      reads: 0,
      query: async (_q: string, v: Record<string, unknown>) => {
        variables.push(v);
        return { data: evidenceData({ policy: ORG, reviews: [{ login: "alice" }] }), errors: [] };
      },
    } as unknown as GraphqlReader;
    const g = await gather(
      reader,
      { installationId: INSTALLATION_ID, owner: "acme", repo: ".github", number: 1 },
      1,
    );
    expect(variables).toEqual([expect.objectContaining({ readOrg: false })]);
    expect(g.configFiles.orgFile).toEqual({
      repo: "acme/.github",
      path: ".github/changegate.yml",
      text: ORG,
    });
    const other = await gather(
      reader,
      { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
      1,
    );
    expect(variables[1]).toMatchObject({ readOrg: true });
    expect(other.configFiles.orgFile).toBeNull();
  });
});

function recorderWith(verdicts: OwnVerdict[], down = false): Recorder & { groups: unknown[] } {
  const groups: unknown[] = [];
  return {
    groups,
    recordEvaluation: async () => undefined,
    recordMerge: async () => null,
    verdictsAt: async (_repo, headSha, numbers) => {
      if (down) throw new Error("ECONNREFUSED");
      return new Map(
        verdicts.filter((v) => v.headSha === headSha && numbers.includes(v.number)).map((v) => [v.number, v]),
      );
    },
    recordMergeGroup: async (rec) => {
      if (down) throw new Error("ECONNREFUSED");
      groups.push(rec);
    },
  };
}

function mergeGroupEvent(action: string, extra: Record<string, unknown> = {}) {
  return {
    action,
    ...extra,
    installation: { id: INSTALLATION_ID },
    repository: { id: 1, name: "payments", full_name: "acme/payments", owner: { login: "acme" } },
    merge_group: {
      head_sha: GROUP,
      head_ref: `refs/heads/gh-readonly-queue/main/pr-1-${BASE_SHA}`,
      base_sha: BASE_SHA,
      base_ref: "refs/heads/main",
      head_commit: { id: GROUP },
    },
    sender: { login: "github-merge-queue[bot]" },
  };
}

const QUEUE = {
  repository: {
    mergeQueue: {
      entries: {
        pageInfo: { hasNextPage: false },
        nodes: [{ position: 1, headCommit: { oid: GROUP }, pullRequest: { number: 1, headRefOid: HEAD } }],
      },
    },
  },
};
const own = (outcome: OwnVerdict["outcome"]): OwnVerdict => ({
  number: 1,
  headSha: HEAD,
  base: "main",
  outcome,
  gated: true,
  emergency: false,
  title: "t",
});

describe("merge queue", () => {
  for (const [name, recorder, conclusion] of [
    ["compliant PR: success", recorderWith([own("success")]), "success"],
    ["non-compliant PR: failure", recorderWith([own("failure")]), "failure"],
    ["store down: failure", recorderWith([own("success")], true), "failure"],
  ] as const) {
    test(`checks_requested, ${name}; one queue read, one check on the group's head`, async () => {
      const h = await harness({ recorder });
      const scope = mockToken()
        .post("/graphql")
        .reply(200, { data: QUEUE })
        .post(`${REPO_PATH}/check-runs`)
        .reply(201, { id: 1 });
      const requests = recordRequests(scope);
      await h.deliver("merge_group", mergeGroupEvent("checks_requested"));
      expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
      expect(requests[1]!.body).toMatchObject({
        name: "changegate",
        head_sha: GROUP,
        status: "completed",
        conclusion,
      });
    });
  }

  test("the group's check goes through the write scheduler like every other write (issue 20 item 7)", async () => {
    const limits = { ...GITHUB_WRITE_LIMITS, minGapMs: 0 };
    const writes = new WriteScheduler({
      limiter: new MemoryWriteLimiter(limits),
      limits,
      log: () => undefined,
    });
    const h = await harness({ recorder: recorderWith([own("success")]), writes });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    await h.deliver("merge_group", mergeGroupEvent("checks_requested"));
    expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
    expect(writes.counts.sent).toBe(1);
  });

  test("destroyed: recorded, no request", async () => {
    const recorder = recorderWith([]);
    const h = await harness({ recorder });
    await h.deliver("merge_group", mergeGroupEvent("destroyed", { reason: "merged" }));
    expect(recorder.groups).toEqual([expect.objectContaining({ action: "destroyed", reason: "merged" })]);
  });
});

describe("merge queue through the intake (issue 19)", () => {
  test("the delivery is answered before the group is judged: a slow check write does not hold the webhook", async () => {
    const h = await harness({ recorder: recorderWith([own("success")]) });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .delay(1500)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    const started = performance.now();
    await h.probot.receive({
      id: "mg-slow",
      name: "merge_group",
      payload: mergeGroupEvent("checks_requested"),
    } as never);
    const answeredMs = performance.now() - started;
    expect(answeredMs).toBeLessThan(1000);
    await h.changegate.idle();
    expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
    expect(requests[1]!.body).toMatchObject({
      name: "changegate",
      head_sha: GROUP,
      status: "completed",
      conclusion: "success",
    });
  });

  test("a redelivered merge_group (same delivery id) is judged once: one queue read, one check, one record", async () => {
    const recorder = recorderWith([own("success")]);
    const h = await harness({ recorder });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    await h.deliver("merge_group", mergeGroupEvent("checks_requested"), "mg-again");
    await h.deliver("merge_group", mergeGroupEvent("checks_requested"), "mg-again");
    expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
    expect(recorder.groups).toHaveLength(1);
    expect(h.changegate.stats().duplicates).toBe(1);
  });

  test("a check write that fails is retried later like an evaluation, and the group's check is right in the end", async () => {
    const recorder = recorderWith([own("success")]);
    const h = await harness({ recorder, laterRetryMs: [20] });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .reply(502, { message: "Bad Gateway" })
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 2 });
    const requests = recordRequests(scope);
    await h.deliver("merge_group", mergeGroupEvent("checks_requested"), "mg-retry");
    const deadline = Date.now() + 5000;
    while (requests.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await h.changegate.idle();
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
    ]);
    expect(requests[3]!.body).toMatchObject({ name: "changegate", head_sha: GROUP, conclusion: "success" });
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a group the process died before judging is resumed from the ledger at start-up (as a group, not as its PR)", async () => {
    const ledger = new MemoryDeliveryLedger();
    await ledger.claim("mg-crash");
    await ledger.pending("mg-crash", [
      {
        ref: { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
        event: "merge_group.checks_requested",
        expectedHead: null,
        merge: false,
        group: {
          action: "checks_requested",
          reason: null,
          headSha: GROUP,
          headRef: `refs/heads/gh-readonly-queue/main/pr-1-${BASE_SHA}`,
          baseSha: BASE_SHA,
          baseRef: "refs/heads/main",
        },
      },
    ]);
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: QUEUE })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 1 });
    const requests = recordRequests(scope);
    const h = await harness({ recorder: recorderWith([own("success")]), ledger });
    expect(await h.changegate.resumed()).toBe(1);
    await h.changegate.idle();
    expect(calls(requests)).toEqual(["POST /graphql", `POST ${REPO_PATH}/check-runs`]);
    expect(requests[1]!.body).toMatchObject({ name: "changegate", head_sha: GROUP, conclusion: "success" });
    expect(await ledger.unfinished()).toStrictEqual([]);
    // The redelivery of the same id after the restart is a duplicate.
    await h.deliver("merge_group", mergeGroupEvent("checks_requested"), "mg-crash");
    expect(calls(requests)).toHaveLength(2);
  });
});
