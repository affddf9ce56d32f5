/**
 * approvals.rules inside one process (real Probot, nock GitHub): the exact requests. One read; a
 * second (ChangegateTeams) only when a triggered rule names teams and someone eligible approved;
 * none again while the installation's cache holds the team; again after a `membership` webhook.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { evidenceData, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Harness, type Recorded } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";
const POLICY =
  'approvals:\n  required: 1\n  rules:\n    - name: infrastructure\n      paths: ["infra/**", "*.tf"]\n      teams: [acme/sre]\n';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** The evidence answer, with the PR's changed files and no CODEOWNERS. */
function withFiles(spec: EvidenceSpec, files: string[]): Record<string, unknown> {
  const data = evidenceData(spec) as {
    repository: Record<string, unknown> & { pullRequest: Record<string, unknown> };
  };
  data.repository.pullRequest.files = {
    totalCount: files.length,
    pageInfo: { hasNextPage: false, endCursor: null },
    nodes: files.map((path) => ({ path, changeType: "MODIFIED" })),
  };
  data.repository.codeownersGithub = null;
  data.repository.codeownersRoot = null;
  data.repository.codeownersDocs = null;
  return data;
}

const teamAnswer = (members: string[]) => ({
  t0: {
    team: {
      id: "T_sre",
      members: {
        pageInfo: { hasNextPage: false, endCursor: null },
        nodes: members.map((login) => ({ login })),
      },
    },
  },
});

async function evaluate(
  h: Harness,
  data: Record<string, unknown>,
  team: string[] | null,
  comment: "create" | "update" = "create",
  event: [string, unknown] = ["pull_request", pullRequestEvent("synchronize")],
) {
  const scope = mockToken().post("/graphql").reply(200, { data });
  if (team) scope.post("/graphql").reply(200, { data: teamAnswer(team) });
  scope.post(`${REPO_PATH}/check-runs`).reply(201, { id: 555 });
  if (comment === "create") scope.post(`${REPO_PATH}/issues/1/comments`).reply(201, { id: 777 });
  else scope.patch(`${REPO_PATH}/issues/comments/777`).reply(200, { id: 777 });
  const requests = recordRequests(scope);
  await h.deliver(event[0], event[1]);
  expect(scope.pendingMocks()).toStrictEqual([]);
  const check = requests.find((r) => r.path.includes("/check-runs"))?.body as {
    conclusion: string;
    output: { title: string };
  };
  return { requests, check };
}

const calls = (requests: Recorded[]) => requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);

describe("approvals.rules: the request budget", () => {
  test("a triggered team rule: the evidence read, then one team read; an outsider's approval is refused", async () => {
    const h = await harness();
    const r = await evaluate(
      h,
      withFiles({ policy: POLICY, reviews: [{ login: "alice" }] }, ["infra/main.tf"]),
      ["sam"],
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.requests[1]!.body).toMatchObject({ variables: { o0: "acme", s0: "sre" } });
    expect((r.requests[1]!.body as { query: string }).query).toContain("ChangegateTeams");
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toContain(
      "infrastructure: needs 1 more approval from @acme/sre for infra/main.tf",
    );
  });

  test("a team member's approval counts; the next evaluation uses the cache; a membership webhook forgets it", async () => {
    const h = await harness();
    const data = withFiles({ policy: POLICY, reviews: [{ login: "sam" }] }, ["modules/vpc.tf"]);
    const first = await evaluate(h, data, ["sam"]);
    expect(first.check.conclusion).toBe("success");
    const second = await evaluate(h, data, null, "create");
    expect(calls(second.requests).filter((c) => c === "POST /graphql")).toHaveLength(1);
    const membership = {
      action: "removed",
      scope: "team",
      member: { login: "sam", id: 9 },
      team: { slug: "sre", name: "sre", id: 1 },
      organization: { login: "acme", id: 2 },
      sender: { login: "acme", id: 2 },
      installation: { id: 77 },
    };
    const third = await evaluate(h, data, [], "create", ["membership", membership]);
    expect(calls(third.requests).filter((c) => c === "POST /graphql")).toHaveLength(2);
    expect(third.check.conclusion).toBe("failure");
  });

  test("a rule not triggered, or nobody eligible approved: one read only", async () => {
    const h = await harness();
    const missed = await evaluate(
      h,
      withFiles({ policy: POLICY, reviews: [{ login: "alice" }] }, ["src/app.ts"]),
      null,
    );
    expect(calls(missed.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(missed.check.conclusion).toBe("success");
    const h2 = await harness();
    const none = await evaluate(h2, withFiles({ policy: POLICY, reviews: [] }, ["infra/a.tf"]), null);
    expect(calls(none.requests).filter((c) => c === "POST /graphql")).toHaveLength(1);
    expect(none.check.conclusion).toBe("failure");
  });

  test("the files were not in the answer: a path rule fails closed", async () => {
    const h = await harness();
    const r = await evaluate(h, evidenceData({ policy: POLICY, reviews: [{ login: "sam" }] }), null);
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toContain("could not be read");
  });
});
