/**
 * Where every GitHub webhook enters: one module per event source, each a thin handler that skips
 * what is not ours to judge and hands the delivery to intake with how to locate its jobs (or, for
 * `push`, to its flow). Handlers return as soon as the work is queued; GitHub does not wait for
 * evaluations. The Jira webhook enters through its route (handlers/jira.ts).
 */
import type { Probot } from "probot";
import type { TeamCache } from "../github/team-cache.js";
import { onCi } from "./ci.js";
import { onComment } from "./comment.js";
import type { HandlerDeps } from "./deps.js";
import { onMergeGroup } from "./merge-group.js";
import { onPullRequest } from "./pull-request.js";
import { onPush } from "./push.js";
import { onReview } from "./review.js";
import { onTeam } from "./team.js";

export type { HandlerDeps } from "./deps.js";

export interface SubscribeDeps extends HandlerDeps {
  /** Team caches forgotten on `membership`/`team` events (approvals.rules). */
  teams: TeamCache;
  /** push deliveries: direct pushes to gated branches (flows/push.ts); absent: not handled. */
  push?: (deliveryId: string, payload: unknown) => void;
}

export function subscribe(app: Probot, deps: SubscribeDeps): void {
  onPullRequest(app, deps);
  onReview(app, deps);
  onComment(app, deps);
  onCi(app, deps);
  onMergeGroup(app, deps);
  if (deps.push) onPush(app, deps.push);
  onTeam(app, deps);
}
