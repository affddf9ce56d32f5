/**
 * The Jira lookup behind the tickets evidence (src/evidence/tickets.ts): an interface, so the Jira
 * client (and its cache) can be swapped or faked only in tests.
 */
import type { TicketLookup } from "../policy/types.js";

export interface TicketLookupService {
  /** Look up all keys in one request; never throws for Jira's own failures (they are a TicketLookup kind). */
  lookup(keys: string[]): Promise<TicketLookup>;
}
