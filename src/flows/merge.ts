/**
 * A merge, as GitHub's read (never the webhook payload) tells it: judged by src/policy/merge.ts from
 * the merged PR's own verdict for the merged head and base as recorded before the merge, put on
 * the record, logged (a bypass with the phrase ops alarm on), and listed in the bypass issue.
 */
import { loadPolicy } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { NON_COMPLIANT_PHRASE } from "../contract.js";
import type { MergeRecord } from "../audit/recorder.js";
import { reportBypass } from "../github/bypass-issue.js";
import { withDeclarerFacts } from "../github/declarer.js";
import { withDeclaredOn } from "./declared-on.js";
import { readFile, type Gathered } from "../github/gather.js";
import { prLabel } from "../github/types.js";
import { judgeMerge, mergeNeedsDeclarer, standingVerdict } from "../policy/merge.js";
import { redactError } from "../report/redact.js";
import { afterMerge, retroReviewTerms } from "./after-merge.js";
import { scheduleLater, type EvaluationOutcome, type PipelineDeps, type Run } from "../intake/job.js";

export async function examineMerge(
  deps: PipelineDeps,
  run: Run,
  gathered: Gathered,
): Promise<EvaluationOutcome> {
  const { job, log, reader, octokit } = run;
  const pr = gathered.evidence.pr;
  const label = prLabel(job.ref);
  if (pr.state !== "MERGED" || !pr.mergedAt) {
    // A forged or out-of-order "merged" event: nothing merged, nothing goes on the record. An open
    // PR may be GitHub's read lagging behind the event: look again later.
    const open = pr.state === "OPEN";
    log.warn(
      { state: pr.state, head: pr.headSha },
      `a merge of ${label} was announced, but GitHub says the pull request is ${pr.state.toLowerCase()}: nothing recorded${open ? "; will look again" : ""}`,
    );
    if (open) scheduleLater(deps, job, log);
    return { kind: "skipped", outcome: null, headSha: pr.headSha, reads: reader.reads, writes: 0 };
  }
  const loaded = await loadPolicy(gathered.configFiles, (repo, path) => readFile(reader, repo, path));
  const config = loaded.ok ? loaded.policy.config : null;
  const own = (await deps.recorder.verdictsAt(job.ref, pr.headSha, [job.ref.number])).get(job.ref.number);
  // Who applied the emergency label matters only when no verdict stands for this merge.
  const evidence =
    config && mergeNeedsDeclarer(config, pr.labels, standingVerdict(own, pr.baseRef))
      ? await withDeclaredOn(
          deps.recorder,
          job.ref,
          config,
          await withDeclarerFacts(octokit, job.ref, config, gathered.evidence),
          job.labelClaims,
        )
      : gathered.evidence;
  const { outcome, gated, emergency, bypass } = judgeMerge(
    config,
    evidence,
    own,
    gathered.evidence.repo.defaultBranch,
  );
  if (bypass) {
    const why =
      outcome === "none"
        ? `changegate never judged ${pr.headSha.slice(0, 7)} into ${pr.baseRef}`
        : `its verdict on ${pr.headSha.slice(0, 7)} was ${outcome}`;
    log.warn(
      { mergedBy: pr.mergedBy, url: pr.url, verdict: outcome, head: pr.headSha },
      `${label} merged by ${pr.mergedBy ?? "unknown"} ${NON_COMPLIANT_PHRASE} ${why} ${pr.url}`,
    );
  } else {
    log.info(
      { mergedBy: pr.mergedBy, url: pr.url, emergency },
      `${label} merged${emergency ? " as an emergency change" : ""} (compliant)`,
    );
  }
  const merge = mergeRecordOf(
    { at: deps.now().toISOString(), deliveryId: job.deliveryId, ref: job.ref },
    pr,
    { outcome, emergency, gated },
    config,
  );
  const receipt = await deps.recorder.recordMerge(merge);
  const issueRepo = config?.audit.issue_repo;
  if (bypass && issueRepo && !receipt?.duplicate) {
    try {
      const listed = await reportBypass(octokit, issueRepo, merge, receipt?.id ?? null);
      log.info(
        { issueRepo, issue: listed.issueNumber },
        `bypass of ${label} listed in ${issueRepo}#${listed.issueNumber}`,
      );
    } catch (err) {
      // The bypass is logged and on record already; the issue is a convenience for reviewers.
      log.error(
        { err: redactError(err), issueRepo },
        `could not list the bypass of ${label} in ${issueRepo}`,
      );
    }
  }
  await afterMerge(deps, run, gathered, config, merge, receipt);
  return {
    kind: "merge",
    outcome: outcome === "none" ? null : outcome,
    headSha: pr.headSha,
    reads: reader.reads,
    writes: 0,
    bypass,
  };
}

/**
 * The merge record of a merged PR, as the webhook path and the scan both write it: GitHub's facts
 * about the merge, the judgement, and (for an emergency merge into a gated branch) when its
 * retroactive review is due.
 */
export function mergeRecordOf(
  at: Pick<MergeRecord, "at" | "deliveryId" | "ref">,
  pr: Gathered["evidence"]["pr"],
  judged: Pick<MergeRecord, "outcome" | "emergency" | "gated">,
  config: Config | null,
): MergeRecord {
  return {
    ...at,
    url: pr.url,
    title: pr.title,
    author: pr.author?.login ?? null,
    headSha: pr.headSha,
    mergedBy: pr.mergedBy,
    mergedAt: pr.mergedAt,
    mergeCommitSha: pr.mergeCommitSha,
    baseRef: pr.baseRef,
    ...judged,
    ...retroReviewTerms(config, judged.emergency, judged.gated, pr.mergedAt!),
  };
}
