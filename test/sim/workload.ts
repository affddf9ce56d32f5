/**
 * A reproducible burst: N PRs across K organisations, each going through a short life (opened, CI
 * starts, reviews, pushes, CI finishes, a label, an edit), the steps of all PRs interleaved round by
 * round. Used by the load tests and the benchmark.
 */
import type { GitHubModel, SimCheckRun, SimInstallation, SimPull, SimRepo } from "./model.js";
import type { World } from "./world.js";
import { mulberry32 } from "../../src/audit/sample.js";

/** mulberry32 (the audit sample's): a small seeded PRNG, so a failing burst can be replayed. */
export const prng = mulberry32;

export interface BurstOptions {
  prs: number;
  orgs: number;
  seed?: number;
  /** Repositories per organisation (PRs are spread over them). */
  reposPerOrg?: number;
  /** Policy file of the r-th repository (cycled); null/undefined = none (built-in defaults). */
  policies?: (string | null)[];
  /** Text put in front of PR i's title (a ticket key, say). */
  titlePrefix?: (i: number, repo: SimRepo) => string;
  /** Organisations to use instead of new ones. */
  useOrgs?: { owner: string; installation: SimInstallation }[];
}

export interface Burst {
  prs: SimPull[];
  repos: SimRepo[];
  installations: SimInstallation[];
  /** Steps, round by round; round 0 opens every PR. */
  rounds: (() => void)[][];
  /** "Events" a person or CI caused (the bench's events per PR). */
  actions: number;
}

/** Build the burst (nothing happens until the rounds run). */
export function burst(w: World, o: BurstOptions): Burst {
  const rand = prng(o.seed ?? 42);
  const m: GitHubModel = w.model;
  const orgs = o.useOrgs ?? Array.from({ length: o.orgs }, () => w.org());
  const repos: SimRepo[] = [];
  const tag = Math.random().toString(36).slice(2, 6);
  for (const org of orgs) {
    for (let r = 0; r < (o.reposPerOrg ?? 1); r++) {
      const policy = o.policies?.length ? o.policies[repos.length % o.policies.length] : null;
      repos.push(w.repo({ org, name: `svc${r}-${tag}`, policy: policy ?? undefined }).repo);
    }
  }
  const prs: SimPull[] = [];
  const scripts: (() => void)[][] = [];
  let actions = 0;
  for (let i = 0; i < o.prs; i++) {
    const repo = repos[i % repos.length]!;
    const author = `dev${i % 7}`;
    const holder: { pr?: SimPull; run?: SimCheckRun } = {};
    const pr = () => holder.pr!;
    const steps: (() => void)[] = [];
    steps.push(() => {
      holder.pr = m.openPullRequest(repo, { author, title: `${o.titlePrefix?.(i, repo) ?? ""}Change ${i}` });
      prs[i] = holder.pr;
    });
    steps.push(() => (holder.run = m.ci(pr(), "build", { status: "in_progress" })));
    const approver = rand() < 0.5 ? "alice" : "bob";
    steps.push(
      () =>
        void m.review(pr(), { author: approver, state: rand() < 0.12 ? "CHANGES_REQUESTED" : "APPROVED" }),
    );
    if (rand() < 0.5) {
      steps.push(() => {
        m.updateCheckRun(holder.run!, { status: "completed", conclusion: "cancelled" });
        m.push(pr(), [{ message: `Fix ${i}` }]);
        holder.run = m.ci(pr(), "build", { status: "in_progress" });
      });
      if (rand() < 0.7) steps.push(() => void m.review(pr(), { author: rand() < 0.5 ? "carol" : approver }));
    }
    const conclusion = rand() < 0.8 ? "success" : "failure";
    steps.push(() => m.updateCheckRun(holder.run!, { status: "completed", conclusion }));
    if (rand() < 0.15) steps.push(() => m.addLabel(pr(), "emergency"));
    if (rand() < 0.25)
      steps.push(() =>
        m.editPullRequest(pr(), { title: `${o.titlePrefix?.(i, repo) ?? ""}Change ${i} (edited)` }),
      );
    actions += steps.length;
    scripts.push(steps);
  }
  const rounds: (() => void)[][] = [];
  const longest = Math.max(...scripts.map((s) => s.length));
  for (let k = 0; k < longest; k++) rounds.push(scripts.flatMap((s) => (s[k] ? [s[k]] : [])));
  return { prs, repos, installations: orgs.map((x) => x.installation), rounds, actions };
}

/** Run the rounds, `gapMs` apart (the webhooks they cause are delivered as they happen). */
export async function play(
  b: Burst,
  gapMs = 0,
  onRound?: (k: number) => void | Promise<void>,
): Promise<void> {
  for (let k = 0; k < b.rounds.length; k++) {
    for (const step of b.rounds[k]!) step();
    await onRound?.(k);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    else await new Promise((r) => setImmediate(r));
  }
}
