/**
 * Judge a merged PR as of its merge: one GraphQL read (gather), the policy (the repository's file
 * as GitHub has it now, or a proposed one), approvals submitted by mergedAt judged against the
 * merged head (policy/as-of-merge.ts), CI on the merged head, tickets looked up now, then the pure
 * policy. Used by the scan (PRs merged while changegate missed the event) and meant for a later
 * `changegate rehearse --policy FILE` (pass `policy`). Never writes to GitHub or the store.
 *
 * Fail closed: an invalid policy gives no verdict, outcome failure, gated.
 */
import { loadPolicy } from "../config/load.js";
import { withDeclarerFacts } from "../github/declarer.js";
import { gather, readFile, type Gathered } from "../github/gather.js";
import { withRuleFacts } from "../github/rule-facts.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import { gatherTickets, type TicketLookupService } from "../jira/tickets.js";
import { evidenceAsOfMerge } from "../policy/as-of-merge.js";
import { evaluate } from "../policy/evaluate.js";
import { ticketLookupNeeded } from "../policy/tickets.js";
import type { Evidence, Policy, Verdict } from "../policy/types.js";
import type { PrRef } from "../refs.js";
import type { Recorder } from "../audit/recorder.js";
import { withDeclaredOn } from "./declared-on.js";

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
    const loaded = await loadPolicy(gathered.configFiles, (repo, path) => readFile(deps.reader, repo, path));
    if (loaded.ok) policy = loaded.policy;
    else problem = `invalid policy ${loaded.problem.file}`;
  }
  if (!policy) {
    const evidence: Evidence = {
      ...evidenceAsOfMerge(gathered.evidence),
      tickets: { refs: [], lookup: { kind: "not_needed" } },
    };
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
  const config = policy.config;
  const withDeclarer = await withDeclaredOn(
    deps.recorder ?? {},
    ref,
    config,
    await withDeclarerFacts(deps.octokit, ref, config, evidenceAsOfMerge(gathered.evidence)),
  );
  // approvals.rules: files past 100, renamed files' old paths and team members, read as the app reads
  // them (github/rule-facts.ts); without them a team rule could only fail, and a compliant merge
  // found by the scan would be recorded as a bypass.
  const withRules = await withRuleFacts(
    deps.reader,
    { ...gathered, evidence: withDeclarer },
    config,
    null,
    ref,
    deps.octokit,
  );
  const needed = ticketLookupNeeded(config, withRules);
  const tickets = await gatherTickets(config, withRules.pr, withRules.commits, deps.tickets, needed);
  const evidence: Evidence = { ...withRules, tickets };
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
