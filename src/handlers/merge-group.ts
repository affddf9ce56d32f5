/**
 * `merge_group` events: claimed in the ledger with their one `group` job and answered at once; the
 * group is judged by the scheduler from the store (flows/merge-group.ts), retried and resumed.
 */
import type { Probot } from "probot";
import { knownJobs } from "../intake/intake.js";
import { mergeGroupHeads, mergeGroupJob } from "../flows/merge-group.js";
import type { HandlerDeps } from "./deps.js";

export function onMergeGroup(app: Probot, { intake }: HandlerDeps): void {
  app.on("merge_group", async (context) => {
    const job = mergeGroupJob(context.id, context.payload, context.log);
    await intake.take(
      context,
      () => mergeGroupHeads(job),
      knownJobs(() => (job ? [job] : [])),
    );
  });
}
