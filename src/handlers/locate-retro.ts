/**
 * The `retro` job for a merged PR: a review submitted on it, or a `/changegate approve` comment
 * (issue_comment). The payload only routes the event; whether it is a retroactive review is decided
 * from GitHub's read (flows/after-merge.ts).
 */
import type { Context } from "probot";
import { isRetroApproveComment } from "../policy/retro-review.js";
import { newJob, type EvaluationJob } from "../intake/job.js";
import { installationOf } from "./locate.js";

export function retroJob(context: Context, number: number): EvaluationJob {
  const repo = context.repo();
  const action = (context.payload as { action?: string }).action;
  return newJob({
    ref: { installationId: installationOf(context), owner: repo.owner, repo: repo.repo, number },
    deliveryId: context.id,
    event: `${context.name}.${action ?? ""}`,
    kind: "retro",
  });
}

/** An issue_comment payload that may be a retroactive approval of a merged (closed) PR. */
export function retroComment(payload: unknown): number | null {
  const p = payload as {
    issue?: { number?: unknown; state?: unknown; pull_request?: unknown };
    comment?: { body?: unknown };
  };
  if (!p.issue?.pull_request || p.issue.state !== "closed" || typeof p.issue.number !== "number") return null;
  return typeof p.comment?.body === "string" && isRetroApproveComment(p.comment.body) ? p.issue.number : null;
}
