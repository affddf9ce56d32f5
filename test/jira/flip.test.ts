/**
 * End to end inside one process: a real Probot instance (GitHub is nock) with the Jira ticket
 * service (Jira is nock), the in-memory ticket index fed by the recorder, and the Jira webhook
 * handler on 127.0.0.1. Moving OPS-12 to "Approved" in Jira flips the PR's check to success without
 * a push; a Jira outage fails the check naming the error.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { createServer } from "node:http";
import nock from "nock";
import { MemoryRecorder } from "../../src/audit/recorder.js";
import { createJiraTicketService } from "../../src/jira/client.js";
import type { JiraConfig } from "../../src/jira/env.js";
import { createJiraWebhookHandler, JIRA_WEBHOOK_PATH, signBody } from "../../src/jira/webhook.js";
import { indexingRecorder, MemoryTicketIndex } from "../helpers/ticket-index.js";
import { evidenceData, INSTALLATION_ID, type EvidenceSpec } from "../helpers/fixtures.js";
import { pullRequestEvent } from "../helpers/payloads.js";
import { API, harness, mockToken, recordRequests } from "../helpers/probot.js";

const JIRA = "https://acme.atlassian.net";
const SECRET = "flip-webhook-secret-0123456789";
const REPO_PATH = "/repos/acme/payments";
const POLICY =
  "approvals:\n  required: 0\ntickets:\n  required: true\n  projects: [OPS]\n  allowed_states: [Approved]\n";

const config: JiraConfig = {
  baseUrl: JIRA,
  auth: { kind: "cloud", email: "gate@acme.com", apiToken: "ATATT3xFfGF0flipcloudtoken123456" },
  timeoutMs: 2000,
  cacheTtlMs: 60_000,
  maxConcurrency: 4,
  webhookSecret: SECRET,
  recheckIntervalMs: 0,
};

function ticket(status: string) {
  return {
    issues: [
      {
        id: "10012",
        key: "OPS-12",
        fields: { summary: "Rotate the signing keys", status: { name: status } },
      },
    ],
  };
}

interface CheckBody {
  conclusion?: string;
  status: string;
  output: { title: string; summary: string };
}

beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

async function setup() {
  const index = new MemoryTicketIndex();
  const tickets = createJiraTicketService(config, { sleep: async () => {}, backoffMs: [1, 1] });
  const h = await harness({ tickets, recorder: indexingRecorder(new MemoryRecorder(), index) });
  let seq = 0;
  const handler = createJiraWebhookHandler({
    secret: SECRET,
    index,
    cache: tickets,
    log: h.probot.log,
    evaluate: (ref, reason) => h.changegate.request({ ref, deliveryId: `jira-${++seq}`, event: reason }),
  });
  const server = createServer(async (req, res) => {
    if (!(await handler(req, res))) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}${JIRA_WEBHOOK_PATH}`;
  return { h, index, tickets, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function github(spec: EvidenceSpec, update: boolean) {
  const scope = mockToken(nock(API))
    .post("/graphql")
    .reply(200, { data: evidenceData(spec) });
  if (update)
    scope
      .patch(`${REPO_PATH}/check-runs/555`)
      .reply(200, { id: 555 })
      .patch(`${REPO_PATH}/issues/comments/777`)
      .reply(200, { id: 777 });
  else
    scope
      .post(`${REPO_PATH}/check-runs`)
      .reply(201, { id: 555 })
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(201, { id: 777 });
  return { scope, requests: recordRequests(scope) };
}

const SPEC: EvidenceSpec = { title: "OPS-12 rotate the signing keys", policy: POLICY };

describe("a ticket moving in Jira re-evaluates the PR", () => {
  test("In Review → Approved: the webhook turns the check green without a push, one Jira request per evaluation", async () => {
    const s = await setup();
    try {
      // 1. The PR is evaluated: OPS-12 is "In Review" → failure naming the state.
      const gh1 = github(SPEC, false);
      const jira1 = nock(JIRA).post("/rest/api/3/issue/bulkfetch").reply(200, ticket("In Review"));
      await s.h.deliver("pull_request", pullRequestEvent("synchronize"));
      expect(gh1.scope.pendingMocks()).toStrictEqual([]);
      expect(jira1.pendingMocks()).toStrictEqual([]);
      const first = gh1.requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
      expect(first.conclusion).toBe("failure");
      expect(first.output.title).toBe("Not compliant: tickets: 0 of 1 ok; 1 in a state not allowed");
      expect(first.output.summary).toContain("In Review");
      expect(await s.index.prsForKey("OPS-12")).toStrictEqual([
        { installationId: INSTALLATION_ID, owner: "acme", repo: "payments", number: 1 },
      ]);
      expect(await s.index.waitingOnTickets()).toHaveLength(1);
      expect(s.tickets.stats().requests).toBe(1);

      // 2. Someone approves the ticket in Jira; Jira calls the webhook.
      const digest = { id: 777, body: "old digest" };
      const ownCheck = {
        id: 555,
        status: "completed",
        conclusion: "failure",
        title: first.output.title,
        summary: first.output.summary,
      };
      const gh2 = github({ ...SPEC, digest, ownCheck }, true);
      const jira2 = nock(JIRA).post("/rest/api/3/issue/bulkfetch").reply(200, ticket("Approved"));
      const payload = JSON.stringify({
        webhookEvent: "jira:issue_updated",
        issue: { key: "OPS-12", fields: { status: { name: "Approved" } } },
        changelog: { items: [{ field: "status", fromString: "In Review", toString: "Approved" }] },
      });
      const res = await fetch(s.url, {
        method: "POST",
        headers: { "x-hub-signature": signBody(SECRET, payload) },
        body: payload,
      });
      expect(res.status).toBe(202);
      await s.h.changegate.idle();

      expect(gh2.scope.pendingMocks()).toStrictEqual([]);
      expect(jira2.pendingMocks()).toStrictEqual([]);
      const second = gh2.requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
      expect(second.conclusion).toBe("success");
      expect(second.output.title).toMatch(/^Compliant: .*tickets ok/);
      expect(s.tickets.stats().requests).toBe(2);
      expect(await s.index.waitingOnTickets()).toStrictEqual([]);
    } finally {
      await s.close();
    }
  });

  test("Jira down: the check fails naming the error, not 'invalid ticket'", async () => {
    const s = await setup();
    try {
      const gh = github(SPEC, false);
      nock(JIRA)
        .post("/rest/api/3/issue/bulkfetch")
        .times(3)
        .reply(503, "down", { "content-type": "text/plain" });
      await s.h.deliver("pull_request", pullRequestEvent("synchronize"));
      expect(gh.scope.pendingMocks()).toStrictEqual([]);
      const check = gh.requests.find((r) => r.path.includes("/check-runs"))!.body as unknown as CheckBody;
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toBe(
        "Not compliant: tickets: Jira could not be reached: HTTP 503 Service Unavailable from acme.atlassian.net after 3 attempts",
      );
      expect(check.output.summary).toContain("not verified");
      expect(check.output.summary).not.toContain("ATATT3xFfGF0flipcloudtoken123456");
    } finally {
      await s.close();
    }
  });
});
