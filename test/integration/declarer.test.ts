/**
 * Emergency declarers and unattributed commits through a real Probot instance, GitHub as nock.
 * The request budget: a PR without the emergency label makes no request beyond the one read; with
 * it, one more (the declarer's permission, or a team membership) — none when the declarer is listed.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { evidenceData, HEAD, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Recorded } from "../helpers/probot.js";
import type { EvaluationRecord, MergeRecord } from "../../src/audit/recorder.js";

const REPO_PATH = "/repos/acme/payments";

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

interface CheckBody {
  status: string;
  conclusion?: string;
  output: { title: string; summary: string };
}

function calls(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
}

async function recordingHarness(declaredOn: string | null = null) {
  const evaluations: EvaluationRecord[] = [];
  const merges: MergeRecord[] = [];
  const h = await harness({
    recorder: {
      recordEvaluation: async (rec) => {
        evaluations.push(rec);
      },
      recordMerge: async (rec) => {
        merges.push(rec);
        return { id: "acme/payments@1", duplicate: false };
      },
      verdictsAt: async () => new Map(),
      // The head an earlier evaluation recorded the declaration was made on (none by default).
      declaredOn: async () => declaredOn,
    },
  });
  return { h, evaluations, merges };
}

/** One evaluation: the read, `extra` (between read and writes), then the check and the comment. */
async function evaluateWith(spec: EvidenceSpec, extra: (s: nock.Scope) => nock.Scope = (s) => s) {
  const { h, evaluations } = await recordingHarness();
  const scope = extra(
    mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData(spec) }),
  )
    .post(`${REPO_PATH}/check-runs`)
    .reply(201, { id: 555 })
    .post(`${REPO_PATH}/issues/1/comments`)
    .reply(201, { id: 777 });
  const requests = recordRequests(scope);
  // GitHub's labeled delivery for the newest label event: who applied which label, the head then.
  const events = (spec.labelEvents ?? []).map((ev, i) => ({
    ...ev,
    at: ev.at ?? `2026-11-20T08:${String(i).padStart(2, "0")}:00Z`,
  }));
  const newest = events.sort((a, b) => b.at.localeCompare(a.at))[0];
  const sender = newest?.actor ? (newest.bot ? `${newest.actor}[bot]` : newest.actor) : "ghost";
  await h.deliver(
    "pull_request",
    pullRequestEvent("labeled", newest ? { label: newest.label, sender, updatedAt: newest.at } : {}),
  );
  expect(scope.pendingMocks()).toStrictEqual([]);
  const check = requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
  const comment = (requests.find((r) => r.path.includes("/comments"))!.body as { body: string }).body;
  return { requests, check, comment, record: evaluations[0]! };
}

const EMERGENCY: EvidenceSpec = {
  author: "dev",
  labels: ["emergency"],
  labelEvents: [
    { label: "bug", actor: "triager", at: "2026-11-20T02:00:00Z" },
    { label: "emergency", actor: "dev", at: "2026-11-20T03:00:00Z" },
  ],
  reviews: [],
  checks: [{ name: "build", conclusion: "FAILURE" }],
};
const PERMISSION = `${REPO_PATH}/collaborators/dev/permission`;

