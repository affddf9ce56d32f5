/**
 * The GitHub side of a retroactive review (the decision is src/policy/retro-review.ts):
 *   - candidates: approving reviews after the merge (from the one evidence read, with GraphQL's
 *     authorCanPushToRepository) and `/changegate approve` comments posted after the merge
 *     (`GET /repos/{owner}/{repo}/issues/{n}/comments?since=…`, at most 10 pages), each with its id
 *     and whether it was edited since it was posted (`updated_at` ≠ `created_at`: refused);
 *   - write access of comment authors who pass every other test (`GET …/collaborators/{u}/permission`,
 *     at most MAX_PERMISSION_READS per run, oldest first);
 *   - writes: the `changegate/retro-review` check run on the merged head, and the digest's sections.
 * Only an emergency merge on record pays for any of this.
 */
import { z } from "zod";
import {
  isRetroApproveComment,
  judgeRetroReview,
  needsWriteCheck,
  type RetroCandidate,
  type RetroFacts,
  type RetroJudgement,
} from "../policy/retro-review.js";
import type { Evidence } from "../policy/types.js";
import { RETRO_CHECK_NAME } from "../report/after-merge.js";
import type { CheckOutput } from "../report/types.js";
import { canWrite } from "./declarer.js";
import type { OctokitLike, PrRef } from "./types.js";

export const MAX_COMMENT_PAGES = 10;
export const MAX_PERMISSION_READS = 10;

const restComment = z.object({
  id: z.number().int(),
  body: z.string().nullable().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  html_url: z.string(),
  user: z.object({ login: z.string(), type: z.string() }).nullable(),
});

/** Approving reviews and `/changegate approve` comments made after `mergedAt`. */
export async function retroCandidates(
  octokit: OctokitLike,
  ref: PrRef,
  evidence: Pick<Evidence, "reviews">,
  mergedAt: string,
): Promise<RetroCandidate[]> {
  const after = (at: string | null) => at !== null && Date.parse(at) > Date.parse(mergedAt);
  const out: RetroCandidate[] = evidence.reviews
    .filter((r) => r.state === "APPROVED" && after(r.submittedAt))
    .map((r) => ({
      login: r.author?.login ?? null,
      isBot: r.author?.isBot ?? false,
      at: r.submittedAt!,
      via: "review" as const,
      url: r.url,
      canWrite: r.authorCanPush,
    }));
  for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
    const res = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: ref.owner,
      repo: ref.repo,
      issue_number: ref.number,
      since: mergedAt,
      per_page: 100,
      page,
    });
    const parsed = z.array(restComment).max(100).safeParse(res.data);
    if (!parsed.success)
      throw new Error(
        `GitHub's list of comments on ${ref.owner}/${ref.repo}#${ref.number} is malformed: ${z.prettifyError(parsed.error).slice(0, 300)}`,
      );
    for (const c of parsed.data) {
      if (!after(c.created_at) || !isRetroApproveComment(c.body ?? "")) continue;
      const edited = Date.parse(c.updated_at) !== Date.parse(c.created_at);
      out.push({
        login: c.user?.login ?? null,
        isBot: c.user?.type === "Bot",
        at: c.created_at,
        via: "comment",
        url: c.html_url,
        canWrite: null,
        commentId: c.id,
        edited,
      });
    }
    if (parsed.data.length < 100) break;
  }
  return out;
}

/** Ask the write access of the candidates that need it (bounded), then judge. */
export async function judgeWithWriteAccess(
  octokit: OctokitLike,
  ref: PrRef,
  facts: RetroFacts,
): Promise<RetroJudgement> {
  const ask = needsWriteCheck(facts).slice(0, MAX_PERMISSION_READS);
  const known = new Map<string, boolean>();
  for (const c of ask) {
    const login = c.login!.toLowerCase();
    if (!known.has(login)) known.set(login, await canWrite(octokit, ref, c.login!));
    if (known.get(login)) break; // the oldest qualifying one is found
  }
  const candidates = facts.candidates.map((c) =>
    c.canWrite === null && c.login && known.has(c.login.toLowerCase())
      ? { ...c, canWrite: known.get(c.login.toLowerCase())! }
      : c,
  );
  return judgeRetroReview({ ...facts, candidates });
}

/** The `changegate/retro-review` check run on the merged head (a new run: the newest is the one shown). */
export async function setRetroCheck(
  octokit: OctokitLike,
  ref: Pick<PrRef, "owner" | "repo">,
  headSha: string,
  c: CheckOutput,
  /** This app's id: only its own run is completed in place (0 or absent: any run of that name). */
  appId?: number,
): Promise<void> {
  const body = {
    owner: ref.owner,
    repo: ref.repo,
    name: RETRO_CHECK_NAME,
    status: c.status,
    ...(c.conclusion ? { conclusion: c.conclusion } : {}),
    output: { title: c.title, summary: c.summary },
  };
  // Due → reviewed or overdue: the run opened at the merge is completed in place (an update, not a
  // creation against the 80/min and 500/h). A completed run is never reopened or changed again:
  // a new run replaces it then.
  // If the run cannot be looked up, a new run says it: the lookup only saves a creation.
  const open =
    c.status === "completed" ? await openRetroRun(octokit, ref, headSha, appId).catch(() => null) : null;
  if (open !== null) {
    try {
      await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
        ...body,
        check_run_id: open,
      });
      return;
    } catch (err) {
      // Gone, or not ours to change: a new run says it instead.
      const status = (err as { status?: number }).status;
      if (status !== 404 && status !== 403 && status !== 422) throw err;
    }
  }
  await octokit.request("POST /repos/{owner}/{repo}/check-runs", { ...body, head_sha: headSha });
}

/** The newest retro-review run on `headSha` if it is still in progress (this app's, when its id is known). */
async function openRetroRun(
  octokit: OctokitLike,
  ref: Pick<PrRef, "owner" | "repo">,
  headSha: string,
  appId: number | undefined,
): Promise<number | null> {
  const res = await octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
    owner: ref.owner,
    repo: ref.repo,
    ref: headSha,
    check_name: RETRO_CHECK_NAME,
    filter: "latest",
    ...(appId ? { app_id: appId } : {}),
    per_page: 10,
  });
  const runs = (res.data as { check_runs?: { id: number; status: string; app?: { id: number } | null }[] })
    .check_runs;
  const newest = (runs ?? []).filter((r) => !appId || r.app?.id === appId).sort((a, b) => b.id - a.id)[0];
  return newest && newest.status !== "completed" ? newest.id : null;
}

/** Replace the digest comment's body (one PATCH); nothing when unchanged. */
export async function editDigest(
  octokit: OctokitLike,
  ref: PrRef,
  digest: { id: number; body: string },
  body: string,
): Promise<boolean> {
  if (body === digest.body) return false;
  await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
    owner: ref.owner,
    repo: ref.repo,
    comment_id: digest.id,
    body,
  });
  return true;
}

/** The digest comment's current body by REST (the overdue timer has no evidence read). */
export async function digestBody(
  octokit: OctokitLike,
  ref: PrRef,
  commentId: number,
): Promise<string | null> {
  const res = await octokit.request("GET /repos/{owner}/{repo}/issues/comments/{comment_id}", {
    owner: ref.owner,
    repo: ref.repo,
    comment_id: commentId,
  });
  const body = (res.data as { body?: unknown }).body;
  return typeof body === "string" ? body : null;
}
