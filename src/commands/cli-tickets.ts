/** The Jira ticket service of a read-only CLI command (`check`, `rehearse`): JIRA_* as for `npm start`, or none. */
import { loadSettings } from "../settings.js";
import { createJiraTicketService } from "../jira/client.js";
import type { TicketLookupService } from "../jira/tickets.js";

/** The service (null without JIRA_*), or why the settings are not usable (never their values). */
export function cliTickets(
  env: Record<string, string | undefined>,
): { tickets: TicketLookupService | null } | { problem: string } {
  try {
    const jira = loadSettings(env, ["jira"]).jira;
    return { tickets: jira ? createJiraTicketService(jira) : null };
  } catch (err) {
    return { problem: `the Jira settings (JIRA_*) are not usable: ${(err as Error).message}` };
  }
}
