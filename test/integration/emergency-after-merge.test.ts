/**
 * After an emergency merge, through a real Probot instance with GitHub and Jira as nock and a real
 * SQLite audit store: the declarer (allowed and refused), the retroactive review by approval and
 * by `/changegate approve` comment (author, merger and contributors refused), the overdue check
 * with the clock moved and a restart in between (reported once across "replicas"), and
 * tickets.transition_on_merge (moved, and Jira refusing it). Exact request lists.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { ChainAfterMerge, afterMergeRows } from "../../src/audit/after-merge.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { exportRows, type ExportRow } from "../../src/audit/export.js";
import { AuditReader } from "../../src/audit/reader.js";
import type { JiraConfig } from "../../src/jira/env.js";
import { JiraTransitioner } from "../../src/jira/transition.js";
import { APP_ID, evidenceData, HEAD, INSTALLATION_ID, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent, reviewEvent } from "../helpers/payloads.js";
import { harness, mockToken, recordRequests, type Harness, type Recorded } from "../helpers/probot.js";

const REPO_PATH = "/repos/acme/payments";
const JIRA = "https://jira.example.test";
const jiraConfig: JiraConfig = {
  baseUrl: JIRA,
  auth: { kind: "cloud", email: "bot@example.test", apiToken: "jira-token-secret-123456" },
  timeoutMs: 5000,
  cacheTtlMs: 0,
  maxConcurrency: 2,
  webhookSecret: null,
  recheckIntervalMs: 0,
};

let dir: string;
let store: AuditStore;
let clock: Date;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "changegate-emerg-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  nock.disableNetConnect();
  store = await AuditStore.open(`sqlite:${join(dir, `${Math.random().toString(36).slice(2)}.db`)}`);
  clock = new Date("2026-11-20T09:30:00Z");
});
afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await store.close();
});

async function app(over: { jira?: boolean } = {}): Promise<Harness> {
  const writer = new ChainWriter(store);
  return harness({
    recorder: writer,
    afterMerge: new ChainAfterMerge(writer),
    transitions: over.jira ? new JiraTransitioner(jiraConfig) : null,
    overdueIntervalMs: 0,
    now: () => clock,
  });
}

function calls(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, "")}`);
}

const EMERGENCY: EvidenceSpec = {
  labels: ["emergency"],
  labelEvents: [{ label: "emergency", actor: "oncall" }],
  author: "dev",
  commits: [
    { message: "Hotfix", authors: ["dev"] },
    { message: "Tweak", authors: ["carol"] },
  ],
  policy: "audit:\n  issue_repo: acme/compliance\n",
};
const DIGEST = { id: 777, body: "## changegate digest" };

/** Evaluate the labelled PR (the declarer's permission is read), then merge it. */
async function emergencyMerge(
  h: Harness,
  declarer: "write" | "read" = "write",
  spec: EvidenceSpec = EMERGENCY,
): Promise<Recorded[]> {
  const evaluated = mockToken()
    .post("/graphql")
    .reply(200, { data: evidenceData(spec) })
    .get(`${REPO_PATH}/collaborators/oncall/permission`)
    .reply(200, { permission: declarer })
    .post(`${REPO_PATH}/check-runs`)
    .reply(201, { id: 555 })
    .post(`${REPO_PATH}/issues/1/comments`)
    .reply(201, { id: DIGEST.id });
  // GitHub's labeled delivery for that label event (fixtures date the first label event 08:00).
  await h.deliver(
    "pull_request",
    pullRequestEvent("labeled", { label: "emergency", sender: "oncall", updatedAt: "2026-11-20T08:00:00Z" }),
  );
  expect(evaluated.pendingMocks()).toStrictEqual([]);
  clock = new Date("2026-11-20T10:00:05Z");
  const merged = mockToken()
    .post("/graphql")
    .reply(200, { data: evidenceData({ ...spec, state: "MERGED", mergedBy: "oncall", digest: DIGEST }) });
  if (declarer === "write") {
    merged
      .post(
        `${REPO_PATH}/check-runs`,
        (b: { name: string; status: string }) =>
          b.name === "changegate/retro-review" && b.status === "in_progress",
      )
      .reply(201, { id: 600 })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      .patch(`${REPO_PATH}/issues/comments/${DIGEST.id}`, (b: { body: string }) =>
        b.body.includes("Retroactive review due by 2026-11-22 10:00 UTC"),
      )
      .reply(200, {});
  }
  const requests = recordRequests(merged);
  await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
  expect(merged.pendingMocks()).toStrictEqual([]);
  return requests;
}

