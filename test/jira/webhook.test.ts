/**
 * POST /api/jira/webhooks over real HTTP on 127.0.0.1: Jira Cloud's HMAC signature, Data Center's
 * ?secret= token, every rejection (changing nothing), and the fan-out to every PR referencing the
 * key across repositories and installations. Also the route inside Probot's own server: present
 * when registered, 404 when not.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { createServer, type Server as HttpServer } from "node:http";
import { connect, type Socket } from "node:net";
import { limitRequestBodies } from "../../src/server/body-limit.js";
import nock from "nock";
import { pino } from "pino";
import { Probot, Server } from "probot";
import type { EvaluationRecord } from "../../src/audit/recorder.js";
import type { PrRef } from "../../src/github/types.js";
import {
  createJiraWebhookHandler,
  JIRA_WEBHOOK_PATH,
  jiraPreflight,
  MAX_JIRA_WEBHOOK_BYTES,
  signBody,
  scrubSecretQuery,
  signatureMatches,
  tokenMatches,
  type HttpHandler,
  type JiraWebhookOptions,
} from "../../src/jira/webhook.js";
import { ticketIndexEntry } from "../../src/policy/tickets.js";
import { indexingRecorder, MemoryTicketIndex } from "../helpers/ticket-index.js";
import type { Verdict } from "../../src/policy/types.js";
import { evidence } from "../helpers/fixtures.js";
import { privateKey } from "../helpers/probot.js";

const SECRET = "jira-webhook-secret-0123456789";
const PAYMENTS: PrRef = { installationId: 77, owner: "acme", repo: "payments", number: 12 };
const LEDGER: PrRef = { installationId: 78, owner: "globex", repo: "ledger", number: 3 };
const OTHER: PrRef = { installationId: 77, owner: "acme", repo: "web", number: 9 };

interface Harness {
  url: string;
  evaluated: { ref: PrRef; reason: string }[];
  invalidated: string[];
  logs: { level: string; obj: object; msg: string }[];
  index: MemoryTicketIndex;
  close(): Promise<void>;
}

let open: Harness | null = null;

async function listen(handlers: HttpHandler[]): Promise<{ server: HttpServer; url: string }> {
  const server = createServer(async (req, res) => {
    for (const h of handlers) if (await h(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function start(over: Partial<JiraWebhookOptions> = {}): Promise<Harness> {
  const evaluated: Harness["evaluated"] = [];
  const invalidated: string[] = [];
  const logs: Harness["logs"] = [];
  const index = new MemoryTicketIndex();
  const log = {
    info: (obj: object, msg: string) => void logs.push({ level: "info", obj, msg }),
    warn: (obj: object, msg: string) => void logs.push({ level: "warn", obj, msg }),
    error: (obj: object, msg: string) => void logs.push({ level: "error", obj, msg }),
  };
  const handler = createJiraWebhookHandler({
    secret: SECRET,
    index,
    evaluate: (ref, reason) => void evaluated.push({ ref, reason }),
    log,
    cache: { invalidate: (k) => void invalidated.push(k) },
    ...over,
  });
  const { server, url } = await listen([handler]);
  open = {
    url,
    evaluated,
    invalidated,
    logs,
    index,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return open;
}

function issueUpdated(
  key: string,
  items: { field: string; fromString?: string; toString?: string }[] = [
    { field: "status", fromString: "In Review", toString: "Approved" },
  ],
) {
  return {
    timestamp: 1_700_000_000_000,
    webhookEvent: "jira:issue_updated",
    issue_event_type_name: "issue_generic",
    user: { accountId: "5b10a2844c20165700ede21g", displayName: "Release Manager" },
    issue: {
      id: "10012",
      key,
      self: `https://acme.atlassian.net/rest/api/2/issue/10012`,
      fields: { summary: "Rotate keys", status: { name: "Approved" } },
    },
    changelog: { id: "10400", items: items.map((i) => ({ fieldtype: "jira", ...i })) },
  };
}

async function post(h: Harness, body: string | object, headers: Record<string, string> = {}, query = "") {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(`${h.url}${JIRA_WEBHOOK_PATH}${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: text,
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

function signed(body: object): [string, Record<string, string>] {
  const text = JSON.stringify(body);
  return [text, { "x-hub-signature": signBody(SECRET, text) }];
}

beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterEach(async () => {
  await open?.close();
  open = null;
  nock.enableNetConnect();
});

describe("authentication", () => {
  test("a good X-Hub-Signature (Jira Cloud): the key's PRs in two repos and two installations are re-evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    h.index.update(LEDGER, ["OPS-12", "OPS-3"], true);
    h.index.update(OTHER, ["OPS-3"], true);
    const [text, headers] = signed(issueUpdated("OPS-12"));
    const res = await post(h, text, headers);
    expect(res).toStrictEqual({
      status: 202,
      body: { event: "jira:issue_updated", keys: ["OPS-12"], evaluations: 2 },
    });
    expect(h.invalidated).toStrictEqual(["OPS-12"]);
    expect(h.evaluated).toStrictEqual([
      { ref: PAYMENTS, reason: "jira:issue_updated OPS-12" },
      { ref: LEDGER, reason: "jira:issue_updated OPS-12" },
    ]);
  });

  test("a wrong signature: 401, nothing invalidated or evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const text = JSON.stringify(issueUpdated("OPS-12"));
    const res = await post(h, text, { "x-hub-signature": signBody("another-secret-entirely-xx", text) });
    expect(res.status).toBe(401);
    expect(h.evaluated).toStrictEqual([]);
    expect(h.invalidated).toStrictEqual([]);
  });

  test("a signature over a different body (tampered payload): 401", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const [, headers] = signed(issueUpdated("OPS-1"));
    const res = await post(h, issueUpdated("OPS-12"), headers);
    expect(res.status).toBe(401);
    expect(h.evaluated).toStrictEqual([]);
  });

  test("unsigned: 401, nothing evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const res = await post(h, issueUpdated("OPS-12"));
    expect(res.status).toBe(401);
    expect(h.evaluated).toStrictEqual([]);
    expect(h.invalidated).toStrictEqual([]);
  });

  test("?secret= token (Jira Data Center): accepted when right", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const res = await post(h, issueUpdated("OPS-12"), {}, `?secret=${encodeURIComponent(SECRET)}`);
    expect(res.status).toBe(202);
    expect(h.evaluated.map((e) => e.ref)).toStrictEqual([PAYMENTS]);
    expect(JSON.stringify(h.logs)).not.toContain(SECRET);
  });

  test("?secret= token wrong (or a prefix of the secret): 401, nothing evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    expect((await post(h, issueUpdated("OPS-12"), {}, "?secret=guess")).status).toBe(401);
    expect((await post(h, issueUpdated("OPS-12"), {}, `?secret=${SECRET.slice(0, -1)}`)).status).toBe(401);
    expect(h.evaluated).toStrictEqual([]);
  });

  test("the secret in the query is scrubbed from req.url before anything later logs it", async () => {
    let seenUrl = "";
    const handler = createJiraWebhookHandler({
      secret: SECRET,
      index: new MemoryTicketIndex(),
      evaluate: () => {},
      log: { info() {}, warn() {}, error() {} },
    });
    const { server, url } = await listen([
      async (req, res) => {
        const done = await handler(req, res);
        seenUrl = req.url ?? "";
        return done;
      },
    ]);
    try {
      const res = await fetch(`${url}${JIRA_WEBHOOK_PATH}?secret=${SECRET}`, {
        method: "POST",
        body: JSON.stringify(issueUpdated("OPS-1")),
      });
      expect(res.status).toBe(200);
      expect(seenUrl).toBe(`${JIRA_WEBHOOK_PATH}?secret=%5BREDACTED%5D`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("scrubSecretQuery removes ?secret= values from a JSON log line, keeping the rest", () => {
    const line = JSON.stringify({
      req: { url: `/api/jira/webhooks?secret=${SECRET}&x=1` },
      msg: `POST /api/jira/webhooks?a=b&secret=${SECRET} 202`,
    });
    const scrubbed = scrubSecretQuery(line);
    expect(scrubbed).not.toContain(SECRET);
    expect(JSON.parse(scrubbed)).toStrictEqual({
      req: { url: "/api/jira/webhooks?secret=[REDACTED]&x=1" },
      msg: "POST /api/jira/webhooks?a=b&secret=[REDACTED] 202",
    });
  });

  test("signature and token checks are constant-time comparisons that reject near misses", () => {
    const body = Buffer.from('{"a":1}');
    const good = signBody(SECRET, body);
    expect(signatureMatches(SECRET, body, good)).toBe(true);
    expect(signatureMatches(SECRET, body, good.toUpperCase().replace("SHA256=", "sha256="))).toBe(true);
    expect(
      signatureMatches(
        SECRET,
        body,
        good.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
      ),
    ).toBe(false);
    expect(signatureMatches(SECRET, body, good.replace("sha256=", "sha1="))).toBe(false);
    expect(signatureMatches(SECRET, body, "sha256=abc")).toBe(false);
    expect(tokenMatches(SECRET, SECRET)).toBe(true);
    expect(tokenMatches(SECRET, `${SECRET}x`)).toBe(false);
    expect(tokenMatches(SECRET, "")).toBe(false);
  });

  test("no secret, no handler: it refuses to be built open", () => {
    expect(() =>
      createJiraWebhookHandler({
        secret: "",
        index: new MemoryTicketIndex(),
        evaluate: () => {},
        log: { info() {}, warn() {}, error() {} },
      }),
    ).toThrow(/needs a secret/);
  });
});

describe("payloads", () => {
  test("malformed JSON (signed): 400, nothing evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const text = '{"webhookEvent": "jira:issue_updated", "issue": {"key": "OPS-12"';
    const res = await post(h, text, { "x-hub-signature": signBody(SECRET, text) });
    expect(res).toStrictEqual({ status: 400, body: { error: "body is not JSON" } });
    expect(h.evaluated).toStrictEqual([]);
    expect(h.invalidated).toStrictEqual([]);
  });

  test("an issue event without an issue key: 400", async () => {
    const h = await start();
    const [text, headers] = signed({ webhookEvent: "jira:issue_updated", issue: { id: "10012" } });
    expect(await post(h, text, headers)).toStrictEqual({
      status: 400,
      body: { error: "jira:issue_updated without a valid issue.key" },
    });
    const [text2, headers2] = signed({ issue: { key: "OPS-1" } });
    expect((await post(h, text2, headers2)).status).toBe(400);
  });

  test("a key no open PR references: 200, nothing evaluated", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const [text, headers] = signed(issueUpdated("OPS-404"));
    expect(await post(h, text, headers)).toStrictEqual({
      status: 200,
      body: { event: "jira:issue_updated", keys: ["OPS-404"], evaluations: 0 },
    });
    expect(h.evaluated).toStrictEqual([]);
  });

  test("jira:issue_deleted re-evaluates the PRs that referenced the ticket", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const [text, headers] = signed({
      webhookEvent: "jira:issue_deleted",
      issue: { id: "10012", key: "OPS-12", fields: {} },
    });
    expect((await post(h, text, headers)).status).toBe(202);
    expect(h.evaluated).toStrictEqual([{ ref: PAYMENTS, reason: "jira:issue_deleted OPS-12" }]);
    expect(h.invalidated).toStrictEqual(["OPS-12"]);
  });

  test("jira:issue_created re-evaluates PRs that named the ticket before it existed", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-13"], true);
    const [text, headers] = signed({ webhookEvent: "jira:issue_created", issue: { key: "OPS-13" } });
    expect((await post(h, text, headers)).status).toBe(202);
    expect(h.evaluated.map((e) => e.ref)).toStrictEqual([PAYMENTS]);
  });

  test("other events are acknowledged and ignored", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const [text, headers] = signed({
      webhookEvent: "comment_created",
      issue: { key: "OPS-12" },
      comment: { body: "hi" },
    });
    expect(await post(h, text, headers)).toStrictEqual({ status: 200, body: { ignored: "comment_created" } });
    expect(h.evaluated).toStrictEqual([]);
  });

  test("an update that touches neither status, summary nor key (e.g. assignee) is ignored", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const [text, headers] = signed(
      issueUpdated("OPS-12", [{ field: "assignee", fromString: "A", toString: "B" }]),
    );
    expect((await post(h, text, headers)).status).toBe(200);
    const [text2, headers2] = signed({
      ...issueUpdated("OPS-12"),
      changelog: undefined,
      issue_event_type_name: "issue_commented",
    });
    expect((await post(h, text2, headers2)).status).toBe(200);
    expect(h.evaluated).toStrictEqual([]);
  });

  test("a ticket moved to another project: PRs naming the old key are re-evaluated too", async () => {
    const h = await start();
    h.index.update(PAYMENTS, ["OPS-12"], true);
    h.index.update(LEDGER, ["CHG-40"], true);
    const [text, headers] = signed(
      issueUpdated("CHG-40", [
        { field: "Key", fromString: "OPS-12", toString: "CHG-40" },
        { field: "project", fromString: "Ops", toString: "Change" },
      ]),
    );
    const res = await post(h, text, headers);
    expect(res).toStrictEqual({
      status: 202,
      body: { event: "jira:issue_updated", keys: ["CHG-40", "OPS-12"], evaluations: 2 },
    });
    expect(h.invalidated.sort()).toStrictEqual(["CHG-40", "OPS-12"]);
    expect(h.evaluated.map((e) => e.ref.repo).sort()).toStrictEqual(["ledger", "payments"]);
  });

  test("a body over the limit: 413 before anything is read further", async () => {
    const h = await start({ maxBodyBytes: 1024 });
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const big = { ...issueUpdated("OPS-12"), padding: "x".repeat(5000) };
    const [text, headers] = signed(big);
    expect((await post(h, text, headers)).status).toBe(413);
    expect(h.evaluated).toStrictEqual([]);
  });

  test("a chunked body (no Content-Length) over the limit: 413 as well", async () => {
    const h = await start({ maxBodyBytes: 1024 });
    h.index.update(PAYMENTS, ["OPS-12"], true);
    const chunk = new TextEncoder().encode("x".repeat(600));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 4) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${h.url}${JIRA_WEBHOOK_PATH}?secret=${SECRET}`, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(h.evaluated).toStrictEqual([]);
  });

  test("only POST on the exact path; other paths fall through to the next handler", async () => {
    const h = await start();
    expect((await fetch(`${h.url}${JIRA_WEBHOOK_PATH}`)).status).toBe(405);
    expect((await fetch(`${h.url}/api/jira/webhooks/extra`, { method: "POST", body: "{}" })).status).toBe(
      404,
    );
    expect((await fetch(`${h.url}/api/github/webhooks`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  test("answers without waiting for the evaluations; a failing evaluation is logged, not thrown", async () => {
    const h = await start({
      evaluate: (ref) =>
        ref.repo === "payments" ? new Promise<void>(() => {}) : Promise.reject(new Error("scheduler gone")),
    });
    h.index.update(PAYMENTS, ["OPS-12"], true);
    h.index.update(LEDGER, ["OPS-12"], true);
    const [text, headers] = signed(issueUpdated("OPS-12"));
    expect((await post(h, text, headers)).status).toBe(202);
    await new Promise((r) => setImmediate(r));
    expect(h.logs.filter((l) => l.level === "error").map((l) => l.msg)).toStrictEqual([
      "re-evaluation after a Jira webhook failed",
    ]);
  });

  test("an index that fails: 503 so Jira retries, nothing evaluated", async () => {
    const h = await start({
      index: { prsForKey: async () => Promise.reject(new Error("database is locked")) },
    });
    const [text, headers] = signed(issueUpdated("OPS-12"));
    expect((await post(h, text, headers)).status).toBe(503);
    expect(h.evaluated).toStrictEqual([]);
  });
});

describe("MemoryTicketIndex", () => {
  test("update replaces a PR's keys; closing removes it; keys are case-insensitive", async () => {
    const index = new MemoryTicketIndex();
    index.update(PAYMENTS, ["ops-1", "OPS-2"], true);
    index.update(LEDGER, ["OPS-2"], true);
    expect(await index.prsForKey("OPS-1")).toStrictEqual([PAYMENTS]);
    expect(await index.prsForKey("ops-2")).toStrictEqual([PAYMENTS, LEDGER]);
    index.update(PAYMENTS, ["OPS-3"], true);
    expect(await index.prsForKey("OPS-1")).toStrictEqual([]);
    expect(await index.prsForKey("OPS-3")).toStrictEqual([PAYMENTS]);
    index.update(LEDGER, ["OPS-2"], false);
    expect(await index.prsForKey("OPS-2")).toStrictEqual([]);
    expect(index.size).toBe(1);
  });

  test("waitingOnTickets lists PRs whose only failing rule is tickets", async () => {
    const index = new MemoryTicketIndex();
    index.update(PAYMENTS, ["OPS-1"], true, true);
    index.update(LEDGER, ["OPS-2"], true, false);
    expect(await index.waitingOnTickets()).toStrictEqual([PAYMENTS]);
  });

  test("ticketIndexEntry: waiting when tickets are the only failing rule; no keys when the rule is skipped", () => {
    const rule = (r: "approvals" | "ci" | "tickets", status: "pass" | "fail" | "skipped") =>
      ({ rule: r, status }) as unknown as Verdict["rules"][number];
    const verdict = (rules: Verdict["rules"], conclusion: Verdict["conclusion"] = "failure") =>
      ({ conclusion, title: "", gated: true, emergency: false, draft: false, rules }) as Verdict;
    const waiting = (v: Verdict | null) => ticketIndexEntry(v, []).waiting;
    expect(waiting(verdict([rule("approvals", "pass"), rule("tickets", "fail")]))).toBe(true);
    expect(waiting(verdict([rule("approvals", "fail"), rule("tickets", "fail")]))).toBe(false);
    expect(waiting(verdict([rule("tickets", "pass")], "success"))).toBe(false);
    expect(waiting(null)).toBe(false);
    const refs = [
      { key: "ops-2", foundIn: ["branch" as const] },
      { key: "OPS-2", foundIn: ["title" as const] },
      { key: "OPS-1", foundIn: ["body" as const] },
    ];
    expect(ticketIndexEntry(verdict([rule("tickets", "fail")]), refs).keys).toEqual(["OPS-2", "OPS-1"]);
    expect(ticketIndexEntry(verdict([rule("tickets", "skipped")], "success"), refs).keys).toEqual([]);
  });

  test("indexingRecorder keeps the index in step with evaluations and merges", async () => {
    const index = new MemoryTicketIndex();
    const seen: string[] = [];
    const recorder = indexingRecorder(
      {
        recordEvaluation: async (r) => void seen.push(`eval ${r.ref.repo}`),
        recordMerge: async (r) => (seen.push(`merge ${r.ref.repo}`), null),
        verdictsAt: async () => new Map(),
      },
      index,
    );
    const ev = evidence({
      tickets: {
        refs: [{ key: "OPS-7", foundIn: ["title"] }],
        lookup: { kind: "ok", found: [], unknown: ["OPS-7"] },
      },
    });
    const ticketsFail = {
      conclusion: "failure",
      title: "",
      gated: true,
      emergency: false,
      draft: false,
      rules: [{ rule: "tickets", status: "fail" }],
    } as unknown as Verdict;
    const rec = {
      at: "",
      deliveryId: "d",
      event: "e",
      ref: PAYMENTS,
      evidence: ev,
      policy: null,
      verdict: ticketsFail,
      outcome: "failure",
      error: null,
    } as EvaluationRecord;
    await recorder.recordEvaluation(rec);
    expect(await index.prsForKey("OPS-7")).toStrictEqual([PAYMENTS]);
    expect(await index.waitingOnTickets()).toStrictEqual([PAYMENTS]);
    const skipped = {
      ...ticketsFail,
      conclusion: "success",
      rules: [{ rule: "tickets", status: "skipped" }],
    } as unknown as Verdict;
    await recorder.recordEvaluation({ ...rec, verdict: skipped, outcome: "success" });
    expect(await index.prsForKey("OPS-7")).toStrictEqual([]);
    await recorder.recordEvaluation(rec);
    await recorder.recordMerge({
      at: "",
      deliveryId: "m",
      ref: PAYMENTS,
      url: "",
      title: "",
      author: null,
      headSha: "",
      mergedBy: null,
      mergedAt: null,
      mergeCommitSha: null,
      outcome: "failure",
      emergency: false,
    });
    expect(await index.prsForKey("OPS-7")).toStrictEqual([]);
    expect(seen).toStrictEqual(["eval payments", "eval payments", "eval payments", "merge payments"]);
  });
});

describe("inside Probot's server", () => {
  async function freePort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  async function probotServer(register: boolean) {
    const evaluated: PrRef[] = [];
    const index = new MemoryTicketIndex();
    index.update(PAYMENTS, ["OPS-12"], true);
    const log = pino({ level: "silent" });
    const port = await freePort();
    const server = new Server({
      Probot: Probot.defaults({ appId: 4242, privateKey, secret: "github-webhook-secret-0123", log }),
      port,
      host: "127.0.0.1",
      log,
    });
    await server.load((_app, { addHandler }) => {
      if (register)
        addHandler!(
          createJiraWebhookHandler({
            secret: SECRET,
            index,
            evaluate: (ref) => void evaluated.push(ref),
            log,
          }),
        );
    });
    await server.start();
    return { url: `http://127.0.0.1:${port}`, evaluated, stop: () => server.stop() };
  }

  test("registered (JIRA_WEBHOOK_SECRET set): a signed delivery re-evaluates the PR", async () => {
    const s = await probotServer(true);
    try {
      const text = JSON.stringify(issueUpdated("OPS-12"));
      const res = await fetch(`${s.url}${JIRA_WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "x-hub-signature": signBody(SECRET, text) },
        body: text,
      });
      expect(res.status).toBe(202);
      expect(s.evaluated).toStrictEqual([PAYMENTS]);
    } finally {
      await s.stop();
    }
  });

  test("not registered (no JIRA_WEBHOOK_SECRET): the path is 404, never open", async () => {
    const s = await probotServer(false);
    try {
      const text = JSON.stringify(issueUpdated("OPS-12"));
      const res = await fetch(`${s.url}${JIRA_WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "x-hub-signature": signBody(SECRET, text) },
        body: text,
      });
      expect(res.status).toBe(404);
      expect(s.evaluated).toStrictEqual([]);
    } finally {
      await s.stop();
    }
  });
});

describe("behind the HTTP edge, as main.ts wires it (server/body-limit.ts)", () => {
  /** The route behind limitRequestBodies with the Jira route's preflight, as in main.ts. */
  async function edge(maxInFlightBytes: number) {
    const evaluated: PrRef[] = [];
    const index = new MemoryTicketIndex();
    index.update(PAYMENTS, ["OPS-12"], true);
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const handler = createJiraWebhookHandler({
      secret: SECRET,
      index,
      evaluate: (ref) => void evaluated.push(ref),
      log,
    });
    const server = createServer(async (req, res) => {
      if (!(await handler(req, res))) res.writeHead(404).end();
    });
    const limits = limitRequestBodies(server, {
      maxBytes: 25 * 1024 * 1024,
      maxInFlightBytes,
      routes: [
        { path: JIRA_WEBHOOK_PATH, maxBytes: MAX_JIRA_WEBHOOK_BYTES, preflight: jiraPreflight(SECRET) },
      ],
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    open = {
      url: `http://127.0.0.1:${port}`,
      evaluated: [],
      invalidated: [],
      logs: [],
      index,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
    return { port, limits, evaluated };
  }

  /** Headers declaring `declared` body bytes, then `first` of them; resolves with the status line's code (or "none" after 3 s). */
  async function partial(
    port: number,
    path: string,
    headers: Record<string, string>,
    declared: number,
    first: string,
  ) {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    let got = "";
    const answer = new Promise<string>((resolve) => {
      socket.on("data", (d) => {
        got += d.toString("latin1");
        const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
        if (m) resolve(m[1]!);
      });
      socket.on("error", () => resolve("error"));
      setTimeout(() => resolve("none"), 3000).unref();
    });
    const head = Object.entries({
      host: "127.0.0.1",
      "content-type": "application/json",
      "content-length": String(declared),
      ...headers,
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n${first}`);
    return { socket, answer };
  }
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  test("a wrong or missing secret, or a malformed signature: 401 before a byte of the body is read or charged", async () => {
    const { port, limits, evaluated } = await edge(4 * 1024 * 1024);
    // Each declares a 1 MB body and sends none of it: the answer must not wait for the body.
    for (const [path, headers] of [
      [`${JIRA_WEBHOOK_PATH}?secret=guess`, {}],
      [JIRA_WEBHOOK_PATH, {}],
      [JIRA_WEBHOOK_PATH, { "x-hub-signature": "sha256=not-hex" }],
    ] as const) {
      const p = await partial(port, path, headers, MAX_JIRA_WEBHOOK_BYTES, "");
      expect(await p.answer).toBe("401");
      expect(p.socket.bytesWritten).toBeLessThan(300); // the request line and headers only: no body was sent, none read
      expect(limits.budget.held).toBe(0);
    }
    expect(evaluated).toStrictEqual([]);
  });

  test("Jira bodies are charged to the shared budget as they arrive, and a right secret's body within it is accepted", async () => {
    const { port, limits, evaluated } = await edge(3000);
    // A right token, half a body: its arrived bytes are held in the budget.
    const p = await partial(port, `${JIRA_WEBHOOK_PATH}?secret=${SECRET}`, {}, 2000, "x".repeat(1500));
    await new Promise((r) => setTimeout(r, 200));
    expect(limits.budget.held).toBe(1500);
    // A second right-token body that would take the budget over: 503, like any other route.
    const text = JSON.stringify({ ...issueUpdated("OPS-12"), pad: "y".repeat(1800) });
    const res = await fetch(`http://127.0.0.1:${port}${JIRA_WEBHOOK_PATH}?secret=${SECRET}`, {
      method: "POST",
      body: text,
    });
    expect(res.status).toBe(503);
    p.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(limits.budget.held).toBe(0);
    // Within the budget: read at the edge, verified against the raw bytes, and acted on.
    const small = JSON.stringify(issueUpdated("OPS-12"));
    const ok = await fetch(`http://127.0.0.1:${port}${JIRA_WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "x-hub-signature": signBody(SECRET, small) },
      body: small,
    });
    expect(ok.status).toBe(202);
    expect(evaluated).toStrictEqual([PAYMENTS]);
    // A signature over other bytes is still refused after the body is read.
    const forged = await fetch(`http://127.0.0.1:${port}${JIRA_WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "x-hub-signature": signBody(SECRET, small + " ") },
      body: small,
    });
    expect(forged.status).toBe(401);
    expect(evaluated).toHaveLength(1);
  });
});
