/**
 * Request bodies are capped before anyone buffers them. Probot's webhook middleware reads the
 * whole body into memory before it checks the signature, with no limit: one unsigned 200 MB POST
 * took the process from 63 to 667 MB. Probot runs its middleware before any handler an app adds
 * (Server#start puts it first), so the limit sits in front of the HTTP server's own 'request'
 * listener instead:
 *
 *   - a Content-Length over the cap is answered 413 at once, nothing read;
 *   - any other body is read here, counting bytes as they stream (chunked bodies have no length),
 *     and refused with 413 the moment it passes the cap; a body within the cap is handed on as
 *     `req.body` (a string, decoded as Probot decodes it), which Probot's and @octokit/webhooks'
 *     getPayload use instead of reading the stream again;
 *   - routes with their own, smaller cap (the Jira webhook, 1 MB) are named in `routes`: their
 *     `preflight` (the Jira secret) is asked before a byte of the body is read, a refusal is
 *     answered at once, and an accepted body is read here like any other, under the same budget,
 *     and handed on as `req.rawBody` (a Buffer: a signature is over the raw bytes).
 *
 * Nobody can hold the intake shut (issue 19):
 *   - `maxInFlightBytes` bounds the bytes held by every request being read or handled at the same
 *     time. A request is charged for the bytes that have ARRIVED, chunk by chunk, never for the
 *     length it declares: four idle connections declaring 25 MB each hold nothing. A chunk that would
 *     cross the budget is answered 503 with Retry-After. The bytes are given back when the answer is
 *     finished or the connection goes, and at once on any refusal (413, 503, 408, a client gone).
 *   - `bodyTimeoutMs`: the whole body must have arrived within this of its headers, else 408 and
 *     the connection is closed (a slow-loris body is cut and its bytes returned). The HTTP server's
 *     own `headersTimeout`/`requestTimeout` are lowered to match (Node's defaults are 60 s and
 *     300 s), so a connection that never finishes its headers is cut too.
 *   - `maxRequestsPerClient`: requests per remote address whose body is still arriving (the phase a
 *     client can stretch out); one more is answered 429 with Retry-After. A request whose body has
 *     arrived no longer counts while it waits for its answer, so a burst of GitHub's deliveries
 *     from one address is never refused. Behind a proxy every request has the proxy's address.
 *
 * A refusal closes the connection shortly after the answer is sent (the rest of the body is
 * discarded meanwhile, never stored, never charged).
 */
import { Server, type IncomingMessage, type ServerResponse } from "node:http";

/** GitHub caps webhook payloads at 25 MB; GitHub never sends more. */
export const MAX_REQUEST_BODY_BYTES = 25 * 1024 * 1024;

/**
 * All request bodies held at once: four payloads of the biggest size GitHub sends. Real deliveries
 * are kilobytes, so this only ever stops a flood of big bodies (which would otherwise hold
 * 25 MB × connections).
 */
export const MAX_IN_FLIGHT_BODY_BYTES = 4 * MAX_REQUEST_BODY_BYTES;

/**
 * HTTP_BODY_TIMEOUT_SECONDS' default: a request's body must have arrived within 20 s of its headers.
 * GitHub gives up on a delivery after 10 s, so no real delivery is ever cut.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 20_000;

/** HTTP_MAX_REQUESTS_PER_CLIENT's default: request bodies being read at once per remote address. */
export const DEFAULT_MAX_REQUESTS_PER_CLIENT = 32;

/** A route with its own, smaller cap and a check made before its body is read. */
export interface RouteLimit {
  /** The exact pathname (no query). */
  path: string;
  maxBytes: number;
  /**
   * Asked before a byte of the body is read (the request's method, headers and URL only): a
   * refusal is answered at once with its status, the body never read nor charged.
   */
  preflight?(
    req: IncomingMessage,
  ): { status: number; error: string; headers?: Record<string, string> } | null;
}

