/**
 * approvals: distinct reviewers whose latest opinion is APPROVED, on the head commit (dismiss_stale),
 * with write access, who are neither the author, a bot, nor (by default) a contributor to the PR.
 * Any reviewer whose latest opinion is CHANGES_REQUESTED blocks.
 *
 * Contributors are the authors and committers of every commit of the PR, merge commits included:
 * a merge commit can carry changes of its own (an "evil merge": its tree need not be what merging
 * its parents gives), and changegate does not check that, so whoever made one is treated as having
 * written it. GitHub's own committer identity (`web-flow`: web edits, "Update branch") is nobody;
 * the person who clicked is the commit's author and counts.
 */
import type {
  ApprovalsResult,
  Evidence,
  MergeContribution,
  ReviewInfo,
  ReviewerLine,
  UnattributedCommit,
} from "./types.js";
import { plural, shortSha } from "./text.js";

export interface ApprovalsSettings {
  required: number;
  dismissStale: boolean;
  allowContributors: boolean;
  /** Fail while a commit cannot be tied to a GitHub user (approvals.block_unattributed_commits). */
  blockUnattributed?: boolean;
}

/**
 * Commits (merge commits too: they count toward the contributor rule) with an author or a committer
 * whose e-mail maps to no GitHub user: the contributor rule cannot tell whether a reviewer wrote them.
 */
export function unattributedCommits(evidence: Evidence): UnattributedCommit[] {
  const out: UnattributedCommit[] = [];
  for (const c of evidence.commits) {
    const authors = c.authors.filter((a) => a === null).length;
    const committer = c.committer === null;
    if (authors === 0 && !committer) continue;
    const who = c.unlinked && c.unlinked.length > 0 ? [...c.unlinked] : [];
    if (who.length === 0) {
      if (authors > 0) who.push(authors === 1 ? "an author" : `${authors} authors`);
      if (committer) who.push("the committer");
    }
    out.push({ oid: c.oid, headline: c.headline, who });
  }
  return out;
}

/** The people (lower-case logins) of one commit: its authors and, unless it is GitHub itself, its committer. */
function peopleOf(c: Evidence["commits"][number]): string[] {
  const out = new Set<string>();
  for (const a of c.authors) if (a) out.add(a.toLowerCase());
  if (c.committer && !isWebFlow(c.committer)) out.add(c.committer.toLowerCase());
  return [...out];
}

/** The logins that authored or committed commits of the PR, merge commits included. */
export function contributors(evidence: Evidence): Set<string> {
  return peopleOfAll(evidence.commits);
}

function peopleOfAll(commits: Evidence["commits"]): Set<string> {
  const out = new Set<string>();
  for (const c of commits) for (const p of peopleOf(c)) out.add(p);
  return out;
}

/** The PR's merge commits and the people they make contributors (commits with nobody tied to a login left out). */
export function mergeContributions(evidence: Pick<Evidence, "commits">): MergeContribution[] {
  return evidence.commits
    .filter((c) => c.isMerge)
    .map((c) => ({ oid: c.oid, logins: peopleOf(c) }))
    .filter((m) => m.logins.length > 0);
}

/** Contributors who made nothing but merge commits: login → the first such merge commit. */
function onlyThroughMerges(evidence: Pick<Evidence, "commits">): Map<string, string> {
  const plain = peopleOfAll(evidence.commits.filter((c) => !c.isMerge));
  const out = new Map<string, string>();
  for (const m of mergeContributions(evidence))
    for (const login of m.logins) if (!plain.has(login) && !out.has(login)) out.set(login, m.oid);
  return out;
}

/** GitHub's own committer identity for web edits and squash merges: never a person. */
function isWebFlow(login: string): boolean {
  return login.toLowerCase() === "web-flow";
}

/** Each reviewer's latest opinion. COMMENTED and PENDING reviews express none; DISMISSED withdraws it. */
export function latestOpinions(reviews: ReviewInfo[]): Map<string, ReviewInfo> {
  const sorted = [...reviews].sort((a, b) => (a.submittedAt ?? "").localeCompare(b.submittedAt ?? ""));
  const latest = new Map<string, ReviewInfo>();
  for (const r of sorted) {
    if (!r.author) continue;
    if (r.state === "COMMENTED" || r.state === "PENDING") continue;
    latest.set(r.author.login.toLowerCase(), r);
  }
  return latest;
}

