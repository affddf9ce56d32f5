/**
 * Re-evaluation when a ticket moves: `POST /api/jira/webhooks` receives Jira's issue events and
 * re-evaluates every open PR that references the ticket, across repositories and installations,
 * so moving OPS-12 to "Approved" turns the check green without anyone pushing.
 *
 * Authentication (JIRA_WEBHOOK_SECRET; without it the route is not registered at all):
 *   - Jira Cloud admin webhooks sign the raw body: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`.
 *   - Jira Data Center cannot sign: the secret rides in the URL as `?secret=...` (weaker: URLs end
 *     up in proxy and access logs). Both are compared in constant time.
 * Unsigned or wrongly signed → 401; malformed JSON or an issue event without a key → 400; too big
 * → 413. None of them changes anything. The handler answers as soon as the evaluations are queued.
 *
 * Which PRs reference a key comes from a `TicketIndex` (src/refs.ts): the audit store's
 * StoreTicketIndex in the app (src/audit/ticket-index.ts).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { prKey, prLabel, type PrRef, type TicketIndex } from "../refs.js";
import { ISSUE_KEY } from "./client.js";

export const JIRA_WEBHOOK_PATH = "/api/jira/webhooks";
export const MAX_JIRA_WEBHOOK_BYTES = 1024 * 1024;
/** Events that can change whether a PR's tickets pass. issue_created: a PR may name a ticket before it exists. */
export const JIRA_EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"] as const;
/** Changelog fields that matter to the tickets rule (anything else, e.g. a new assignee, is ignored). */
const RELEVANT_FIELDS = new Set(["status", "summary", "key", "project", "resolution"]);

