/**
 * The enforcement flow: read a gated branch's rules (github/enforcement.ts), classify them
 * (policy/enforcement.ts), and record the state when it changed (audit/enforcement.ts). Triggered by
 * the ruleset and branch-protection webhooks (handlers/enforcement.ts), the scheduled scan, and a
 * PR's evaluation that finds no observation of its base branch younger than FRESH_MS. The
 * evaluation's part never waits for GitHub and never fails the gate: it gets the last observation
 * on the books (memoised briefly, so no store read per evaluation either), and a stale or missing one
 * starts a read in the background; a read that fails is logged and tried again after RETRY_MS.
 */
import { BoundedMap } from "../bounded-map.js";
import { readEnforcement } from "../github/enforcement.js";
import type { OctokitLike } from "../github/types.js";
import { classifyEnforcement } from "../policy/enforcement.js";
import { redactError } from "../report/redact.js";
import type { EnforcementStore, LastObservation, ObservationReceipt } from "../audit/enforcement.js";

/** An evaluation reads GitHub only when the branch's last observation is older than this (1 hour). */
export const FRESH_MS = 60 * 60_000;
/** After a failed read, the evaluations of that branch wait this long before trying again. */
export const RETRY_MS = 5 * 60_000;
/** How long an evaluation reuses the observation it read from the store. */
const MEMO_MS = 60_000;

export interface BranchTarget {
  installationId: number;
  owner: string;
  repo: string;
  branch: string;
  /** The repository's default branch, when known (a ruleset's `~DEFAULT_BRANCH`). */
  defaultBranch: string | null;
}

export interface EnforcementFlowDeps {
  store: EnforcementStore;
  appId: number;
  octokitFor: (installationId: number) => Promise<OctokitLike>;
  now: () => Date;
  log: {
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    error(o: object, m: string): void;
  };
  /** Called after each observation with the count of gated branches not enforced now (the metric). */
  onCount?: (notEnforced: number) => void;
}

/** A branch the policy gates, found by the scheduled scan (seeded even when never evaluated). */
export interface SeedBranch {
  installationId: number;
  repo: string;
  branch: string;
  defaultBranch: string | null;
}

const keyOf = (t: { owner: string; repo: string; branch: string }) =>
  `${t.owner}/${t.repo}`.toLowerCase() + `\u0000${t.branch}`;

