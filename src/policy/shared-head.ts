/**
 * A check run belongs to a commit, not to a PR: every open PR whose head is that commit shares
 * changegate's one `changegate` check on it. The check therefore carries the strictest verdict over
 * those PRs (failure > waiting > success), so a PR into an ungated branch, or a sibling with an
 * easier verdict, can never turn a gated PR's check green. Pure: the caller supplies each PR's own
 * recorded verdict.
 */
import type { Conclusion } from "./types.js";

export interface HeadSharer {
  number: number;
  baseRef: string;
  /** Does the policy gate its base branch? Ungated sharers never affect the check. */
  gated: boolean;
  /** Its own recorded verdict at this head and this base; null when it has not been judged there yet. */
  verdict: { outcome: Conclusion; title: string } | null;
}

export interface CommitVerdict {
  /** What the shared check says. */
  conclusion: Conclusion;
  /** The sharer whose verdict the check shows (stricter than this PR's own); null: the PR's own. */
  shownFor: HeadSharer | null;
  /** Gated sharers not judged at this head yet: the check waits for them (their evaluation is due). */
  unjudged: HeadSharer[];
}

const RANK: Record<Conclusion, number> = { success: 0, pending: 1, failure: 2 };

/** The strictest of this PR's own conclusion and its gated sharers' (unjudged ones count as waiting). */
export function commitVerdict(own: Conclusion, sharers: HeadSharer[]): CommitVerdict {
  let conclusion = own;
  let shownFor: HeadSharer | null = null;
  const unjudged: HeadSharer[] = [];
  for (const s of sharers) {
    if (!s.gated) continue;
    if (!s.verdict) unjudged.push(s);
    const theirs = s.verdict?.outcome ?? "pending";
    if (RANK[theirs] > RANK[conclusion]) {
      conclusion = theirs;
      shownFor = s;
    }
  }
  return { conclusion, shownFor, unjudged };
}

/** Stronger of two conclusions (for callers comparing outcomes). */
export function stricter(a: Conclusion, b: Conclusion): Conclusion {
  return RANK[b] > RANK[a] ? b : a;
}
