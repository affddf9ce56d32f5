/**
 * Branches as commit histories, and the `push` webhook's payload. A repository's default branch
 * tip is `SimRepo.baseSha`; other branches a test names live in `SimRepo.branches` (created from
 * the default branch's tip when first used). A branch's history is every commit reachable from its
 * tip through `parents`, newest first (GitHub's `Commit.history` order: by commit date, then by
 * creation). The push payload follows GitHub's (`@octokit/webhooks-examples`' push example):
 * `commits` lists the commits between `before` and `after`, oldest first, at most
 * MAX_PUSH_PAYLOAD_COMMITS (GitHub's webhook limit; the 20-commit limit is the timeline's only),
 * `head_commit` the new tip, `pusher {name,email}`, `repository.pushed_at`/`created_at` in unix
 * seconds (a push payload's quirk), `created`, `deleted`, `forced`, `base_ref`, `compare`.
 */
import type { GitHubModel, SimCommit, SimRepo } from "./model.js";
import { userJson } from "./json.js";

/** GitHub's push webhook lists at most this many commits ("If necessary, use the Commits API"). */
export const MAX_PUSH_PAYLOAD_COMMITS = 2048;

export interface SimPush {
  ref: string;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  /** The pushed commits (reachable from after, not from before), oldest first. */
  commits: string[];
  pusher: string;
}

/** Every commit reachable from `tip`, newest first (by date, then creation order). */
export function historyOf(m: GitHubModel, tip: string): SimCommit[] {
  const seen = new Set<string>();
  const out: SimCommit[] = [];
  const stack = [tip];
  while (stack.length > 0) {
    const sha = stack.pop()!;
    if (seen.has(sha)) continue;
    seen.add(sha);
    const c = m.commits.get(sha);
    if (!c) continue;
    out.push(c);
    stack.push(...c.parents);
  }
  return out.sort((a, b) => (a.date === b.date ? b.seq - a.seq : a.date < b.date ? 1 : -1));
}

/** The commits reachable from `after` and not from `before`, oldest first (GitHub's compare). */
export function pushedCommits(m: GitHubModel, before: string | null, after: string): string[] {
  const old = new Set(before ? historyOf(m, before).map((c) => c.sha) : []);
  return historyOf(m, after)
    .filter((c) => !old.has(c.sha))
    .reverse()
    .map((c) => c.sha);
}

function commitEntry(m: GitHubModel, c: SimCommit): Record<string, unknown> {
  const who = (login: string | null) => ({
    name: login ?? c.unlinkedName ?? "Someone",
    email: `${login ?? "someone"}@users.noreply.example.com`,
    ...(login ? { username: login } : {}),
  });
  return {
    id: c.sha,
    tree_id: c.sha.split("").reverse().join(""),
    distinct: true,
    message: c.message,
    timestamp: c.date,
    url: `${m.webBase}/${c.repo}/commit/${c.sha}`,
    author: who(c.authors[0] ?? null),
    committer: who(c.committer),
    added: [],
    removed: [],
    modified: [],
  };
}

/** The push-specific fields of the payload (the caller adds installation and sender). */
export function pushFields(
  m: GitHubModel,
  repo: SimRepo,
  push: SimPush,
  repository: Record<string, unknown>,
): Record<string, unknown> {
  const listed = push.commits
    .slice(0, MAX_PUSH_PAYLOAD_COMMITS)
    .map((s) => commitEntry(m, m.commits.get(s)!));
  const head = m.commits.get(push.after);
  const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  const owner = userJson(m, repo.owner);
  return {
    ref: push.ref,
    before: push.before,
    after: push.after,
    created: push.created,
    deleted: push.deleted,
    forced: push.forced,
    base_ref: null,
    compare: `${m.webBase}/${repo.fullName}/compare/${push.before.slice(0, 12)}...${push.after.slice(0, 12)}`,
    commits: listed,
    head_commit: head && !push.deleted ? commitEntry(m, head) : null,
    pusher: { name: push.pusher, email: `${push.pusher}@users.noreply.example.com` },
    repository: {
      ...repository,
      owner: { ...owner, name: repo.owner, email: null },
      created_at: seconds(repo.createdAt),
      pushed_at: seconds(m.stamp()),
      stargazers: 0,
      master_branch: repo.defaultBranch,
    },
  };
}

/**
 * The files at a commit (GraphQL's `object(expression: "<sha>:<path>")`): the default branch's files
 * as they were when it was the tip (snapshotted as the tip moves on), else those of its nearest
 * first-parent ancestor that was (a commit of a PR or another branch: the simulator writes files
 * on the default branch only); the current tip's are the repository's files. Null: not a commit
 * of this repository.
 */
export function filesAt(m: GitHubModel, repo: SimRepo, sha: string): Map<string, string> | null {
  const start = m.commits.get(sha);
  if (!start || start.repo !== repo.fullName) return null;
  for (let c: SimCommit | undefined = start; c; c = m.commits.get(c.parents[0] ?? "")) {
    if (c.sha === repo.baseSha) return repo.files;
    const snap = m.fileSnapshots.get(c.sha);
    if (snap) return snap;
  }
  return new Map();
}

/** Every branch of a repository and its tip (REST `GET /repos/{o}/{r}/branches`: by name). */
export function branchList(m: GitHubModel, repo: SimRepo): { name: string; sha: string }[] {
  const all = new Map<string, string>([[repo.defaultBranch, repo.baseSha], ...repo.branches]);
  return [...all]
    .map(([name, sha]) => ({ name, sha }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * GitHub's compare `base...head`: the commits reachable from head and not from base (oldest
 * first), ahead_by/behind_by, status (identical, ahead, behind, diverged) and the merge base (the
 * newest commit reachable from both). null: a sha this repository does not know (404).
 */
export function compareCommits(
  m: GitHubModel,
  repo: SimRepo,
  base: string,
  head: string,
): { status: string; aheadBy: number; behindBy: number; mergeBase: string | null; commits: string[] } | null {
  const resolve = (ref: string) =>
    repo.branches.get(ref) ?? (ref === repo.defaultBranch ? repo.baseSha : ref);
  const b = resolve(base);
  const h = resolve(head);
  const known = (sha: string) => m.commits.get(sha)?.repo === repo.fullName;
  if (!known(b) || !known(h)) return null;
  const fromBase = new Set(historyOf(m, b).map((c) => c.sha));
  const fromHeadList = historyOf(m, h);
  const fromHead = new Set(fromHeadList.map((c) => c.sha));
  const ahead = pushedCommits(m, b, h);
  const behindBy = [...fromBase].filter((s) => !fromHead.has(s)).length;
  const mergeBase = fromHeadList.find((c) => fromBase.has(c.sha))?.sha ?? null;
  const status =
    ahead.length === 0 && behindBy === 0
      ? "identical"
      : behindBy === 0
        ? "ahead"
        : ahead.length === 0
          ? "behind"
          : "diverged";
  return { status, aheadBy: ahead.length, behindBy, mergeBase, commits: ahead };
}
