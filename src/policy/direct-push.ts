/**
 * direct-push: which commits of a push to a branch reached it without a merged pull request, and
 * whether the push goes on the record. Pure: the caller supplies GitHub's facts per commit.
 *
 * A commit is covered when GitHub associates it with a pull request that is merged into this very
 * branch of this very repository (its commits, or its merge/squash/rebase commit). GitHub can
 * associate a commit with pull requests of other repositories in its fork network: a PR merged into
 * `main` of a fork says nothing about this repository's `main`, so it covers nothing; neither does
 * one whose base repository GitHub did not name. A force push is recorded even when every
 * commit is covered: it rewrote the branch's history (before → after). So is a push whose commit
 * list may be cut short (`listTruncated`: GitHub's payload lists at most 2,048 commits): the
 * commits it did not list were never examined, so it is never judged compliant. Ungated branches: nothing.
 */

/** GitHub's facts about one pushed commit; `prs` null when GitHub could not say (fail closed: uncovered). */
export interface PushedCommitFacts {
  sha: string;
  /** `baseRepo`: the PR's base repository ("owner/name"), null when GitHub did not name it. */
  prs: { number: number; merged: boolean; baseRef: string; baseRepo: string | null }[] | null;
}

export interface DirectPushJudgement {
  /** The push goes on the record as a direct change (non-compliant). */
  record: boolean;
  /** The commits that belong to no pull request merged into the branch. */
  withoutPr: string[];
  /** Why, in a few words (for the log line). */
  why: string;
}

/** `repo`: the repository pushed to ("owner/name"); only its own merged PRs cover a commit. */
export function judgePush(input: {
  repo: string;
  branch: string;
  gated: boolean;
  forced: boolean;
  commits: PushedCommitFacts[];
  listTruncated?: boolean;
}): DirectPushJudgement {
  if (!input.gated) return { record: false, withoutPr: [], why: `${input.branch} is not gated` };
  const withoutPr = input.commits.filter((c) => !coveredBy(c, input.repo, input.branch)).map((c) => c.sha);
  const cut = input.listTruncated
    ? "; the payload lists 2,048 commits, GitHub's limit, so the push may hold more that were not examined"
    : "";
  if (withoutPr.length > 0) {
    const n = withoutPr.length;
    return {
      record: true,
      withoutPr,
      why: `${n} commit${n === 1 ? "" : "s"} pushed to ${input.branch} without a merged pull request${input.forced ? " (force push)" : ""}${cut}`,
    };
  }
  if (input.forced)
    return { record: true, withoutPr, why: `force push rewrote the history of ${input.branch}${cut}` };
  if (input.listTruncated)
    return { record: true, withoutPr, why: `every listed commit belongs to a merged pull request${cut}` };
  return { record: false, withoutPr, why: "every commit belongs to a merged pull request" };
}

function coveredBy(c: PushedCommitFacts, repo: string, branch: string): boolean {
  const here = repo.toLowerCase();
  return (c.prs ?? []).some(
    (pr) => pr.merged && pr.baseRef === branch && pr.baseRepo !== null && pr.baseRepo.toLowerCase() === here,
  );
}
