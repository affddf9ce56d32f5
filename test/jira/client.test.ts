/**
 * The Jira ticket lookup against nock'd Jira Cloud (REST v3 bulkfetch) and Jira Data Center
 * (REST v2 search): every outcome, the one-request-per-lookup budget, retries, cache, concurrency.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { createServer } from "node:http";
import nock from "nock";
import {
  createJiraTicketService,
  JiraTicketService,
  MAX_CACHE_ENTRIES,
  retryAfterMs,
  type JiraClientOptions,
} from "../../src/jira/client.js";
import type { JiraConfig } from "../../src/jira/env.js";
import { evaluateTickets } from "../../src/policy/tickets.js";

const CLOUD_TOKEN = "ATATT3xFfGF0cloudtoken1234567890";
const PAT = "NDc4MzE2ODk2NTk2OkdDpattoken0987";
const CLOUD = "https://acme.atlassian.net";
const DC_HOST = "https://jira.acme.com";

function cloudConfig(over: Partial<JiraConfig> = {}): JiraConfig {
  return {
    baseUrl: CLOUD,
    auth: { kind: "cloud", email: "gate@acme.com", apiToken: CLOUD_TOKEN },
    timeoutMs: 2000,
    cacheTtlMs: 60_000,
    maxConcurrency: 4,
    webhookSecret: null,
    recheckIntervalMs: 0,
    ...over,
  };
}

function dcConfig(over: Partial<JiraConfig> = {}): JiraConfig {
  return cloudConfig({ baseUrl: `${DC_HOST}/jira`, auth: { kind: "datacenter", pat: PAT }, ...over });
}

interface Seen {
  path: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** Record every request a scope answered (path, JSON body, Authorization header). */
function record(scope: nock.Scope): Seen[] {
  const seen: Seen[] = [];
  scope.on(
    "request",
    (
      req: { path: string; headers: Record<string, string | string[] | undefined> },
      _i: unknown,
      body: string,
    ) => {
      const auth = req.headers.authorization;
      seen.push({
        path: req.path,
        body: body ? (JSON.parse(body) as Record<string, unknown>) : {},
        authorization: Array.isArray(auth) ? auth[0] : auth,
      });
    },
  );
  return seen;
}

function issue(key: string, status: string, summary = `Summary of ${key}`) {
  return {
    id: String(10000 + Number(key.split("-")[1])),
    key,
    self: `${CLOUD}/rest/api/3/issue/${key}`,
    fields: { summary, status: { name: status, id: "3" } },
  };
}

