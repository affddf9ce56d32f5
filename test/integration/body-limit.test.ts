/**
 * The request body limit, on real HTTP servers: a bare one with a listener that reads bodies as
 * Probot does, and Probot's own Server (its webhook middleware verifying a signed delivery from
 * the body the limit read). Small caps keep it fast; the production cap is GitHub's 25 MB.
 */
import { loadSettings } from "../../src/settings.js";
import { afterEach, describe, expect, test } from "@jest/globals";
import { createHmac } from "node:crypto";
import { connect, type Socket } from "node:net";
import {
  createServer,
  request,
  Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pino } from "pino";
import { Probot, Server } from "probot";
import {
  admit,
  limitRequestBodies,
  MAX_REQUEST_BODY_BYTES,
  onFirstListen,
  type BodyLimitOptions,
  type BodyLimits,
  type RouteLimit,
} from "../../src/server/body-limit.js";
import { privateKey } from "../helpers/probot.js";
import { rawRequest } from "../helpers/raw-http.js";

const CAP = 64 * 1024;

interface Seen {
  path: string;
  body: string;
  via: "req.body" | "rawBody" | "stream";
}

/** A server whose listener reads the body the way Probot's getPayload does. */
async function bareServer(
  routes: RouteLimit[] = [],
  maxInFlightBytes?: number,
  more: Partial<BodyLimitOptions> = {},
  answerDelayMs = 0,
): Promise<{ url: string; seen: Seen[]; warnings: string[]; server: HttpServer; limits: BodyLimits }> {
  const seen: Seen[] = [];
  const warnings: string[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body: string;
    let via: Seen["via"];
    if (Buffer.isBuffer((req as { rawBody?: unknown }).rawBody)) {
      body = ((req as { rawBody?: Buffer }).rawBody as Buffer).toString("utf8");
      via = "rawBody";
    } else if (typeof req.body === "string") {
      body = req.body;
      via = "req.body";
    } else {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks).toString("utf8");
      via = "stream";
    }
    seen.push({ path: req.url ?? "", body, via });
    if (answerDelayMs > 0) await new Promise((r) => setTimeout(r, answerDelayMs));
    res.writeHead(200).end(`got ${Buffer.byteLength(body)}`);
  });
  const limits = limitRequestBodies(server, {
    maxBytes: CAP,
    maxInFlightBytes,
    routes,
    log: { warn: (_o, msg) => void warnings.push(msg) },
    ...more,
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    warnings,
    server,
    limits,
  };
}

/** Wait until `ok()` holds (polling), or fail naming `what`. */
async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const servers: HttpServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Answer {
  status: number;
  body: string;
  /** The server closed the connection within 5 s of answering. */
  closed: boolean;
}

/**
 * Send a request; `body` is a string (Content-Length) or a chunk generator (chunked, no length).
 * `headers` may lie about the length. Resolves with the answer even if the server stops reading.
 */
function send(
  url: string,
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | (() => AsyncGenerator<Buffer>);
  },
): Promise<Answer> {
  // A raw socket: Node's http client may be patched by nock in this Jest worker (see raw-http.ts).
  return rawRequest(url, {
    method: opts.method ?? "POST",
    path: opts.path ?? "/api/github/webhooks",
    headers: { "content-type": "application/json", ...opts.headers },
    body: opts.body,
  }).then(({ status, body, closed }) => ({ status, body, closed }));
}

async function* chunks(total: number, size = 16 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 0x61);
}

