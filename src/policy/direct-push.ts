/**
 * direct-push: which commits of a push to a branch reached it without a merged pull request, and
 * whether the push goes on the record. Pure: the caller supplies GitHub's facts per commit.
 *
 * A commit is covered when GitHub associates it with a pull request that is merged into this very
 * branch (its commits, or its merge/squash/rebase commit). A force push is recorded even when every
 * commit is covered: it rewrote the branch's history (before → after). So is a push whose commit
 * list may be cut short (`listTruncated`: GitHub's payload lists at most 2,048 commits): the
 * commits it did not list were never examined, so it is never judged compliant. Ungated branches: nothing.
 */

/** GitHub's facts about one pushed commit; `prs` null when GitHub could not say (fail closed: uncovered). */
export interface PushedCommitFacts {
  sha: string;
  prs: { number: number; merged: boolean; baseRef: string }[] | null;
}

export interface DirectPushJudgement {
  /** The push goes on the record as a direct change (non-compliant). */
  record: boolean;
  /** The commits that belong to no pull request merged into the branch. */
  withoutPr: string[];
  /** Why, in a few words (for the log line). */
  why: string;
}

export function judgePush(input: { branch: string; gated: boolean; forced: boolean; commits: PushedCommitFacts[]; listTruncated?: boolean }): DirectPushJudgement {
  if (!input.gated) return { record: false, withoutPr: [], why: `${input.branch} is not gated` };
  const withoutPr = input.commits.filter((c) => !coveredBy(c, input.branch)).map((c) => c.sha);
  const cut = input.listTruncated ? "; the payload lists 2,048 commits, GitHub's limit, so the push may hold more that were not examined" : "";
  if (withoutPr.length > 0) {
    const n = withoutPr.length;
    return { record: true, withoutPr, why: `${n} commit${n === 1 ? "" : "s"} pushed to ${input.branch} without a merged pull request${input.forced ? " (force push)" : ""}${cut}` };
  }
  if (input.forced) return { record: true, withoutPr, why: `force push rewrote the history of ${input.branch}${cut}` };
  if (input.listTruncated) return { record: true, withoutPr, why: `every listed commit belongs to a merged pull request${cut}` };
  return { record: false, withoutPr, why: "every commit belongs to a merged pull request" };
}

function coveredBy(c: PushedCommitFacts, branch: string): boolean {
  return (c.prs ?? []).some((pr) => pr.merged && pr.baseRef === branch);
}
