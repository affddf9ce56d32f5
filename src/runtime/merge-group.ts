/**
 * merge_group events (GitHub's merge queue). `checks_requested`: judge the group from the store
 * (src/policy/merge-group.ts) and report `changegate` on the group's head commit, so a repository
 * that requires changegate and uses the queue does not deadlock. `destroyed`: recorded.
 * Fail closed: a group GitHub or the store cannot account for, or a verdict that could not be
 * recorded, gets a failure check. The merge itself arrives as pull_request.closed (merged) and is
 * judged from the PR's own verdict like any merge (src/runtime/merge.ts).
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { MergeGroupRecord, Recorder } from "../audit/recorder.js";
import { groupMembers, postGroupCheck } from "../github/merge-group.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import { judgeMergeGroup, parseQueueRef, type GroupMember, type GroupMemberVerdict } from "../policy/merge-group.js";
import { redact, redactError } from "../report/redact.js";
import { renderGroupCheck, renderGroupFailure } from "../report/merge-group.js";

export interface MergeGroupDeps {
  recorder: Recorder;
  octokitFor(installationId: number): Promise<OctokitLike>;
  readerFor(installationId: number, octokit: OctokitLike): GraphqlReader;
  now(): Date;
  log: Logger;
}

export type MergeGroupOutcome = "success" | "failure" | "destroyed" | "ignored";

const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-hex commit sha");
const ref = z.string().min(1).max(1024);
const payloadSchema = z.object({
  action: z.string(),
  reason: z.string().max(100).nullable().optional(),
  installation: z.object({ id: z.number().int().positive() }),
  repository: z.object({ name: z.string().min(1).max(100), owner: z.object({ login: z.string().min(1).max(100) }) }),
  merge_group: z.object({ head_sha: sha, head_ref: ref, base_sha: sha, base_ref: ref }),
});

export async function handleMergeGroup(deps: MergeGroupDeps, deliveryId: string, payload: unknown): Promise<MergeGroupOutcome> {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    deps.log.warn({ delivery: deliveryId, problem: z.prettifyError(parsed.error).slice(0, 500) }, "merge_group event without the fields changegate needs: ignored");
    return "ignored";
  }
  const p = parsed.data;
  if (p.action !== "checks_requested" && p.action !== "destroyed") return "ignored";
  const repo = { owner: p.repository.owner.login, repo: p.repository.name };
  const base = p.merge_group.base_ref.replace(/^refs\/heads\//, "");
  const headSha = p.merge_group.head_sha;
  const named = parseQueueRef(p.merge_group.head_ref);
  const group = { base, headSha };
  const record = (rest: Pick<MergeGroupRecord, "prs" | "outcome" | "error">): MergeGroupRecord => ({
    at: deps.now().toISOString(),
    deliveryId,
    ref: { installationId: p.installation.id, ...repo, number: named?.number ?? 0 },
    action: p.action as MergeGroupRecord["action"],
    reason: p.reason ?? null,
    baseRef: base,
    baseSha: p.merge_group.base_sha,
    headSha,
    ...rest,
  });
  const log = deps.log.child({ delivery: deliveryId, repo: `${repo.owner}/${repo.repo}`, head: headSha, base });

  if (p.action === "destroyed") {
    try {
      await recordGroup(deps.recorder, record({ prs: [], outcome: "destroyed", error: null }));
      log.info({ reason: p.reason ?? null }, "merge group destroyed (recorded)");
    } catch (err) {
      log.error({ err: redactError(err) }, "could not record the end of a merge group");
    }
    return "destroyed";
  }

  const octokit = await deps.octokitFor(p.installation.id);
  const fail = async (why: string, prs: MergeGroupRecord["prs"] = []): Promise<MergeGroupOutcome> => {
    log.warn({ why }, "merge group not passed");
    try {
      await recordGroup(deps.recorder, record({ prs, outcome: "failure", error: redact(why) }));
    } catch (err) {
      log.error({ err: redactError(err) }, "could not record a failed merge group");
    }
    await postGroupCheck(octokit, repo, headSha, renderGroupFailure(why, group));
    return "failure";
  };

  if (!named || named.base !== base) {
    return fail(`the group's branch ${JSON.stringify(p.merge_group.head_ref.slice(0, 200))} is not a merge queue branch into ${base} (gh-readonly-queue/<base>/pr-<number>-<sha>)`);
  }
  let members: GroupMember[];
  try {
    members = await groupMembers(deps.readerFor(p.installation.id, octokit), repo, base, headSha, named.number);
  } catch (err) {
    return fail(`GitHub could not say which pull requests are in this group: ${err instanceof Error ? err.message : String(err)}`);
  }
  const verdicts = new Map<number, GroupMemberVerdict>();
  try {
    for (const m of members) {
      const v = (await deps.recorder.verdictsAt({ installationId: p.installation.id, ...repo }, m.headSha, [m.number])).get(m.number);
      if (v) verdicts.set(m.number, v);
    }
  } catch (err) {
    log.error({ err: redactError(err) }, "the audit store could not say how the group's pull requests were judged");
    return fail("the audit store is unavailable, so changegate cannot tell whether the group's pull requests are compliant");
  }
  const judged = judgeMergeGroup(members, verdicts, base);
  const prs = judged.lines.map((l) => ({ number: l.number, headSha: members.find((m) => m.number === l.number)!.headSha, ok: l.ok, why: l.why }));
  try {
    await recordGroup(deps.recorder, record({ prs, outcome: judged.conclusion, error: null }));
  } catch (err) {
    log.error({ err: redactError(err) }, "the audit store failed to record the merge group's verdict");
    // A verdict that is not on the record must not turn the check green.
    await postGroupCheck(octokit, repo, headSha, renderGroupFailure("the audit store failed to record the group's verdict", group));
    return "failure";
  }
  await postGroupCheck(octokit, repo, headSha, renderGroupCheck(judged, group));
  log.info({ outcome: judged.conclusion, prs: members.map((m) => m.number) }, `merge group: ${judged.title}`);
  return judged.conclusion;
}

async function recordGroup(recorder: Recorder, rec: MergeGroupRecord): Promise<void> {
  if (!recorder.recordMergeGroup) throw new Error("this recorder cannot record merge groups");
  await recorder.recordMergeGroup(rec);
}
