/**
 * When the shared `changegate` check on a commit shows another PR's verdict (see
 * policy/shared-head.ts), the check says whose it is, and the digest of this PR keeps explaining
 * its own verdict under a note that names that PR. Pure.
 */
import { DIGEST_MARKER } from "../contract.js";
import type { CommitVerdict } from "../policy/shared-head.js";
import { bound, clip } from "./digest.js";
import { code, md } from "./escape.js";
import { MAX_TITLE, type Report } from "./types.js";

export function showSharedHead(report: Report, cv: CommitVerdict, headSha: string): Report {
  const s = cv.shownFor;
  if (!s) return report;
  const pr = `#${s.number} into ${code(s.baseRef, 100)}`;
  const theirs = s.verdict
    ? `${s.verdict.outcome === "failure" ? "is failing" : "is waiting"} (${md(s.verdict.title, 300)})`
    : "has not been judged at this commit yet (its evaluation is under way)";
  const note = [
    "> [!IMPORTANT]",
    `> The \`changegate\` check on ${code(headSha.slice(0, 7))} belongs to the commit, which is the head of other open pull requests too, so it shows the strictest of their verdicts: **${pr}** ${theirs}`,
    "> This PR's own verdict follows; the check turns green only when every gated pull request with this head is compliant.",
    "",
  ].join("\n");
  const titleText = s.verdict
    ? `#${s.number} into ${s.baseRef} (same head commit): ${s.verdict.title}`
    : `Waiting: #${s.number} into ${s.baseRef} (same head commit) has not been judged yet`;
  const title = clip(titleText, MAX_TITLE);
  const summary = bound(`${note}\n${report.check.summary}`);
  return {
    check:
      cv.conclusion === "pending"
        ? { status: "in_progress", conclusion: null, title, summary }
        : { status: "completed", conclusion: cv.conclusion, title, summary },
    // The digest and the check summary say the same, as everywhere else.
    comment: `${summary}\n\n${DIGEST_MARKER}`,
    createComment: report.createComment,
  };
}
