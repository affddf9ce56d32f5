/**
 * Moving tickets through Jira's transitions API when a gated PR merges (tickets.transition_on_merge):
 *   GET  /rest/api/{3|2}/issue/{key}/transitions        the transitions available to the account
 *   POST /rest/api/{3|2}/issue/{key}/transitions        {"transition": {"id": …}}  → 204
 * API 3 on Jira Cloud, 2 on Data Center (same shapes). The transition is picked by name or target
 * status (src/policy/transition.ts); when none matches, one GET of the ticket's status tells
 * "already there" from "not possible". Every request has the Jira timeout; every failure becomes a
 * `failed` result with a message free of credentials, never a throw.
 */
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import {
  alreadyThere,
  pickTransition,
  type AvailableTransition,
  type TicketTransitionResult,
} from "../policy/transition.js";
import { redact } from "../report/redact.js";
import { secretValues } from "../ops/secrets.js";
import type { JiraConfig } from "./env.js";
import { ISSUE_KEY } from "./client.js";

/** At most this many tickets are moved per merge (more are reported as not attempted). */
export const MAX_TRANSITIONS_PER_MERGE = 20;

const transitionsSchema = z.object({
  transitions: z
    .array(
      z.object({
        id: z.union([z.string(), z.number()]).transform(String),
        name: z.string(),
        to: z.object({ name: z.string() }),
      }),
    )
    .max(500, "more than 500 transitions"),
});
const issueStatusSchema = z.object({ fields: z.object({ status: z.object({ name: z.string() }) }) });
const errorSchema = z.object({
  errorMessages: z.array(z.string()).optional(),
  errors: z.record(z.string(), z.unknown()).optional(),
});

export interface TicketTransitioner {
  transition(keys: string[], target: string): Promise<TicketTransitionResult[]>;
}

export class JiraTransitioner implements TicketTransitioner {
  private readonly secrets: string[];
  private readonly api: string;

  constructor(private readonly config: JiraConfig) {
    const auth = config.auth;
    this.api = `${config.baseUrl}/rest/api/${auth.kind === "cloud" ? "3" : "2"}`;
    const own =
      auth.kind === "cloud"
        ? [auth.apiToken, Buffer.from(`${auth.email}:${auth.apiToken}`).toString("base64")]
        : [auth.pat];
    this.secrets = [...own, ...secretValues()]
      .filter((s) => s.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  async transition(keys: string[], target: string): Promise<TicketTransitionResult[]> {
    const out: TicketTransitionResult[] = [];
    const unique = [...new Set(keys.map((k) => k.trim().toUpperCase()))];
    for (const [i, key] of unique.entries()) {
      if (i >= MAX_TRANSITIONS_PER_MERGE) {
        out.push(
          failed(key, `not attempted: at most ${MAX_TRANSITIONS_PER_MERGE} tickets are moved per merge`),
        );
        continue;
      }
      out.push(await this.one(key, target));
    }
    return out;
  }

  private async one(key: string, target: string): Promise<TicketTransitionResult> {
    if (!ISSUE_KEY.test(key)) return failed(key, "not a Jira issue key");
    const path = `/issue/${encodeURIComponent(key)}/transitions`;
    try {
      const listed = await this.call("GET", path);
      if (listed.status !== 200)
        return failed(key, this.refusal(listed, `listing the transitions of ${key}`));
      const parsed = transitionsSchema.safeParse(listed.json);
      if (!parsed.success)
        return failed(
          key,
          `Jira's list of transitions for ${key} is malformed: ${z.prettifyError(parsed.error).slice(0, 300)}`,
        );
      const available: AvailableTransition[] = parsed.data.transitions.map((t) => ({
        id: t.id,
        name: t.name,
        to: t.to.name,
      }));
      const pick = pickTransition(available, target);
      if (!pick) {
        const status = await this.status(key);
        if (alreadyThere(status, target))
          return { key, result: "already", status, transition: null, message: null };
        const names = available.map((t) => `${t.name} → ${t.to}`).join(", ") || "none";
        return failed(
          key,
          `no transition to "${target}" is available from ${status ? `"${status}"` : "its status"} (available: ${names.slice(0, 300)})`,
        );
      }
      const posted = await this.call("POST", path, { transition: { id: pick.id } });
      if (posted.status !== 204 && posted.status !== 200)
        return failed(key, this.refusal(posted, `moving ${key} to "${pick.to}"`));
      return { key, result: "moved", status: pick.to, transition: pick.name, message: null };
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      const timeout = e.name === "TimeoutError" || e.name === "AbortError";
      return failed(
        key,
        timeout
          ? `no answer from Jira within ${this.config.timeoutMs} ms (JIRA_TIMEOUT_MS)`
          : this.clean(`request to Jira failed: ${e.cause?.code ?? e.message ?? String(err)}`),
      );
    }
  }

  private async status(key: string): Promise<string | null> {
    const res = await this.call("GET", `/issue/${encodeURIComponent(key)}?fields=status`);
    if (res.status !== 200) return null;
    const parsed = issueStatusSchema.safeParse(res.json);
    return parsed.success ? parsed.data.fields.status.name : null;
  }

  private refusal(res: { status: number; json: unknown }, what: string): string {
    const http = `HTTP ${res.status}${STATUS_CODES[res.status] ? ` ${STATUS_CODES[res.status]}` : ""}`;
    const body = errorSchema.safeParse(res.json);
    const messages = body.success
      ? [
          ...(body.data.errorMessages ?? []),
          ...Object.entries(body.data.errors ?? {}).map(([k, v]) => `${k}: ${String(v)}`),
        ]
      : [];
    const hint =
      res.status === 401
        ? " (Jira did not accept the credentials)"
        : res.status === 403
          ? " (the Jira account may not transition this ticket: it needs the Transition issues permission)"
          : res.status === 404
            ? " (no such ticket, or the account cannot see it)"
            : "";
    return this.clean(
      `Jira refused ${what}: ${http}${hint}${messages.length ? `: ${messages.join("; ").slice(0, 300)}` : ""}`,
    );
  }

  private clean(message: string): string {
    return redact(message, this.secrets);
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const auth = this.config.auth;
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization:
        auth.kind === "cloud"
          ? `Basic ${Buffer.from(`${auth.email}:${auth.apiToken}`).toString("base64")}`
          : `Bearer ${auth.pat}`,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${this.api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    const text = await cappedText(res, MAX_ANSWER_BYTES);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json };
  }
}

/** A hostile or broken server cannot make us hold a huge answer: transitions lists are small. */
const MAX_ANSWER_BYTES = 1_000_000;

async function cappedText(res: Response, max: number): Promise<string> {
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
      return "";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function failed(key: string, message: string): TicketTransitionResult {
  return { key, result: "failed", status: null, transition: null, message };
}