describe("limitRequestBodies", () => {
  test("the cap is GitHub's 25 MB webhook payload limit", () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(25 * 1024 * 1024);
  });

  test("a body within the cap reaches the listener whole, as req.body (UTF-8 intact)", async () => {
    const s = await bareServer();
    const body = JSON.stringify({ title: "Fix ünïcödé — 🚀", pad: "x".repeat(CAP - 100) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(CAP);
    const r = await send(s.url, { body });
    expect(r.status).toBe(200);
    expect(s.seen).toEqual([{ path: "/api/github/webhooks", body, via: "req.body" }]);
  });

  test("exactly the cap passes, chunked or not; one byte more is 413 and the listener never runs", async () => {
    const s = await bareServer();
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    expect((await send(s.url, { body: () => chunks(CAP) })).status).toBe(200);
    const over = await send(s.url, { body: "a".repeat(CAP + 1) });
    expect(over).toEqual({
      status: 413,
      body: JSON.stringify({ error: `request body larger than ${CAP} bytes` }),
      closed: true,
    });
    expect((await send(s.url, { body: () => chunks(CAP + 1) })).status).toBe(413);
    expect(s.seen.map((x) => x.body.length)).toEqual([CAP, CAP]);
    expect(s.warnings).toHaveLength(2);
    expect(s.warnings[0]).toMatch(/request body refused with 413: Content-Length 65537/);
    expect(s.warnings[1]).toMatch(/request body refused with 413: more than 65536 bytes streamed/);
  });

  test("a chunked body with no Content-Length, far over the cap, is cut off while streaming", async () => {
    const s = await bareServer();
    const r = await send(s.url, { body: () => chunks(64 * CAP) });
    expect(r.status).toBe(413);
    expect(r.closed).toBe(true);
    expect(s.seen).toEqual([]);
  });

  test("a Content-Length over the cap is refused before a byte of the body is read (even if the body never comes)", async () => {
    const s = await bareServer();
    const r = await send(s.url, {
      headers: { "content-length": String(200 * 1024 * 1024) },
      body: () => chunks(1024),
    });
    expect(r.status).toBe(413);
    expect(s.seen).toEqual([]);
  });

  test("any path: the cap is not only for the webhook route", async () => {
    const s = await bareServer();
    expect((await send(s.url, { path: "/anything/else?x=1", body: () => chunks(CAP + 1) })).status).toBe(413);
    expect((await send(s.url, { path: "/anything/else", body: "{}" })).status).toBe(200);
    expect(s.seen).toEqual([{ path: "/anything/else", body: "{}", via: "req.body" }]);
  });

  test("a route with its own cap: its preflight refuses before a byte of the body is read; an accepted body is read here, under its cap, as rawBody", async () => {
    const route: RouteLimit = {
      path: "/api/jira/webhooks",
      maxBytes: 1024,
      preflight: (req) =>
        req.url?.includes("secret=right") ? null : { status: 401, error: "secret does not match" },
    };
    const s = await bareServer([route]);
    expect((await send(s.url, { path: "/api/jira/webhooks?secret=right", body: '{"a":1}' })).status).toBe(
      200,
    );
    expect(s.seen).toEqual([{ path: "/api/jira/webhooks?secret=right", body: '{"a":1}', via: "rawBody" }]);
    // The route's own cap (1 KB), not the server's: declared and streamed.
    expect(
      (await send(s.url, { path: "/api/jira/webhooks?secret=right", body: "a".repeat(1025) })).status,
    ).toBe(413);
    expect(
      (await send(s.url, { path: "/api/jira/webhooks?secret=right", body: () => chunks(2048, 256) })).status,
    ).toBe(413);
    // A wrong secret: 401 while the body has not been sent at all (the answer does not wait for it).
    const held = await holdOpen(s.url, {
      path: "/api/jira/webhooks?secret=wrong",
      contentLength: 1000,
      first: 0,
    });
    sockets.push(held.socket);
    expect(await held.answer).toBe("401");
    expect(s.limits.budget.held).toBe(0);
    expect(s.seen).toHaveLength(1);
    expect(s.warnings.join("\n")).not.toContain("secret=");
  });

  test("requests without a body pass straight through; a keep-alive connection keeps working after them", async () => {
    const s = await bareServer();
    const req = { on: () => req, headers: {}, url: "/healthz", method: "GET" } as unknown as IncomingMessage;
    expect(admit(req, {} as ServerResponse, { maxBytes: CAP })).toBe(true);
    expect((await send(s.url, { method: "GET", path: "/healthz" })).status).toBe(200);
    expect((await send(s.url, { body: "{}" })).status).toBe(200);
  });

  test("a client that disconnects mid-body: the listener never runs, its bytes and slot come back, and the server carries on", async () => {
    // A raw socket, and the disconnect only once the server holds the first bytes: Node's http client
    // (patched by nock's interceptors in a shared Jest worker) failed this with write ECANCELED, and a
    // fixed 50 ms wait could disconnect before the server had seen the request at all (issue 21).
    const s = await bareServer([], undefined, { maxRequestsPerClient: 4 });
    const held = await holdOpen(s.url, { contentLength: 5000, first: 1000 });
    await until("the server to hold the first 1000 bytes", () => s.limits.budget.held === 1000);
    expect(s.limits.clients.count()).toBe(1);
    held.socket.destroy();
    await until(
      "the bytes and the client slot to come back",
      () => s.limits.budget.held === 0 && s.limits.clients.count() === 0,
    );
    expect(s.seen).toEqual([]);
    expect((await send(s.url, { body: "{}" })).status).toBe(200);
    await until("the slot of the request that passed to come back", () => s.limits.clients.count() === 0);
  });
});

/**
 * Start a POST on a raw socket, send `first` bytes of its body and hold the rest back: the server is
 * left holding part of a body. `finish()` sends the rest and resolves with the status line's code.
 */
async function holdOpen(
  url: string,
  opts: { contentLength?: number; first: number; path?: string },
): Promise<{ socket: Socket; answer: Promise<string>; finish(rest: number): void; more(n: number): void }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((r) => socket.once("connect", () => r()));
  let got = "";
  const answer = new Promise<string>((resolve) => {
    socket.on("data", (d) => {
      got += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) resolve(m[1]!);
    });
    socket.on("error", () => resolve("error"));
    socket.on("close", () =>
      resolve(got === "" ? "closed" : (/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? "closed")),
    );
  });
  const chunked = opts.contentLength === undefined;
  const head = [
    `POST ${opts.path ?? "/api/github/webhooks"} HTTP/1.1`,
    "host: 127.0.0.1",
    "content-type: application/json",
    chunked ? "transfer-encoding: chunked" : `content-length: ${opts.contentLength}`,
    "",
    "",
  ].join("\r\n");
  const part = (n: number) => (chunked ? `${n.toString(16)}\r\n${"a".repeat(n)}\r\n` : "a".repeat(n));
  socket.write(head + (opts.first > 0 ? part(opts.first) : ""));
  return {
    socket,
    answer,
    finish: (rest: number) => socket.write((rest > 0 ? part(rest) : "") + (chunked ? "0\r\n\r\n" : "")),
    more: (n: number) => void socket.write(part(n)),
  };
}

