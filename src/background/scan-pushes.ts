/**
 * The scan's second half: direct pushes whose push events were missed. For each repository in scope,
 * its policy (github/push-facts.ts, one read) names the gated branches; each gated branch's commits
 * in the window (github/branch-history.ts, paged, bounded) are compared with the records: a commit
 * that belongs to a pull request merged into the branch is the merge scan's business (a merge on
 * record, or recorded by it); a commit named by a direct_push record is on record. The others are
 * settled as the webhook settles them (flows/push-settle.ts: a merge on record into the branch
 * whose merge commit or head it is; then, once per repository, one re-read after
 * DIRECT_PUSH_RECHECK_MS: a commit GitHub has linked to a PR merged moments ago is the merge
 * scan's, found by its next run). What is left is a direct push, recorded (`foundBy: "scan"`, one
 * record per commit, after = the commit) and reported like the webhook's (`is non-compliant!`, the
 * bypass issue). Idempotent: the store keeps one direct_push per (repository, branch, before,
 * after), and a commit on record is skipped.
 *
 * Which branches: every branch of the repository (GET /repos/{o}/{r}/branches, paged), gated by
 * its policy — a literal name, a glob (`release/*`) or the default branch.
 * The policy is read now (HEAD) AND as it was at the window's start (the default branch's newest
 * commit at or before `from`: found in the policy read, its file one more read): a push in the
 * window that rewrote the policy to ungate a branch does not hide that branch from the scan
 * (policy/push-gate.ts: a branch is scanned when either policy gates it; an invalid or unknown
 * policy gates every branch it can name). `policySource` says which policy gated the branch.
 *
 * Refs, not dates (issue 19): commit dates are the pusher's to choose, so after its first look at
 * a branch the scan does not read a window. With `heads` (audit/branch-head.ts) it keeps, per
 * repository and branch, the head it (or an examined push webhook) saw last; the next run examines
 * the commits reachable from today's head and not from that one (GitHub's compare
 * `head_on_record...today`, paged 100 at a time), whatever their dates. A head on record that is no
 * longer an ancestor of today's (compare says behind or diverged, or GitHub no longer knows it) was
 * rewritten: a direct_push record `forced: true, foundBy: "scan"`, before = the head on record,
 * after = today's head, its time and pusher from GitHub's repository activity (github/activity.ts:
 * the force push to today's head, from the head on record if listed) when GitHub has it, else the
 * time the scan found it and `pushedAtIsWhenFound: true`; the new line's own commits (from the merge base) are examined like any
 * other. Bound: MAX_COMPARE_PAGES pages (2,000 commits) per branch per run; a longer walk is kept
 * (target, stop, next page) and continued by the next run before anything newer, so a huge
 * divergence is walked in slices of 2,000 commits, one slice per run. The head moves only after
 * the walk's commits are recorded (a crash walks them again; records are idempotent). The first
 * look at a branch (no head on record) reads the window as before, and records today's head.
 *
 * When a commit reached the branch: a commit of the walk (not the first look's window, whose
 * commits keep their commit date) is dated by the push that brought it, not by its commit date (the
 * pusher's to choose): the chain of branch updates from the head on record to today's head in
 * GitHub's repository activity (github/activity.ts findPushChain), the first update whose after
 * reaches the commit through its parents (compare's order follows commit dates). Without the
 * chain (not in the pages read, the activity unavailable, a walk continued from an earlier run):
 * the time the scan found it, `pushedAtIsWhenFound: true`. The commit's date is kept in
 * `committedAt`.
 */
import type { DirectPushStore } from "../audit/direct-push.js";
import { CONFIG_PATH, NON_COMPLIANT_PHRASE } from "../contract.js";
import { listInBypassIssue } from "../github/bypass-issue.js";
import {
  branchHistory,
  comparePage,
  COMPARE_PAGE_SIZE,
  listBranches,
  MAX_COMPARE_PAGES,
  type HistoryCommit,
} from "../github/branch-history.js";
import type { BranchHead, BranchHeadStore } from "../audit/branch-head.js";
import { findForcePush, findPushChain, pushesOfCommits, type ChainPush } from "../github/activity.js";
import { pushFacts, pushFactsAll } from "../github/push-facts.js";
import { policyPoint, readFileAt, unknownPoint } from "../github/push-policy.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import { judgePush } from "../policy/direct-push.js";
import { pushGate, type PolicyPoint } from "../policy/push-gate.js";
import { directPushEntry } from "../report/direct-push.js";
import { redact } from "../report/redact.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS, settleUncovered } from "../flows/push-settle.js";

