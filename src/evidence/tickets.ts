/**
 * The tickets part of the evidence: the keys the PR references (jira/keys.ts), looked up when the
 * policy needs it (src/policy/needs.ts). The lookup itself is behind `TicketLookupService`
 * (jira/tickets.ts), so the Jira client (and its cache) can be swapped or faked only in tests.
 */
import type { Config } from "../config/schema.js";
import { extractTicketKeys } from "../jira/keys.js";
import type { TicketLookupService } from "../jira/tickets.js";
import type { CommitInfo, PullRequestInfo, TicketEvidence } from "../policy/types.js";

export async function ticketEvidence(
  config: Config,
  pr: Pick<PullRequestInfo, "title" | "body" | "headRef">,
  commits: Pick<CommitInfo, "message" | "isMerge">[],
  service: TicketLookupService | null,
  lookUp: boolean,
): Promise<TicketEvidence> {
  const refs = extractTicketKeys(pr, commits, config.tickets.projects, config.tickets.sources);
  if (!lookUp || refs.length === 0) return { refs, lookup: { kind: "not_needed" } };
  if (!service) return { refs, lookup: { kind: "not_configured" } };
  return { refs, lookup: await service.lookup(refs.map((r) => r.key)) };
}