export interface BodyLimitOptions {
  maxBytes: number;
  /** Bytes all requests together may hold at once (default: unbounded, for a bare `admit`). */
  maxInFlightBytes?: number;
  /** The body must have arrived within this of the headers (ms; default: no deadline for a bare `admit`). */
  bodyTimeoutMs?: number;
  /** Request bodies being read at once per remote address (default: unbounded for a bare `admit`). */
  maxRequestsPerClient?: number;
  /** Routes with their own cap and a preflight check (the Jira webhook). */
  routes?: RouteLimit[];
  log?: { warn(obj: object, msg: string): void };
}

/** What limitRequestBodies holds, for tests and figures: the bytes in flight and the open requests per client. */
export interface BodyLimits {
  budget: ByteBudget;
  clients: ClientCount;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Probot's getPayload decodes the body this way (invalid UTF-8 replaced, a BOM dropped). */
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Put the limit in front of the server's current 'request' listeners: they run only for requests
 * within it, with the body already read.
 */
export function limitRequestBodies(server: Server, options: BodyLimitOptions): BodyLimits {
  const listeners = server.listeners("request") as RequestListener[];
  if (listeners.length === 0)
    throw new Error("limitRequestBodies: the server has no request listener to guard");
  server.removeAllListeners("request");
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) {
      try {
        const r = listener.call(server, req, res);
        if (r instanceof Promise) r.catch((err: unknown) => failed(res, options, err));
      } catch (err) {
        failed(res, options, err);
      }
    }
  };
  const timeout = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const opts: BodyLimitOptions = {
    ...options,
    bodyTimeoutMs: timeout,
    maxRequestsPerClient: options.maxRequestsPerClient ?? DEFAULT_MAX_REQUESTS_PER_CLIENT,
  };
  // Node's own deadlines as the backstop (checked every 30 s): headers within the body timeout, the
  // whole request within twice it. Ours (below) cuts a body on time.
  server.headersTimeout = Math.min(server.headersTimeout || Infinity, timeout);
  server.requestTimeout = Math.min(server.requestTimeout || Infinity, 2 * timeout);
  const limits: BodyLimits = {
    budget: new ByteBudget(options.maxInFlightBytes ?? Number.POSITIVE_INFINITY),
    clients: new ClientCount(opts.maxRequestsPerClient!),
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const admitted = admit(req, res, opts, limits.budget, limits.clients);
    if (admitted === true) pass(req, res);
    else if (admitted !== false) void admitted.then((ok) => ok && pass(req, res));
  });
  return limits;
}

/**
 * true: go on now (no body to read); false: answered here; a promise: the body is being read,
 * resolves true once it is in `req.body` (and `req.rawBody` for a route).
 */
export function admit(
  req: IncomingMessage,
  res: ServerResponse,
  options: BodyLimitOptions,
  budget: ByteBudget = new ByteBudget(options.maxInFlightBytes ?? Number.POSITIVE_INFINITY),
  clients: ClientCount | null = options.maxRequestsPerClient
    ? new ClientCount(options.maxRequestsPerClient)
    : null,
): boolean | Promise<boolean> {
  const path = pathname(req);
  const route = options.routes?.find((r) => r.path === path);
  if (route?.preflight) {
    const refusal = route.preflight(req);
    if (refusal) {
      answerAndClose(req, res, refusal.status, { error: refusal.error }, refusal.headers);
      return false;
    }
  }
  const max = route ? Math.min(route.maxBytes, options.maxBytes) : options.maxBytes;
  const declared = contentLength(req);
  if (declared !== null && declared > max) {
    refuse(req, res, options, max, `Content-Length ${declared}`);
    return false;
  }
  const chunked = req.headers["transfer-encoding"] !== undefined;
  if (!chunked && (declared === null || declared === 0)) return true;

  // One more body of this client being read (the phase a client can stretch out), until it has
  // arrived or is refused, or the connection goes. A finished body no longer counts: a burst of
  // GitHub's deliveries from one address waiting for their answers is never refused by this.
  let leave: (() => void) | null = null;
  if (clients) {
    leave = clients.enter(clientOf(req));
    if (!leave) {
      tooMany(req, res, options, clients);
      return false;
    }
    res.once("close", leave);
  }

  // The request's share of the budget: the bytes that have arrived, as they arrive; given back once
  // the answer is out or the connection is gone, and at once when the body is refused.
  const share = budget.share();
  res.once("close", share.release);

  return readCapped(req, max, share, options.bodyTimeoutMs ?? null).then((read) => {
    leave?.();
    if (read.kind !== "ok") share.release();
    if (read.kind === "too-large") {
      refuse(req, res, options, max, `more than ${max} bytes streamed`);
      return false;
    }
    if (read.kind === "busy") {
      const what = declared === null ? "a streamed body" : `Content-Length ${declared}: its bytes so far`;
      busy(
        req,
        res,
        options,
        `${what} would take the bytes in flight over ${budget.limit} (${budget.held} held by other requests)`,
      );
      return false;
    }
    if (read.kind === "timeout") {
      options.log?.warn(
        { method: req.method, path, received: read.received, timeoutMs: options.bodyTimeoutMs },
        `request body cut with 408: not complete ${options.bodyTimeoutMs} ms after its headers (${read.received} bytes arrived)`,
      );
      answerAndClose(req, res, 408, {
        error: `request body not received within ${Math.round((options.bodyTimeoutMs ?? 0) / 1000)} s`,
      });
      return false;
    }
    if (read.kind === "failed") {
      // The client went away (or the socket broke) mid-body: nobody to answer.
      if (!res.headersSent) res.writeHead(400, { connection: "close" }).end();
      req.socket?.destroy();
      return false;
    }
    if (route) (req as { rawBody?: Buffer }).rawBody = read.body;
    req.body = decoder.decode(read.body);
    return true;
  });
}