export interface PushScanDeps {
  store: DirectPushStore;
  octokit: OctokitLike;
  reader: GraphqlReader;
  installationId: number;
  now: () => Date;
  log: {
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    error(o: object, m: string): void;
  };
  /** DIRECT_PUSH_RECHECK_MS (default 15 s) and the wait, for the re-read of commits without a PR. */
  recheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Where each branch stood at the last scan (audit/branch-head.ts); absent: every run reads the window. */
  heads?: BranchHeadStore;
}

export interface PushScanSummary {
  branches: number;
  commits: number;
  recorded: { repo: string; branch: string; sha: string; record: string }[];
  /** Branches whose commits were over the run's bound (a window over the bound, or a walk continued by the next run). */
  truncated: string[];
  /** Force pushes found by the scan (a head on record no longer an ancestor of today's). */
  forced: { repo: string; branch: string; before: string; after: string; record: string }[];
  /** The branches the policy gates now (branch enforcement seeds them: flows/enforcement.ts). */
  gated?: { repo: string; branch: string; defaultBranch: string }[];
}

export async function scanPushes(
  deps: PushScanDeps,
  repoName: string,
  window: { from: string; to: string },
  runId: string,
): Promise<PushScanSummary> {
  const summary: PushScanSummary = { branches: 0, commits: 0, recorded: [], truncated: [], forced: [] };
  const [owner, repo] = repoName.split("/") as [string, string];
  // The policy in force when the window opened: the default branch's newest commit strictly before
  // `from` (history's until is inclusive and a commit at `from` is in the window).
  const opened = Date.parse(window.from);
  const startUntil = Number.isFinite(opened) ? new Date(opened - 1000).toISOString() : window.from;
  const facts = await pushFacts(deps.reader, { owner, repo }, [], { startUntil });
  const now = await policyPoint(deps.reader, repoName, facts.configFiles, null);
  let earlier: PolicyPoint | null = null;
  if (facts.startSha) {
    const when = "at the start of the scan's window";
    const file = await readFileAt(deps.reader, repoName, facts.startSha, CONFIG_PATH);
    earlier = file.known
      ? await policyPoint(
          deps.reader,
          repoName,
          {
            ...facts.configFiles,
            repoFile: file.text === null ? null : { repo: repoName, path: CONFIG_PATH, text: file.text },
          },
          { sha: facts.startSha, when },
        )
      : unknownPoint(facts.startSha, when);
  }
  const config = now.config ?? earlier?.config ?? null;
  const defaultBranch = facts.configFiles.defaultBranch;
  const branches = await listBranches(deps.octokit, repoName);
  const gatedBranches = branches
    .map((b) => ({ ...b, gate: pushGate(b.name, defaultBranch, now, earlier) }))
    .filter((b) => b.gate.gated);
  const sourceOf = new Map(gatedBranches.map((b) => [b.name, b.gate.policySource]));
  summary.gated = gatedBranches
    .filter((b) => b.gate.by === "now")
    .map((b) => ({ repo: repoName, branch: b.name, defaultBranch }));
  const onRecord = await deps.store.recordedPushShas(repoName);
  const candidates: (HistoryCommit & { branch: string })[] = [];
  const moves: { branch: string; next: BranchHead }[] = [];
  const rewrites: { branch: string; before: string; after: string; examined: number }[] = [];
  // Branches walked by refs this run: the pushes that brought their commits can be read (github/activity.ts).
  // graph null: a walk continued from an earlier run, whose commits the chain cannot place.
  const walked = new Map<
    string,
    { before: string; after: string; graph: Map<string, string[]> | null; complete: boolean }
  >();
  for (const b of gatedBranches) {
    const branch = b.name;
    summary.branches++;
    const state = deps.heads ? await deps.heads.get(repoName, branch) : null;
    let commits: HistoryCommit[];
    if (!state) {
      // The first look: the window (and today's head on record when it was read whole).
      const h = await branchHistory(deps.reader, repoName, branch, window);
      if (h.truncated) summary.truncated.push(`${repoName} ${branch}`);
      else if (deps.heads) moves.push({ branch, next: { head: b.sha, walk: null } });
      commits = h.commits;
    } else {
      const w = await walkRefs(deps, repoName, branch, state, b.sha);
      if (w.moved) {
        // The branch moved while the scan ran (a push examined meanwhile moved the head on record past
        // the head listed): not a rewrite. The next run walks it from where it is then.
        deps.log.info(
          { repo: repoName, branch },
          `${repoName} ${branch} moved while the scan ran: walked by the next scan`,
        );
        continue;
      }
      if (w.truncated) summary.truncated.push(`${repoName} ${branch}`);
      if (w.rewrite) rewrites.push({ branch, ...w.rewrite, examined: w.commits.length });
      moves.push({ branch, next: w.next });
      commits = w.commits;
      if (!w.gone)
        walked.set(branch, {
          before: state.head,
          after: b.sha,
          graph: w.whole && w.graph ? w.graph : null,
          complete: !w.truncated,
        });
      if (w.gone) {
        const h = await branchHistory(deps.reader, repoName, branch, window);
        if (h.truncated) summary.truncated.push(`${repoName} ${branch}`);
        commits = h.commits;
      }
    }
    summary.commits += commits.length;
    for (const c of commits) {
      if (onRecord.has(c.sha)) continue;
      if (!judgePush({ repo: repoName, branch, gated: true, forced: false, commits: [c] }).record) continue; // a merged PR's commit
      candidates.push({ ...c, branch });
    }
  }
  for (const r of rewrites) {
    const policySource = sourceOf.get(r.branch) ?? now.source;
    // When it happened and who did it: GitHub's repository activity (github/activity.ts); else the
    // time the scan found it, and the record says so.
    const activity = await findForcePush(deps.octokit, repoName, r.branch, r);
    const foundAt = deps.now().toISOString();
    const rec = {
      at: foundAt,
      // Its own id: the new line's commits are recorded after it by this run (the same delivery id would make them its duplicates).
      deliveryId: `${runId}:forced:${r.branch}`,
      installationId: deps.installationId,
      owner,
      repo,
      branch: r.branch,
      pusher: activity?.actor ?? null,
      before: r.before,
      after: r.after,
      forced: true,
      commitsWithoutPr: [],
      examined: r.examined,
      pushedAt: activity?.at ?? foundAt,
      policySource,
      foundBy: "scan" as const,
      ...(activity ? {} : { pushedAtIsWhenFound: true }),
    };
    const receipt = await deps.store.recordDirectPush(rec);
    if (receipt.duplicate) continue;
    summary.forced.push({
      repo: repoName,
      branch: r.branch,
      before: r.before,
      after: r.after,
      record: receipt.id,
    });
    deps.log.warn(
      {
        repo: repoName,
        branch: r.branch,
        before: r.before,
        after: r.after,
        forced: true,
        record: receipt.id,
        foundBy: "scan",
        pushedAt: rec.pushedAt,
        pusher: rec.pusher,
        ...(activity ? {} : { pushedAtIsWhenFound: true }),
      },
      `force push to ${repoName} ${r.branch} (${r.before.slice(0, 12)} is no longer in its history; now ${r.after.slice(0, 12)}) ${NON_COMPLIANT_PHRASE} its history was rewritten (found by the scan)`,
    );
    const issueRepo = config?.audit.issue_repo;
    if (issueRepo) {
      try {
        await listInBypassIssue(deps.octokit, issueRepo, repoName, directPushEntry(rec, receipt.id));
      } catch (err) {
        deps.log.error(
          { err: redact((err as Error).message), issueRepo },
          `could not list the force push to ${repoName} ${r.branch} in ${issueRepo}`,
        );
      }
    }
  }
  const settled = await settleUncovered(
    {
      store: deps.store,
      reader: deps.reader,
      recheckMs: deps.recheckMs ?? DEFAULT_DIRECT_PUSH_RECHECK_MS,
      sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    },
    repoName,
    candidates,
  );
  if (settled.merges.length > 0)
    deps.log.info(
      { repo: repoName, merges: settled.merges },
      `${repoName}: ${settled.merges.length} commit(s) without a PR in the history belong to a merge (on record, or linked by GitHub since): the merge scan's`,
    );
  // A commit found between the head on record and today's head reached the branch with a push the
  // scan did not see: its time and pusher are that push's, from GitHub's repository activity (the
  // chain of branch updates from the head on record to today's head), not the commit's own date
  // (the pusher's to choose). Without the chain, the time the scan found it, and the record says so.
  // The first look at a branch (a window by date, no head on record) keeps the commit's date.
  // Per branch: which push brought each commit, worked out once (one activity lookup, one graph walk).
  const brought = new Map<string, Promise<Map<string, ChainPush>>>();
  const dateOf = async (
    c: HistoryCommit & { branch: string },
  ): Promise<{
    pushedAt: string;
    pusher: string | null;
    pushedAtIsWhenFound?: true;
    committedAt?: string;
  }> => {
    const w = walked.get(c.branch);
    if (!w)
      return {
        pushedAt: new Date(Date.parse(c.committedAt) || deps.now().getTime()).toISOString(),
        pusher: null,
      };
    let push: ChainPush | undefined;
    if (w.graph) {
      const graph = w.graph;
      let pushes = brought.get(c.branch);
      if (!pushes) {
        pushes = findPushChain(deps.octokit, repoName, c.branch, { before: w.before, after: w.after }).then(
          (chain) => pushesOfCommits(chain ?? [], graph, w.complete),
        );
        brought.set(c.branch, pushes);
      }
      push = (await pushes).get(c.sha.toLowerCase());
    }
    const committedAt = c.committedAt ? { committedAt: c.committedAt } : {};
    return push
      ? { pushedAt: push.at, pusher: push.actor, ...committedAt }
      : { pushedAt: deps.now().toISOString(), pusher: null, pushedAtIsWhenFound: true, ...committedAt };
  };
  for (const c of settled.remaining) {
    const branch = c.branch;
    const policySource = sourceOf.get(branch) ?? now.source;
    if (onRecord.has(c.sha)) continue;
    const dated = await dateOf(c);
    const rec = {
      at: deps.now().toISOString(),
      deliveryId: runId,
      installationId: deps.installationId,
      owner,
      repo,
      branch,
      before: null,
      after: c.sha,
      forced: false,
      commitsWithoutPr: [c.sha],
      examined: 1,
      ...dated,
      policySource,
      foundBy: "scan" as const,
      author: c.author,
    };
    const receipt = await deps.store.recordDirectPush(rec);
    onRecord.add(c.sha);
    if (receipt.duplicate) continue;
    summary.recorded.push({ repo: repoName, branch, sha: c.sha, record: receipt.id });
    deps.log.warn(
      {
        repo: repoName,
        branch,
        after: c.sha,
        author: c.author,
        record: receipt.id,
        foundBy: "scan",
        pushedAt: dated.pushedAt,
        pusher: dated.pusher,
        ...(dated.pushedAtIsWhenFound ? { pushedAtIsWhenFound: true } : {}),
      },
      `direct push to ${repoName} ${branch} (commit ${c.sha.slice(0, 12)} by ${c.author ?? "unknown"}) ${NON_COMPLIANT_PHRASE} no merged pull request (found by the scan)`,
    );
    const issueRepo = config?.audit.issue_repo;
    if (issueRepo) {
      try {
        await listInBypassIssue(deps.octokit, issueRepo, repoName, directPushEntry(rec, receipt.id));
      } catch (err) {
        deps.log.error(
          { err: redact((err as Error).message), issueRepo },
          `could not list the direct push to ${repoName} ${branch} in ${issueRepo}`,
        );
      }
    }
  }
  // Every commit of the walk is on record (or a merge's): only now does the head move.
  for (const m of moves) await deps.heads?.set(repoName, m.branch, m.next);
  return summary;
}