function service(config: JiraConfig, opts: JiraClientOptions = {}) {
  const sleeps: number[] = [];
  const svc = createJiraTicketService(config, {
    sleep: async (ms) => void sleeps.push(ms),
    ...opts,
  });
  return { svc, sleeps };
}

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("Jira Cloud (REST v3 bulkfetch)", () => {
  test("one request for every key, only summary and status asked for; found and unknown keys", async () => {
    const scope = nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, {
        expand: "",
        issues: [issue("OPS-12", "Approved"), issue("OPS-7", "In Progress")],
        issueErrors: [],
      });
    const seen = record(scope);
    const { svc } = service(cloudConfig());

    const result = await svc.lookup(["OPS-7", "OPS-12", "OPS-99"]);

    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(seen).toHaveLength(1);
    expect(svc.stats().requests).toBe(1);
    expect(seen[0]!.body).toStrictEqual({
      issueIdsOrKeys: ["OPS-7", "OPS-12", "OPS-99"],
      fields: ["summary", "status"],
      fieldsByKeys: false,
    });
    expect(seen[0]!.authorization).toBe(
      `Basic ${Buffer.from(`gate@acme.com:${CLOUD_TOKEN}`).toString("base64")}`,
    );
    expect(result).toStrictEqual({
      kind: "ok",
      found: [
        { key: "OPS-7", summary: "Summary of OPS-7", status: "In Progress", url: `${CLOUD}/browse/OPS-7` },
        { key: "OPS-12", summary: "Summary of OPS-12", status: "Approved", url: `${CLOUD}/browse/OPS-12` },
      ],
      unknown: ["OPS-99"],
    });
  });

  test("found and in an allowed state: the tickets rule passes on the lookup", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-12", "Approved")] });
    const { svc } = service(cloudConfig());
    const lookup = await svc.lookup(["OPS-12"]);
    const result = evaluateTickets(
      { refs: [{ key: "OPS-12", foundIn: ["title"] }], lookup },
      { required: true, projects: ["OPS"], sources: ["title"], allowedStates: ["approved"] },
    );
    expect(result.status).toBe("pass");
    expect(result.tickets[0]).toMatchObject({
      key: "OPS-12",
      status: "Approved",
      outcome: "ok",
      url: `${CLOUD}/browse/OPS-12`,
    });
  });

  test("a key Jira does not know is unknown, not a failure, and does not hide the others", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Done")] });
    const { svc } = service(cloudConfig());
    const lookup = await svc.lookup(["OPS-1", "OPS-404"]);
    expect(lookup).toMatchObject({ kind: "ok", unknown: ["OPS-404"] });
    const result = evaluateTickets(
      {
        refs: [
          { key: "OPS-1", foundIn: ["title"] },
          { key: "OPS-404", foundIn: ["body"] },
        ],
        lookup,
      },
      { required: true, projects: ["OPS"], sources: ["title", "body"], allowedStates: ["Done"] },
    );
    expect(result.status).toBe("fail");
    expect(result.tickets.map((t) => t.outcome)).toStrictEqual(["ok", "unknown"]);
  });

  test("a 404 saying the issue does not exist: every key asked for is unknown", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(404, {
        errorMessages: ["Issue does not exist or you do not have permission to see it."],
        errors: {},
      });
    const { svc } = service(cloudConfig());
    expect(await svc.lookup(["OPS-5"])).toStrictEqual({ kind: "ok", found: [], unknown: ["OPS-5"] });
  });

  test("a 404 that is not about an issue (wrong base URL) is an error, not an unknown ticket", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(404, "<html>Not Found</html>", { "content-type": "text/html" });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-5"]);
    expect(result.kind).toBe("unreachable");
    expect((result as { message: string }).message).toMatch(/HTTP 404 Not Found .*check JIRA_BASE_URL/);
  });

  test("issueErrors (Jira could not fetch some issue) fail closed as unreachable", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, {
        issues: [issue("OPS-1", "Done")],
        issueErrors: [{ id: "10002", errorMessage: "Retry later: index busy" }],
      });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1", "OPS-2"]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message: "Jira could not return every ticket: Retry later: index busy",
    });
  });

  test("401: credentials rejected, named by variable, the token never in the message", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(401, {
        errorMessages: ["You are not authenticated. Authentication required to perform this operation."],
      });
    const { svc, sleeps } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result.kind).toBe("auth_failed");
    const message = (result as { message: string }).message;
    expect(message).toContain("HTTP 401 Unauthorized");
    expect(message).toContain("JIRA_EMAIL + JIRA_API_TOKEN");
    expect(message).not.toContain(CLOUD_TOKEN);
    expect(sleeps).toStrictEqual([]); // not retried
  });

  test("403: the account may not browse the project", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(403, { errorMessages: ["Forbidden"] });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result.kind).toBe("auth_failed");
    expect((result as { message: string }).message).toMatch(
      /HTTP 403 Forbidden: .*Browse projects.*: Forbidden/,
    );
  });

  test("500 then success: retried after the Retry-After it asked for", async () => {
    const scope = nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(500, { errorMessages: ["Internal server error"] }, { "Retry-After": "2" })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc, sleeps } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(sleeps).toStrictEqual([2000]);
    expect(result).toMatchObject({ kind: "ok", found: [{ key: "OPS-1", status: "Approved" }] });
    expect(svc.stats().requests).toBe(2);
  });

  test("429 with Retry-After: waits exactly that long, then succeeds", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(429, { errorMessages: ["Rate limit exceeded"] }, { "Retry-After": "5" })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc, sleeps } = service(cloudConfig());
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ kind: "ok" });
    expect(sleeps).toStrictEqual([5000]);
  });

  test("429 asking for longer than changegate waits: reported at once, not slept on", async () => {
    nock(CLOUD).post("/rest/api/3/issue/bulkfetch").reply(429, {}, { "Retry-After": "600" });
    const { svc, sleeps } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message: "HTTP 429 Too Many Requests: Jira is rate-limiting changegate and asked to wait 600 s",
    });
    expect(sleeps).toStrictEqual([]);
  });

  test("5xx on every attempt: unreachable, naming the status and the attempts (bounded retries with backoff)", async () => {
    const scope = nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .times(3)
      .reply(503, "upstream down", { "content-type": "text/plain" });
    const { svc, sleeps } = service(cloudConfig(), { backoffMs: [100, 400] });
    const result = await svc.lookup(["OPS-1", "OPS-2"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(sleeps).toStrictEqual([100, 400]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message: "HTTP 503 Service Unavailable from acme.atlassian.net after 3 attempts",
    });
  });

  test("timeout: no answer within JIRA_TIMEOUT_MS is unreachable, and is not retried", async () => {
    nock(CLOUD).post("/rest/api/3/issue/bulkfetch").delay(1000).reply(200, { issues: [] });
    const { svc, sleeps } = service(cloudConfig({ timeoutMs: 50 }));
    const result = await svc.lookup(["OPS-1"]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message: "no answer from acme.atlassian.net within 50 ms (JIRA_TIMEOUT_MS)",
    });
    expect(sleeps).toStrictEqual([]);
    expect(svc.stats().requests).toBe(1);
  });

  test("connection refused (a real closed port on 127.0.0.1): unreachable, named, after bounded retries", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    nock.enableNetConnect("127.0.0.1");
    const { svc, sleeps } = service(cloudConfig({ baseUrl: `http://127.0.0.1:${port}` }), {
      backoffMs: [10, 20],
    });
    const result = await svc.lookup(["OPS-1"]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message: `connection refused (ECONNREFUSED) talking to 127.0.0.1:${port} (after 3 attempts)`,
    });
    expect(sleeps).toStrictEqual([10, 20]);
  });

  test("an unnamed network error keeps the Jira host but hides other hosts and addresses (the digest shows it)", async () => {
    nock(CLOUD).post("/rest/api/3/issue/bulkfetch").times(3).replyWithError({
      message: "tunnel through 10.20.30.40:3128 (squid.corp.internal:3128) refused",
      code: "EPROXY",
    });
    const { svc } = service(cloudConfig(), { backoffMs: [1, 1] });
    const result = await svc.lookup(["OPS-1"]);
    expect(result.kind).toBe("unreachable");
    const message = (result as { message: string }).message;
    expect(message).toContain("acme.atlassian.net");
    expect(message).not.toContain("10.20.30.40");
    expect(message).not.toContain("squid.corp.internal");
  });

  test("an answer that is not JSON (an SSO page) is malformed, not a crash", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, "<html><body>Log in</body></html>", { "content-type": "text/html;charset=UTF-8" });
    const { svc } = service(cloudConfig());
    expect(await svc.lookup(["OPS-1"])).toStrictEqual({
      kind: "malformed",
      message:
        "the answer to POST /rest/api/3/issue/bulkfetch is not JSON (text/html;charset=UTF-8): is an SSO login page or proxy in front of Jira?",
    });
  });

  test("JSON of the wrong shape (zod) is malformed and says where", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [{ key: "OPS-1", fields: { summary: "no status here" } }] });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result.kind).toBe("malformed");
    expect((result as { message: string }).message).toMatch(
      /does not have the shape changegate expects: issues\.0\.fields\.status: /,
    );
  });

  test("a redirect (SSO in front of Jira) is reported with the target host", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(302, "", { location: "https://sso.acme.com/login?next=/jira" });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result).toStrictEqual({
      kind: "unreachable",
      message:
        "HTTP 302 Found: Jira redirected to sso.acme.com; JIRA_BASE_URL must be the Jira site itself, not a login page",
    });
  });

  test("credentials echoed back by Jira or a proxy are redacted from the message", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(400, {
        errorMessages: [
          `bad token ${CLOUD_TOKEN}`,
          `header Basic ${Buffer.from(`gate@acme.com:${CLOUD_TOKEN}`).toString("base64")}`,
        ],
      });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(["OPS-1"]);
    const message = (result as { message: string }).message;
    expect(message).toContain("[REDACTED]");
    expect(message).not.toContain(CLOUD_TOKEN);
    expect(message).not.toContain(Buffer.from(`gate@acme.com:${CLOUD_TOKEN}`).toString("base64"));
  });

  test("more than 100 keys are split into requests of 100 (bulkfetch's limit)", async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `OPS-${i + 1}`);
    const scope = nock(CLOUD)
      .post(
        "/rest/api/3/issue/bulkfetch",
        (b: { issueIdsOrKeys: string[] }) => b.issueIdsOrKeys.length === 100,
      )
      .reply(200, { issues: [issue("OPS-1", "Done")] })
      .post(
        "/rest/api/3/issue/bulkfetch",
        (b: { issueIdsOrKeys: string[] }) => b.issueIdsOrKeys.length === 50,
      )
      .reply(200, { issues: [issue("OPS-150", "Done")] });
    const { svc } = service(cloudConfig());
    const result = await svc.lookup(keys);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(result).toMatchObject({ kind: "ok" });
    expect((result as { found: unknown[] }).found).toHaveLength(2);
    expect((result as { unknown: string[] }).unknown).toHaveLength(148);
  });

  test("keys that cannot be Jira keys are unknown without asking Jira (nothing odd reaches the JQL)", async () => {
    const { svc } = service(cloudConfig());
    expect(await svc.lookup(['OPS-1") OR project = "X', "ops-0"])).toStrictEqual({
      kind: "ok",
      found: [],
      unknown: ['OPS-1") OR PROJECT = "X', "OPS-0"],
    });
    expect(svc.stats().requests).toBe(0);
  });
});