describe("emergency declarers", () => {
  test("no emergency label: exactly the read and the writes, no extra request", async () => {
    const r = await evaluateWith({
      reviews: [{ login: "alice" }],
      labelEvents: [{ label: "bug", actor: "dev" }],
      labels: ["bug"],
    });
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.record.verdict!.declaration).toBeUndefined();
  });

  test("the evidence read asks for the label events in the same query", async () => {
    const r = await evaluateWith({ reviews: [{ login: "alice" }] });
    expect(String(r.requests[0]!.body.query)).toContain(
      "timelineItems(last: 100, itemTypes: [LABELED_EVENT])",
    );
    expect(String(r.requests[0]!.body.query)).toContain("authors(first: 100)");
  });

  test("default: the author self-applies the label with write access → one extra request, emergency, declarer recorded", async () => {
    const r = await evaluateWith(EMERGENCY, (s) =>
      s.get(PERMISSION).reply(200, { permission: "write", role_name: "write", user: { login: "dev" } }),
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `GET ${PERMISSION}`,
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("success");
    expect(r.check.output.title).toContain("Emergency change");
    expect(r.comment).toContain(
      "Declared by @\u200bdev, who has write access. The label was applied at 2026-11-20 03:00 UTC.",
    );
    expect(r.record.verdict!.declaration).toMatchObject({
      declarer: "dev",
      at: "2026-11-20T03:00:00Z",
      accepted: true,
    });
  });

  test("default: a labeller with only triage access → ignored, normal rules, check not green", async () => {
    const r = await evaluateWith(EMERGENCY, (s) =>
      s.get(PERMISSION).reply(200, { permission: "read", role_name: "triage" }),
    );
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toMatch(/^Emergency label ignored · Not compliant/);
    expect(r.comment).toContain("who has no write access to the repository: judged by the normal rules");
  });

  test("default: the permission lookup failing is a failure report, not an emergency", async () => {
    const r = await evaluateWith(EMERGENCY, (s) => s.get(PERMISSION).reply(500, { message: "boom" }));
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).not.toContain("Emergency change");
    expect(r.record.verdict).toBeNull();
    expect(r.record.error).toBeTruthy();
  });

  test("allowed_declarers not naming the author: ignored with no extra request when only logins are listed, one per team otherwise", async () => {
    const listed = await evaluateWith({
      ...EMERGENCY,
      policy: "emergency:\n  allowed_declarers: [oncall-lead]\n",
    });
    expect(calls(listed.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(listed.check.conclusion).toBe("failure");
    expect(listed.comment).toContain(
      "who is not an allowed declarer \\(allowed: oncall\\-lead\\): judged by the normal rules",
    );
    expect(listed.record.verdict!.declaration).toMatchObject({ declarer: "dev", accepted: false });

    const team = await evaluateWith(
      { ...EMERGENCY, policy: "emergency:\n  allowed_declarers: [acme/sre]\n" },
      (s) => s.get("/orgs/acme/teams/sre/memberships/dev").reply(404, { message: "Not Found" }),
    );
    expect(calls(team.requests)).toEqual([
      "POST /graphql",
      "GET /orgs/acme/teams/sre/memberships/dev",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(team.check.conclusion).toBe("failure");
  });

  test("allowed_declarers: an active member of a listed team declares with one extra request", async () => {
    const r = await evaluateWith(
      { ...EMERGENCY, policy: "emergency:\n  allowed_declarers: [acme/sre]\n" },
      (s) => s.get("/orgs/acme/teams/sre/memberships/dev").reply(200, { state: "active", role: "member" }),
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      "GET /orgs/acme/teams/sre/memberships/dev",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("success");
    expect(r.comment).toContain("a member of acme/sre");
  });

  test("a rejected declaration with tickets.required: the tickets rule of the normal path still applies", async () => {
    const policy =
      "tickets:\n  required: true\n  projects: [OPS]\nemergency:\n  allowed_declarers: [oncall-lead]\n";
    const r = await evaluateWith({ ...EMERGENCY, policy });
    expect(r.check.conclusion).toBe("failure");
    const tickets = r.record.verdict!.rules.find((x) => x.rule === "tickets")!;
    expect(tickets.status).not.toBe("skipped");
  });

  test("a merge carrying a label applied by someone without write access is not recorded as an emergency", async () => {
    const { h, merges } = await recordingHarness();
    const scope = mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          ...EMERGENCY,
          state: "MERGED",
          ownCheck: { id: 5, status: "COMPLETED", conclusion: "SUCCESS", title: "x", summary: "y" },
        }),
      })
      .get(PERMISSION)
      .reply(200, { permission: "read", role_name: "triage" });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests)).toEqual(["POST /graphql", `GET ${PERMISSION}`]);
    expect(merges).toHaveLength(1);
    expect(merges[0]!.emergency).toBe(false);
  });

  test("a merge of an allowed emergency is recorded as one (declared on the merged head, as on record)", async () => {
    const { h, merges } = await recordingHarness(HEAD);
    mockToken()
      .post("/graphql")
      .reply(200, {
        data: evidenceData({
          ...EMERGENCY,
          state: "MERGED",
          ownCheck: { id: 5, status: "COMPLETED", conclusion: "SUCCESS", title: "x", summary: "y" },
        }),
      })
      .get(PERMISSION)
      .reply(200, { permission: "admin", role_name: "admin" });
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(merges.map((m) => m.emergency)).toEqual([true]);
  });

  test("a merge whose emergency was declared on another head, or on no head on record, is not an emergency", async () => {
    for (const declaredOn of ["e".repeat(40), null]) {
      const { h, merges } = await recordingHarness(declaredOn);
      mockToken()
        .post("/graphql")
        .reply(200, {
          data: evidenceData({
            ...EMERGENCY,
            state: "MERGED",
            ownCheck: { id: 5, status: "COMPLETED", conclusion: "SUCCESS", title: "x", summary: "y" },
          }),
        })
        .get(PERMISSION)
        .reply(200, { permission: "admin", role_name: "admin" });
      await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
      expect(merges.map((m) => m.emergency)).toEqual([false]);
    }
  });
});

