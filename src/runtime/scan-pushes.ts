/**
 * The scan's second half: direct pushes whose push events were missed. For each repository in scope,
 * its policy (github/push-facts.ts, one read) names the gated branches; each gated branch's commits
 * in the window (github/branch-history.ts, paged, bounded) are compared with the records: a commit
 * that belongs to a pull request merged into the branch is the merge scan's business (a merge on
 * record, or recorded by it); a commit named by a direct_push record is on record. The others are
 * settled as the webhook settles them (runtime/push-settle.ts: a merge on record into the branch
 * whose merge commit or head it is; then, once per repository, one re-read after
 * DIRECT_PUSH_RECHECK_MS: a commit GitHub has linked to a PR merged moments ago is the merge
 * scan's, found by its next run). What is left is a direct push, recorded (`foundBy: "scan"`, one
 * record per commit, after = the commit) and reported like the webhook's (`is non-compliant!`, the
 * bypass issue). Idempotent: the store keeps one direct_push per (repository, branch, before,
 * after), and a commit on record is skipped.
 *
 * Gated branches are the policy's literal names and the default branch; a glob in `branches` is
 * matched against no list of refs here (documented: the webhook sees pushes to any gated branch).
 * The policy is read now (HEAD) AND as it was at the window's start (the default branch's newest
 * commit at or before `from`: found in the policy read, its file one more read): a push in the
 * window that rewrote the policy to ungate a branch does not hide that branch from the scan
 * (policy/push-gate.ts: a branch is scanned when either policy gates it; an invalid or unknown
 * policy gates every branch it can name). `policySource` says which policy gated the branch.
 */
import type { DirectPushStore } from "../audit/direct-push.js";
import { CONFIG_PATH, NON_COMPLIANT_PHRASE } from "../contract.js";
import { listInBypassIssue } from "../github/bypass-issue.js";
import { branchHistory, type HistoryCommit } from "../github/branch-history.js";
import { pushFacts } from "../github/push-facts.js";
import { policyPoint, readFileAt, unknownPoint } from "../github/push-policy.js";
import type { GraphqlReader } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import { judgePush } from "../policy/direct-push.js";
import { scannableBranches, type PolicyPoint } from "../policy/push-gate.js";
import { directPushEntry } from "../report/direct-push.js";
import { redact } from "../report/redact.js";
import { DEFAULT_DIRECT_PUSH_RECHECK_MS, settleUncovered } from "./push-settle.js";

export interface PushScanDeps {
  store: DirectPushStore;
  octokit: OctokitLike;
  reader: GraphqlReader;
  installationId: number;
  now: () => Date;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  /** DIRECT_PUSH_RECHECK_MS (default 15 s) and the wait, for the re-read of commits without a PR. */
  recheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PushScanSummary {
  branches: number;
  commits: number;
  recorded: { repo: string; branch: string; sha: string; record: string }[];
  truncated: string[];
}

export async function scanPushes(deps: PushScanDeps, repoName: string, window: { from: string; to: string }, runId: string): Promise<PushScanSummary> {
  const summary: PushScanSummary = { branches: 0, commits: 0, recorded: [], truncated: [] };
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
      ? await policyPoint(deps.reader, repoName, { ...facts.configFiles, repoFile: file.text === null ? null : { repo: repoName, path: CONFIG_PATH, text: file.text } }, { sha: facts.startSha, when })
      : unknownPoint(facts.startSha, when);
  }
  const config = now.config ?? earlier?.config ?? null;
  const defaultBranch = facts.configFiles.defaultBranch;
  const gatedBranches = scannableBranches(defaultBranch, now, earlier);
  const sourceOf = new Map(gatedBranches.map((b) => [b.branch, b.gate.policySource]));
  const onRecord = await deps.store.recordedPushShas(repoName);
  const candidates: (HistoryCommit & { branch: string })[] = [];
  for (const { branch } of gatedBranches) {
    summary.branches++;
    const { commits, truncated } = await branchHistory(deps.reader, repoName, branch, window);
    if (truncated) summary.truncated.push(`${repoName} ${branch}`);
    summary.commits += commits.length;
    for (const c of commits) {
      if (onRecord.has(c.sha)) continue;
      if (!judgePush({ repo: repoName, branch, gated: true, forced: false, commits: [c] }).record) continue; // a merged PR's commit
      candidates.push({ ...c, branch });
    }
  }
  const settled = await settleUncovered(
    { store: deps.store, reader: deps.reader, recheckMs: deps.recheckMs ?? DEFAULT_DIRECT_PUSH_RECHECK_MS, sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) },
    repoName,
    candidates,
  );
  if (settled.merges.length > 0) deps.log.info({ repo: repoName, merges: settled.merges }, `${repoName}: ${settled.merges.length} commit(s) without a PR in the history belong to a merge (on record, or linked by GitHub since): the merge scan's`);
  for (const c of settled.remaining) {
    const branch = c.branch;
    const policySource = sourceOf.get(branch) ?? now.source;
    if (onRecord.has(c.sha)) continue;
    const receipt = await deps.store.recordDirectPush({
      at: deps.now().toISOString(),
      deliveryId: runId,
      installationId: deps.installationId,
      owner,
      repo,
      branch,
      pusher: null,
      before: null,
      after: c.sha,
      forced: false,
      commitsWithoutPr: [c.sha],
      examined: 1,
      pushedAt: new Date(Date.parse(c.committedAt) || deps.now().getTime()).toISOString(),
      policySource,
      foundBy: "scan",
      author: c.author,
    });
    onRecord.add(c.sha);
    if (receipt.duplicate) continue;
    summary.recorded.push({ repo: repoName, branch, sha: c.sha, record: receipt.id });
    deps.log.warn(
      { repo: repoName, branch, after: c.sha, author: c.author, record: receipt.id, foundBy: "scan" },
      `direct push to ${repoName} ${branch} (commit ${c.sha.slice(0, 12)} by ${c.author ?? "unknown"}) ${NON_COMPLIANT_PHRASE} no merged pull request (found by the scan)`,
    );
    const issueRepo = config?.audit.issue_repo;
    if (issueRepo) {
      try {
        const rec = { at: deps.now().toISOString(), deliveryId: runId, installationId: deps.installationId, owner, repo, branch, pusher: null, before: null, after: c.sha, forced: false, commitsWithoutPr: [c.sha], examined: 1, pushedAt: c.committedAt, policySource, foundBy: "scan" as const };
        await listInBypassIssue(deps.octokit, issueRepo, repoName, directPushEntry(rec, receipt.id));
      } catch (err) {
        deps.log.error({ err: redact((err as Error).message), issueRepo }, `could not list the direct push to ${repoName} ${branch} in ${issueRepo}`);
      }
    }
  }
  return summary;
}

/** The installation's repositories (GET /installation/repositories, 100 a page, at most 10 pages). */
export async function installationRepos(octokit: OctokitLike, org?: string): Promise<string[]> {
  const out: string[] = [];
  for (let page = 1; page <= 10; page++) {
    const res = await octokit.request("GET /installation/repositories", { per_page: 100, page });
    const list = (res.data as { repositories?: { full_name?: unknown }[] }).repositories ?? [];
    for (const r of list) if (typeof r.full_name === "string" && (!org || r.full_name.toLowerCase().startsWith(`${org.toLowerCase()}/`))) out.push(r.full_name);
    if (list.length < 100) break;
  }
  return out;
}
