/**
 * Moving tickets through Jira's transitions API when a gated PR merges (tickets.transition_on_merge):
 *   GET  /rest/api/{3|2}/issue/{key}/transitions        the transitions available to the account
 *   POST /rest/api/{3|2}/issue/{key}/transitions        {"transition": {"id": …}}  → 204
 * API 3 on Jira Cloud, 2 on Data Center (same shapes). The transition is picked by name or target
 * status (src/policy/transition.ts); when none matches, one GET of the ticket's status tells
 * "already there" from "not possible". Requests go through the one Jira HTTP client (http.ts:
 * deadline, no redirects, bounded answers, retries); the POST that moves a ticket is repeated only
 * when Jira cannot have acted on it. Every failure becomes a `failed` result with a message free of
 * credentials, never a throw.
 */
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import {
  alreadyThere,
  pickTransition,
  type AvailableTransition,
  type TicketTransitionResult,
} from "../policy/transition.js";
import type { JiraConfig } from "./env.js";
import { ISSUE_KEY } from "./client.js";
import { JiraHttp, type JiraAnswer, type JiraHttpOptions } from "./http.js";

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
  private readonly http: JiraHttp;

  /** `options.http`: the HTTP client to share with the lookups (one concurrency bound); one of its own otherwise. */
  constructor(config: JiraConfig, options: JiraHttpOptions & { http?: JiraHttp } = {}) {
    this.http = options.http ?? new JiraHttp(config, options);
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
    const listed = await this.call("GET", path);
    if (listed.kind === "network")
      return failed(key, this.http.describeNetwork(listed.answer, listed.attempts));
    if (listed.status !== 200) return failed(key, this.refusal(listed, `listing the transitions of ${key}`));
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
    const posted = await this.call("POST", path, { transition: { id: pick.id } }, "unprocessed");
    if (posted.kind === "network")
      return failed(key, this.http.describeNetwork(posted.answer, posted.attempts));
    if (posted.status !== 204 && posted.status !== 200)
      return failed(key, this.refusal(posted, `moving ${key} to "${pick.to}"`));
    return { key, result: "moved", status: pick.to, transition: pick.name, message: null };
  }

  private async status(key: string): Promise<string | null> {
    const res = await this.call("GET", `/issue/${encodeURIComponent(key)}?fields=status`);
    if (res.kind === "network" || res.status !== 200) return null;
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
    return this.http.clean(
      `Jira refused ${what}: ${http}${hint}${messages.length ? `: ${messages.join("; ").slice(0, 300)}` : ""}`,
    );
  }

  /** One request (http.ts retries it as `retry` allows): the status and the JSON body (null when none or not JSON). */
  private async call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    retry: "idempotent" | "unprocessed" = "idempotent",
  ): Promise<
    | { kind: "response"; status: number; json: unknown }
    | { kind: "network"; answer: Extract<JiraAnswer, { kind: "network" }>; attempts: number }
  > {
    const { answer, attempts } = await this.http.request(method, path, body, retry);
    if (answer.kind === "network") return { kind: "network", answer, attempts };
    return { kind: "response", status: answer.status, json: answer.isJson ? answer.json : null };
  }
}

function failed(key: string, message: string): TicketTransitionResult {
  return { key, result: "failed", status: null, transition: null, message };
}
