/**
 * locate: which open PRs does an event concern? pull_request and review events name their PR;
 * check_suite, check_run and status events name a commit, whose open PRs are found from an index
 * of head shas (filled by every pull_request event and evaluation) or, failing that, by listing the
 * repository's open PRs (check_suite.pull_requests is empty for PRs from forks).
 */
import type { OctokitLike, PrRef } from "./types.js";

export type PullsLister = OctokitLike;

interface Entry {
  refs: PrRef[];
  at: number;
}

/** sha → open PRs with that head, bounded, with a short memory of shas that have none. */
export class HeadIndex {
  private readonly bySha = new Map<string, Entry>();
  /** "owner/repo#number" → the bySha key of that PR's current head. */
  private readonly headOf = new Map<string, string>();
  constructor(
    private readonly max = 20_000,
    private readonly negativeTtlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(repoFullName: string, sha: string): string {
    return `${repoFullName.toLowerCase()}@${sha}`;
  }

  private prKey(ref: PrRef): string {
    return `${ref.owner}/${ref.repo}#${ref.number}`.toLowerCase();
  }

  /** Record that `ref` has head `sha` (and forget it under its previous head). */
  set(ref: PrRef, sha: string): void {
    const k = this.key(`${ref.owner}/${ref.repo}`, sha);
    const pk = this.prKey(ref);
    const previous = this.headOf.get(pk);
    if (previous !== undefined && previous !== k) this.drop(previous, ref.number);
    const entry = this.bySha.get(k);
    const refs = (entry?.refs ?? []).filter((r) => r.number !== ref.number);
    this.bySha.delete(k);
    this.bySha.set(k, { refs: [...refs, ref], at: this.now() });
    this.headOf.set(pk, k);
    this.trim();
  }

  get(repoFullName: string, sha: string): PrRef[] | undefined {
    const e = this.bySha.get(this.key(repoFullName, sha));
    if (!e) return undefined;
    if (e.refs.length === 0 && this.now() - e.at > this.negativeTtlMs) return undefined;
    return e.refs;
  }

  setNone(repoFullName: string, sha: string): void {
    const k = this.key(repoFullName, sha);
    this.evict(k);
    this.bySha.set(k, { refs: [], at: this.now() });
    this.trim();
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.bySha.size;
  }

  /** Remove PR `number` from the entry `k` (its head moved on). */
  private drop(k: string, number: number): void {
    const e = this.bySha.get(k);
    if (!e) return;
    const refs = e.refs.filter((r) => r.number !== number);
    if (refs.length === 0) this.bySha.delete(k);
    else e.refs = refs;
  }

  private evict(k: string): void {
    const e = this.bySha.get(k);
    if (!e) return;
    this.bySha.delete(k);
    for (const r of e.refs) if (this.headOf.get(this.prKey(r)) === k) this.headOf.delete(this.prKey(r));
  }

  /** Keep at most `max` entries, dropping the least recently set. */
  private trim(): void {
    while (this.bySha.size > this.max) {
      const oldest = this.bySha.keys().next().value;
      if (oldest === undefined) break;
      this.evict(oldest);
    }
  }
}

interface PullSummary {
  number: number;
  state: string;
  head: { sha: string };
  base: { repo: { full_name: string } };
}

/**
 * The open PRs of `owner/repo` whose head is `sha`. `hinted` are PR numbers the payload named
 * (check_suite.pull_requests); they are trusted for same-repo PRs.
 */
export async function openPullsForSha(
  octokit: PullsLister,
  index: HeadIndex,
  installationId: number,
  owner: string,
  repo: string,
  sha: string,
  hinted: number[],
): Promise<PrRef[]> {
  const full = `${owner}/${repo}`;
  if (hinted.length > 0) return hinted.map((number) => ({ installationId, owner, repo, number }));
  const known = index.get(full, sha);
  if (known) return known;
  const found: PrRef[] = [];
  for (let page = 1; page <= 20; page++) {
    const res = await octokit.request("GET /repos/{owner}/{repo}/pulls", { owner, repo, state: "open", per_page: 100, page });
    const pulls = res.data as PullSummary[];
    for (const p of pulls) if (p.head.sha === sha) found.push({ installationId, owner, repo, number: p.number });
    if (pulls.length < 100) break;
  }
  if (found.length === 0) index.setNone(full, sha);
  for (const ref of found) index.set(ref, sha);
  return found;
}
