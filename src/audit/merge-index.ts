/**
 * merge-index: which merges are on record, for the scan (is this PR's merge recorded?) and
 * `audit completeness` (every merge record of a window). Read-only.
 */
import type { AuditStore } from "./database.js";
import { chainOf } from "./payload.js";

export interface RecordedMerge {
  /** The chain ("owner/name", lower case). */
  chain: string;
  /** The repository as recorded ("owner/name"). */
  repo: string;
  number: number;
  mergedAt: string;
  /** "owner/name@seq" */
  record: string;
}

/** The PR's merge record, if any (whatever its head or installation: a PR merges once). */
export async function recordedMergeOf(
  store: AuditStore,
  repo: string,
  number: number,
): Promise<RecordedMerge | null> {
  const r = await firstMergeRow(store, repo, number);
  return r
    ? {
        chain: r.chain,
        repo: r.repo,
        number: Number(r.pr_number),
        mergedAt: r.merged_at ?? "",
        record: `${r.chain}@${Number(r.seq)}`,
      }
    : null;
}

/** The PR's first merge record's row (a PR merges once). */
async function firstMergeRow(store: AuditStore, repo: string, number: number) {
  const [owner, name] = repo.split("/") as [string, string];
  return store.db
    .selectFrom("audit_record")
    .select(["chain", "repo", "pr_number", "merged_at", "seq", "outcome", "bypass"])
    .where("chain", "=", chainOf(owner, name))
    .where("pr_number", "=", number)
    .where("kind", "=", "merge")
    .orderBy("seq")
    .limit(1)
    .executeTakeFirst();
}

/** Every merge record with merged_at in [from, to), optionally of one repository, in chain order. */
export async function recordedMergesIn(
  store: AuditStore,
  q: { from: string; to: string; repo?: string | null },
): Promise<RecordedMerge[]> {
  let s = store.db
    .selectFrom("audit_record")
    .select(["chain", "repo", "pr_number", "merged_at", "seq"])
    .where("kind", "=", "merge")
    .where("merged_at", ">=", q.from)
    .where("merged_at", "<", q.to);
  if (q.repo) s = s.where("chain", "=", q.repo.toLowerCase());
  const rows = await s.orderBy("chain").orderBy("seq").execute();
  return rows.map((r) => ({
    chain: r.chain,
    repo: r.repo,
    number: Number(r.pr_number),
    mergedAt: r.merged_at ?? "",
    record: `${r.chain}@${Number(r.seq)}`,
  }));
}

/** The PR's recorded merge outcome (`changegate rehearse`: today's outcome beside the rehearsed one), if on record. */
export async function recordedMergeOutcomeOf(
  store: AuditStore,
  repo: string,
  number: number,
): Promise<{ outcome: string; bypass: boolean; record: string } | null> {
  const r = await firstMergeRow(store, repo, number);
  return r
    ? { outcome: r.outcome, bypass: Number(r.bypass ?? 0) === 1, record: `${r.chain}@${Number(r.seq)}` }
    : null;
}
