/**
 * Ticket lookups against Jira, through the one Jira HTTP client (http.ts: base URL and API
 * version, credentials, deadline, no redirects, bounded answers, retries, redaction).
 *
 *   Jira Cloud        POST /rest/api/3/issue/bulkfetch  {issueIdsOrKeys, fields: [summary, status]}
 *                     keys Jira does not know are simply absent from `issues`.
 *   Jira Data Center  POST /rest/api/2/search  {jql: key in (...), fields: [summary, status], validateQuery: false}
 *                     validateQuery=false makes unknown keys drop out instead of failing the query;
 *                     versions that still answer 400 naming the keys get those keys marked unknown
 *                     and one more request for the rest, so one bad key never hides the others.
 *
 * One request per lookup for up to 100 keys (not counting retries); a short per-key cache and
 * in-flight sharing keep a burst of evaluations from hammering Jira; a semaphore bounds the requests
 * in flight across all evaluations. Every Jira failure becomes a TicketLookup kind, never a throw,
 * and no message carries a credential.
 *
 * One file on purpose (over 400 lines): Cloud and Data Center differ only in routes and answer
 * shapes, and every failure mode (auth, network, status, malformed, rejected keys) is one class of
 * answer to the same request; splitting them would scatter one exchange over several files.
 */
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import type { TicketInfo, TicketLookup } from "../policy/types.js";
import type { JiraConfig } from "./env.js";
import { JiraHttp, type JiraAnswer, type JiraHttpOptions } from "./http.js";
import type { TicketLookupService } from "./tickets.js";

export { retryAfterMs, Semaphore } from "./http.js";

/** A Jira issue key as changegate extracts it (project keys are upper-case letters, digits and _). */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]*-[1-9][0-9]*$/;
/** Jira Cloud's bulkfetch takes at most 100 keys; Data Center gets the same chunk size. */
export const MAX_KEYS_PER_REQUEST = 100;
/** Tickets remembered at most (a few hundred bytes each). */
export const MAX_CACHE_ENTRIES = 10_000;
/** The only fields changegate reads. */
export const FIELDS = ["summary", "status"] as const;

type Failure = Extract<TicketLookup, { kind: "auth_failed" | "unreachable" | "malformed" }>;
type KeyResult =
  { kind: "found"; info: TicketInfo } | { kind: "unknown" } | { kind: "failed"; failure: Failure };

export interface JiraClientOptions extends JiraHttpOptions {
  /** Clock for the cache (ms); also Retry-After dates. */
  now?: () => number;
  log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  /** The HTTP client to share (main.ts: lookups and transitions under one concurrency bound); one of its own otherwise. */
  http?: JiraHttp;
}

export interface JiraClientStats {
  lookups: number;
  /** HTTP requests sent to Jira, retries included. */
  requests: number;
  cacheHits: number;
  /** Keys served by a request another lookup already had in flight. */
  shared: number;
}

type Exchange = JiraAnswer;

const issueSchema = z.object({
  key: z.string().min(1),
  fields: z.object({
    summary: z.string(),
    status: z.object({ name: z.string().min(1) }),
  }),
});
const bulkFetchSchema = z.object({
  issues: z.array(issueSchema).default([]),
  issueErrors: z
    .array(z.object({ id: z.string().optional(), errorMessage: z.string().optional() }))
    .default([]),
});
const searchSchema = z.object({
  startAt: z.number().int().optional(),
  total: z.number().int().optional(),
  issues: z.array(issueSchema),
});
const errorBodySchema = z.object({
  errorMessages: z.array(z.string()).optional(),
  errors: z.record(z.string(), z.unknown()).optional(),
  message: z.string().optional(),
});

