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
 *   - routes that read their own bodies under a smaller cap (the Jira webhook, 1 MB) are named in
 *     `selfLimited` and get the stream untouched, after the Content-Length check.
 *
 * A refusal closes the connection shortly after the answer is sent (the rest of the body is
 * discarded meanwhile, never stored).
 *
 * One body under the cap is harmless; forty at once are a gigabyte. `maxInFlightBytes` bounds the
 * bytes held by every request being read or handled at the same time (reserved as they arrive, or
 * all at once for a declared Content-Length, and released when the answer is finished or the
 * connection goes): a request that would cross it is answered 503 with Retry-After and closed the
 * same way. Webhook deliveries are small, so only a flood of big bodies ever meets the budget.
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

export interface BodyLimitOptions {
  maxBytes: number;
  /** Bytes all requests together may hold at once (default: unbounded, for a bare `admit`). */
  maxInFlightBytes?: number;
  /** Exact pathnames whose handler reads the body itself under its own, smaller cap. */
  selfLimited?: string[];
  log?: { warn(obj: object, msg: string): void };
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Probot's getPayload decodes the body this way (invalid UTF-8 replaced, a BOM dropped). */
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Put the limit in front of the server's current 'request' listeners: they run only for requests
 * within it, with the body already read.
 */
export function limitRequestBodies(server: Server, options: BodyLimitOptions): void {
  const listeners = server.listeners("request") as RequestListener[];
  if (listeners.length === 0) throw new Error("limitRequestBodies: the server has no request listener to guard");
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
  const budget = new ByteBudget(options.maxInFlightBytes ?? Number.POSITIVE_INFINITY);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const admitted = admit(req, res, options, budget);
    if (admitted === true) pass(req, res);
    else if (admitted !== false) void admitted.then((ok) => ok && pass(req, res));
  });
}

/**
 * true: go on now (no body to read, or a route that reads its own); false: answered here; a
 * promise: the body is being read, resolves true once it is in `req.body`.
 */
export function admit(
  req: IncomingMessage,
  res: ServerResponse,
  options: BodyLimitOptions,
  budget: ByteBudget = new ByteBudget(options.maxInFlightBytes ?? Number.POSITIVE_INFINITY),
): boolean | Promise<boolean> {
  const max = options.maxBytes;
  const declared = contentLength(req);
  if (declared !== null && declared > max) {
    refuse(req, res, options, `Content-Length ${declared}`);
    return false;
  }
  const chunked = req.headers["transfer-encoding"] !== undefined;
  if (!chunked && (declared === null || declared === 0)) return true;
  if (options.selfLimited?.includes(pathname(req))) return true;

  // The request's share of the budget: all of a declared length now, a chunked body as it streams;
  // given back once the answer is out or the connection is gone, whichever comes first.
  const share = budget.share();
  res.once("close", share.release);
  if (declared !== null && !share.take(declared)) {
    busy(req, res, options, `Content-Length ${declared} with ${budget.held} bytes already in flight`);
    return false;
  }

  return readCapped(req, max, declared === null ? share : null).then((read) => {
    if (read.kind === "too-large") {
      refuse(req, res, options, `more than ${max} bytes streamed`);
      return false;
    }
    if (read.kind === "busy") {
      busy(req, res, options, `a streamed body would take the bytes in flight over ${budget.limit}`);
      return false;
    }
    if (read.kind === "failed") {
      // The client went away (or the socket broke) mid-body: nobody to answer.
      if (!res.headersSent) res.writeHead(400, { connection: "close" }).end();
      req.socket?.destroy();
      return false;
    }
    req.body = decoder.decode(read.body);
    return true;
  });
}

type Read = { kind: "ok"; body: Buffer } | { kind: "too-large" } | { kind: "busy" } | { kind: "failed" };

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

/**
 * The whole body, or "too-large" as soon as more than `max` bytes have arrived, or "busy" as soon as
 * a chunk does not fit the shared budget (`share`: null when the whole length was taken up front).
 * Nothing is kept after a refusal.
 */
function readCapped(req: IncomingMessage, max: number, share: { take(n: number): boolean } | null): Promise<Read> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (r: Read) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(r);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > max) {
        chunks = [];
        settle({ kind: "too-large" });
        return;
      }
      if (share && !share.take(buf.length)) {
        chunks = [];
        settle({ kind: "busy" });
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => settle({ kind: "ok", body: Buffer.concat(chunks, size) });
    const onError = () => settle({ kind: "failed" });
    const onClose = () => settle(req.complete ? { kind: "ok", body: Buffer.concat(chunks, size) } : { kind: "failed" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function refuse(req: IncomingMessage, res: ServerResponse, options: BodyLimitOptions, what: string): void {
  options.log?.warn({ method: req.method, path: pathname(req), limit: options.maxBytes }, `request body refused with 413: ${what}, over the ${options.maxBytes}-byte limit`);
  answerAndClose(req, res, 413, { error: `request body larger than ${options.maxBytes} bytes` });
}

/** Too many bytes in flight: 503, try again shortly (GitHub's redelivery, or the sender's retry). */
function busy(req: IncomingMessage, res: ServerResponse, options: BodyLimitOptions, what: string): void {
  options.log?.warn({ method: req.method, path: pathname(req), limit: options.maxInFlightBytes }, `request body refused with 503: ${what}`);
  answerAndClose(req, res, 503, { error: "too many request bytes in flight; retry shortly" }, { "retry-after": "5" });
}

function answerAndClose(req: IncomingMessage, res: ServerResponse, status: number, answer: object, headers: Record<string, string> = {}): void {
  const socket = req.socket;
  if (!res.headersSent) {
    const body = JSON.stringify(answer);
    // No `Connection: close`: Node would destroy the socket as soon as the answer is written, and a
    // client still sending would get a reset instead of reading the answer. The socket is closed below.
    res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }).end(body);
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