describe("bytes in flight across requests", () => {
  const settle = () => new Promise((r) => setTimeout(r, 150));

  test("declared lengths hold nothing until their bytes arrive: idle connections declaring the cap leave the budget to real bodies; arrived bytes are charged, and returned when the answer is out", async () => {
    const s = await bareServer([], 2 * CAP);
    // Four connections each declaring a whole cap and sending nothing (issue 19: they held the budget).
    const idle = await Promise.all([0, 1, 2, 3].map(() => holdOpen(s.url, { contentLength: CAP, first: 0 })));
    sockets.push(...idle.map((i) => i.socket));
    await settle();
    expect(s.limits.budget.held).toBe(0);
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    // Bytes that have arrived are charged: A and B hold 3/4 of the cap each.
    const a = await holdOpen(s.url, { contentLength: CAP, first: Math.floor(0.75 * CAP) });
    const b = await holdOpen(s.url, { contentLength: CAP, first: Math.floor(0.75 * CAP) });
    sockets.push(a.socket, b.socket);
    await until("A and B's bytes to be charged", () => s.limits.budget.held === 2 * Math.floor(0.75 * CAP));
    const third = await send(s.url, { body: "a".repeat(CAP) });
    expect(third.status).toBe(503);
    expect(third.closed).toBe(true);
    expect(JSON.parse(third.body)).toEqual({ error: "too many request bytes in flight; retry shortly" });
    expect(s.warnings.at(-1)).toMatch(
      /request body refused with 503: Content-Length 65536: its bytes so far would take the bytes in flight over 131072 \(\d+ held by other requests\)/,
    );
    // A finishes: its share comes back once its answer is out.
    a.finish(CAP - Math.floor(0.75 * CAP));
    expect(await a.answer).toBe("200");
    await until("A's share to come back", () => s.limits.budget.held === Math.floor(0.75 * CAP));
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    expect((await send(s.url, { body: "{}" })).status).toBe(200);
    expect(s.seen.map((x) => x.body.length)).toEqual([CAP, CAP, CAP, CAP, 2]);
  });

  test("chunked bodies take their share as they stream: the chunk that would cross the budget gets 503, the earlier body still completes", async () => {
    const budget = Math.floor(1.5 * CAP);
    const s = await bareServer([], budget);
    const a = await holdOpen(s.url, { first: Math.floor(0.75 * CAP) });
    sockets.push(a.socket);
    await settle();
    const b = await holdOpen(s.url, { first: Math.floor(0.9 * CAP) });
    sockets.push(b.socket);
    expect(await b.answer).toBe("503");
    expect(s.warnings.at(-1)).toMatch(
      /request body refused with 503: a streamed body would take the bytes in flight over 98304/,
    );
    a.finish(100);
    expect(await a.answer).toBe("200");
    expect(s.seen.map((x) => x.body.length)).toEqual([Math.floor(0.75 * CAP) + 100]);
  });

  test("refused bodies give their share back: 413s and 503s never leak budget", async () => {
    const s = await bareServer([], Math.floor(1.5 * CAP));
    for (let i = 0; i < 10; i++)
      expect((await send(s.url, { body: () => chunks(CAP + 1) })).status).toBe(413);
    await settle();
    // Ten refusals later the whole budget is free: A may hold (almost) a full body.
    const a = await holdOpen(s.url, { contentLength: CAP, first: CAP - 10 });
    sockets.push(a.socket);
    await until("A's bytes to be charged", () => s.limits.budget.held === CAP - 10);
    for (let i = 0; i < 3; i++) expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(503);
    a.finish(10);
    expect(await a.answer).toBe("200");
    await settle();
    // The three 503s took nothing with them: a full body fits again, twice in a row.
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
  });
});