async function exported(): Promise<ExportRow[]> {
  const out: ExportRow[] = [];
  const reader = new AuditReader(store);
  for await (const row of exportRows(
    reader.merges({ from: "2026-01-01T00:00:00.000Z", to: "2027-01-01T00:00:00.000Z" }),
    (m) => afterMergeRows(store.db, m),
  ))
    out.push(row);
  return out;
}

async function kinds(): Promise<string[]> {
  const rows = await new AuditReader(store).prRecords("acme/payments", 1);
  return rows.map((r) => r.kind);
}

/** GitHub's list of retro-review runs on the head: the one opened at the merge, still in progress. */
const OPEN_RETRO_RUN = {
  total_count: 1,
  check_runs: [{ id: 600, name: "changegate/retro-review", status: "in_progress", app: { id: APP_ID } }],
};

const MERGED_WITH = (over: EvidenceSpec) =>
  evidenceData({ ...EMERGENCY, state: "MERGED", mergedBy: "oncall", digest: DIGEST, ...over });

describe("the emergency merge", () => {
  test("allowed declarer: digest names the deadline, the merge owes a review (pending retro-review check, section in the digest)", async () => {
    const h = await app();
    const requests = await emergencyMerge(h);
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `GET ${REPO_PATH}/issues/1/comments`,
      `POST ${REPO_PATH}/check-runs`,
      `PATCH ${REPO_PATH}/issues/comments/777`,
    ]);
    const since = new URL(`https://x${requests[1]!.path}`).searchParams.get("since");
    expect(since).toBe("2026-11-20T10:00:00Z");
    expect(await kinds()).toEqual(["evaluation", "merge"]);
    const [row] = await exported();
    expect(row).toMatchObject({
      emergency: true,
      emergency_declared_by: "oncall",
      retro_review: "due",
      retro_reviewed_by: null,
    });
  });

  test("refused declarer (no write access): not an emergency, no review owed, no extra request", async () => {
    const h = await app();
    const requests = await emergencyMerge(h, "read");
    expect(calls(requests)).toEqual(["POST /graphql"]);
    const [row] = await exported();
    expect(row).toMatchObject({ emergency: false, retro_review: null, bypass: true });
  });
});

