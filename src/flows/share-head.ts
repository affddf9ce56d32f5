/**
 * The PRs sharing this PR's head, each with its own recorded verdict at this head (valid only for
 * the base and gating it has now), and what the shared check therefore says (src/policy/shared-head.ts).
 */
import { isGatedBranch } from "../config/schema.js";
import type { Gathered } from "../github/gather.js";
import { commitVerdict, type CommitVerdict, type HeadSharer } from "../policy/shared-head.js";
import type { Policy, Verdict } from "../policy/types.js";
import type { EvaluationJob, PipelineDeps } from "../intake/job.js";

export interface SharedHead {
  verdict: CommitVerdict;
  /** PRs to evaluate next: unjudged gated sharers, and every sharer when this PR's verdict changed. */
  request: number[];
}

export async function shareHead(
  deps: Pick<PipelineDeps, "recorder">,
  job: EvaluationJob,
  gathered: Gathered,
  policy: Policy | null,
  own: Verdict["conclusion"],
): Promise<SharedHead> {
  const { ref } = job;
  const pr = gathered.evidence.pr;
  const defaultBranch = gathered.evidence.repo.defaultBranch;
  const numbers = gathered.sharedHead.map((s) => s.number);
  const known = await deps.recorder.verdictsAt(ref, pr.headSha, [ref.number, ...numbers]);
  const sharers: HeadSharer[] = gathered.sharedHead.map((sharer) => {
    // Same repository, same policy; an invalid policy gates everything (fail closed).
    const gated = policy ? isGatedBranch(policy.config, sharer.baseRef, defaultBranch) : true;
    const recorded = known.get(sharer.number);
    const current = recorded && recorded.base === sharer.baseRef && recorded.gated === gated;
    return {
      number: sharer.number,
      baseRef: sharer.baseRef,
      gated,
      verdict: current ? { outcome: recorded.outcome, title: recorded.title } : null,
    };
  });
  const verdict = commitVerdict(own, sharers);
  // This PR's verdict as recorded before this evaluation: if it changed, the sharers' checks and
  // digests (which name it) are out of date.
  const before = known.get(ref.number);
  const ownGated = policy ? isGatedBranch(policy.config, pr.baseRef, defaultBranch) : null;
  const changed =
    !before || before.outcome !== own || before.base !== pr.baseRef || before.gated !== ownGated;
  const request = changed ? numbers : verdict.unjudged.map((s) => s.number);
  return { verdict, request };
}
