/**
 * retro-review: after an emergency merge, who may review it retroactively, and when it is late.
 * A retroactive review is an approving review, or a `/changegate approve` comment, made after the
 * merge by someone with write access who is neither the PR's author, nor its merger, nor a
 * contributor (an author or committer of one of its commits, merge commits included), and not an app.
 * A comment counts only as its author wrote it: one edited since it was posted is refused (anyone
 * with write access can edit anyone's comment, so its current text may be someone else's words),
 * and the command counts only in the comment's rendered text (not in an HTML comment, a code block
 * or inside a tag, where it would be invisible to a reader).
 * Pure: the facts (reviews, comments, write access) come from src/github/retro-review.ts.
 */

/** A review or comment that may count as the retroactive review. */
export interface RetroCandidate {
  login: string | null;
  isBot: boolean;
  /** When it was submitted (ISO). */
  at: string;
  via: "review" | "comment";
  url: string;
  /** Write access: true/false when known, null when it still has to be asked. */
  canWrite: boolean | null;
  /** A comment's id (GitHub's databaseId); absent for a review. */
  commentId?: number;
  /** A comment edited since it was posted (GitHub's `updated_at` differs from `created_at`). */
  edited?: boolean;
}

export interface RetroFacts {
  mergedAt: string;
  author: string | null;
  mergedBy: string | null;
  /** Lower-cased logins of the PR's contributors (policy/approvals.ts `contributors`). */
  contributors: Set<string>;
  candidates: RetroCandidate[];
}

export interface RetroRefusal {
  login: string | null;
  via: RetroCandidate["via"];
  at: string;
  why: string;
}

export type RetroJudgement =
  | {
      kind: "reviewed";
      by: string;
      at: string;
      via: RetroCandidate["via"];
      url: string;
      commentId?: number;
      refused: RetroRefusal[];
    }
  | { kind: "none"; refused: RetroRefusal[] };

/** Bodies are read up to this many characters (a comment is at most 65,536). */
const MAX_BODY_READ = 10_000;

/**
 * Is this comment body a retroactive approval? One line of its rendered text reading exactly
 * `/changegate approve` (at most 3 spaces before it: 4 or a tab make a code block).
 */
export function isRetroApproveComment(body: string): boolean {
  return /^ {0,3}\/changegate[ \t]+approve[ \t]*$/im.test(renderedText(body));
}

/**
 * The text of a comment that a reader sees, as far as the command is concerned: HTML comments
 * (an unclosed one hides the rest), fenced code blocks (an unclosed one runs to the end), HTML
 * tags with their attributes (which may span lines; an unclosed `<` is shown as text, so it stays) are removed. Bounded: the first
 * MAX_BODY_READ characters only, linear scans.
 */
export function renderedText(body: string): string {
  let s = body.slice(0, MAX_BODY_READ).replace(/\r\n?/g, "\n");
  s = s.replace(/<!--[\s\S]*?(?:-->|$)/g, "");
  const out: string[] = [];
  let fence: { ch: string; len: number } | null = null;
  for (const line of s.split("\n")) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence.ch && m[1]!.length >= fence.len && line.trim() === m[1]) fence = null;
      continue;
    }
    if (m && !(m[1]![0] === "`" && line.slice(line.indexOf(m[1]!) + m[1]!.length).includes("`"))) {
      fence = { ch: m[1]![0]!, len: m[1]!.length };
      continue;
    }
    out.push(line);
  }
  return out.join("\n").replace(/<\/?[A-Za-z][^<>]*>/g, "");
}

/** When the retroactive review of a merge is due (ISO). */
export function retroReviewDueAt(mergedAt: string, withinHours: number): string {
  const t = Date.parse(mergedAt);
  if (Number.isNaN(t)) throw new Error(`not a merge time: ${JSON.stringify(mergedAt)}`);
  return new Date(t + withinHours * 3_600_000).toISOString();
}

/** How late (ms) a review due at `dueAt` is at `now`; 0 when not yet due. */
export function lateBy(dueAt: string, now: Date): number {
  return Math.max(0, now.getTime() - Date.parse(dueAt));
}

/** "2 d 3 h", "5 h 12 min", "40 min" */
export function describeDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

/** Why a candidate cannot count, by who they are or an edit (write access aside); null when they may. */
export function identityRefusal(f: Omit<RetroFacts, "candidates">, c: RetroCandidate): string | null {
  if (c.edited)
    return "the comment was edited after it was posted, so it may not be its author's words (post a new comment)";
  if (!c.login) return "the account no longer exists";
  if (c.isBot) return "an app cannot review a change";
  const login = c.login.toLowerCase();
  if (Date.parse(c.at) <= Date.parse(f.mergedAt)) return "made before the merge";
  if (f.author && login === f.author.toLowerCase()) return "the PR's author";
  if (f.mergedBy && login === f.mergedBy.toLowerCase()) return "the person who merged it";
  if (f.contributors.has(login)) return "a contributor to the PR's commits";
  return null;
}

/** Those candidates whose write access must be asked (they pass every other test), oldest first. */
export function needsWriteCheck(f: RetroFacts): RetroCandidate[] {
  return sorted(f.candidates).filter((c) => c.canWrite === null && identityRefusal(f, c) === null);
}

/** The first qualifying retroactive review, oldest first, with why the others did not count. */
export function judgeRetroReview(f: RetroFacts): RetroJudgement {
  const refused: RetroRefusal[] = [];
  for (const c of sorted(f.candidates)) {
    const why =
      identityRefusal(f, c) ??
      (c.canWrite === true
        ? null
        : c.canWrite === false
          ? "no write access to the repository"
          : "write access could not be checked");
    if (why === null)
      return {
        kind: "reviewed",
        by: c.login!,
        at: c.at,
        via: c.via,
        url: c.url,
        ...(c.commentId !== undefined ? { commentId: c.commentId } : {}),
        refused,
      };
    refused.push({ login: c.login, via: c.via, at: c.at, why });
  }
  return { kind: "none", refused };
}

function sorted(c: RetroCandidate[]): RetroCandidate[] {
  return [...c].sort((a, b) => a.at.localeCompare(b.at));
}