interface RefWalk {
  commits: HistoryCommit[];
  /** The commits compare listed and their parents (lower case), to date them by the pushes that brought them. */
  graph?: Map<string, string[]>;
  /**
   * `graph` begins at compare's oldest commit from the head on record (or the merge base of a
   * rewrite) to today's head, read by this run (no walk continued from an earlier run); it may
   * stop at the bound.
   */
  whole?: boolean;
  next: BranchHead;
  truncated: boolean;
  /** The head on record is unknown to GitHub: the caller reads the branch's window instead. */
  gone: boolean;
  rewrite?: { before: string; after: string };
  /** The head on record is not in the listed head's history because the branch moved since it was listed. */
  moved?: boolean;
}

/**
 * The commits reachable from `today` and not from the head on record, by compare pages (at most
 * MAX_COMPARE_PAGES this run); a walk left by the previous run is continued first. Each commit's
 * pull requests are read as a push's are (github/push-facts.ts, 21 a request).
 */
async function walkRefs(
  deps: PushScanDeps,
  repoName: string,
  branch: string,
  state: BranchHead,
  today: string,
): Promise<RefWalk> {
  const [owner, repo] = repoName.split("/") as [string, string];
  const listed: { sha: string; committedAt: string; author: string | null; parents?: string[] }[] = [];
  let budget = MAX_COMPARE_PAGES;
  let st: BranchHead = state;
  let rewrite: RefWalk["rewrite"];
  let truncated = false;
  let gone = false;
  for (let round = 0; round < 2 && !truncated; round++) {
    if (!st.walk) {
      if (st.head === today) break;
      // Is the head on record still in today's history? compare says (page 1 is the walk's first).
      const first = await comparePage(deps.octokit, repoName, st.head, today, 1);
      budget--;
      if (!first || first.status === "behind" || first.status === "diverged") {
        // Before calling it a rewrite (an immutable record): is `today` still the branch's head? A push
        // examined after the branches were listed moves the head on record past the listed one.
        const current = (await listBranches(deps.octokit, repoName)).find((x) => x.name === branch)?.sha;
        if (current !== today)
          return { commits: [], next: state, truncated: false, gone: false, moved: true };
        rewrite = { before: st.head, after: today };
        if (!first || !first.mergeBase) {
          // GitHub no longer knows the old head (or they share no history): the new line is read by its window, like a first look.
          st = { head: today, walk: null };
          gone = true;
          break;
        }
        st = { head: st.head, walk: { target: today, stop: first.mergeBase, cursor: null } };
        continue;
      }
      listed.push(...first.commits);
      if (first.commits.length < COMPARE_PAGE_SIZE || first.totalCommits <= COMPARE_PAGE_SIZE) {
        st = { head: today, walk: null };
        break;
      }
      st = { head: st.head, walk: { target: today, stop: st.head, cursor: "2" } };
      continue;
    }
    const walk = st.walk;
    let page = Number(walk.cursor ?? "1") || 1;
    let done = false;
    while (budget > 0) {
      const p = await comparePage(deps.octokit, repoName, walk.stop, walk.target, page);
      budget--;
      if (!p) {
        // GitHub no longer knows the walk's ends (another force push, garbage-collected): start over
        // from today's head by its window, like a first look, instead of failing every later run.
        deps.log.warn(
          { repo: repoName, branch, stop: walk.stop, target: walk.target },
          `${repoName} ${branch}: GitHub no longer knows the ends of the walk in progress; today's head is read by the scan's window instead`,
        );
        return { commits: [], next: { head: today, walk: null }, truncated: false, gone: true };
      }
      listed.push(...p.commits);
      if (p.commits.length < COMPARE_PAGE_SIZE || page * COMPARE_PAGE_SIZE >= p.totalCommits) {
        done = true;
        break;
      }
      page++;
    }
    if (!done) {
      // `page` is the next page not read yet (the loop moved past the last one it read).
      st = { head: st.head, walk: { ...walk, cursor: String(page) } };
      truncated = true;
      break;
    }
    st = { head: walk.target, walk: null };
  }
  const shas = [...new Set(listed.map((c) => c.sha))];
  const facts = shas.length > 0 ? await pushFactsAll(deps.reader, { owner, repo }, shas) : { commits: [] };
  const about = new Map(listed.map((c) => [c.sha, c]));
  const commits: HistoryCommit[] = facts.commits.map((f) => ({
    ...f,
    committedAt: about.get(f.sha)?.committedAt ?? "",
    author: about.get(f.sha)?.author ?? null,
  }));
  return {
    commits,
    next: st,
    truncated,
    gone,
    graph: new Map(listed.map((c) => [c.sha.toLowerCase(), (c.parents ?? []).map((x) => x.toLowerCase())])),
    whole: !state.walk && !gone,
    ...(rewrite ? { rewrite } : {}),
  };
}

/** A guard against an answer that never ends (1,000,000 repositories), not a cap on real installations. */
export const MAX_REPO_PAGES = 10_000;

/** The installation's repositories (GET /installation/repositories, 100 a page, every page). */
export async function installationRepos(octokit: OctokitLike, org?: string): Promise<string[]> {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    if (page > MAX_REPO_PAGES)
      throw new Error(`the installation lists more than ${MAX_REPO_PAGES * 100} repositories: not walked`);
    const res = await octokit.request("GET /installation/repositories", { per_page: 100, page });
    const list = (res.data as { repositories?: { full_name?: unknown }[] }).repositories ?? [];
    for (const r of list)
      if (
        typeof r.full_name === "string" &&
        (!org || r.full_name.toLowerCase().startsWith(`${org.toLowerCase()}/`))
      )
        out.push(r.full_name);
    if (list.length < 100) break;
  }
  return out;
}
