/**
 * locate: which open PRs does an event concern, and what job does each get? pull_request and review
 * events name their PR; check_suite, check_run and status events name a commit, whose open PRs are
 * found from an index of head shas (filled by every pull_request event and evaluation) or, failing
 * that, by listing the repository's open PRs (check_suite.pull_requests is empty for PRs from forks).
 */
import type { Context } from "probot";
import { BoundedMap } from "../bounded-map.js";
import { newJob, type EvaluationJob } from "../intake/job.js";
import { prKey, type OctokitLike, type PrRef } from "../github/types.js";
import type { LabelClaim } from "../refs.js";

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
    const res = await octokit.request("GET /repos/{owner}/{repo}/pulls", {
      owner,
      repo,
      state: "open",
      per_page: 100,
      page,
    });
    const pulls = res.data as PullSummary[];
    for (const p of pulls)
      if (p.head.sha === sha) found.push({ installationId, owner, repo, number: p.number });
    if (pulls.length < 100) break;
  }
  if (found.length === 0) index.setNone(full, sha);
  for (const ref of found) index.set(ref, sha);
  return found;
}

/** The installation an event was sent to (the caller has checked there is one). */
export function installationOf(context: Pick<Context, "payload" | "name" | "id">): number {
  const id = (context.payload as { installation?: { id?: number } }).installation?.id;
  if (!id) throw new Error(`event ${context.name} ${context.id} carries no installation id`);
  return id;
}

/**
 * A `pull_request.labeled` delivery's statement: the label, who applied it, the head then. It is
 * GitHub's signed word about the moment of labelling; it only ever narrows a declaration (the
 * read decides who applied which label when: src/policy/emergency.ts declaredOnFromClaims).
 */
export function labelClaim(payload: unknown, pull: PullPayload): LabelClaim | null {
  const p = payload as { label?: { name?: unknown }; sender?: { login?: unknown } };
  const label = p.label?.name;
  const sender = p.sender?.login;
  if (
    typeof label !== "string" ||
    typeof sender !== "string" ||
    typeof pull.updated_at !== "string" ||
    !/^[0-9a-f]{40,64}$/i.test(pull.head.sha)
  )
    return null;
  return {
    label: label.slice(0, 100),
    sender: sender.slice(0, 100),
    headSha: pull.head.sha,
    at: pull.updated_at,
  };
}

/** The PR fields a pull_request or review payload carries that locate reads. */
export interface PullPayload {
  number: number;
  head: { sha: string };
  updated_at?: string;
}

/** A PR a check or status payload names (check_suite.pull_requests and the like). */
export interface HintedPull {
  number: number;
  base?: { repo?: { id?: number } };
}

/**
 * Turns events into jobs: keeps the head index, and the newest head announced by pull_request
 * events (ordered by the PR's updated_at: events can arrive out of order).
 */
export class Locator {
  readonly heads = new HeadIndex();
  private readonly announced = new BoundedMap<string, { sha: string; updatedAt: string }>(50_000);

  /** The job for the PR a pull_request or review event names. */
  fromPull(context: Context, pull: PullPayload, kind: EvaluationJob["kind"] = "evaluate"): EvaluationJob {
    const repo = context.repo();
    const ref: PrRef = {
      installationId: installationOf(context),
      owner: repo.owner,
      repo: repo.repo,
      number: pull.number,
    };
    // Only a newer PR state moves the announced head.
    const key = prKey(ref);
    const prev = this.announced.get(key);
    const updatedAt = pull.updated_at ?? "";
    if (!prev || updatedAt >= prev.updatedAt) this.announced.set(key, { sha: pull.head.sha, updatedAt });
    this.heads.set(ref, pull.head.sha);
    const action = (context.payload as { action?: string }).action;
    const claim = action === "labeled" ? labelClaim(context.payload, pull) : null;
    return newJob({
      ref,
      deliveryId: context.id,
      event: `${context.name}.${action ?? ""}`,
      expectedHead: this.announced.get(key)!.sha,
      kind,
      ...(claim ? { labelClaims: [claim] } : {}),
    });
  }

  /** The jobs for the open PRs whose head is `sha` (a check_suite, check_run or status event). */
  async fromSha(context: Context, sha: string, hinted: HintedPull[]): Promise<EvaluationJob[]> {
    const repo = context.repo();
    const repoId = (context.payload as { repository?: { id?: number } }).repository?.id;
    // Payload PR lists can name PRs of other repositories sharing the commit: keep this repo's.
    const numbers = hinted.filter((p) => !p.base?.repo?.id || p.base.repo.id === repoId).map((p) => p.number);
    const refs = await openPullsForSha(
      context.octokit,
      this.heads,
      installationOf(context),
      repo.owner,
      repo.repo,
      sha,
      numbers,
    );
    const action = (context.payload as { action?: string }).action;
    const event = `${context.name}${action ? `.${action}` : ""}`;
    // The PR was found by this sha, so it is the head unless a pull_request event announced a newer one.
    return refs.map((ref) =>
      newJob({
        ref,
        deliveryId: context.id,
        event,
        expectedHead: this.announced.get(prKey(ref))?.sha ?? sha,
      }),
    );
  }

  /** The commit heads a check/status payload names, where they are known to be PR heads. */
  prHeads(context: Context, sha: string, hinted: unknown[]): string[] {
    const { owner, repo } = context.repo();
    return hinted.length > 0 || (this.heads.get(`${owner}/${repo}`, sha)?.length ?? 0) > 0 ? [sha] : [];
  }
}
