/**
 * The tickets part of gather: find the keys the PR references and look them up. The lookup itself
 * is behind `TicketLookupService` so the Jira client (and its cache) can be swapped or faked only
 * in tests.
 */
import type {
  CommitInfo,
  PullRequestInfo,
  TicketEvidence,
  TicketLookup,
  TicketSource,
} from "../policy/types.js";
import { extractTicketKeys } from "./keys.js";

export interface TicketLookupService {
  /** Look up all keys in one request; never throws for Jira's own failures (they are a TicketLookup kind). */
  lookup(keys: string[]): Promise<TicketLookup>;
}

/** The policy's `tickets` keys that say where keys are looked for (a Config fits; jira/ does not import config/). */
export interface TicketScope {
  tickets: { projects: string[]; sources: readonly TicketSource[] };
}

export async function gatherTickets(
  config: TicketScope,
  pr: Pick<PullRequestInfo, "title" | "body" | "headRef">,
  commits: Pick<CommitInfo, "message" | "isMerge">[],
  service: TicketLookupService | null,
  needed: boolean,
): Promise<TicketEvidence> {
  const refs = extractTicketKeys(pr, commits, config.tickets.projects, config.tickets.sources);
  if (!needed || refs.length === 0) return { refs, lookup: { kind: "not_needed" } };
  if (!service) return { refs, lookup: { kind: "not_configured" } };
  return { refs, lookup: await service.lookup(refs.map((r) => r.key)) };
}
