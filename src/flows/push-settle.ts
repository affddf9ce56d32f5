/**
 * push-settle: before a commit goes on record as a direct push, make sure it is not a PR's merge
 * that GitHub has not linked yet. A `push` webhook for a merge can arrive before GitHub associates
 * the merge commit with its PR (the commit then shows no PR), and before or after the
 * `pull_request.closed` webhook. So, for the commits still without a merged PR:
 *
 *   (a) a commit that is the merge commit or head of a merge already on record into this branch of
 *       this repository (audit/merge-shas.ts) is that merge's;
 *   (b) the others are read again ONCE, after DIRECT_PUSH_RECHECK_MS (default 15 s; 0: no wait,
 *       still one read), with the push's own read (github/push-facts.ts; one GraphQL request per
 *       21 commits): a commit now in a PR merged into the branch is that merge's; then (a) again
 *       (the merge may have been recorded meanwhile).
 *
 * Only what is left is a direct push. No commit without a PR costs no wait and no read. A read
 * that fails throws (the push is not recorded as compliant: the caller logs it, the scan finds it).
 * The wait is the delivery's own (an await: other deliveries and evaluations go on meanwhile).
 */
import type { DirectPushStore } from "../audit/direct-push.js";
import { MAX_PUSH_COMMITS, pushFacts } from "../github/push-facts.js";
import type { GraphqlReader } from "../github/reader.js";
import { judgePush } from "../policy/direct-push.js";

export const DEFAULT_DIRECT_PUSH_RECHECK_MS = 15_000;
/** Longest wait allowed (GitHub links a merge commit within seconds; a delivery should not wait longer). */
export const MAX_DIRECT_PUSH_RECHECK_MS = 600_000;

export interface SettleDeps {
  store: Pick<DirectPushStore, "mergedOnRecord">;
  reader: GraphqlReader;
  recheckMs: number;
  sleep: (ms: number) => Promise<void>;
}

export interface Candidate {
  branch: string;
  sha: string;
}

export interface Settled<C extends Candidate> {
  /** Still without a merged PR into their branch after (a) and (b): direct pushes. */
  remaining: C[];
  /** The merge's after all: on record as a merge (a), or linked to a merged PR by the re-read (b). */
  merges: { sha: string; by: "merge_record" | "reread" }[];
  /** GraphQL requests made by the re-read (0 when nothing was left after (a)). */
  reads: number;
}

export async function settleUncovered<C extends Candidate>(
  deps: SettleDeps,
  repo: string,
  candidates: C[],
): Promise<Settled<C>> {
  const merges: Settled<C>["merges"] = [];
  const [owner, name] = repo.split("/") as [string, string];
  let left = await dropRecordedMerges(deps, repo, candidates, merges);
  if (left.length === 0) return { remaining: left, merges, reads: 0 };
  if (deps.recheckMs > 0) await deps.sleep(deps.recheckMs);
  const shas = [...new Set(left.map((c) => c.sha))];
  const prsOf = new Map<string, Awaited<ReturnType<typeof pushFacts>>["commits"][number]>();
  let reads = 0;
  for (let i = 0; i < shas.length; i += MAX_PUSH_COMMITS) {
    const facts = await pushFacts(deps.reader, { owner, repo: name }, shas.slice(i, i + MAX_PUSH_COMMITS));
    reads++;
    for (const c of facts.commits) prsOf.set(c.sha, c);
  }
  left = left.filter((c) => {
    const facts = prsOf.get(c.sha) ?? { sha: c.sha, prs: null };
    const covered = !judgePush({ repo, branch: c.branch, gated: true, forced: false, commits: [facts] })
      .record;
    if (covered) merges.push({ sha: c.sha, by: "reread" });
    return !covered;
  });
  left = await dropRecordedMerges(deps, repo, left, merges);
  return { remaining: left, merges, reads };
}

async function dropRecordedMerges<C extends Candidate>(
  deps: SettleDeps,
  repo: string,
  candidates: C[],
  merges: Settled<C>["merges"],
): Promise<C[]> {
  if (candidates.length === 0 || !deps.store.mergedOnRecord) return candidates;
  const byBranch = new Map<string, C[]>();
  for (const c of candidates) {
    const list = byBranch.get(c.branch);
    if (list) list.push(c);
    else byBranch.set(c.branch, [c]);
  }
  const out: C[] = [];
  for (const [branch, list] of byBranch) {
    const on = await deps.store.mergedOnRecord(
      repo,
      branch,
      list.map((c) => c.sha),
    );
    for (const c of list) {
      if (on.has(c.sha)) merges.push({ sha: c.sha, by: "merge_record" });
      else out.push(c);
    }
  }
  return out;
}
