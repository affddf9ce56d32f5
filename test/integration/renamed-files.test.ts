/**
 * approvals.rules and renamed files inside one process (real Probot, nock GitHub): the exact
 * requests. GraphQL names only a renamed file's new path; its old path comes from REST
 * `GET /pulls/{n}/files` (previous_filename), read only when a path/codeowners rule exists AND a
 * file is RENAMED. A rename out of infra/ needs the SRE approval; an unreadable list fails closed.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { evidenceData, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Recorded } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";
const POLICY =
  'approvals:\n  required: 1\n  rules:\n    - name: infrastructure\n      paths: ["infra/**"]\n      teams: [acme/sre]\n';

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

type File = { path: string; changeType: string };
function withFiles(spec: EvidenceSpec, files: File[]): Record<string, unknown> {
  const data = evidenceData(spec) as {
    repository: Record<string, unknown> & { pullRequest: Record<string, unknown> };
  };
  data.repository.pullRequest.files = {
    totalCount: files.length,
    pageInfo: { hasNextPage: false, endCursor: null },
    nodes: files,
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
const calls = (requests: Recorded[]) => requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);

const MOVED_OUT: File[] = [
  { path: "docs/network.yaml", changeType: "RENAMED" },
  { path: "README.md", changeType: "MODIFIED" },
];
const REST_FILES = [
  {
    filename: "docs/network.yaml",
    status: "renamed",
    previous_filename: "infra/network.yaml",
    additions: 0,
    deletions: 0,
    changes: 0,
  },
  { filename: "README.md", status: "modified", additions: 1, deletions: 0, changes: 1 },
];

async function evaluate(
  data: Record<string, unknown>,
  rest: ((s: nock.Scope) => void) | null,
  team: string[] | null,
) {
  const h = await harness();
  const scope = mockToken().post("/graphql").reply(200, { data });
  rest?.(scope);
  if (team) scope.post("/graphql").reply(200, { data: teamAnswer(team) });
  scope.post(`${REPO_PATH}/check-runs`).reply(201, { id: 555 });
  scope.post(`${REPO_PATH}/issues/1/comments`).reply(201, { id: 777 });
  const requests = recordRequests(scope);
  await h.deliver("pull_request", pullRequestEvent("synchronize"));
  expect(scope.pendingMocks()).toStrictEqual([]);
  const check = requests.find((r) => r.path.includes("/check-runs"))?.body as {
    conclusion: string;
    output: { title: string };
  };
  return { requests, check };
}

describe("approvals.rules: a rename out of a protected path", () => {
  test("the evidence read, ONE files page (per_page=100), the team read: an outsider's approval is refused", async () => {
    const r = await evaluate(
      withFiles({ policy: POLICY, reviews: [{ login: "alice" }] }, MOVED_OUT),
      (s) => s.get(`${REPO_PATH}/pulls/1/files`).query({ per_page: "100", page: "1" }).reply(200, REST_FILES),
      ["sam"],
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `GET ${REPO_PATH}/pulls/1/files`,
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toContain(
      "infrastructure: needs 1 more approval from @acme/sre for infra/network.yaml",
    );
  });

  test("an SRE's approval meets it", async () => {
    const r = await evaluate(
      withFiles({ policy: POLICY, reviews: [{ login: "sam" }] }, MOVED_OUT),
      (s) => s.get(`${REPO_PATH}/pulls/1/files`).query(true).reply(200, REST_FILES),
      ["sam"],
    );
    expect(r.check.conclusion).toBe("success");
  });

  test("the files list cannot be read: the rule fails closed, no team read, the check says why", async () => {
    const r = await evaluate(
      withFiles({ policy: POLICY, reviews: [{ login: "sam" }] }, MOVED_OUT),
      (s) => s.get(`${REPO_PATH}/pulls/1/files`).query(true).reply(502, { message: "bad gateway" }),
      null,
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `GET ${REPO_PATH}/pulls/1/files`,
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toContain(
      "previous path of a renamed file could not be read (GitHub answered 502)",
    );
  });

  test("no renamed file: no files read at all", async () => {
    const r = await evaluate(
      withFiles({ policy: POLICY, reviews: [{ login: "alice" }] }, [
        { path: "docs/network.yaml", changeType: "ADDED" },
      ]),
      null,
      null,
    );
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("success");
  });

  test("a rename but no path or codeowners rule: no files read", async () => {
    const policy = "approvals:\n  required: 1\n  rules:\n    - name: seniors\n      users: [alice]\n";
    const r = await evaluate(withFiles({ policy, reviews: [{ login: "alice" }] }, MOVED_OUT), null, null);
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(r.check.conclusion).toBe("success");
  });
});

describe("approvals.rules: the files list counts fewer files than the PR changes", () => {
  test("changedFiles above the list's totalCount: a path rule fails closed instead of passing on what it saw", async () => {
    const data = withFiles({ policy: POLICY, reviews: [{ login: "alice" }] }, [
      { path: "README.md", changeType: "MODIFIED" },
    ]) as { repository: { pullRequest: Record<string, unknown> } };
    data.repository.pullRequest.changedFiles = 3001;
    const r = await evaluate(data, null, null);
    expect(calls(r.requests)).toEqual([
      "POST /graphql",
      `POST ${REPO_PATH}/check-runs`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect((r.requests[0]!.body as { query: string }).query).toContain("changedFiles");
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.output.title).toContain("3001 files");
  });
});
