/**
 * tickets: every ticket key the PR references (in the configured projects) must exist in Jira and,
 * when `allowed_states` is set, be in one of those states. A Jira outage or rejected credentials
 * is reported as such, never as an invalid ticket, and never passes.
 */
import type { Config, TicketEvidence, TicketLine, TicketRef, TicketsResult, Verdict } from "./types.js";

/**
 * Must tickets be checked for this PR? Normally `tickets.required`; for an emergency change
 * `emergency.require_ticket` decides, either way.
 */
export function ticketsRequired(c: Config, emergency: boolean): boolean {
  return emergency ? c.emergency.require_ticket : c.tickets.required;
}

export interface TicketSettings {
  required: boolean;
  projects: string[];
  sources: string[];
  allowedStates: string[];
}

export function evaluateTickets(t: TicketEvidence, s: TicketSettings): TicketsResult {
  const allowed = s.allowedStates;
  const base = { rule: "tickets" as const, allowedStates: allowed };
  const found = t.lookup.kind === "ok" ? new Map(t.lookup.found.map((f) => [f.key, f])) : new Map();
  const lines: TicketLine[] = t.refs.map((ref) => {
    const info = found.get(ref.key);
    if (t.lookup.kind !== "ok")
      return {
        key: ref.key,
        foundIn: ref.foundIn,
        summary: null,
        status: null,
        url: null,
        outcome: "unverified",
      };
    if (!info)
      return {
        key: ref.key,
        foundIn: ref.foundIn,
        summary: null,
        status: null,
        url: null,
        outcome: "unknown",
      };
    const ok = allowed.length === 0 || allowed.some((a) => a.toLowerCase() === info.status.toLowerCase());
    return {
      key: ref.key,
      foundIn: ref.foundIn,
      summary: info.summary,
      status: info.status,
      url: info.url,
      outcome: ok ? "ok" : "not_allowed",
    };
  });

  if (!s.required) {
    return { ...base, status: "skipped", summary: "not required by the policy", todo: [], tickets: lines };
  }
  const projects = s.projects.join(", ");
  if (t.refs.length === 0) {
    return {
      ...base,
      status: "fail",
      summary: "no ticket referenced",
      todo: [
        `Reference a ticket of ${projects} (e.g. ${s.projects[0] ?? "OPS"}-123) in the ${s.sources.join(", ")}.`,
      ],
      tickets: lines,
    };
  }
  switch (t.lookup.kind) {
    case "not_needed":
    case "not_configured":
      return {
        ...base,
        status: "fail",
        summary: "Jira is not configured on this changegate server, so tickets cannot be checked",
        todo: [
          "Ask the changegate operators to set JIRA_BASE_URL and Jira credentials (see docs/jira.md), then re-run.",
        ],
        tickets: lines,
      };
    case "auth_failed":
      return {
        ...base,
        status: "fail",
        summary: `Jira rejected changegate's credentials: ${t.lookup.message}`,
        todo: ["Ask the changegate operators to check the Jira credentials, then re-run."],
        tickets: lines,
      };
    case "unreachable":
      return {
        ...base,
        status: "fail",
        summary: `Jira could not be reached: ${t.lookup.message}`,
        todo: ["This is not a problem with your ticket: re-run changegate once Jira is back."],
        tickets: lines,
      };
    case "malformed":
      return {
        ...base,
        status: "fail",
        summary: `Jira sent an answer changegate cannot read: ${t.lookup.message}`,
        todo: ["Ask the changegate operators to look at the logs, then re-run."],
        tickets: lines,
      };
    case "ok":
      break;
  }
  const todo: string[] = [];
  const unknown = lines.filter((l) => l.outcome === "unknown");
  const wrong = lines.filter((l) => l.outcome === "not_allowed");
  if (unknown.length > 0)
    todo.push(
      `Fix the ticket reference${unknown.length === 1 ? "" : "s"} Jira does not know: ${unknown.map((l) => l.key).join(", ")}.`,
    );
  for (const l of wrong)
    todo.push(`Move ${l.key} from "${l.status}" to ${allowed.map((a) => `"${a}"`).join(" or ")}.`);
  const ok = lines.length - unknown.length - wrong.length;
  const problems = [
    unknown.length > 0 ? `${unknown.length} unknown to Jira` : "",
    wrong.length > 0 ? `${wrong.length} in a state not allowed` : "",
  ].filter(Boolean);
  return {
    ...base,
    status: problems.length === 0 ? "pass" : "fail",
    summary:
      problems.length === 0
        ? `${lines.map((l) => l.key).join(", ")} ${lines.length === 1 ? "is" : "are"} in an allowed state`
        : `${ok} of ${lines.length} ok; ${problems.join(", ")}`,
    todo,
    tickets: lines,
  };
}

/**
 * What a ticket index keeps for a PR after an evaluation: the keys whose state can change its check
 * (none when the policy skips the tickets rule), and whether tickets are the only thing failing (a
 * ticket moving could turn it green: the periodic re-check's list). One definition for the
 * in-memory index and the store's.
 */
export function ticketIndexEntry(
  verdict: Verdict | null,
  refs: TicketRef[],
): { keys: string[]; waiting: boolean } {
  const tickets = verdict?.rules.find((r) => r.rule === "tickets");
  const keys =
    tickets?.status === "skipped"
      ? []
      : [...new Set(refs.map((r) => r.key.trim().toUpperCase()).filter((k) => k.length > 0))];
  const failing = verdict?.conclusion === "failure" ? verdict.rules.filter((r) => r.status === "fail") : [];
  return { keys, waiting: failing.length > 0 && failing.every((r) => r.rule === "tickets") };
}
