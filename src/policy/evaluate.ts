/**
 * evaluate: (policy, evidence) → verdict, one result per rule. Pure: no I/O, no clock.
 */
import { isGatedBranch } from "../config/schema.js";
import { evaluateApprovals } from "./approvals.js";
import { evaluateCi } from "./ci.js";
import { evaluateRules } from "./rules.js";
import { emergencyDeclaration } from "./emergency.js";
import { evaluateTickets, ticketsRequired } from "./tickets.js";
import type { Conclusion, Evidence, Policy, RuleResult, Verdict } from "./types.js";

export { emergencyDeclaration, isEmergency } from "./emergency.js";
export { ticketsRequired } from "./tickets.js";

export function evaluate(policy: Policy, evidence: Evidence): Verdict {
  const c = policy.config;
  const draft = evidence.pr.isDraft;
  if (!isGatedBranch(c, evidence.pr.baseRef, evidence.repo.defaultBranch)) {
    return {
      conclusion: "success",
      title: `Not gated: ${evidence.pr.baseRef} is not a gated branch`,
      gated: false,
      emergency: false,
      draft,
      rules: [],
    };
  }

  const declaration = emergencyDeclaration(c, evidence);
  const emergency = declaration.accepted;
  const approvals = evaluateApprovals(evidence, {
    required: emergency ? c.emergency.approvals_required : c.approvals.required,
    dismissStale: c.approvals.dismiss_stale,
    allowContributors: c.approvals.allow_contributors,
    blockUnattributed: c.approvals.block_unattributed_commits,
  });
  const ci =
    emergency && !c.emergency.require_ci
      ? skippedForEmergency(evaluateCi(evidence.checks, []))
      : evaluateCi(evidence.checks, c.ci.required);
  const ticketSettings = {
    required: ticketsRequired(c, emergency),
    projects: c.tickets.projects,
    sources: c.tickets.sources,
    allowedStates: c.tickets.allowed_states,
  };
  const tickets =
    emergency && !ticketSettings.required
      ? skippedForEmergency(evaluateTickets(evidence.tickets, ticketSettings))
      : evaluateTickets(evidence.tickets, ticketSettings);

  // approvals.rules (team, path and CODEOWNERS rules): relaxed like approvals on an accepted emergency.
  const reviewRules = evaluateRules(c.approvals.rules ?? [], evidence, {
    dismissStale: c.approvals.dismiss_stale,
    allowContributors: c.approvals.allow_contributors,
  }).map((r) => (emergency && r.status !== "skipped" ? skippedForEmergency(r) : r));
  const rules: RuleResult[] = [approvals, ...reviewRules, ci, tickets];
  const conclusion: Conclusion = rules.some((r) => r.status === "fail")
    ? "failure"
    : rules.some((r) => r.status === "pending")
      ? "pending"
      : "success";
  return {
    conclusion,
    title:
      (declaration.labelled && !emergency ? "Emergency label ignored · " : "") +
      titleFor(conclusion, rules, emergency, draft),
    gated: true,
    emergency,
    ...(declaration.labelled ? { declaration } : {}),
    draft,
    rules,
  };
}

function skippedForEmergency<R extends RuleResult>(r: R): R {
  return { ...r, status: "skipped", summary: `not required for emergency changes (${r.summary})`, todo: [] };
}

function titleFor(conclusion: Conclusion, rules: RuleResult[], emergency: boolean, draft: boolean): string {
  const prefix = draft ? "Draft · " : "";
  const problems = rules.filter((r) => r.status === "fail").map((r) => `${r.rule}: ${r.summary}`);
  const waiting = rules.filter((r) => r.status === "pending").map((r) => `${r.rule}: ${r.summary}`);
  if (emergency) {
    if (conclusion === "success")
      return `${prefix}Emergency change: allowed by label; a retroactive review is required`;
    if (conclusion === "pending") return `${prefix}Emergency change: waiting (${waiting.join("; ")})`;
    return `${prefix}Emergency change not allowed yet (${problems.join("; ")})`;
  }
  if (conclusion === "success")
    return `${prefix}Compliant: ${rules
      .filter((r) => r.status === "pass")
      .map((r) => `${r.rule} ok`)
      .join(", ")}`;
  if (conclusion === "pending") return `${prefix}Waiting: ${waiting.join("; ")}`;
  return `${prefix}Not compliant: ${problems.join("; ")}`;
}
