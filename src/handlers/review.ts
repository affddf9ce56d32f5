/**
 * `pull_request_review` events: an open PR is evaluated again; on a merged PR an approving review
 * may be the retroactive review of an emergency change (a `retro` job).
 */
import type { Probot } from "probot";
import { knownJobs } from "../intake/intake.js";
import type { HandlerDeps } from "./deps.js";
import { retroJob } from "./locate-retro.js";

export function onReview(app: Probot, { intake, locator }: HandlerDeps): void {
  app.on(
    ["pull_request_review.submitted", "pull_request_review.edited", "pull_request_review.dismissed"],
    async (context) => {
      const pull = context.payload.pull_request;
      const open = pull.state === "open";
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
}
