/**
 * CI results: `check_suite`, `check_run` and `status` events re-evaluate the PRs whose head they
 * concern. changegate's own suites and runs are not CI and never re-trigger it; the re-evaluate
 * button on its own check does.
 */
import type { Probot } from "probot";
import { REEVALUATE_ACTION } from "../contract.js";
import type { HandlerDeps } from "./deps.js";

export function onCi(app: Probot, { appId, intake, locator }: HandlerDeps): void {
  app.on("check_suite.completed", async (context) => {
    const suite = context.payload.check_suite;
    if (suite.app?.id === appId) return; // our own suite: no feedback loop
    await intake.take(
      context,
      () => locator.prHeads(context, suite.head_sha, suite.pull_requests),
      () => locator.fromSha(context, suite.head_sha, suite.pull_requests),
    );
  });

  app.on(
    ["check_run.created", "check_run.completed", "check_run.rerequested", "check_run.requested_action"],
    async (context) => {
      const run = context.payload.check_run;
      const ours = run.app?.id === appId;
      // A CI run created after the last evaluation (a late workflow, a re-run) makes the verdict wait
      // until it completes: without this, the check stayed green while CI ran. Creating or completing
      // our own check must not re-trigger us; the buttons on someone else's check are not ours.
      const action = context.payload.action;
      if (action === "created" || action === "completed" ? ours : !ours) return;
      if (
        context.payload.action === "requested_action" &&
        context.payload.requested_action?.identifier !== REEVALUATE_ACTION
      )
        return;
      await intake.take(
        context,
        () => locator.prHeads(context, run.head_sha, run.pull_requests),
        () => locator.fromSha(context, run.head_sha, run.pull_requests),
      );
    },
  );

  app.on("status", async (context) => {
    const sha = context.payload.sha;
    await intake.take(
      context,
      () => locator.prHeads(context, sha, []),
      () => locator.fromSha(context, sha, []),
    );
  });
}
