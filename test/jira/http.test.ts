/**
 * The one Jira HTTP client (src/jira/http.ts) against nock'd Jira: routes and credentials per
 * flavour, bounded answers, which requests are repeated (a ticket move only when Jira cannot have
 * acted on it), secrets out of every message, one concurrency bound shared by lookups and moves.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { Readable } from "node:stream";
import { createJiraTicketService } from "../../src/jira/client.js";
import type { JiraConfig } from "../../src/jira/env.js";
import { JiraHttp } from "../../src/jira/http.js";
import { JiraTransitioner } from "../../src/jira/transition.js";

const TOKEN = "ATATT3xFfGF0cloudtoken1234567890";
const PAT = "NDc4MzE2ODk2NTk2OkdDpattoken0987";
const CLOUD = "https://acme.atlassian.net";
const DC = "https://jira.acme.com";

function cloud(over: Partial<JiraConfig> = {}): JiraConfig {
  return {
    baseUrl: CLOUD,
    auth: { kind: "cloud", email: "gate@acme.com", apiToken: TOKEN },
    timeoutMs: 2000,
    cacheTtlMs: 0,
    maxConcurrency: 4,
    webhookSecret: null,
    recheckIntervalMs: 0,
    ...over,
  };
}
const dc = (over: Partial<JiraConfig> = {}) =>
  cloud({ baseUrl: `${DC}/jira`, auth: { kind: "datacenter", pat: PAT }, ...over });

const noSleep = { sleep: async () => {} };

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("JiraHttp", () => {
  test("Cloud: /rest/api/3 with basic email:token; Data Center: the context path, /rest/api/2, bearer PAT", async () => {
    const seen: (string | undefined)[] = [];
    const c = nock(CLOUD)
      .get("/rest/api/3/myself")
      .reply(function () {
        seen.push(this.req.headers.authorization as string | undefined);
        return [200, { ok: 1 }];
      });
    const d = nock(DC)
      .get("/jira/rest/api/2/myself")
      .reply(function () {
        seen.push(this.req.headers.authorization as string | undefined);
        return [200, { ok: 2 }];
      });
    const a = await new JiraHttp(cloud()).request("GET", "/myself");
    const b = await new JiraHttp(dc()).request("GET", "/myself");
    expect(c.pendingMocks()).toStrictEqual([]);
    expect(d.pendingMocks()).toStrictEqual([]);
    expect(a.answer).toMatchObject({ kind: "response", status: 200, json: { ok: 1 }, isJson: true });
    expect(b.answer).toMatchObject({ kind: "response", status: 200, json: { ok: 2 }, isJson: true });
    expect(seen).toStrictEqual([
      `Basic ${Buffer.from(`gate@acme.com:${TOKEN}`).toString("base64")}`,
      `Bearer ${PAT}`,
    ]);
    expect(new JiraHttp(dc()).label("POST", "/search")).toBe("POST /rest/api/2/search");
  });

  test("an answer larger than the limit is dropped, not held (declared or streamed)", async () => {
    const big = "x".repeat(5000);
    nock(CLOUD)
      .get("/rest/api/3/a")
      .reply(200, JSON.stringify({ big }), { "content-type": "application/json" })
      .get("/rest/api/3/b")
      .reply(200, () =>
        Readable.from([JSON.stringify({ big }).slice(0, 3000), JSON.stringify({ big }).slice(3000)]),
      );
    const http = new JiraHttp(cloud(), { maxAnswerBytes: 1000 });
    const a = await http.request("GET", "/a");
    const b = await http.request("GET", "/b");
    for (const { answer } of [a, b])
      expect(answer).toMatchObject({
        kind: "response",
        status: 200,
        text: "",
        isJson: false,
        tooLarge: true,
      });
  });

  test("a lookup whose answer is too large is malformed (fail closed), not parsed", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, {
        issues: [{ key: "OPS-1", fields: { summary: "y".repeat(5000), status: { name: "Done" } } }],
      });
    const svc = createJiraTicketService(cloud(), { maxAnswerBytes: 1000 });
    expect(await svc.lookup(["OPS-1"])).toStrictEqual({
      kind: "malformed",
      message: "the answer to POST /rest/api/3/issue/bulkfetch is larger than changegate reads",
    });
  });

  test("idempotent requests are retried on 5xx; a move (unprocessed) is not, but is on 429 and a refused connection", async () => {
    const sleeps: number[] = [];
    const http = new JiraHttp(cloud(), { backoffMs: [5, 7], sleep: async (ms) => void sleeps.push(ms) });
    const scope = nock(CLOUD)
      .get("/rest/api/3/r")
      .reply(503)
      .get("/rest/api/3/r")
      .reply(200, {})
      .post("/rest/api/3/w")
      .reply(500, { errorMessages: ["boom"] })
      .post("/rest/api/3/w2")
      .reply(429, {}, { "Retry-After": "1" })
      .post("/rest/api/3/w2")
      .reply(204);
    expect((await http.request("GET", "/r")).attempts).toBe(2);
    const once = await http.request("POST", "/w", {}, "unprocessed");
    expect(once).toMatchObject({ attempts: 1, answer: { status: 500 } });
    const twice = await http.request("POST", "/w2", {}, "unprocessed");
    expect(twice).toMatchObject({ attempts: 2, answer: { status: 204 } });
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(sleeps).toStrictEqual([5, 1000]);

    nock(CLOUD).post("/rest/api/3/w3").replyWithError({ message: "reset", code: "ECONNRESET" });
    expect(await http.request("POST", "/w3", {}, "unprocessed")).toMatchObject({
      attempts: 1,
      answer: { kind: "network", code: "ECONNRESET" },
    });
    nock(CLOUD)
      .post("/rest/api/3/w4")
      .replyWithError({ message: "refused", code: "ECONNREFUSED" })
      .post("/rest/api/3/w4")
      .reply(204);
    expect(await http.request("POST", "/w4", {}, "unprocessed")).toMatchObject({
      attempts: 2,
      answer: { status: 204 },
    });
  });

  test("no redirect is followed: the 3xx is the answer", async () => {
    const scope = nock(CLOUD).get("/rest/api/3/x").reply(302, "", { location: "https://sso.acme.com/" });
    const { answer } = await new JiraHttp(cloud()).request("GET", "/x");
    expect(answer).toMatchObject({ kind: "response", status: 302 });
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("clean() and network messages carry neither the token nor its basic-auth form, nor foreign hosts", async () => {
    const http = new JiraHttp(cloud(), { backoffMs: [] });
    const basic = Buffer.from(`gate@acme.com:${TOKEN}`).toString("base64");
    expect(http.clean(`t=${TOKEN} b=${basic}`)).toBe("t=[REDACTED] b=[REDACTED]");
    nock(CLOUD)
      .get("/rest/api/3/y")
      .replyWithError({ message: `proxy 10.1.2.3:3128 said ${TOKEN}`, code: "EPROXY" });
    const { answer, attempts } = await http.request("GET", "/y");
    if (answer.kind !== "network") throw new Error("expected a network failure");
    const message = http.describeNetwork(answer, attempts);
    expect(message).toContain("acme.atlassian.net");
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain("10.1.2.3");
  });
});

describe("the transitioner through JiraHttp", () => {
  test("a POST answered 500 is not repeated (Jira may have moved the ticket): failed with the status", async () => {
    const scope = nock(CLOUD)
      .get("/rest/api/3/issue/OPS-1/transitions")
      .reply(503)
      .get("/rest/api/3/issue/OPS-1/transitions")
      .reply(200, { transitions: [{ id: "31", name: "Done", to: { name: "Done" } }] })
      .post("/rest/api/3/issue/OPS-1/transitions", { transition: { id: "31" } })
      .reply(500, { errorMessages: [`oops ${TOKEN}`] });
    const [r] = await new JiraTransitioner(cloud(), noSleep).transition(["OPS-1"], "Done");
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(r).toMatchObject({ key: "OPS-1", result: "failed" });
    expect(r!.message).toContain("HTTP 500");
    expect(r!.message).not.toContain(TOKEN);
  });

  test("a timeout is a failed move naming JIRA_TIMEOUT_MS, never a throw", async () => {
    nock(DC).get("/jira/rest/api/2/issue/OPS-2/transitions").delay(500).reply(200, { transitions: [] });
    const [r] = await new JiraTransitioner(dc({ timeoutMs: 50 }), noSleep).transition(["OPS-2"], "Done");
    expect(r).toStrictEqual({
      key: "OPS-2",
      result: "failed",
      status: null,
      transition: null,
      message: "no answer from jira.acme.com within 50 ms (JIRA_TIMEOUT_MS)",
    });
  });

  test("lookups and moves sharing one JiraHttp share one concurrency bound", async () => {
    let active = 0;
    let peak = 0;
    const slow =
      (status: number, body: object) =>
      (_u: string, _b: unknown, cb: (e: null, r: [number, object]) => void) => {
        active++;
        peak = Math.max(peak, active);
        setTimeout(() => {
          active--;
          cb(null, [status, body]);
        }, 20);
      };
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .times(2)
      .reply(slow(200, { issues: [] }))
      .get(/\/rest\/api\/3\/issue\/OPS-\d\/transitions/)
      .times(2)
      .reply(slow(404, { errorMessages: ["Issue does not exist"] }));
    const http = new JiraHttp(cloud({ maxConcurrency: 1 }));
    const svc = createJiraTicketService(cloud(), { http });
    const t = new JiraTransitioner(cloud(), { http });
    await Promise.all([
      svc.lookup(["OPS-1"]),
      svc.lookup(["OPS-2"]),
      t.transition(["OPS-3"], "Done"),
      t.transition(["OPS-4"], "Done"),
    ]);
    expect(peak).toBe(1);
    expect(svc.stats().requests).toBe(2);
  });
});