export class JiraTicketService implements TicketLookupService {
  private readonly http: JiraHttp;
  private readonly cache = new Map<string, { result: KeyResult; expires: number }>();
  private readonly inflight = new Map<string, Promise<KeyResult>>();
  /**
   * invalidate() while a request for the key is in flight: that request must not refill the cache
   * with the state it read before. Entries live only while some request for the key is outstanding.
   */
  private epoch = 0;
  private readonly invalidatedAt = new Map<string, number>();
  private readonly outstanding = new Map<string, number>();
  private readonly now: () => number;
  private readonly counters: JiraClientStats = { lookups: 0, requests: 0, cacheHits: 0, shared: 0 };

  constructor(
    private readonly config: JiraConfig,
    private readonly options: JiraClientOptions = {},
  ) {
    this.http = options.http ?? new JiraHttp(config, options);
    this.now = options.now ?? Date.now;
  }

  stats(): JiraClientStats {
    return { ...this.counters };
  }

  /** Forget what is cached for a key (a Jira webhook said the ticket changed). */
  invalidate(key: string): void {
    const k = key.trim().toUpperCase();
    this.cache.delete(k);
    this.inflight.delete(k);
    if (this.outstanding.has(k)) this.invalidatedAt.set(k, ++this.epoch);
  }

  clear(): void {
    for (const k of [...this.cache.keys(), ...this.inflight.keys()]) this.invalidate(k);
  }

  /** Internal bookkeeping sizes (tests: nothing grows without bound). */
  sizes(): { cache: number; inflight: number; invalidated: number; outstanding: number } {
    return {
      cache: this.cache.size,
      inflight: this.inflight.size,
      invalidated: this.invalidatedAt.size,
      outstanding: this.outstanding.size,
    };
  }

  ticketUrl(key: string): string {
    return `${this.config.baseUrl}/browse/${key}`;
  }

  async lookup(keys: string[]): Promise<TicketLookup> {
    this.counters.lookups++;
    const wanted = [...new Set(keys.map((k) => k.trim().toUpperCase()))];
    const results = new Map<string, KeyResult>();
    const waits: Promise<void>[] = [];
    const toFetch: string[] = [];
    const now = this.now();
    for (const key of wanted) {
      if (!ISSUE_KEY.test(key)) {
        results.set(key, { kind: "unknown" }); // cannot exist in Jira; never put in JQL
        continue;
      }
      const hit = this.cache.get(key);
      if (hit && hit.expires > now) {
        this.counters.cacheHits++;
        results.set(key, hit.result);
        continue;
      }
      if (hit) this.cache.delete(key);
      const pending = this.inflight.get(key);
      if (pending) {
        this.counters.shared++;
        waits.push(pending.then((r) => void results.set(key, r)));
        continue;
      }
      toFetch.push(key);
    }
    if (toFetch.length > 0) waits.push(this.fetchShared(toFetch, results));
    await Promise.all(waits);
    return combine(wanted, results);
  }

  /** Fetch keys, letting concurrent lookups of the same keys wait for this request instead of sending their own. */
  private async fetchShared(keys: string[], into: Map<string, KeyResult>): Promise<void> {
    const startedAt = this.epoch;
    for (const k of keys) this.outstanding.set(k, (this.outstanding.get(k) ?? 0) + 1);
    const batch = this.fetchKeys(keys);
    const perKey = new Map<string, Promise<KeyResult>>();
    for (const key of keys) {
      const p = batch.then((m) => m.get(key) ?? { kind: "unknown" as const });
      p.catch(() => {}); // the batch's own await reports the error
      perKey.set(key, p);
      this.inflight.set(key, p);
    }
    try {
      const fetched = await batch;
      const expires = this.now() + this.config.cacheTtlMs;
      for (const key of keys) {
        const result = fetched.get(key) ?? { kind: "unknown" };
        into.set(key, result);
        const fresh = (this.invalidatedAt.get(key) ?? -1) <= startedAt;
        if (this.config.cacheTtlMs > 0 && fresh && result.kind !== "failed")
          this.remember(key, result, expires);
      }
    } finally {
      for (const key of keys) {
        if (this.inflight.get(key) === perKey.get(key)) this.inflight.delete(key);
        const left = (this.outstanding.get(key) ?? 1) - 1;
        if (left > 0) this.outstanding.set(key, left);
        else {
          this.outstanding.delete(key);
          this.invalidatedAt.delete(key);
        }
      }
    }
  }

