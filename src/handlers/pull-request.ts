/**
 * `pull_request` events: an open PR's head is evaluated; a closed PR only when it merged (GitHub's
 * read confirms it; the payload is not trusted).
 */
import type { Probot } from "probot";
import { knownJobs } from "../intake/intake.js";
import type { HandlerDeps } from "./deps.js";

export const PULL_REQUEST_ACTIONS = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.edited",
  "pull_request.ready_for_review",
  "pull_request.converted_to_draft",
  "pull_request.labeled",
  "pull_request.unlabeled",
  "pull_request.closed",
] as const;

export function onPullRequest(app: Probot, { intake, locator }: HandlerDeps): void {
  app.on([...PULL_REQUEST_ACTIONS], async (context) => {
    const pull = context.payload.pull_request;
    if (context.payload.action !== "closed")
      return intake.take(
        context,
        () => [pull.head.sha],
        knownJobs(() => [locator.fromPull(context, pull)]),
      );
    if (pull?.merged)
      await intake.take(
        context,
        () => [],
        knownJobs(() => [locator.fromPull(context, pull, "merge")]),
      );
  });
}
