/** What render produces and publish writes. Plain data. */
export interface CheckOutput {
  status: "completed" | "in_progress";
  conclusion: "success" | "failure" | null;
  title: string;
  summary: string;
}

export interface Report {
  check: CheckOutput;
  /** The digest comment's full body (marker included). */
  comment: string;
  /** Create the comment when the PR has none yet (false for PRs into branches that are not gated). */
  createComment: boolean;
}

/** GitHub's limits on check-run output and comment bodies. */
export const MAX_TITLE = 1000;
export const MAX_BODY = 65000;
