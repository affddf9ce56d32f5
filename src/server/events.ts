/**
 * The webhook events that can change a PR's verdict, one thin handler each: skip what is not ours
 * to judge, then hand the delivery to intake with how to locate its jobs. Handlers return as soon
 * as the work is queued; GitHub does not wait for evaluations.
 */
import type { Probot } from "probot";
import { REEVALUATE_ACTION } from "../contract.js";
import type { Locator } from "../github/locate.js";
import { retroComment, retroJob } from "../github/locate-retro.js";
import type { Intake } from "../runtime/intake.js";
import { knownJobs } from "../runtime/intake.js";
import { mergeGroupHeads, mergeGroupJob } from "../runtime/merge-group.js";

export interface EventDeps {
  /** The app's id: its own check suites and runs are not CI and must not re-trigger it. */
  appId: number;
  intake: Intake;
  locator: Locator;
  /** merge_group deliveries go through the intake as group jobs (src/runtime/merge-group.ts); false/absent: not handled. */
  mergeGroups?: boolean;
  /** push deliveries: direct pushes to gated branches (src/runtime/direct-push.ts); absent: not handled. */
  push?: (deliveryId: string, payload: unknown) => void;
}

export function subscribe(app: Probot, { appId, intake, locator, mergeGroups, push }: EventDeps): void {
  // Claimed with its job and answered at once; the group is judged by the scheduler (issue 19).
  if (mergeGroups) {
    app.on("merge_group", async (context) => {
      const job = mergeGroupJob(context.id, context.payload, context.log);
      await intake.take(
        context,
        () => mergeGroupHeads(job),
        knownJobs(() => (job ? [job] : [])),
      );
    });
  }
  // Examined after GitHub has its answer (it may wait for GitHub to link merge commits to their PRs).
  if (push) app.on("push", (context) => push(context.id, context.payload));

  app.on(
    [
      "pull_request.opened",
      "pull_request.reopened",
      "pull_request.synchronize",
      "pull_request.edited",
      "pull_request.ready_for_review",
      "pull_request.converted_to_draft",
      "pull_request.labeled",
      "pull_request.unlabeled",
      "pull_request.closed",
    ],
    async (context) => {
      const pull = context.payload.pull_request;
      if (context.payload.action !== "closed")
        return intake.take(
          context,
          () => [pull.head.sha],
          knownJobs(() => [locator.fromPull(context, pull)]),
        );
      // Closed: only a merge is examined (GitHub's read confirms it; the payload is not trusted).
      if (pull?.merged)
        await intake.take(
          context,
          () => [],
          knownJobs(() => [locator.fromPull(context, pull, "merge")]),
        );
    },
  );

  app.on(
    ["pull_request_review.submitted", "pull_request_review.edited", "pull_request_review.dismissed"],
    async (context) => {
      const pull = context.payload.pull_request;
      const open = pull.state === "open";
      // On a merged PR, an approving review may be the retroactive review of an emergency change.
      const retro = !open && context.payload.action === "submitted" && Boolean(pull.merged_at);
      await intake.take(
        context,
        () => (open ? [pull.head.sha] : []),
        knownJobs(() =>
          open ? [locator.fromPull(context, pull)] : retro ? [retroJob(context, pull.number)] : [],
        ),
      );
    },
  );

  app.on("issue_comment.created", async (context) => {
    const number = retroComment(context.payload);
    if (number !== null)
      await intake.take(
        context,
        () => [],
        knownJobs(() => [retroJob(context, number)]),
      );
  });

  app.on("check_suite.completed", async (context) => {
    const suite = context.payload.check_suite;
    if (suite.app?.id === appId) return; // our own suite: no feedback loop
    await intake.take(
      context,
      () => locator.prHeads(context, suite.head_sha, suite.pull_requests),
      () => locator.fromSha(context, suite.head_sha, suite.pull_requests),
    );
  });

  app.on(["check_run.completed", "check_run.rerequested", "check_run.requested_action"], async (context) => {
    const run = context.payload.check_run;
    const ours = run.app?.id === appId;
    // Completing our own check must not re-trigger us; the buttons on someone else's check are not ours.
    if (context.payload.action === "completed" ? ours : !ours) return;
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
  });

  app.on("status", async (context) => {
    const sha = context.payload.sha;
    await intake.take(
      context,
      () => locator.prHeads(context, sha, []),
      () => locator.fromSha(context, sha, []),
    );
  });
}