describe("nobody holds the intake shut: the body deadline and the per-client cap", () => {
  test("a slow-loris body (a byte now and then, never complete) is cut with 408 at the deadline, and its bytes are returned", async () => {
    const s = await bareServer([], 2 * CAP, { bodyTimeoutMs: 400 });
    const loris = await holdOpen(s.url, { contentLength: CAP, first: 100 });
    sockets.push(loris.socket);
    const started = Date.now();
    const drip = setInterval(() => !loris.socket.destroyed && loris.more(10), 50);
    try {
      await until("the first bytes to be charged", () => s.limits.budget.held >= 100);
      expect(await loris.answer).toBe("408");
    } finally {
      clearInterval(drip);
    }
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(5000);
    await until(
      "the loris' bytes and slot to come back",
      () => s.limits.budget.held === 0 && s.limits.clients.count() === 0,
    );
    expect(s.warnings.at(-1)).toMatch(
      /request body cut with 408: not complete 400 ms after its headers \(\d+ bytes arrived\)/,
    );
    expect(s.seen).toEqual([]);
    // A chunked body that stops mid-way is cut the same way.
    const chunkedLoris = await holdOpen(s.url, { first: 50 });
    sockets.push(chunkedLoris.socket);
    expect(await chunkedLoris.answer).toBe("408");
    await until("its bytes to come back", () => s.limits.budget.held === 0);
    // A body that arrives in time is not cut, however it trickles.
    expect((await send(s.url, { body: () => chunks(4096, 512) })).status).toBe(200);
  });

  test("the server's own deadlines are lowered to match (Node's defaults: 60 s headers, 300 s request)", async () => {
    const s = await bareServer([], undefined, { bodyTimeoutMs: 7000 });
    expect(s.server.headersTimeout).toBe(7000);
    expect(s.server.requestTimeout).toBe(14_000);
    const d = await bareServer();
    expect(d.server.headersTimeout).toBe(20_000);
    expect(d.server.requestTimeout).toBe(40_000);
  });

  test("per-client cap: one more unfinished body from the same address is 429 with Retry-After; a body that has arrived gives its slot back", async () => {
    const s = await bareServer([], undefined, { maxRequestsPerClient: 2 });
    const a = await holdOpen(s.url, { contentLength: 100, first: 0 });
    const b = await holdOpen(s.url, { contentLength: 100, first: 0 });
    sockets.push(a.socket, b.socket);
    await until("two open requests", () => s.limits.clients.count("127.0.0.1") === 2);
    const third = await rawRequest(s.url, { method: "POST", path: "/api/github/webhooks", body: "{}" });
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body)).toEqual({
      error: "too many unfinished requests from this address; retry shortly",
    });
    expect(s.warnings.at(-1)).toMatch(
      /request refused with 429: 2 request bodies of this client already being read/,
    );
    // A request without a body has nothing to stretch out: it is not counted, nor refused.
    expect((await send(s.url, { method: "GET", path: "/healthz" })).status).toBe(200);
    a.finish(100);
    expect(await a.answer).toBe("200");
    await until("A's slot to come back", () => s.limits.clients.count("127.0.0.1") === 1);
    expect((await send(s.url, { body: "{}" })).status).toBe(200);
    b.socket.destroy();
    await until("every slot back", () => s.limits.clients.count() === 0);
    expect(s.limits.budget.held).toBe(0);
  });

  test("per-client cap: a burst of complete deliveries from one address waiting for their answers is never refused (only unfinished bodies count)", async () => {
    const s = await bareServer([], undefined, { maxRequestsPerClient: 2 }, 300);
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(s.url, { body: '{"zen":"x"}' })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(s.seen).toHaveLength(10);
    expect(s.warnings).toEqual([]);
  });

  test("bytes and client slots come back on every exit path: complete, too large, over budget, timed out, aborted", async () => {
    const s = await bareServer([], CAP + 1000, { bodyTimeoutMs: 300, maxRequestsPerClient: 8 });
    const clean = async (what: string) =>
      until(`nothing held after ${what}`, () => s.limits.budget.held === 0 && s.limits.clients.count() === 0);
    expect((await send(s.url, { body: "a".repeat(CAP) })).status).toBe(200);
    await clean("a complete body");
    expect((await send(s.url, { body: () => chunks(CAP + 1) })).status).toBe(413);
    await clean("a 413");
    const big = await holdOpen(s.url, { contentLength: CAP, first: CAP - 10 });
    sockets.push(big.socket);
    await until("the big body to be charged", () => s.limits.budget.held === CAP - 10);
    expect((await send(s.url, { body: "a".repeat(2000) })).status).toBe(503);
    expect(await big.answer).toBe("408");
    await clean("a 503 and a 408");
    const gone = await holdOpen(s.url, { contentLength: 1000, first: 500 });
    await until("the aborted body to be charged", () => s.limits.budget.held === 500);
    gone.socket.destroy();
    await clean("an abort");
    expect(s.seen.map((x) => x.body.length)).toEqual([CAP]);
  });

  test("HTTP_BODY_TIMEOUT_SECONDS and HTTP_MAX_REQUESTS_PER_CLIENT: defaults, values, and a clear error for a bad one", () => {
    expect(httpLimitsFromEnv({})).toEqual({ bodyTimeoutMs: 20_000, maxRequestsPerClient: 32 });
    expect(
      httpLimitsFromEnv({ HTTP_BODY_TIMEOUT_SECONDS: "45", HTTP_MAX_REQUESTS_PER_CLIENT: "500" }),
    ).toEqual({ bodyTimeoutMs: 45_000, maxRequestsPerClient: 500 });
    expect(() => httpLimitsFromEnv({ HTTP_BODY_TIMEOUT_SECONDS: "0" })).toThrow(
      'HTTP_BODY_TIMEOUT_SECONDS="0": expected between 1 second and 5 minutes (default 20 seconds)',
    );
    expect(() => httpLimitsFromEnv({ HTTP_BODY_TIMEOUT_SECONDS: "2.5" })).toThrow(
      /HTTP_BODY_TIMEOUT_SECONDS/,
    );
    expect(() => httpLimitsFromEnv({ HTTP_MAX_REQUESTS_PER_CLIENT: "lots" })).toThrow(
      'HTTP_MAX_REQUESTS_PER_CLIENT="lots": expected a whole number from 1 to 100000 (default 32)',
    );
  });
});

