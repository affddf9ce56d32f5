/**
 * `push` events: direct pushes to gated branches. Answered at once; the examination (flows/push.ts)
 * runs after GitHub has its answer, since it may wait DIRECT_PUSH_RECHECK_MS for GitHub to link a
 * merge commit to its PR, far longer than a webhook may take.
 */
import type { Probot } from "probot";

export function onPush(app: Probot, push: (deliveryId: string, payload: unknown) => void): void {
  app.on("push", (context) => push(context.id, context.payload));
}
