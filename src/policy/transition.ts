/**
 * transition: which of a Jira ticket's available transitions takes it to `tickets.transition_on_merge`
 * (a transition name or a target status name, case-insensitive; a transition named so wins over one
 * that merely leads to a status named so), and what the outcome of moving a ticket looks like.
 * Pure: the transitions come from src/jira/transition.ts.
 */

/** One transition as Jira lists it for a ticket (GET /rest/api/{2,3}/issue/{key}/transitions). */
export interface AvailableTransition {
  id: string;
  name: string;
  /** The status it leads to. */
  to: string;
}

/** What happened to one ticket. */
export interface TicketTransitionResult {
  key: string;
  /** moved: transitioned; already: it was in the target status; failed: see message. */
  result: "moved" | "already" | "failed";
  /** The status it is in now (moved/already). */
  status: string | null;
  /** The transition used (moved). */
  transition: string | null;
  /** Why it failed (no credentials in it). */
  message: string | null;
}

export function pickTransition(available: AvailableTransition[], target: string): AvailableTransition | null {
  const want = target.trim().toLowerCase();
  return (
    available.find((t) => t.name.trim().toLowerCase() === want) ??
    available.find((t) => t.to.trim().toLowerCase() === want) ??
    null
  );
}

/** Is a ticket already where the target would take it (its status is named so)? */
export function alreadyThere(status: string | null, target: string): boolean {
  return status !== null && status.trim().toLowerCase() === target.trim().toLowerCase();
}