/** HTTP_BODY_TIMEOUT_SECONDS and HTTP_MAX_REQUESTS_PER_CLIENT as the settings give them (src/settings.ts). */
function httpLimitsFromEnv(env: Record<string, string>) {
  const { bodyTimeoutMs, maxRequestsPerClient } = loadSettings(env, ["http"]).http;
  return { bodyTimeoutMs, maxRequestsPerClient };
}

describe("onFirstListen", () => {
  test("runs the hook once, on the first server to listen, before it binds; later servers are untouched", async () => {
    const seen: { server: HttpServer; listening: boolean }[] = [];
    const hook = onFirstListen((server) => seen.push({ server, listening: server.listening }));
    const a = createServer((_q, r) => r.end());
    const b = createServer((_q, r) => r.end());
    servers.push(a, b);
    await new Promise<void>((r) => a.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => b.listen(0, "127.0.0.1", r));
    expect(seen).toEqual([{ server: a, listening: false }]);
    expect(hook.calls).toBe(1);
    expect(Object.prototype.hasOwnProperty.call(HttpServer.prototype, "listen")).toBe(false);
  });

  test("a hook that throws stops the server from listening", async () => {
    onFirstListen(() => {
      throw new Error("refused");
    });
    const a = createServer();
    expect(() => a.listen(0, "127.0.0.1")).toThrow("refused");
    expect(a.listening).toBe(false);
  });

  test("restore() removes an unused hook", () => {
    const hook = onFirstListen(() => {
      throw new Error("should not run");
    });
    hook.restore();
    expect(Object.prototype.hasOwnProperty.call(HttpServer.prototype, "listen")).toBe(false);
    expect(hook.calls).toBe(0);
  });
});