type Read =
  | { kind: "ok"; body: Buffer }
  | { kind: "too-large" }
  | { kind: "busy" }
  | { kind: "timeout"; received: number }
  | { kind: "failed" };

/**
 * The bytes every request being read or handled holds together. A request takes its share as its
 * body arrives and releases it once (more releases are no-ops).
 */
export class ByteBudget {
  held = 0;
  constructor(readonly limit: number) {}

  share(): { take(n: number): boolean; release(): void } {
    let mine = 0;
    let released = false;
    return {
      take: (n: number) => {
        if (released || this.held + n > this.limit) return false;
        this.held += n;
        mine += n;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.held -= mine;
        mine = 0;
      },
    };
  }
}

/** Request bodies being read per remote address, at most `limit` each. */
export class ClientCount {
  private readonly open = new Map<string, number>();
  constructor(readonly limit: number) {}

  /** A slot for one more request of `client`, or null when it has `limit` open; the function gives it back (once). */
  enter(client: string): (() => void) | null {
    const n = this.open.get(client) ?? 0;
    if (n >= this.limit) return null;
    this.open.set(client, n + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const now = (this.open.get(client) ?? 1) - 1;
      if (now <= 0) this.open.delete(client);
      else this.open.set(client, now);
    };
  }

  /** Bodies of `client` being read (all clients: no argument). */
  count(client?: string): number {
    if (client !== undefined) return this.open.get(client) ?? 0;
    let sum = 0;
    for (const n of this.open.values()) sum += n;
    return sum;
  }
}

