/**
 * locate: which open PRs does an event concern? pull_request and review events name their PR;
 * check_suite, check_run and status events name a commit, whose open PRs are found from an index
 * of head shas (filled by every pull_request event and evaluation) or, failing that, by listing the
 * repository's open PRs (check_suite.pull_requests is empty for PRs from forks).
 */
import type { PrRef } from "./types.js";

export interface PullsLister {
  request(route: string, params: Record<string, unknown>): Promise<{ data: unknown }>;
}

interface Entry {
  refs: PrRef[];
  at: number;
}

/** sha → open PRs with that head, bounded, with a short memory of shas that have none. */
export class HeadIndex {
  private readonly bySha = new Map<string, Entry>();
  constructor(
    private readonly max = 20_000,
    private readonly negativeTtlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(repoFullName: string, sha: string): string {
    return `${repoFullName.toLowerCase()}@${sha}`;
  }

  /** Record that `ref` has head `sha` (and forget it under its previous head). */
  set(ref: PrRef, sha: string): void {
    const k = this.key(`${ref.owner}/${ref.repo}`, sha);
    const entry = this.bySha.get(k);
    const refs = (entry?.refs ?? []).filter((r) => r.number !== ref.number);
    this.bySha.delete(k);
    this.bySha.set(k, { refs: [...refs, ref], at: this.now() });
    if (this.bySha.size > this.max) {
      const oldest = this.bySha.keys().next().value;
      if (oldest !== undefined) this.bySha.delete(oldest);
    }
  }

  get(repoFullName: string, sha: string): PrRef[] | undefined {
    const e = this.bySha.get(this.key(repoFullName, sha));
    if (!e) return undefined;
    if (e.refs.length === 0 && this.now() - e.at > this.negativeTtlMs) return undefined;
    return e.refs;
  }

  setNone(repoFullName: string, sha: string): void {
    this.bySha.set(this.key(repoFullName, sha), { refs: [], at: this.now() });
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