export function evaluateApprovals(evidence: Evidence, s: ApprovalsSettings): ApprovalsResult {
  const author = evidence.pr.author?.login.toLowerCase() ?? null;
  const contrib = contributors(evidence);
  const byMerge = onlyThroughMerges(evidence);
  const head = evidence.pr.headSha;
  const reviewers: ReviewerLine[] = [];
  const blockers: string[] = [];
  let counted = 0;

  for (const [login, r] of latestOpinions(evidence.reviews)) {
    if (r.state === "DISMISSED") continue;
    const line: ReviewerLine = {
      login: r.author!.login,
      state: r.state,
      commitOid: r.commitOid,
      submittedAt: r.submittedAt,
      counted: false,
      reason: "",
    };
    if (r.state === "CHANGES_REQUESTED") {
      // Only someone who could merge can block: on a public repo anyone may leave a review.
      if (r.authorCanPush) {
        line.reason = "requested changes";
        blockers.push(r.author!.login);
      } else {
        line.reason = "requested changes, but has no write access (not blocking)";
      }
    } else if (login === author) {
      line.reason = "is the PR author";
    } else if (r.author!.isBot) {
      line.reason = "is a bot";
    } else if (!r.authorCanPush) {
      line.reason = "has no write access to the repository";
    } else if (!s.allowContributors && contrib.has(login)) {
      const merge = byMerge.get(login);
      line.reason = merge
        ? `made merge commit ${shortSha(merge)} in this PR (a merge commit counts as its author's and committer's contribution), so is not an independent reviewer`
        : "committed to this PR, so is not an independent reviewer";
    } else if (s.dismissStale && r.commitOid !== head) {
      line.reason = r.commitOid
        ? `approved ${shortSha(r.commitOid)}, not the head commit`
        : "approved an unknown commit, not the head commit";
    } else {
      line.counted = true;
      counted++;
    }
    reviewers.push(line);
  }

  const unattributed = unattributedCommits(evidence);
  // With no approval required there is no contributor rule to blind: an emergency stays possible.
  const blockedByUnattributed = !!s.blockUnattributed && s.required > 0 && unattributed.length > 0;
  const todo: string[] = [];
  if (blockedByUnattributed) {
    todo.push(
      `Tie ${plural(unattributed.length, "commit")} (${unattributed.map((u) => shortSha(u.oid)).join(", ")}) to GitHub accounts: ` +
        "link the commit e-mail to a GitHub account (Settings → Emails) or rewrite the commit with a linked e-mail, then push.",
    );
  }
  for (const b of blockers)
    todo.push(`Address the changes requested by ${b}, then ask them to approve or dismiss their review.`);
  const missing = Math.max(0, s.required - counted);
  if (missing > 0) {
    const stale = reviewers.some((r) => r.reason.includes("not the head commit"));
    todo.push(
      `Get ${plural(missing, "more approval")} from a reviewer with write access who did not commit to this PR` +
        (stale
          ? " (approvals of earlier commits no longer count: ask for a fresh review of the head commit)."
          : "."),
    );
  }
  const pass = missing === 0 && blockers.length === 0 && !blockedByUnattributed;
  let summary = `${counted} of ${s.required} required`;
  if (blockers.length > 0) summary += `; changes requested by ${blockers.join(", ")}`;
  if (blockedByUnattributed)
    summary += `; ${plural(unattributed.length, "commit")} not tied to a GitHub account`;
  const merges = mergeContributions(evidence);
  return {
    rule: "approvals",
    status: pass ? "pass" : "fail",
    summary,
    todo,
    required: s.required,
    counted,
    reviewers,
    unattributed,
    unattributedBlock: blockedByUnattributed,
    ...(merges.length > 0 ? { mergeContributions: merges } : {}),
  };
}