describe("the retroactive review", () => {
  test("by approving review: recorded once, check green, digest edited, export says who and when", async () => {
    const h = await app();
    await emergencyMerge(h);
    clock = new Date("2026-11-21T09:00:00Z");
    const reviews = [{ login: "bob", at: "2026-11-21T08:00:00Z", canPush: true }];
    const scope = mockToken()
      .post("/graphql")
      .reply(200, { data: MERGED_WITH({ reviews }) })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      // The run opened at the merge (600) is completed in place: an update, not a new creation.
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "changegate/retro-review", filter: "latest", app_id: APP_ID, per_page: 10 })
      .reply(200, OPEN_RETRO_RUN)
      .patch(
        `${REPO_PATH}/check-runs/600`,
        (b: { name: string; conclusion: string; output: { title: string } }) =>
          b.name === "changegate/retro-review" &&
          b.conclusion === "success" &&
          b.output.title.includes("bob"),
      )
      .reply(200, { id: 600 })
      .patch(`${REPO_PATH}/issues/comments/${DIGEST.id}`, (b: { body: string }) =>
        b.body.includes("Retroactively reviewed by `bob` at 2026-11-21 08:00 UTC"),
      )
      .reply(200, {});
    const requests = recordRequests(scope);
    const closed = {
      ...reviewEvent("submitted"),
      pull_request: {
        ...reviewEvent("submitted").pull_request,
        state: "closed",
        merged_at: "2026-11-20T10:00:00Z",
      },
    };
    await h.deliver("pull_request_review", closed);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `GET ${REPO_PATH}/issues/1/comments`,
      `GET ${REPO_PATH}/commits/${HEAD}/check-runs`,
      `PATCH ${REPO_PATH}/check-runs/600`,
      `PATCH ${REPO_PATH}/issues/comments/777`,
    ]);
    expect(await kinds()).toEqual(["evaluation", "merge", "retro_review"]);
    const [row] = await exported();
    expect(row).toMatchObject({
      retro_review: "reviewed",
      retro_reviewed_by: "bob",
      retro_reviewed_at: "2026-11-21T08:00:00Z",
    });

    // Reviewed already: a further review event reads the PR and stops.
    const again = mockToken()
      .post("/graphql")
      .reply(200, { data: MERGED_WITH({ reviews }) });
    await h.deliver("pull_request_review", closed);
    expect(again.pendingMocks()).toStrictEqual([]);
    expect(await kinds()).toEqual(["evaluation", "merge", "retro_review"]);
  });

  test("by /changegate approve comment; the author, the merger and a contributor are refused", async () => {
    const h = await app();
    await emergencyMerge(h);
    clock = new Date("2026-11-21T12:00:00Z");
    let id = 100;
    // GitHub's shape: an id, and updated_at = created_at for a comment never edited.
    const comment = (login: string, at: string, body = "/changegate approve") => ({
      id: id++,
      body,
      created_at: at,
      updated_at: at,
      html_url: `https://github.com/acme/payments/pull/1#c-${login}`,
      user: { login, type: "User" },
    });
    const scope = mockToken()
      .post("/graphql")
      .reply(200, {
        data: MERGED_WITH({ reviews: [{ login: "carol", at: "2026-11-21T07:00:00Z", canPush: true }] }),
      })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [
        comment("dev", "2026-11-21T08:00:00Z"),
        comment("oncall", "2026-11-21T09:00:00Z"),
        comment("carol", "2026-11-21T10:00:00Z"),
        comment("erin", "2026-11-21T10:30:00Z", "LGTM"),
        comment("erin", "2026-11-21T11:00:00Z"),
      ])
      .get(`${REPO_PATH}/collaborators/erin/permission`)
      .reply(200, { permission: "write" })
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, OPEN_RETRO_RUN)
      .patch(`${REPO_PATH}/check-runs/600`, (b: { conclusion: string }) => b.conclusion === "success")
      .reply(200, { id: 600 })
      .patch(
        `${REPO_PATH}/issues/comments/${DIGEST.id}`,
        (b: { body: string }) =>
          b.body.includes("Retroactively reviewed by `erin`") && b.body.includes("/changegate approve"),
      )
      .reply(200, {});
    const requests = recordRequests(scope);
    await h.deliver("issue_comment", {
      action: "created",
      issue: { number: 1, state: "closed", pull_request: { url: "x", merged_at: "2026-11-20T10:00:00Z" } },
      comment: { id: 9, body: "/changegate approve", user: { login: "erin", type: "User" } },
      repository: pullRequestEvent("closed").repository,
      installation: { id: INSTALLATION_ID },
      sender: { login: "erin", type: "User" },
    });
    expect(scope.pendingMocks()).toStrictEqual([]);
    // Only erin's write access is asked: the others are refused for who they are.
    expect(calls(requests)).toEqual([
      "POST /graphql",
      `GET ${REPO_PATH}/issues/1/comments`,
      `GET ${REPO_PATH}/collaborators/erin/permission`,
      `GET ${REPO_PATH}/commits/${HEAD}/check-runs`,
      `PATCH ${REPO_PATH}/check-runs/600`,
      `PATCH ${REPO_PATH}/issues/comments/777`,
    ]);
    const refusals = h.logs.filter((l) => l.msg.startsWith("not a retroactive review")).map((l) => l.msg);
    expect(refusals).toEqual([
      expect.stringContaining("a contributor to the PR's commits"),
      expect.stringContaining("the PR's author"),
      expect.stringContaining("the person who merged it"),
      expect.stringContaining("a contributor to the PR's commits"),
    ]);
    const [row] = await exported();
    expect(row).toMatchObject({
      retro_review: "reviewed",
      retro_reviewed_by: "erin",
      retro_reviewed_at: "2026-11-21T11:00:00Z",
    });
  });

  test("a comment that is not /changegate approve, or on an open PR, starts nothing", async () => {
    const h = await app();
    await h.deliver("issue_comment", {
      action: "created",
      issue: { number: 1, state: "closed", pull_request: { url: "x" } },
      comment: { id: 9, body: "nice", user: { login: "erin", type: "User" } },
      repository: pullRequestEvent("closed").repository,
      installation: { id: INSTALLATION_ID },
    });
    await h.deliver("issue_comment", {
      action: "created",
      issue: { number: 1, state: "open", pull_request: { url: "x" } },
      comment: { id: 10, body: "/changegate approve", user: { login: "erin", type: "User" } },
      repository: pullRequestEvent("closed").repository,
      installation: { id: INSTALLATION_ID },
    });
    expect(h.changegate.stats().evaluations).toBe(0);
  });
});