export type { TicketIndex } from "../refs.js";

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JiraWebhookOptions {
  secret: string;
  index: TicketIndex;
  /** Queue an evaluation; the handler does not wait for it to finish. */
  evaluate: (ref: PrRef, reason: string) => Promise<void> | void;
  log: Log;
  /** The ticket cache to invalidate (JiraTicketService) so the re-evaluation sees the new state. */
  cache?: { invalidate(key: string): void } | null;
  path?: string;
  maxBodyBytes?: number;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

const payloadSchema = z.object({
  webhookEvent: z.string().min(1),
  issue_event_type_name: z.string().optional(),
  issue: z.object({ key: z.string().optional() }).loose().optional(),
  changelog: z
    .object({
      items: z
        .array(
          z
            .object({
              field: z.string().optional(),
              fieldId: z.string().optional(),
              fromString: z.string().nullish(),
            })
            .loose(),
        )
        .optional(),
    })
    .loose()
    .nullish(),
});

/** Comment and worklog events arrive as jira:issue_updated too; they cannot change a ticket's state. */
const IRRELEVANT_TYPES = /^issue_(comment|worklog)/;

export function createJiraWebhookHandler(options: JiraWebhookOptions): HttpHandler {
  const path = options.path ?? JIRA_WEBHOOK_PATH;
  const limit = options.maxBodyBytes ?? MAX_JIRA_WEBHOOK_BYTES;
  const secret = options.secret;
  if (!secret)
    throw new Error(
      "createJiraWebhookHandler needs a secret: without JIRA_WEBHOOK_SECRET the route must not be registered",
    );

  return async (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://changegate.invalid");
    } catch {
      return false;
    }
    if (url.pathname !== path) return false;
    const token = url.searchParams.get("secret");
    if (url.searchParams.has("secret")) {
      // Keep the token out of anything that logs req.url after this point.
      url.searchParams.set("secret", "[REDACTED]");
      req.url = `${url.pathname}${url.search}`;
    }

    if (req.method !== "POST") {
      reply(res, 405, { error: "use POST" }, { allow: "POST" });
      return true;
    }
    // The secret first: a wrong or missing one is refused before a byte of the body is read.
    const auth = authenticateBeforeBody(secret, req, token);
    if (auth.refusal) {
      options.log.warn({ path }, auth.refusal.log);
      req.resume();
      reply(res, 401, { error: auth.refusal.error }, { connection: "close" });
      return true;
    }
    const how = auth.how;
    let body: Buffer;
    // In the app the HTTP edge (server/body-limit.ts) has read the body, under the shared budget.
    const given = (req as { rawBody?: unknown }).rawBody;
    if (Buffer.isBuffer(given)) {
      if (given.length > limit) {
        reply(res, 413, { error: `body larger than ${limit} bytes` });
        return true;
      }
      body = given;
    } else {
      const declared = Number(req.headers["content-length"] ?? "0");
      if (Number.isFinite(declared) && declared > limit) {
        req.resume();
        reply(res, 413, { error: `body larger than ${limit} bytes` }, { connection: "close" });
        return true;
      }
      try {
        const read = await readBody(req, limit);
        if (read === null) {
          req.resume();
          reply(res, 413, { error: `body larger than ${limit} bytes` }, { connection: "close" });
          return true;
        }
        body = read;
      } catch {
        if (!res.headersSent) reply(res, 400, { error: "could not read the request body" });
        return true;
      }
    }

    if (how === "signature" && !signatureMatches(secret, body, header(req, "x-hub-signature")!)) {
      options.log.warn({ path }, "Jira webhook rejected: X-Hub-Signature does not match JIRA_WEBHOOK_SECRET");
      reply(res, 401, { error: "signature does not match" });
      return true;
    }

    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      reply(res, 400, { error: "body is not JSON" });
      return true;
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) {
      reply(res, 400, { error: "not a Jira webhook payload: webhookEvent is missing" });
      return true;
    }
    const event = parsed.data.webhookEvent;
    if (!(JIRA_EVENTS as readonly string[]).includes(event)) {
      reply(res, 200, { ignored: event });
      return true;
    }
    const key = parsed.data.issue?.key?.trim().toUpperCase();
    if (!key || !ISSUE_KEY.test(key)) {
      reply(res, 400, { error: `${event} without a valid issue.key` });
      return true;
    }
    const type = parsed.data.issue_event_type_name ?? "";
    const items = parsed.data.changelog?.items;
    if (event === "jira:issue_updated") {
      const relevant =
        items && items.length > 0
          ? items.some((i) => RELEVANT_FIELDS.has((i.fieldId ?? i.field ?? "").toLowerCase()))
          : !IRRELEVANT_TYPES.test(type);
      if (!relevant) {
        reply(res, 200, { ignored: `${event} ${key}: no change to status, summary or key` });
        return true;
      }
    }
    // A ticket moved to another project answers under its new key; PRs still naming the old one must hear of it.
    const keys = new Set([key]);
    for (const i of items ?? []) {
      const field = (i.fieldId ?? i.field ?? "").toLowerCase();
      const old = i.fromString?.trim().toUpperCase();
      if (field === "key" && old && ISSUE_KEY.test(old)) keys.add(old);
    }
    for (const k of keys) options.cache?.invalidate(k);

    let refs: PrRef[];
    try {
      const lists = await Promise.all([...keys].map((k) => options.index.prsForKey(k)));
      const unique = new Map<string, PrRef>();
      for (const r of lists.flat()) unique.set(prKey(r), r);
      refs = [...unique.values()];
    } catch (err) {
      options.log.error(
        { err: (err as Error)?.message ?? String(err), keys: [...keys] },
        "Jira webhook: the ticket index failed; Jira will retry",
      );
      reply(res, 503, { error: "ticket index unavailable" });
      return true;
    }

    const reason = `${event} ${[...keys].join(", ")}`;
    for (const ref of refs) {
      try {
        void Promise.resolve(options.evaluate(ref, reason)).catch((err: unknown) =>
          options.log.error(
            { err: (err as Error)?.message ?? String(err), pr: prLabel(ref) },
            "re-evaluation after a Jira webhook failed",
          ),
        );
      } catch (err) {
        options.log.error(
          { err: (err as Error)?.message ?? String(err), pr: prLabel(ref) },
          "re-evaluation after a Jira webhook failed",
        );
      }
    }
    options.log.info(
      { event, keys: [...keys], auth: how, prs: refs.map(prLabel) },
      refs.length > 0
        ? `Jira ${event} for ${key}: re-evaluating ${refs.length} PR${refs.length === 1 ? "" : "s"}`
        : `Jira ${event} for ${key}: no open PR references it`,
    );
    reply(res, refs.length > 0 ? 202 : 200, { event, keys: [...keys], evaluations: refs.length });
    return true;
  };
}