  /** Bounded: expired entries go first, then the oldest. */
  private remember(key: string, result: KeyResult, expires: number): void {
    this.cache.delete(key);
    this.cache.set(key, { result, expires });
    if (this.cache.size <= MAX_CACHE_ENTRIES) return;
    const now = this.now();
    for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
    for (const k of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHE_ENTRIES) break;
      this.cache.delete(k);
    }
  }

  private async fetchKeys(keys: string[]): Promise<Map<string, KeyResult>> {
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_REQUEST)
      chunks.push(keys.slice(i, i + MAX_KEYS_PER_REQUEST));
    const maps = await Promise.all(chunks.map((c) => this.fetchChunk(c)));
    return new Map(maps.flatMap((m) => [...m]));
  }

  /**
   * One request for the chunk. If Jira rejects the query naming keys it does not know (some Data
   * Center versions do, even with validateQuery=false), those keys are unknown and the rest are
   * asked for again; Jira names every bad key in one answer, so this ends after the second request.
   */
  private async fetchChunk(keys: string[]): Promise<Map<string, KeyResult>> {
    const out = new Map<string, KeyResult>();
    let remaining = keys;
    for (let round = 0; round < 3 && remaining.length > 0; round++) {
      const answer = await this.requestIssues(remaining);
      if (answer.kind === "failed") {
        for (const k of remaining) out.set(k, { kind: "failed", failure: answer.failure });
        return out;
      }
      if (answer.kind === "rejected_keys") {
        for (const k of answer.unknown) out.set(k, { kind: "unknown" });
        remaining = remaining.filter((k) => !answer.unknown.includes(k));
        continue;
      }
      for (const k of remaining) {
        const info = answer.found.get(k);
        if (info) out.set(k, { kind: "found", info });
        else if (answer.issueErrors.length > 0) {
          out.set(k, {
            kind: "failed",
            failure: this.fail(
              "unreachable",
              `Jira could not return every ticket: ${answer.issueErrors.slice(0, 3).join("; ")}`,
            ),
          });
        } else out.set(k, { kind: "unknown" });
      }
      return out;
    }
    for (const k of remaining)
      out.set(k, {
        kind: "failed",
        failure: this.fail("unreachable", "Jira kept rejecting the ticket query"),
      });
    return out;
  }

  private async requestIssues(
    keys: string[],
  ): Promise<
    | { kind: "ok"; found: Map<string, TicketInfo>; issueErrors: string[] }
    | { kind: "rejected_keys"; unknown: string[] }
    | { kind: "failed"; failure: Failure }
  > {
    const cloud = this.config.auth.kind === "cloud";
    // Cloud answers 410 Gone on /search: its bulk read is issue/bulkfetch.
    const path = cloud ? "/issue/bulkfetch" : "/search";
    const label = this.http.label("POST", path);
    const found = new Map<string, TicketInfo>();
    const wanted = new Set(keys);
    let startAt = 0;
    // Data Center may cap maxResults below what was asked: page with startAt (bounded).
    for (let page = 0; page < 10; page++) {
      const body = cloud
        ? { issueIdsOrKeys: keys, fields: [...FIELDS], fieldsByKeys: false }
        : {
            jql: `key in (${keys.map((k) => `"${k}"`).join(", ")})`,
            startAt,
            maxResults: keys.length,
            fields: [...FIELDS],
            validateQuery: false,
          };
      const { answer, attempts } = await this.exchange(path, body);
      if (answer.kind === "network")
        return { kind: "failed", failure: this.networkFailure(answer, attempts) };
      if (answer.status !== 200) return this.statusFailure(answer, attempts, keys, label);
      if (answer.tooLarge)
        return {
          kind: "failed",
          failure: this.fail("malformed", `the answer to ${label} is larger than changegate reads`),
        };
      if (!answer.isJson) {
        const type = answer.headers.get("content-type") ?? "no content type";
        return {
          kind: "failed",
          failure: this.fail(
            "malformed",
            `the answer to ${label} is not JSON (${type}): is an SSO login page or proxy in front of Jira?`,
          ),
        };
      }
      if (cloud) {
        const parsed = bulkFetchSchema.safeParse(answer.json);
        if (!parsed.success)
          return {
            kind: "failed",
            failure: this.fail("malformed", `the answer to ${label} ${zodSummary(parsed.error)}`),
          };
        for (const issue of parsed.data.issues) this.addIssue(found, wanted, issue);
        const issueErrors = parsed.data.issueErrors.map(
          (e) => e.errorMessage ?? `issue ${e.id ?? "?"} failed`,
        );
        return { kind: "ok", found, issueErrors };
      }
      const parsed = searchSchema.safeParse(answer.json);
      if (!parsed.success)
        return {
          kind: "failed",
          failure: this.fail("malformed", `the answer to ${label} ${zodSummary(parsed.error)}`),
        };
      for (const issue of parsed.data.issues) this.addIssue(found, wanted, issue);
      const total = parsed.data.total ?? parsed.data.issues.length;
      startAt = (parsed.data.startAt ?? startAt) + parsed.data.issues.length;
      if (parsed.data.issues.length === 0 || startAt >= total) return { kind: "ok", found, issueErrors: [] };
    }
    return {
      kind: "failed",
      failure: this.fail("malformed", `${label} kept paging past the keys asked for`),
    };
  }

  private addIssue(
    found: Map<string, TicketInfo>,
    wanted: Set<string>,
    issue: z.infer<typeof issueSchema>,
  ): void {
    const key = issue.key.toUpperCase();
    // A moved ticket answers under its new key: the PR's key is then unknown (reference the new one).
    if (!wanted.has(key)) return;
    found.set(key, {
      key,
      summary: issue.fields.summary,
      status: issue.fields.status.name,
      url: this.ticketUrl(key),
    });
  }

  /** One HTTP exchange (retries included: http.ts), counted in stats(). */
  private async exchange(path: string, body: unknown): Promise<{ answer: Exchange; attempts: number }> {
    const done = await this.http.request("POST", path, body);
    this.counters.requests += done.attempts;
    return done;
  }

  private networkFailure(answer: Extract<Exchange, { kind: "network" }>, attempts: number): Failure {
    return this.fail("unreachable", this.http.describeNetwork(answer, attempts));
  }

  private statusFailure(
    answer: Extract<Exchange, { kind: "response" }>,
    attempts: number,
    keys: string[],
    label: string,
  ): { kind: "rejected_keys"; unknown: string[] } | { kind: "failed"; failure: Failure } {
    const status = answer.status;
    const http = `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ""}`;
    const messages = jiraMessages(answer);
    const detail = messages.length > 0 ? `: ${clip(messages.join("; "), 300)}` : "";
    const after = attempts > 1 ? ` after ${attempts} attempts` : "";
    const cloud = this.config.auth.kind === "cloud";
    const failed = (kind: Failure["kind"], message: string) => ({
      kind: "failed" as const,
      failure: this.fail(kind, message),
    });

    if (status === 400 || status === 404) {
      // "An issue with key 'OPS-9' does not exist for field 'key'." / "The issue key 'OPS-9' for field 'key' is invalid."
      const named = keys.filter((k) =>
        messages.some((m) => m.toUpperCase().includes(`'${k}'`) || m.toUpperCase().includes(`"${k}"`)),
      );
      if (named.length > 0) return { kind: "rejected_keys", unknown: named };
      if (status === 404 && messages.some((m) => /does not exist|not have permission to see it/i.test(m)))
        return { kind: "rejected_keys", unknown: keys };
    }
    if (status === 401) {
      const which = cloud ? "JIRA_EMAIL + JIRA_API_TOKEN" : "JIRA_PAT";
      return failed(
        "auth_failed",
        `${http}: Jira did not accept ${which} (wrong, revoked or expired?)${detail}`,
      );
    }
    if (status === 403) {
      const denied = /AUTHENTICATION_DENIED/i.test(answer.headers.get("x-seraph-loginreason") ?? "");
      const why = denied
        ? "Jira locked the account after failed logins (CAPTCHA): sign in once in a browser, then check the credentials"
        : "the Jira account may not browse these projects, or the token lacks the scope (it needs Browse projects)";
      return failed("auth_failed", `${http}: ${why}${detail}`);
    }
    if (status === 404)
      return failed(
        "unreachable",
        `${http} for ${label} at ${this.http.host}: check JIRA_BASE_URL (is this Jira ${cloud ? "Cloud" : "Data Center"}?)${detail}`,
      );
    if (status >= 300 && status < 400) {
      const location = answer.headers.get("location");
      let to = "elsewhere";
      try {
        if (location) to = new URL(location, this.config.baseUrl).host;
      } catch {
        // keep "elsewhere"
      }
      return failed(
        "unreachable",
        `${http}: Jira redirected to ${to}; JIRA_BASE_URL must be the Jira site itself, not a login page`,
      );
    }
    if (status === 429) {
      const wanted = this.http.retryAfter(answer);
      if (wanted !== null && this.http.waitsTooLong(wanted)) {
        return failed(
          "unreachable",
          `${http}: Jira is rate-limiting changegate and asked to wait ${Math.ceil(wanted / 1000)} s${detail}`,
        );
      }
      return failed("unreachable", `${http}: Jira is rate-limiting changegate${after}${detail}`);
    }
    if (status >= 500) return failed("unreachable", `${http} from ${this.http.host}${after}${detail}`);
    return failed("unreachable", `Jira refused ${label}: ${http}${detail}`);
  }

  private fail(kind: Failure["kind"], message: string): Failure {
    return { kind, message: this.http.clean(message) };
  }
}

