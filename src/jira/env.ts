/**
 * The Jira settings' shape. They are read from the environment with every other setting, by the
 * one schema in src/settings.ts (the `jira` group), once at start-up:
 *
 *   JIRA_BASE_URL              https://acme.atlassian.net (Cloud) or https://jira.acme.com[/context] (Data Center)
 *   JIRA_EMAIL + JIRA_API_TOKEN  Jira Cloud: basic auth, REST v3
 *   JIRA_PAT                   Jira Data Center: personal access token as a bearer token, REST v2
 *   JIRA_TIMEOUT_MS            per request, default 10000
 *   JIRA_CACHE_TTL_MS          how long a ticket's state is reused, default 60000 (0 = no cache)
 *   JIRA_MAX_CONCURRENCY       Jira requests in flight at once, across all evaluations, default 4
 *   JIRA_WEBHOOK_SECRET        enables POST /api/jira/webhooks (off when unset)
 *   JIRA_RECHECK_INTERVAL_MS   periodic re-check of PRs failing only on tickets, default 0 (off)
 *
 * No JIRA_BASE_URL and no other JIRA_* variable: Jira is not configured (null). Anything half-done
 * is a problem naming every variable that is wrong and why. Secret values are never echoed.
 */

export type JiraAuth =
  { kind: "cloud"; email: string; apiToken: string } | { kind: "datacenter"; pat: string };

export interface JiraConfig {
  /** Normalised: scheme, host, optional port and context path, no trailing slash. */
  baseUrl: string;
  auth: JiraAuth;
  timeoutMs: number;
  cacheTtlMs: number;
  maxConcurrency: number;
  /** null: the Jira webhook route is not registered. */
  webhookSecret: string | null;
  /** 0: no periodic re-check. */
  recheckIntervalMs: number;
}

/** A one-line description for the start-up log (no secrets). */
export function describeJiraConfig(c: JiraConfig | null): string {
  if (!c) return "Jira not configured: repositories whose policy requires tickets will fail saying so";
  const flavour =
    c.auth.kind === "cloud"
      ? "Jira Cloud (REST v3, API token)"
      : "Jira Data Center (REST v2, personal access token)";
  return [
    `${flavour} at ${c.baseUrl}`,
    `timeout ${c.timeoutMs} ms`,
    `cache ${c.cacheTtlMs} ms`,
    `concurrency ${c.maxConcurrency}`,
    c.webhookSecret ? "webhook route on" : "webhook route off",
    c.recheckIntervalMs > 0 ? `re-check every ${c.recheckIntervalMs} ms` : "re-check off",
  ].join(", ");
}