describe("unattributed commits", () => {
  const ghost: EvidenceSpec = {
    author: "dev",
    commits: [
      { oid: "1".repeat(40), authors: ["dev"] },
      { authors: [null], committer: null },
    ],
    reviews: [{ login: "carol" }],
  };

  test("listed in the digest and the record; the approval still counts by default", async () => {
    const r = await evaluateWith(ghost);
    expect(r.check.conclusion).toBe("success");
    expect(r.comment).toContain("1 commit is not tied to a GitHub account");
    expect(r.comment).toContain("author Somebody Unlinked &lt;somebody@\u200bunlinked.example&gt;");
  });

  test("block_unattributed_commits: the approvals rule fails", async () => {
    const r = await evaluateWith({ ...ghost, policy: "approvals:\n  block_unattributed_commits: true\n" });
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toBe(
      "Not compliant: approvals: 1 of 1 required; 1 commit not tied to a GitHub account",
    );
  });

  test("a commit naming more co-authors than ten pages fails closed after ten page reads, not one per hundred", async () => {
    const { h } = await recordingHarness();
    const data = evidenceData({ author: "dev", reviews: [{ login: "carol" }] }) as {
      repository: { pullRequest: { commits: { nodes: { commit: { authors: Record<string, unknown> } }[] } } };
    };
    const page = (i: number) =>
      Array.from({ length: 100 }, (_, j) => ({
        name: `co${i}-${j}`,
        email: `co${i}-${j}@x.example`,
        user: null,
      }));
    data.repository.pullRequest.commits.nodes[0]!.commit.authors = {
      pageInfo: { hasNextPage: true, endCursor: "P0" },
      nodes: page(0),
    };
    const scope = mockToken().post("/graphql").reply(200, { data });
    for (let i = 1; i <= 10; i++) {
      scope
        .post(
          "/graphql",
          (b: { query: string; variables: { after: string } }) =>
            b.query.includes("ChangegateAuthors") && b.variables.after === `P${i - 1}`,
        )
        .reply(200, {
          data: { node: { page: { pageInfo: { hasNextPage: true, endCursor: `P${i}` }, nodes: page(i) } } },
        });
    }
    // Gather failed: the failure check on the announced head, and the report where the digest would be.
    scope
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
    const requests = recordRequests(scope);
    await h.deliver("pull_request", pullRequestEvent("synchronize"));
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests).filter((c) => c === "POST /graphql")).toHaveLength(11);
    const check = requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toContain("names more than 1100 authors");
  });

  test("co-authors beyond the first page are read: the 101st co-author's approval does not count", async () => {
    const { h } = await recordingHarness();
    const data = evidenceData({ author: "dev", reviews: [{ login: "carol" }] }) as {
      repository: { pullRequest: { commits: { nodes: { commit: { authors: Record<string, unknown> } }[] } } };
    };
    const many = Array.from({ length: 100 }, (_, i) => ({
      name: `co${i}`,
      email: `co${i}@x.example`,
      user: { login: `co${i}` },
    }));
    data.repository.pullRequest.commits.nodes[0]!.commit.authors = {
      pageInfo: { hasNextPage: true, endCursor: "AUTH100" },
      nodes: many,
    };
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data })
      .post(
        "/graphql",
        (b: { query: string; variables: { id: string; after: string } }) =>
          b.query.includes("ChangegateAuthors") && b.variables.after === "AUTH100",
      )
      .reply(200, {
        data: {
          node: {
            page: {
              pageInfo: { hasNextPage: false, endCursor: null },
              nodes: [{ name: "Carol", email: "carol@x.example", user: { login: "carol" } }],
            },
          },
        },
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
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    const check = requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("committed to this PR");
  });
});
