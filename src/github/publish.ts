/**
 * publish: the check run (what branch protection reads) and the digest comment, written together. A
 * write whose content did not change is skipped, so an evaluation that changes nothing costs no write.
 */
import { CHECK_NAME, DIGEST_MARKER, REEVALUATE_ACTION } from "../contract.js";
import type { Report } from "../report/types.js";
import type { ExistingCheck } from "./gather.js";
import type { OctokitLike, PrRef } from "./types.js";
import { isWriteSuperseded } from "./write-scheduler.js";

/** What publish writes through (a ProbotOctokit satisfies it). */
export type Writer = OctokitLike;

export interface PublishTarget {
  ref: PrRef;
  headSha: string;
  ownCheck: ExistingCheck | null;
  digestComment: { id: number; body: string } | null;
}

export interface Published {
  checkId: number | null;
  commentId: number | null;
  writes: number;
}

export function checkUnchanged(existing: ExistingCheck | null, report: Report): boolean {
  if (!existing) return false;
  const c = report.check;
  return (
    existing.status.toLowerCase() === c.status &&
    (existing.conclusion?.toLowerCase() ?? null) === c.conclusion &&
    existing.title === c.title &&
    existing.summary === c.summary
  );
}

export async function publish(octokit: Writer, target: PublishTarget, report: Report): Promise<Published> {
  const progress = { writes: 0 };
  try {
    return await publishCounted(octokit, target, report, progress);
  } catch (err) {
    // A write dropped for a newer evaluation: say how many of this result's writes went out before it.
    if (isWriteSuperseded(err)) err.writesBefore = progress.writes;
    throw err;
  }
}

async function publishCounted(
  octokit: Writer,
  target: PublishTarget,
  report: Report,
  progress: { writes: number },
): Promise<Published> {
  // The check and the digest go out together: neither waits for the other's round trip. A write
  // that went out is remembered on the target, so a retry of the same report skips it.
  const [check, digest] = await Promise.allSettled([
    writeCheck(octokit, target, report, progress),
    writeDigest(octokit, target, report, progress),
  ]);
  if (check.status === "rejected") throw check.reason;
  if (digest.status === "rejected") throw digest.reason;
  return { checkId: check.value, commentId: digest.value, writes: progress.writes };
}

/** The check run, if it changed: PATCHed in place, or a new run. Returns its id. */
async function writeCheck(
  octokit: Writer,
  target: PublishTarget,
  report: Report,
  progress: { writes: number },
): Promise<number | null> {
  const { owner, repo } = target.ref;
  if (checkUnchanged(target.ownCheck, report)) return target.ownCheck?.id ?? null;
  const c = report.check;
  const body = {
    owner,
    repo,
    name: CHECK_NAME,
    status: c.status,
    ...(c.conclusion ? { conclusion: c.conclusion } : {}),
    output: { title: c.title, summary: c.summary },
    actions: [
      { label: "Re-evaluate", description: "Run changegate again now", identifier: REEVALUATE_ACTION },
    ],
  };
  // A completed run cannot go back to in_progress: a new run replaces it then.
  const reopen = target.ownCheck?.status.toLowerCase() === "completed" && c.status === "in_progress";
  let id: number;
  if (target.ownCheck && !reopen) {
    id = target.ownCheck.id;
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      ...body,
      check_run_id: id,
    });
  } else {
    const res = await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      ...body,
      head_sha: target.headSha,
    });
    id = (res.data as { id: number }).id;
  }
  progress.writes++;
  target.ownCheck = { id, status: c.status, conclusion: c.conclusion, title: c.title, summary: c.summary };
  return id;
}

/** The digest comment, if it changed: edited in place, or posted (again, if someone deleted it). */
async function writeDigest(
  octokit: Writer,
  target: PublishTarget,
  report: Report,
  progress: { writes: number },
): Promise<number | null> {
  const existing = target.digestComment;
  if (existing) {
    if (existing.body === report.comment) return existing.id;
    let id = existing.id;
    try {
      await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        owner: target.ref.owner,
        repo: target.ref.repo,
        comment_id: existing.id,
        body: report.comment,
      });
      progress.writes++;
    } catch (err) {
      // Someone deleted the digest since we read it: post it again rather than fail.
      if ((err as { status?: number }).status !== 404) throw err;
      id = await createComment(octokit, target.ref, report.comment);
      progress.writes += 2;
    }
    target.digestComment = { id, body: report.comment };
    return id;
  }
  if (!report.createComment) return null;
  const id = await createComment(octokit, target.ref, report.comment);
  progress.writes++;
  target.digestComment = { id, body: report.comment };
  return id;
}

async function createComment(octokit: Writer, ref: PrRef, body: string): Promise<number> {
  const res = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
    owner: ref.owner,
    repo: ref.repo,
    issue_number: ref.number,
    body,
  });
  return (res.data as { id: number }).id;
}

/**
 * The digest comment, found by REST (only on the failure path, when the GraphQL read failed):
 * a comment made by this app that carries the marker.
 */
export async function findDigestComment(octokit: Writer, ref: PrRef, appId: number): Promise<number | null> {
  for (let page = 1; page <= 10; page++) {
    const res = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: ref.owner,
      repo: ref.repo,
      issue_number: ref.number,
      per_page: 100,
      page,
    });
    const comments = res.data as {
      id: number;
      body?: string;
      performed_via_github_app?: { id: number } | null;
    }[];
    const ours = comments.find(
      (c) => c.performed_via_github_app?.id === appId && (c.body ?? "").includes(DIGEST_MARKER),
    );
    if (ours) return ours.id;
    if (comments.length < 100) return null;
  }
  return null;
}

/**
 * A failing changegate check on `headSha`, created outright (no read, no digest): for when nothing
 * else can be known, such as the audit store refusing a delivery. A later run supersedes it.
 */
export async function postFailedCheck(
  octokit: Writer,
  repo: { owner: string; repo: string },
  headSha: string,
  report: Report,
): Promise<void> {
  await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
    owner: repo.owner,
    repo: repo.repo,
    name: CHECK_NAME,
    head_sha: headSha,
    status: "completed",
    conclusion: "failure",
    output: { title: report.check.title, summary: report.check.summary },
  });
}