export function createJiraTicketService(
  config: JiraConfig,
  options: JiraClientOptions = {},
): JiraTicketService {
  return new JiraTicketService(config, options);
}

function jiraMessages(answer: Extract<Exchange, { kind: "response" }>): string[] {
  if (!answer.isJson) return [];
  const parsed = errorBodySchema.safeParse(answer.json);
  if (!parsed.success) return [];
  const { errorMessages = [], errors = {}, message } = parsed.data;
  return [
    ...errorMessages,
    ...Object.entries(errors).map(([k, v]) => `${k}: ${String(v)}`),
    ...(message ? [message] : []),
  ];
}

function zodSummary(error: z.ZodError): string {
  const parts = error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(the body)"}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : "";
  return `does not have the shape changegate expects: ${parts.join("; ")}${more}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const SEVERITY: Record<Failure["kind"], number> = { auth_failed: 0, malformed: 1, unreachable: 2 };

function combine(wanted: string[], results: Map<string, KeyResult>): TicketLookup {
  const failures = wanted
    .map((k) => results.get(k))
    .filter((r): r is Extract<KeyResult, { kind: "failed" }> => r?.kind === "failed")
    .map((r) => r.failure)
    .sort((a, b) => SEVERITY[a.kind] - SEVERITY[b.kind]);
  if (failures.length > 0) return failures[0]!;
  const found: TicketInfo[] = [];
  const unknown: string[] = [];
  for (const k of wanted) {
    const r = results.get(k);
    if (r?.kind === "found") found.push(r.info);
    else unknown.push(k);
  }
  return { kind: "ok", found, unknown };
}