/** The remote address (an IPv4 client on a dual-stack socket as plain IPv4). */
function clientOf(req: IncomingMessage): string {
  const a = req.socket?.remoteAddress ?? "unknown";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/**
 * The whole body, or "too-large" as soon as more than `max` bytes have arrived, or "busy" as soon as
 * a chunk does not fit the shared budget, or "timeout" when it is not complete `timeoutMs` after the
 * call. Nothing is kept after a refusal.
 */
function readCapped(
  req: IncomingMessage,
  max: number,
  share: { take(n: number): boolean },
  timeoutMs: number | null,
): Promise<Read> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer =
      timeoutMs === null ? null : setTimeout(() => settle({ kind: "timeout", received: size }), timeoutMs);
    timer?.unref();
    const settle = (r: Read) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (r.kind !== "ok") chunks = [];
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(r);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > max) return settle({ kind: "too-large" });
      if (!share.take(buf.length)) return settle({ kind: "busy" });
      chunks.push(buf);
    };
    const onEnd = () => settle({ kind: "ok", body: Buffer.concat(chunks, size) });
    const onError = () => settle({ kind: "failed" });
    const onClose = () =>
      settle(req.complete ? { kind: "ok", body: Buffer.concat(chunks, size) } : { kind: "failed" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  options: BodyLimitOptions,
  max: number,
  what: string,
): void {
  options.log?.warn(
    { method: req.method, path: pathname(req), limit: max },
    `request body refused with 413: ${what}, over the ${max}-byte limit`,
  );
  answerAndClose(req, res, 413, { error: `request body larger than ${max} bytes` });
}

/** This client has too many bodies being read: 429, try again shortly. */
function tooMany(
  req: IncomingMessage,
  res: ServerResponse,
  options: BodyLimitOptions,
  clients: ClientCount,
): void {
  options.log?.warn(
    { method: req.method, path: pathname(req), client: clientOf(req), limit: clients.limit },
    `request refused with 429: ${clients.limit} request bodies of this client already being read`,
  );
  answerAndClose(
    req,
    res,
    429,
    { error: "too many unfinished requests from this address; retry shortly" },
    { "retry-after": "5" },
  );
}

/** Too many bytes in flight: 503, try again shortly (GitHub's redelivery, or the sender's retry). */
function busy(req: IncomingMessage, res: ServerResponse, options: BodyLimitOptions, what: string): void {
  options.log?.warn(
    { method: req.method, path: pathname(req), limit: options.maxInFlightBytes },
    `request body refused with 503: ${what}`,
  );
  answerAndClose(
    req,
    res,
    503,
    { error: "too many request bytes in flight; retry shortly" },
    { "retry-after": "5" },
  );
}

function answerAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  answer: object,
  headers: Record<string, string> = {},
): void {
  const socket = req.socket;
  if (!res.headersSent) {
    const body = JSON.stringify(answer);
    // No `Connection: close`: Node would destroy the socket as soon as the answer is written, and a
    // client still sending would get a reset instead of reading the answer. The socket is closed below.
    res
      .writeHead(status, {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
      })
      .end(body);
  }
  // Discard whatever is still coming, never buffer it.
  req.resume();
  // Close politely: once the answer is out, end our side (the client sees the connection finish),
  // keep discarding what is already on its way for a moment, then close.
  const linger = () => {
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  };
  if (res.writableFinished) linger();
  else res.once("finish", linger);
}

/**
 * How long a refused request's remaining bytes are read and dropped before the socket is closed:
 * long enough for a slow or busy client to read the 413 before the close resets the connection
 * (nothing is kept meanwhile; the bytes cost bandwidth, never memory).
 */
const LINGER_MS = 10_000;

function failed(res: ServerResponse, options: BodyLimitOptions, err: unknown): void {
  options.log?.warn({ err: (err as Error)?.message ?? String(err) }, "request handler failed");
  if (!res.headersSent) res.writeHead(500).end();
}

/** Content-Length as a number; null when absent (Node's parser has already refused malformed ones). */
function contentLength(req: IncomingMessage): number | null {
  const v = req.headers["content-length"];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The URL's path without the query (never log the query: a Jira Data Center secret rides there). */
function pathname(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Run `hook` on the first HTTP server that starts listening, just before it binds (so before any
 * request can arrive), then step aside. `run()` in Probot creates and starts its server without
 * handing it out; this is how main.ts puts the body limit in front of it. If `hook` throws, that
 * listen() throws: the server never listens. `restore()` undoes the hook if no server listened.
 */
export function onFirstListen(hook: (server: Server) => void): { restore(): void; readonly calls: number } {
  const proto = Server.prototype as { listen: (...args: unknown[]) => unknown };
  const own = Object.prototype.hasOwnProperty.call(proto, "listen");
  const original = proto.listen;
  let calls = 0;
  const restore = () => {
    if (own) proto.listen = original;
    else delete (proto as { listen?: unknown }).listen;
  };
  proto.listen = function listen(this: Server, ...args: unknown[]) {
    restore();
    calls++;
    hook(this);
    return original.apply(this, args);
  };
  return {
    restore,
    get calls() {
      return calls;
    },
  };
}
