/**
 * Judge a merged PR as of its merge: one GraphQL read (gather), the policy (the repository's file
 * as GitHub has it now, or a proposed one), approvals submitted by mergedAt judged against the
 * merged head (policy/as-of-merge.ts), CI on the merged head, tickets looked up now, then the pure
 * policy. Used by the scan (PRs merged while changegate missed the event) and meant for a later
 * `changegate rehearse --policy FILE` (pass `policy`). Never writes to GitHub or the store.
 *
 * Fail closed: an invalid policy gives no verdict, outcome failure, gated.
 */
import { completeEvidence, NO_TICKETS } from "../evidence/complete.js";
import { readPolicy } from "../evidence/read.js";
import { gather, type Gathered } from "../github/gather.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import type { TicketLookupService } from "../jira/tickets.js";
import { evidenceAsOfMerge } from "../policy/as-of-merge.js";
import { evaluate } from "../policy/evaluate.js";
import { evidenceNeeds } from "../policy/needs.js";
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import type { PrRef } from "../refs.js";
import type { Recorder } from "../audit/recorder.js";
import { StageError } from "../stage.js";

export interface AsOfMergeDeps {
  reader: GraphqlReader;
  /** REST, for the emergency declarer's facts (only when the PR carries the label). */
  octokit: OctokitLike;
  appId: number;
  tickets: TicketLookupService | null;
  /** Which commit an emergency declaration was made on, as recorded (absent: unknown, so no emergency). */
  recorder?: Pick<Recorder, "declaredOn">;
}

export interface AsOfMergeJudgement {
  gathered: Gathered;
  /** The evidence as of the merge, tickets looked up. */
  evidence: Evidence;
  policy: Policy | null;
  /** null when the policy is invalid (then outcome failure). */
  verdict: Verdict | null;
  outcome: Verdict["conclusion"];
  gated: boolean;
  emergency: boolean;
  /** Why there is no verdict (the invalid policy file). */
  problem: string | null;
}

export class NotMergedError extends Error {}

/** Judge `ref` as of its merge; `policy` replaces the repository's own (a rehearsal). Throws NotMergedError if GitHub says it is not merged. */
export async function judgeAsOfMerge(
  deps: AsOfMergeDeps,
  ref: PrRef,
  opts: { policy?: Policy } = {},
): Promise<AsOfMergeJudgement> {
  const gathered = await gather(deps.reader, ref, deps.appId);
  const pr = gathered.evidence.pr;
  if (pr.state !== "MERGED" || !pr.mergedAt)
    throw new NotMergedError(
      `${ref.owner}/${ref.repo}#${ref.number} is ${pr.state.toLowerCase()}, not merged`,
    );
  let policy: Policy | null = opts.policy ?? null;
  let problem: string | null = null;
  if (!policy) {
    const loaded = await readPolicy(gathered, deps.reader);
    if (loaded.ok) policy = loaded.policy;
    else problem = `invalid policy ${loaded.problem.file}`;
  }
  if (!policy) {
    const evidence: Evidence = { ...evidenceAsOfMerge(gathered.evidence), tickets: NO_TICKETS };
    return {
      gathered,
      evidence,
      policy: null,
      verdict: null,
      outcome: "failure",
      gated: true,
      emergency: false,
      problem,
    };
  }
  // The declarer, and approvals.rules' files past 100, renamed files' old paths and team members, read
  // as the app reads them (evidence/complete.ts; no team cache): without them a team rule could only
  // fail, and a compliant merge found by the scan would be recorded as a bypass.
  const asOfMerge = { ...gathered, evidence: evidenceAsOfMerge(gathered.evidence) };
  const evidence = await completeEvidence(asOfMerge, evidenceNeeds(policy.config, asOfMerge), {
    ref,
    reader: deps.reader,
    octokit: deps.octokit,
    teams: null,
    declarations: deps.recorder ?? {},
    tickets: deps.tickets,
  }).catch((err: unknown) => {
    // The scan and rehearse report the error itself (no pipeline stage to name).
    throw err instanceof StageError ? err.original : err;
  });
  const verdict = evaluate(policy, evidence);
  return {
    gathered,
    evidence,
    policy,
    verdict,
    outcome: verdict.conclusion,
    gated: verdict.gated,
    emergency: verdict.emergency,
    problem: null,
  };
}