describe("overdue", () => {
  test("clock moved past due, restart in between: logged non-compliant with how late, failing check, audit issue, recorded once across replicas", async () => {
    const first = await app();
    await emergencyMerge(first);
    first.changegate.stop();

    // Not yet due: nothing.
    clock = new Date("2026-11-22T09:59:00Z");
    const restarted = await app();
    expect(await restarted.changegate.checkOverdue()).toBe(0);

    clock = new Date("2026-11-22T13:12:00Z");
    const scope = mockToken()
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "changegate/retro-review", filter: "latest", app_id: APP_ID, per_page: 10 })
      .reply(200, OPEN_RETRO_RUN)
      .patch(
        `${REPO_PATH}/check-runs/600`,
        (b: { name: string; conclusion: string; output: { title: string } }) =>
          b.name === "changegate/retro-review" &&
          b.conclusion === "failure" &&
          b.output.title.includes("3 h 12 min"),
      )
      .reply(200, { id: 600 })
      .get("/repos/acme/compliance/issues")
      .query({ state: "open", labels: "changegate-bypass", per_page: 100 })
      .reply(200, [])
      .post(
        "/repos/acme/compliance/issues",
        (b: { body: string }) => b.body.includes("retroactive review") && b.body.includes("3 h 12 min late"),
      )
      .reply(201, { number: 31 });
    expect(await restarted.changegate.checkOverdue()).toBe(1);
    expect(scope.pendingMocks()).toStrictEqual([]);
    const line = restarted.logs.find((l) => l.msg.includes("is non-compliant!"));
    expect(line?.msg).toContain("acme/payments#1 is non-compliant!");
    expect(line?.msg).toContain("3 h 12 min late");

    // Another replica (same store), and this one again: nothing more is reported or recorded.
    const replica = await app();
    expect(await replica.changegate.checkOverdue()).toBe(0);
    expect(await restarted.changegate.checkOverdue()).toBe(0);
    expect(await kinds()).toEqual(["evaluation", "merge", "retro_overdue"]);
    expect((await exported())[0]).toMatchObject({ retro_review: "overdue" });

    // A late review is still recorded, and the export says it was late.
    const late = mockToken()
      .post("/graphql")
      .reply(200, {
        data: MERGED_WITH({ reviews: [{ login: "bob", at: "2026-11-23T08:00:00Z", canPush: true }] }),
      })
      .get(`${REPO_PATH}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      // The run says overdue (completed): a completed run is not changed again, a new run says it.
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [{ id: 600, name: "changegate/retro-review", status: "completed", app: { id: APP_ID } }],
      })
      .post(`${REPO_PATH}/check-runs`, (b: { conclusion: string }) => b.conclusion === "success")
      .reply(201, { id: 604 })
      .patch(`${REPO_PATH}/issues/comments/${DIGEST.id}`, (b: { body: string }) =>
        b.body.includes("after it was due"),
      )
      .reply(200, {});
    const closed = {
      ...reviewEvent("submitted"),
      pull_request: {
        ...reviewEvent("submitted").pull_request,
        state: "closed",
        merged_at: "2026-11-20T10:00:00Z",
      },
    };
    await replica.deliver("pull_request_review", closed);
    expect(late.pendingMocks()).toStrictEqual([]);
    expect((await exported())[0]).toMatchObject({ retro_review: "reviewed late", retro_reviewed_by: "bob" });
  });
});

describe("tickets.transition_on_merge", () => {
  const ticketSpec: EvidenceSpec = {
    title: "OPS-1 Fix it",
    reviews: [{ login: "alice", canPush: true }],
    policy: "tickets:\n  projects: [OPS]\n  transition_on_merge: Done\n",
  };

  async function merge(
    h: Harness,
    jira: (s: nock.Scope) => nock.Scope,
    spec: EvidenceSpec = ticketSpec,
  ): Promise<{ github: Recorded[]; jira: nock.Scope }> {
    const evaluated = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData(spec) })
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: DIGEST.id });
    await h.deliver("pull_request", pullRequestEvent("opened"));
    expect(evaluated.pendingMocks()).toStrictEqual([]);
    const j = jira(nock(JIRA));
    const gh = mockToken()
      .post("/graphql")
      .reply(200, { data: evidenceData({ ...spec, state: "MERGED", digest: DIGEST }) })
      .patch(`${REPO_PATH}/issues/comments/${DIGEST.id}`)
      .reply(200, {});
    const github = recordRequests(gh);
    await h.deliver("pull_request", pullRequestEvent("closed", { merged: true }));
    expect(gh.pendingMocks()).toStrictEqual([]);
    return { github, jira: j };
  }

  test("each ticket is moved through Jira's transitions API; the digest and a record say so", async () => {
    const h = await app({ jira: true });
    const { github, jira } = await merge(h, (s) =>
      s
        .get("/rest/api/3/issue/OPS-1/transitions")
        .reply(200, {
          transitions: [
            { id: "21", name: "Start", to: { name: "In Progress" } },
            { id: "31", name: "Resolve", to: { name: "Done" } },
          ],
        })
        .post("/rest/api/3/issue/OPS-1/transitions", { transition: { id: "31" } })
        .reply(204),
    );
    expect(jira.pendingMocks()).toStrictEqual([]);
    expect((github[1]!.body as { body: string }).body).toContain("✅ `OPS-1` → Done (transition Resolve)");
    expect(await kinds()).toEqual(["evaluation", "merge", "ticket_transition"]);
    const [row] = await exported();
    expect(row).toMatchObject({
      bypass: false,
      ticket_transitions: [{ key: "OPS-1", result: "moved", status: "Done", message: null }],
    });
  });

  test("Jira refusing the transition (400): reported in the digest and the log; the merge record is untouched", async () => {
    const h = await app({ jira: true });
    const { github, jira } = await merge(h, (s) =>
      s
        .get("/rest/api/3/issue/OPS-1/transitions")
        .reply(200, { transitions: [{ id: "31", name: "Resolve", to: { name: "Done" } }] })
        .post("/rest/api/3/issue/OPS-1/transitions")
        .reply(400, { errorMessages: ["Transition id '31' is not valid for this issue."], errors: {} }),
    );
    expect(jira.pendingMocks()).toStrictEqual([]);
    const digest = (github[1]!.body as { body: string }).body;
    expect(digest).toContain("❌ `OPS-1` could not be moved");
    expect(digest).toContain("HTTP 400");
    const line = h.logs.find((l) => l.msg.startsWith("could not move OPS-1 to Done"));
    expect(line?.msg).toContain("is not valid for this issue");
    expect(JSON.stringify(h.logs)).not.toContain("jira-token-secret-123456");
    const [row] = await exported();
    expect(row).toMatchObject({
      bypass: false,
      check_at_merge: "success",
      ticket_transitions: [{ key: "OPS-1", result: "failed" }],
    });
  });

  test("403 and 404 are failures with their reason; a ticket already in the status is not moved", async () => {
    const h = await app({ jira: true });
    const three: EvidenceSpec = { ...ticketSpec, title: "OPS-1 OPS-2 OPS-3 Fix" };
    const { jira } = await merge(
      h,
      (s) =>
        s
          .get("/rest/api/3/issue/OPS-1/transitions")
          .reply(403, { errorMessages: ["You do not have permission"] })
          .get("/rest/api/3/issue/OPS-2/transitions")
          .reply(404, { errorMessages: ["Issue does not exist or you do not have permission to see it."] })
          .get("/rest/api/3/issue/OPS-3/transitions")
          .reply(200, { transitions: [{ id: "11", name: "Reopen", to: { name: "Open" } }] })
          .get("/rest/api/3/issue/OPS-3")
          .query({ fields: "status" })
          .reply(200, { fields: { status: { name: "Done" } } }),
      three,
    );
    expect(jira.pendingMocks()).toStrictEqual([]);
    const [row] = await exported();
    expect(row!.ticket_transitions.map((t) => [t.key, t.result])).toEqual([
      ["OPS-1", "failed"],
      ["OPS-2", "failed"],
      ["OPS-3", "already"],
    ]);
    expect(row!.ticket_transitions[0]!.message).toContain("Transition issues permission");
    expect(row!.ticket_transitions[1]!.message).toContain("HTTP 404");
  });
});