describe("Jira Data Center (REST v2 search, bearer PAT)", () => {
  test("one search for every key, with a context path, bearer auth, validateQuery off", async () => {
    const scope = nock(DC_HOST)
      .post("/jira/rest/api/2/search")
      .reply(200, {
        startAt: 0,
        maxResults: 3,
        total: 2,
        issues: [issue("OPS-12", "Ready for Release"), issue("CHG-3", "Approved")],
      });
    const seen = record(scope);
    const { svc } = service(dcConfig());

    const result = await svc.lookup(["OPS-12", "CHG-3", "OPS-77"]);

    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBe(`Bearer ${PAT}`);
    expect(seen[0]!.body).toStrictEqual({
      jql: 'key in ("OPS-12", "CHG-3", "OPS-77")',
      startAt: 0,
      maxResults: 3,
      fields: ["summary", "status"],
      validateQuery: false,
    });
    expect(result).toStrictEqual({
      kind: "ok",
      found: [
        {
          key: "OPS-12",
          summary: "Summary of OPS-12",
          status: "Ready for Release",
          url: `${DC_HOST}/jira/browse/OPS-12`,
        },
        {
          key: "CHG-3",
          summary: "Summary of CHG-3",
          status: "Approved",
          url: `${DC_HOST}/jira/browse/CHG-3`,
        },
      ],
      unknown: ["OPS-77"],
    });
  });

  test("a version that answers 400 for an unknown key: that key is unknown, the others are asked for again", async () => {
    const scope = nock(DC_HOST)
      .post(
        "/jira/rest/api/2/search",
        (b: { jql: string }) => b.jql === 'key in ("OPS-1", "OPS-999", "OPS-2")',
      )
      .reply(400, {
        errorMessages: ["An issue with key 'OPS-999' does not exist for field 'key'."],
        errors: {},
      })
      .post("/jira/rest/api/2/search", (b: { jql: string }) => b.jql === 'key in ("OPS-1", "OPS-2")')
      .reply(200, { startAt: 0, total: 2, issues: [issue("OPS-1", "Approved"), issue("OPS-2", "Open")] });
    const { svc } = service(dcConfig());
    const result = await svc.lookup(["OPS-1", "OPS-999", "OPS-2"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(result).toMatchObject({ kind: "ok", unknown: ["OPS-999"] });
    expect((result as { found: { key: string }[] }).found.map((f) => f.key)).toStrictEqual([
      "OPS-1",
      "OPS-2",
    ]);
  });

  test("400 naming every key: all unknown, no second request", async () => {
    nock(DC_HOST)
      .post("/jira/rest/api/2/search")
      .reply(400, {
        errorMessages: [
          "The issue key 'OPS-8' for field 'key' is invalid.",
          "An issue with key 'OPS-9' does not exist for field 'key'.",
        ],
      });
    const { svc } = service(dcConfig());
    expect(await svc.lookup(["OPS-8", "OPS-9"])).toStrictEqual({
      kind: "ok",
      found: [],
      unknown: ["OPS-8", "OPS-9"],
    });
    expect(svc.stats().requests).toBe(1);
  });

  test("a 400 that names no key is Jira erroring, reported with Jira's words", async () => {
    nock(DC_HOST)
      .post("/jira/rest/api/2/search")
      .reply(400, { errorMessages: ["Error in the JQL Query: something odd"] });
    const { svc } = service(dcConfig());
    expect(await svc.lookup(["OPS-1"])).toStrictEqual({
      kind: "unreachable",
      message:
        "Jira refused POST /rest/api/2/search: HTTP 400 Bad Request: Error in the JQL Query: something odd",
    });
  });

  test("401 names JIRA_PAT; a CAPTCHA lock-out (403 AUTHENTICATION_DENIED) says so", async () => {
    nock(DC_HOST)
      .post("/jira/rest/api/2/search")
      .reply(401, "", { "x-seraph-loginreason": "AUTHENTICATED_FAILED" })
      .post("/jira/rest/api/2/search")
      .reply(403, "", { "x-seraph-loginreason": "AUTHENTICATION_DENIED" });
    const { svc } = service(dcConfig());
    const first = await svc.lookup(["OPS-1"]);
    expect(first).toStrictEqual({
      kind: "auth_failed",
      message: "HTTP 401 Unauthorized: Jira did not accept JIRA_PAT (wrong, revoked or expired?)",
    });
    const second = await svc.lookup(["OPS-1"]);
    expect(second.kind).toBe("auth_failed");
    expect((second as { message: string }).message).toContain("CAPTCHA");
  });

  test("a server that caps maxResults: the rest is fetched with startAt", async () => {
    const scope = nock(DC_HOST)
      .post("/jira/rest/api/2/search", (b: { startAt: number }) => b.startAt === 0)
      .reply(200, { startAt: 0, maxResults: 1, total: 2, issues: [issue("OPS-1", "Done")] })
      .post("/jira/rest/api/2/search", (b: { startAt: number }) => b.startAt === 1)
      .reply(200, { startAt: 1, maxResults: 1, total: 2, issues: [issue("OPS-2", "Done")] });
    const { svc } = service(dcConfig());
    const result = await svc.lookup(["OPS-1", "OPS-2"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(result).toMatchObject({ kind: "ok", unknown: [] });
  });

  test("malformed search answer (issues missing) is malformed", async () => {
    nock(DC_HOST).post("/jira/rest/api/2/search").reply(200, { startAt: 0, total: 1 });
    const { svc } = service(dcConfig());
    const result = await svc.lookup(["OPS-1"]);
    expect(result.kind).toBe("malformed");
    expect((result as { message: string }).message).toContain(
      "POST /rest/api/2/search does not have the shape changegate expects: issues:",
    );
  });
});

describe("cache, sharing and concurrency", () => {
  test("a cache hit makes no request; a partly cached lookup asks only for the new key", async () => {
    const scope = nock(CLOUD)
      .post(
        "/rest/api/3/issue/bulkfetch",
        (b: { issueIdsOrKeys: string[] }) => b.issueIdsOrKeys.join() === "OPS-1,OPS-2",
      )
      .reply(200, { issues: [issue("OPS-1", "Approved")] })
      .post(
        "/rest/api/3/issue/bulkfetch",
        (b: { issueIdsOrKeys: string[] }) => b.issueIdsOrKeys.join() === "OPS-3",
      )
      .reply(200, { issues: [issue("OPS-3", "Open")] });
    const { svc } = service(cloudConfig());
    const first = await svc.lookup(["OPS-1", "OPS-2"]);
    const again = await svc.lookup(["OPS-2", "OPS-1"]);
    expect(svc.stats().requests).toBe(1);
    expect(again).toStrictEqual({
      kind: "ok",
      found: (first as { found: unknown[] }).found,
      unknown: ["OPS-2"],
    });
    const third = await svc.lookup(["OPS-1", "OPS-3"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(svc.stats()).toMatchObject({ requests: 2, cacheHits: 3 });
    expect((third as { found: { key: string }[] }).found.map((f) => f.key)).toStrictEqual(["OPS-1", "OPS-3"]);
  });

  test("cache entries expire after JIRA_CACHE_TTL_MS (injected clock)", async () => {
    let now = 1_000_000;
    const scope = nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "In Review")] })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig({ cacheTtlMs: 60_000 }), { now: () => now });
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "In Review" }] });
    now += 59_999;
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "In Review" }] });
    expect(svc.stats().requests).toBe(1);
    now += 1;
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "Approved" }] });
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(svc.stats().requests).toBe(2);
  });

  test("failures are not cached: the next lookup asks again", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(401, {})
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig());
    expect((await svc.lookup(["OPS-1"])).kind).toBe("auth_failed");
    expect((await svc.lookup(["OPS-1"])).kind).toBe("ok");
  });

  test("invalidate(key) (a Jira webhook) makes the next lookup ask Jira again", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Open")] })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig());
    await svc.lookup(["OPS-1"]);
    svc.invalidate("ops-1");
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "Approved" }] });
    expect(svc.stats().requests).toBe(2);
  });

  test("JIRA_CACHE_TTL_MS=0 disables the cache", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .times(2)
      .reply(200, { issues: [issue("OPS-1", "Open")] });
    const { svc } = service(cloudConfig({ cacheTtlMs: 0 }));
    await svc.lookup(["OPS-1"]);
    await svc.lookup(["OPS-1"]);
    expect(svc.stats().requests).toBe(2);
  });

  test("concurrent lookups of the same keys share one request", async () => {
    const scope = nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .delay(30)
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig());
    const results = await Promise.all([svc.lookup(["OPS-1"]), svc.lookup(["OPS-1"]), svc.lookup(["ops-1"])]);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(svc.stats()).toMatchObject({ requests: 1, shared: 2 });
    for (const r of results) expect(r).toMatchObject({ kind: "ok", found: [{ key: "OPS-1" }] });
  });

  test("at most JIRA_MAX_CONCURRENCY requests are in flight across evaluations", async () => {
    let active = 0;
    let peak = 0;
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .times(6)
      .reply((_uri, body, callback) => {
        active++;
        peak = Math.max(peak, active);
        const key = (body as { issueIdsOrKeys: string[] }).issueIdsOrKeys[0]!;
        setTimeout(() => {
          active--;
          callback(null, [200, { issues: [issue(key, "Open")] }]);
        }, 25);
      });
    const { svc } = service(cloudConfig({ maxConcurrency: 2 }));
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => svc.lookup([`OPS-${n}`])));
    expect(peak).toBe(2);
    expect(svc.stats().requests).toBe(6);
    expect(results.map((r) => (r as { found: { key: string }[] }).found[0]!.key)).toStrictEqual([
      "OPS-1",
      "OPS-2",
      "OPS-3",
      "OPS-4",
      "OPS-5",
      "OPS-6",
    ]);
  });

  test("a request that started before invalidate() does not refill the cache with the old state", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .delay(30)
      .reply(200, { issues: [issue("OPS-1", "Open")] })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig());
    const running = svc.lookup(["OPS-1"]);
    svc.invalidate("OPS-1");
    expect(await running).toMatchObject({ found: [{ status: "Open" }] });
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "Approved" }] });
  });

  test("an older request finishing after a newer one never overwrites the newer state in the cache", async () => {
    nock(CLOUD)
      .post("/rest/api/3/issue/bulkfetch")
      .delay(60)
      .reply(200, { issues: [issue("OPS-1", "Open")] })
      .post("/rest/api/3/issue/bulkfetch")
      .reply(200, { issues: [issue("OPS-1", "Approved")] });
    const { svc } = service(cloudConfig());
    const older = svc.lookup(["OPS-1"]);
    await new Promise((r) => setTimeout(r, 10));
    svc.invalidate("OPS-1");
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "Approved" }] });
    expect(await older).toMatchObject({ found: [{ status: "Open" }] });
    expect(await svc.lookup(["OPS-1"])).toMatchObject({ found: [{ status: "Approved" }] });
    expect(svc.stats().requests).toBe(2);
    expect(svc.sizes()).toStrictEqual({ cache: 1, inflight: 0, invalidated: 0, outstanding: 0 });
  });

  test("webhook invalidations for keys never looked up leave nothing behind", () => {
    const { svc } = service(cloudConfig());
    for (let i = 1; i <= 1000; i++) svc.invalidate(`OPS-${i}`);
    expect(svc.sizes()).toStrictEqual({ cache: 0, inflight: 0, invalidated: 0, outstanding: 0 });
  });

  test("the cache is bounded (MAX_CACHE_ENTRIES), dropping the oldest", async () => {
    nock(CLOUD).post("/rest/api/3/issue/bulkfetch").times(101).reply(200, { issues: [] });
    const { svc } = service(cloudConfig());
    const keys = Array.from({ length: MAX_CACHE_ENTRIES + 1 }, (_, i) => `OPS-${i + 1}`);
    await svc.lookup(keys);
    expect(svc.stats().requests).toBe(101);
    expect(svc.sizes().cache).toBe(MAX_CACHE_ENTRIES);
  });
});

describe("helpers", () => {
  test("Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("7", 0)).toBe(7000);
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(
      10_000,
    );
    expect(retryAfterMs("soon", 0)).toBeNull();
    expect(retryAfterMs(null, 0)).toBeNull();
  });

  test("the service is a JiraTicketService with the configured ticket URL", () => {
    const svc = createJiraTicketService(dcConfig());
    expect(svc).toBeInstanceOf(JiraTicketService);
    expect(svc.ticketUrl("OPS-1")).toBe(`${DC_HOST}/jira/browse/OPS-1`);
  });
});