type BeforeBody =
  { how: "signature" | "token"; refusal: null } | { how: null; refusal: { error: string; log: string } };

/**
 * What can be judged before the body is read: a `?secret=` token is checked whole; an
 * X-Hub-Signature must be well formed (it is checked against the body once read); neither is 401.
 */
function authenticateBeforeBody(secret: string, req: IncomingMessage, token: string | null): BeforeBody {
  const signature = header(req, "x-hub-signature");
  if (signature !== null) {
    if (!/^sha256=[0-9a-f]{64}$/i.test(signature.trim())) {
      return {
        how: null,
        refusal: {
          error: "signature does not match",
          log: "Jira webhook rejected: X-Hub-Signature is not sha256=<64 hex digits>",
        },
      };
    }
    return { how: "signature", refusal: null };
  }
  if (token !== null) {
    if (!tokenMatches(secret, token))
      return {
        how: null,
        refusal: {
          error: "secret does not match",
          log: "Jira webhook rejected: the ?secret= token does not match JIRA_WEBHOOK_SECRET",
        },
      };
    return { how: "token", refusal: null };
  }
  return {
    how: null,
    refusal: {
      error: "unsigned request: sign with the webhook secret or pass ?secret=",
      log: "Jira webhook rejected: neither X-Hub-Signature nor ?secret= was given",
    },
  };
}

/**
 * For the HTTP edge (server/body-limit.ts `routes`): the Jira route's refusals that need no body
 * (a method other than POST: 405; a missing or wrong secret, a malformed signature: 401), so its
 * body is never read, nor charged to the in-flight budget, for a request that would be refused.
 */
export function jiraPreflight(
  secret: string,
  log?: Pick<Log, "warn">,
): (req: IncomingMessage) => { status: number; error: string; headers?: Record<string, string> } | null {
  return (req) => {
    if (req.method !== "POST") return { status: 405, error: "use POST", headers: { allow: "POST" } };
    let token: string | null;
    try {
      token = new URL(req.url ?? "/", "http://changegate.invalid").searchParams.get("secret");
    } catch {
      return { status: 400, error: "malformed URL" };
    }
    const auth = authenticateBeforeBody(secret, req, token);
    if (!auth.refusal) return null;
    log?.warn({ path: JIRA_WEBHOOK_PATH }, auth.refusal.log);
    return { status: 401, error: auth.refusal.error };
  };
}

/** The raw body, or null when it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) return null;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? "") : v;
}

/** `sha256=<hex>` over the raw body, compared in constant time. */
export function signatureMatches(secret: string, body: Buffer, signature: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
  if (!m) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(m[1]!, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Constant time whatever the lengths: compare digests, not the strings. */
export function tokenMatches(secret: string, token: string): boolean {
  const a = createHash("sha256").update(secret).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

/**
 * Replace the value of any `secret=` query parameter in a log line. Probot's HTTP access log
 * serialises `req.url` when the request arrives, before this handler can scrub it: a log stream
 * that passes each line through this keeps a Data Center `?secret=` token out of the logs.
 */
export function scrubSecretQuery(text: string): string {
  return text.replace(/([?&]secret=)[^&\s"'\\]+/g, "$1[REDACTED]");
}

/** For tests and docs: the header Jira Cloud would send for this body. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

function reply(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
