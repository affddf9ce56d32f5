/**
 * reconcile: GitHub never redelivers a webhook by itself, so events missed while changegate was
 * down are found by walking every installation's open PRs and re-evaluating them. Evaluations of
 * unchanged PRs cost one read and no write. Off by default (RECONCILE_ON_START=true turns it on);
 * it is bounded by the scheduler and Probot's throttling like any other evaluation.
 */
import type { Logger } from "pino";
import type { PrRef } from "../github/types.js";

interface Lister {
  request(route: string, params?: Record<string, unknown>): Promise<{ data: unknown }>;
}

export interface ReconcileDeps {
  /** App-authenticated client (JWT): lists installations. */
  app: () => Promise<Lister>;
  /** Installation-authenticated client. */
  installation: (id: number) => Promise<Lister>;
  evaluate: (ref: PrRef, head: string) => void;
  log: Logger;
  /** Only this repository (owner/name), if given. */
  repo?: string;
}

const MAX_PAGES = 100;

async function pages<T>(
  client: Lister,
  route: string,
  params: Record<string, unknown>,
  pick: (data: unknown) => T[],
): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await client.request(route, { ...params, per_page: 100, page });
    const items = pick(res.data);
    out.push(...items);
    if (items.length < 100) break;
  }
  return out;
}

export async function reconcile(
  deps: ReconcileDeps,
): Promise<{ installations: number; repos: number; prs: number }> {
  const app = await deps.app();
  const installations = await pages(app, "GET /app/installations", {}, (d) => d as { id: number }[]);
  let repos = 0;
  let prs = 0;
  for (const inst of installations) {
    try {
      const client = await deps.installation(inst.id);
      const all = await pages(
        client,
        "GET /installation/repositories",
        {},
        (d) => (d as { repositories: { full_name: string; archived?: boolean }[] }).repositories,
      );
      const wanted = all.filter(
        (r) => !r.archived && (!deps.repo || r.full_name.toLowerCase() === deps.repo.toLowerCase()),
      );
      for (const r of wanted) {
        repos++;
        const [owner, repo] = r.full_name.split("/") as [string, string];
        const pulls = await pages(
          client,
          "GET /repos/{owner}/{repo}/pulls",
          { owner, repo, state: "open" },
          (d) => d as { number: number; head: { sha: string } }[],
        );
        for (const p of pulls) {
          prs++;
          deps.evaluate({ installationId: inst.id, owner, repo, number: p.number }, p.head.sha);
        }
      }
    } catch (err) {
      deps.log.error(
        { installation: inst.id, err: (err as Error).message },
        "reconcile could not walk an installation",
      );
    }
  }
  deps.log.info({ installations: installations.length, repos, prs }, "reconcile queued every open PR");
  return { installations: installations.length, repos, prs };
}
