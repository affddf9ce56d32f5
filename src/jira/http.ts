/**
 * The one HTTP client for Jira's REST API, on Node's built-in fetch; the ticket lookups (client.ts)
 * and the transitions on merge (transition.ts) both go through it.
 *
 *   Jira Cloud        {JIRA_BASE_URL}/rest/api/3   basic auth, JIRA_EMAIL:JIRA_API_TOKEN
 *   Jira Data Center  {JIRA_BASE_URL}/rest/api/2   bearer JIRA_PAT
 *
 * Every request: the JIRA_TIMEOUT_MS deadline (answer body included), no redirects followed (a
 * redirect is an answer the caller reports), the answer read up to MAX_ANSWER_BYTES and no further,
 * at most JIRA_MAX_CONCURRENCY requests in flight per client, and retries on 5xx, 429 (honouring
 * Retry-After up to a bound) and dropped connections. A request that is not safe to repeat (moving
 * a ticket) is retried only when Jira cannot have acted on it: 429 and connections never made.
 * Never throws for Jira's failures: an answer is a status or a network failure. `clean()` takes the
 * credentials (and the process's other secrets) out of any text before it goes anywhere.
 */
import { knownSecrets, redact } from "../report/redact.js";
import { hideHosts } from "../report/failure.js";
import type { JiraConfig } from "./env.js";

/** A hostile or broken server cannot make changegate hold a huge answer (100 issues' summary and status are far less). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export type JiraAnswer =
  | {
      kind: "response";
      status: number;
      headers: Headers;
      text: string;
      json: unknown;
      isJson: boolean;
      /** The answer was larger than the limit: its body was dropped (text "", not JSON). */
      tooLarge: boolean;
    }
  | { kind: "network"; code: string | null; timeout: boolean; message: string };

/**
 * `idempotent`: safe to send again (reads, and the lookups' POSTs, which only search).
 * `unprocessed`: retried only when Jira cannot have acted on it (429, connection refused, DNS).
 */
export type RetryMode = "idempotent" | "unprocessed";

export interface JiraHttpOptions {
  /** Waits between attempts after a 5xx, a 429 without Retry-After or a dropped connection; its length is the number of retries. */
  backoffMs?: number[];
  /** A Retry-After longer than this is not waited for: the answer is handed back as it is. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Clock for Retry-After dates (ms). */
  now?: () => number;
  log?: { warn(obj: object, msg: string): void };
  /** Called after each HTTP exchange with its status (null: no answer); metrics count them. */
  onExchange?: (status: number | null) => void;
  /** The most an answer's body may hold (default MAX_ANSWER_BYTES). */
  maxAnswerBytes?: number;
}

const RETRYABLE_NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "ECONNABORTED",
]);
/** Failures before the request reached Jira: safe to repeat even a request that changes something. */
const NOT_SENT = new Set(["ECONNREFUSED", "EAI_AGAIN"]);

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed",
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  CERT_HAS_EXPIRED: "TLS certificate expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate not trusted",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS certificate not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate not trusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host",
};