describe("in front of Probot's own server", () => {
  test("a signed delivery within the cap is verified and received from req.body; a bigger one is 413 before Probot sees it", async () => {
    const SECRET = "a-webhook-secret-for-tests-0123";
    const received: string[] = [];
    const log = pino({ level: "silent" });
    const server = new Server({
      port: 0,
      host: "127.0.0.1",
      log,
      Probot: Probot.defaults({ appId: 1, privateKey, secret: SECRET, log }),
    });
    await server.load((app) => {
      app.on(
        "issues.opened",
        async (context) =>
          void received.push(
            `${context.id} ${(context.payload as { issue: { title: string } }).issue.title}`,
          ),
      );
    });
    const hook = onFirstListen((s) => limitRequestBodies(s, { maxBytes: CAP }));
    const http = await server.start();
    try {
      expect(hook.calls).toBe(1);
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const deliver = (payload: object, body = JSON.stringify(payload), chunked = false) =>
        send(url, {
          headers: {
            "x-github-event": "issues",
            "x-github-delivery": `d-${received.length + 1}`,
            "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
          },
          body: chunked
            ? async function* () {
                yield Buffer.from(body);
              }
            : body,
        });
      const payload = {
        action: "opened",
        issue: { title: "Ünïcödé ✓" },
        repository: { id: 1 },
        sender: { login: "x" },
      };
      expect((await deliver(payload)).status).toBe(200);
      expect((await deliver(payload, undefined, true)).status).toBe(200);
      expect(received).toEqual(["d-1 Ünïcödé ✓", "d-2 Ünïcödé ✓"]);
      // A forged signature is still refused by Probot.
      const forged = await send(url, {
        headers: {
          "x-github-event": "issues",
          "x-github-delivery": "f",
          "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
        },
        body: JSON.stringify(payload),
      });
      expect(forged.status).toBe(400);
      const big = { ...payload, pad: "x".repeat(CAP) };
      expect((await deliver(big)).status).toBe(413);
      expect((await deliver(big, undefined, true)).status).toBe(413);
      expect(received).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });
});
