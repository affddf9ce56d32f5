/** `issue_comment.created`: `/changegate approve` on a merged PR, the retroactive review of an emergency change. */
import type { Probot } from "probot";
import { knownJobs } from "../intake/intake.js";
import type { HandlerDeps } from "./deps.js";
import { retroComment, retroJob } from "./locate-retro.js";

export function onComment(app: Probot, { intake }: HandlerDeps): void {
  app.on("issue_comment.created", async (context) => {
    const number = retroComment(context.payload);
    if (number !== null)
      await intake.take(
        context,
        () => [],
        knownJobs(() => [retroJob(context, number)]),
      );
  });
}