/** Bounded concurrency: at most `limit` requests to Jira at once, the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class JiraHttp {
  /** The Jira host as JIRA_BASE_URL names it (host[:port]): its readers know it, so messages may name it. */
  readonly host: string;
  /** `/rest/api/3` (Cloud) or `/rest/api/2` (Data Center), for messages naming a route. */
  readonly apiPath: string;
  readonly timeoutMs: number;
  private readonly apiBase: string;
  private readonly authorization: string;
  private readonly own: string[];
  private readonly limiter: Semaphore;
  private readonly backoffMs: number[];
  private readonly maxRetryAfterMs: number;
  private readonly maxAnswerBytes: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    config: JiraConfig,
    private readonly options: JiraHttpOptions = {},
  ) {
    const auth = config.auth;
    this.host = new URL(config.baseUrl).host;
    this.apiPath = `/rest/api/${auth.kind === "cloud" ? "3" : "2"}`;
    this.apiBase = `${config.baseUrl}${this.apiPath}`;
    this.timeoutMs = config.timeoutMs;
    const basic =
      auth.kind === "cloud" ? Buffer.from(`${auth.email}:${auth.apiToken}`).toString("base64") : "";
    this.authorization = auth.kind === "cloud" ? `Basic ${basic}` : `Bearer ${auth.pat}`;
    this.own = (auth.kind === "cloud" ? [auth.apiToken, basic] : [auth.pat]).filter((s) => s.length > 0);
    this.limiter = new Semaphore(config.maxConcurrency);
    this.backoffMs = options.backoffMs ?? [1000, 3000];
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
  }

  /** "POST /rest/api/3/issue/bulkfetch": how messages name a request (no host, no context path). */
  label(method: string, path: string): string {
    return `${method} ${this.apiPath}${path}`;
  }

  /**
   * One request to `path` under the API base, retried as `retry` allows. Resolves with the last
   * answer and how many attempts were made; never rejects.
   */
  async request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    retry: RetryMode = "idempotent",
  ): Promise<{ answer: JiraAnswer; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.limiter.run(() => this.once(method, path, body));
      const wait = this.retryDelay(answer, attempt, retry);
      if (wait === null) return { answer, attempts: attempt };
      this.options.log?.warn(
        { attempt, waitMs: wait, status: answer.kind === "response" ? answer.status : answer.code },
        "Jira request failed; retrying",
      );
      await this.sleep(wait);
    }
  }

  /** Retry-After asked for by this answer (ms), null when none or unreadable. */
  retryAfter(answer: Extract<JiraAnswer, { kind: "response" }>): number | null {
    return retryAfterMs(answer.headers.get("retry-after"), this.now());
  }

  /** Is this wait longer than changegate waits (the answer was handed back instead)? */
  waitsTooLong(ms: number): boolean {
    return ms > this.maxRetryAfterMs;
  }

  /** Text with the Jira credentials and the process's secret values replaced. */
  clean(text: string): string {
    return redact(
      text,
      [...this.own, ...knownSecrets()].sort((a, b) => b.length - a.length),
    );
  }

  /** What a network failure means, in words, naming the Jira host and no other (the digest shows it). */
  describeNetwork(answer: Extract<JiraAnswer, { kind: "network" }>, attempts: number): string {
    const after = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    if (answer.timeout)
      return `no answer from ${this.host} within ${this.timeoutMs} ms (JIRA_TIMEOUT_MS)${after}`;
    const what = answer.code ? NETWORK_WORDS[answer.code] : undefined;
    if (what) return this.clean(`${what} (${answer.code}) talking to ${this.host}${after}`);
    return this.clean(
      `request to ${this.host} failed: ${hideHosts(answer.message)}${answer.code ? ` (${answer.code})` : ""}${after}`,
    );
  }

  private retryDelay(answer: JiraAnswer, attempt: number, retry: RetryMode): number | null {
    if (attempt > this.backoffMs.length) return null;
    const backoff = this.backoffMs[attempt - 1]!;
    if (answer.kind === "network") {
      if (answer.timeout || !answer.code) return null;
      const retryable = retry === "idempotent" ? RETRYABLE_NETWORK : NOT_SENT;
      return retryable.has(answer.code) ? backoff : null;
    }
    const status = answer.status;
    if (retry === "unprocessed" ? status !== 429 : status !== 429 && (status < 500 || status === 501))
      return null;
    const after = this.retryAfter(answer);
    if (after === null) return backoff;
    return after <= this.maxRetryAfterMs ? after : null;
  }

  /** One exchange: fetch with the deadline, no redirects, the body read up to the limit. */
  private async once(method: string, path: string, body: unknown): Promise<JiraAnswer> {
    const headers: Record<string, string> = { accept: "application/json", authorization: this.authorization };
    if (body !== undefined) headers["content-type"] = "application/json";
    let reported = false;
    try {
      const res = await fetch(`${this.apiBase}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await cappedText(res, this.maxAnswerBytes);
      reported = true;
      this.options.onExchange?.(res.status);
      const base = { kind: "response" as const, status: res.status, headers: res.headers };
      if (text === null) return { ...base, text: "", json: undefined, isJson: false, tooLarge: true };
      try {
        return { ...base, text, json: JSON.parse(text) as unknown, isJson: true, tooLarge: false };
      } catch {
        return { ...base, text, json: undefined, isJson: false, tooLarge: false };
      }
    } catch (err) {
      if (!reported) this.options.onExchange?.(null);
      return networkAnswer(err);
    }
  }
}

/** The body as text, or null when it is larger than `max` bytes (read no further than that). */
async function cappedText(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    return null;
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function networkAnswer(err: unknown): Extract<JiraAnswer, { kind: "network" }> {
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string; name?: string };
  } | null;
  const timeout = e?.name === "TimeoutError" || e?.name === "AbortError" || e?.cause?.name === "TimeoutError";
  const code = e?.cause?.code ?? e?.code ?? null;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return { kind: "network", code: typeof code === "string" ? code : null, timeout, message };
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