export class EnforcementFlow {
  private readonly memo = new BoundedMap<string, { at: number; obs: LastObservation | null }>(20_000);
  private readonly retryAfter = new BoundedMap<string, number>(20_000);
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: EnforcementFlowDeps) {}

  /** Read, classify, record if changed. Throws when GitHub's rules or the store fail. */
  async observe(t: BranchTarget, trigger: string, deliveryId: string): Promise<ObservationReceipt> {
    const octokit = await this.deps.octokitFor(t.installationId);
    const repo = `${t.owner}/${t.repo}`;
    const read = await readEnforcement(octokit, repo, t.branch, {
      appId: this.deps.appId,
      defaultBranch: t.defaultBranch,
    });
    const enforcement = classifyEnforcement({ appId: this.deps.appId, ...read.facts });
    const receipt = await this.deps.store.observe({
      at: this.deps.now().toISOString(),
      deliveryId,
      trigger,
      installationId: t.installationId,
      owner: t.owner,
      repo: t.repo,
      branch: t.branch,
      appId: this.deps.appId,
      enforcement,
      read,
    });
    this.memo.delete(keyOf(t));
    this.retryAfter.delete(keyOf(t));
    if (receipt.record) {
      const line = `${repo} ${t.branch}: ${enforcement.state === "enforced" ? "the changegate check is in force" : `the changegate check is NOT in force (${enforcement.missing.map((m) => m.code).join(", ")})`}`;
      const o = {
        repo,
        branch: t.branch,
        state: enforcement.state,
        record: receipt.record,
        reason: receipt.reason,
      };
      if (enforcement.state === "enforced") this.deps.log.info(o, line);
      else this.deps.log.warn(o, line);
    }
    await this.count();
    return receipt;
  }

  /** Every branch of `repo` on the books (a ruleset or protection webhook); failures logged, the others go on. */
  async observeRepo(
    installationId: number,
    owner: string,
    repo: string,
    defaultBranch: string | null,
    trigger: string,
    deliveryId: string,
  ): Promise<number> {
    const known = await this.deps.store.branches({ repo: `${owner}/${repo}` });
    return this.observeAll(
      known.map((b) => ({ installationId, owner, repo, branch: b.branch, defaultBranch })),
      trigger,
      deliveryId,
    );
  }

  /**
   * The scheduled scan: every branch on the books of one installation (or all), and the gated
   * branches the scan found (`seed`: a gated branch never evaluated is observed too, once each).
   */
  async scan(runId: string, installationId?: number, seed: readonly SeedBranch[] = []): Promise<number> {
    const known = await this.deps.store.branches(installationId === undefined ? {} : { installationId });
    const targets = new Map<string, BranchTarget>();
    const add = (b: {
      installationId: number;
      repo: string;
      branch: string;
      defaultBranch: string | null;
    }) => {
      const [owner, repo] = b.repo.split("/") as [string, string];
      if (!owner || !repo) return;
      const t = {
        installationId: b.installationId,
        owner,
        repo,
        branch: b.branch,
        defaultBranch: b.defaultBranch,
      };
      const had = targets.get(keyOf(t));
      if (!had || (had.defaultBranch === null && t.defaultBranch !== null)) targets.set(keyOf(t), t);
    };
    for (const b of known) add({ ...b, defaultBranch: null });
    for (const b of seed) if (installationId === undefined || b.installationId === installationId) add(b);
    return this.observeAll([...targets.values()], "scan", runId);
  }

  private async observeAll(targets: BranchTarget[], trigger: string, deliveryId: string): Promise<number> {
    let failed = 0;
    for (const t of targets) {
      try {
        await this.observe(t, trigger, deliveryId);
      } catch (err) {
        failed++;
        this.deps.log.error(
          { err: redactError(err), repo: `${t.owner}/${t.repo}`, branch: t.branch },
          `could not observe the enforcement of ${t.owner}/${t.repo} ${t.branch}; tried again later`,
        );
      }
    }
    return failed;
  }

  /**
   * For an evaluation of a gated PR: the base branch's last observation (null: never observed), and a
   * read in the background when it is missing or older than FRESH_MS. Never throws, never waits for GitHub.
   */
  async forEvaluation(t: BranchTarget, deliveryId: string): Promise<LastObservation | null> {
    const key = keyOf(t);
    const now = this.deps.now().getTime();
    let obs: LastObservation | null;
    try {
      const m = this.memo.get(key);
      if (m && now - m.at < MEMO_MS) obs = m.obs;
      else {
        obs = await this.deps.store.last(`${t.owner}/${t.repo}`, t.branch);
        this.memo.set(key, { at: now, obs });
      }
    } catch (err) {
      this.deps.log.warn({ err: redactError(err) }, "could not read the last enforcement observation");
      return null;
    }
    const stale = !obs || now - Date.parse(obs.observedAt) > FRESH_MS;
    if (stale && !this.running.has(key) && (this.retryAfter.get(key) ?? 0) <= now) {
      const run = this.observe(t, "evaluation", `evaluation-${deliveryId}`)
        .catch((err: unknown) => {
          this.retryAfter.set(key, this.deps.now().getTime() + RETRY_MS);
          this.deps.log.warn(
            { err: redactError(err), repo: `${t.owner}/${t.repo}`, branch: t.branch },
            `could not observe the enforcement of ${t.owner}/${t.repo} ${t.branch}; tried again later`,
          );
        })
        .finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return obs;
  }

  /** Resolves when no background read runs (tests, idle()). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** The metric: gated branches on the books whose last observation is not enforced. */
  async count(): Promise<void> {
    if (!this.deps.onCount) return;
    try {
      const all = await this.deps.store.branches();
      this.deps.onCount(all.filter((b) => b.state !== "enforced").length);
    } catch {
      /* the next observation counts again */
    }
  }
}
