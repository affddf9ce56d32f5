/**
 * The Jira webhook: a signed route (registered only with JIRA_WEBHOOK_SECRET) whose deliveries name
 * tickets; every open PR referencing one is evaluated again (jira/webhook.ts checks the signature
 * and keeps the ticket index). Jira's payload decides nothing: the evaluation reads the tickets.
 */
import { randomUUID } from "node:crypto";
import type { Probot } from "probot";
import type { JiraConfig } from "../jira/env.js";
import { createJiraWebhookHandler, type TicketIndex } from "../jira/webhook.js";
import type { JobRequest } from "../intake/job.js";
import { registerRoute } from "../server/route.js";

export interface JiraHandlerDeps {
  config: JiraConfig;
  ticketIndex: TicketIndex;
  cache: { invalidate(key: string): void } | null;
}

export function onJiraWebhook(
  app: Probot,
  addHandler: Parameters<typeof registerRoute>[1],
  jira: JiraHandlerDeps,
  request: (job: JobRequest) => Promise<void>,
): void {
  if (!jira.config.webhookSecret) return;
  const route = createJiraWebhookHandler({
    secret: jira.config.webhookSecret,
    index: jira.ticketIndex,
    cache: jira.cache,
    log: app.log.child({ name: "jira-webhook" }),
    evaluate: (ref, reason) => void request({ ref, deliveryId: `jira-${randomUUID()}`, event: reason }),
  });
  registerRoute(app, addHandler, route);
}
