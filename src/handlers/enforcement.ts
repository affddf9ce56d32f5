/**
 * The ruleset and branch-protection webhooks (`repository_ruleset`, `branch_protection_rule`,
 * `branch_protection_configuration`; each needs `administration: read`): nothing in the payload is
 * trusted — it only says which repository (or, for an organisation's ruleset, which installation) to
 * read again; flows/enforcement.ts reads GitHub, classifies and records. Runs after GitHub has its
 * answer; `running` holds the reads under way (idle()).
 */
import type { Probot } from "probot";
import { redactError } from "../report/redact.js";
import type { EnforcementFlow } from "../flows/enforcement.js";

export const ENFORCEMENT_EVENTS = [
  "repository_ruleset",
  "branch_protection_rule",
  "branch_protection_configuration",
] as const;

interface Payload {
  installation?: { id?: unknown };
  repository?: { name?: unknown; owner?: { login?: unknown }; default_branch?: unknown };
}

export function subscribeEnforcement(
  app: Probot,
  flow: EnforcementFlow,
  running: Set<Promise<unknown>>,
): void {
  app.on([...ENFORCEMENT_EVENTS], (context) => {
    const p = context.payload as Payload;
    const installationId = typeof p.installation?.id === "number" ? p.installation.id : null;
    if (installationId === null) return;
    const owner = p.repository?.owner?.login;
    const name = p.repository?.name;
    const work =
      typeof owner === "string" && typeof name === "string"
        ? flow.observeRepo(
            installationId,
            owner,
            name,
            typeof p.repository?.default_branch === "string" ? p.repository.default_branch : null,
            context.name,
            context.id,
          )
        : // An organisation's ruleset: every branch on the books of this installation.
          flow.scan(context.id, installationId);
    const run = work.catch((err: unknown) =>
      app.log.error(
        { err: redactError(err), delivery: context.id },
        `${context.name}: enforcement not observed`,
      ),
    );
    running.add(run);
    void run.finally(() => running.delete(run));
  });
}
