/**
 * reconcile-stale: the open PRs whose `changegate` check is missing on their head (never judged, or
 * judged only on an older head: a lost `synchronize`) are re-evaluated, at most `max` a run and
 * `paceMs` apart (rate-limited: one REST read per PR to look, one evaluation per stale PR).
 * Unlike reconcile.ts (every open PR, at start-up), this runs on the scan's schedule.
 */
import { CHECK_NAME } from "../contract.js";
import type { PrRef } from "../refs.js";

interface Lister {
  request(route: string, params?: Record<string, unknown>): Promise<{ data: unknown }>;
}

export interface StaleReconcileDeps {
  app: () => Promise<Lister>;
  installation: (id: number) => Promise<Lister>;
  appId: number;
  evaluate: (ref: PrRef, head: string) => void;
  log: { info(o: object, m: string): void; error(o: object, m: string): void };
  sleep: (ms: number) => Promise<void>;
  paceMs: number;
  max: number;
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
    const items = pick((await client.request(route, { ...params, per_page: 100, page })).data);
    if (!Array.isArray(items)) break;
    out.push(...items);
    if (items.length < 100) break;
  }
  return out;
}

/** Is there a `changegate` check run of this app on `head`? */
async function hasOwnCheck(
  client: Lister,
  owner: string,
  repo: string,
  head: string,
  appId: number,
): Promise<boolean> {
  const res = await client.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
    owner,
    repo,
    ref: head,
    check_name: CHECK_NAME,
    app_id: appId,
    per_page: 100,
  });
  const runs = (res.data as { check_runs?: { app?: { id?: number } | null; name?: string }[] }).check_runs;
  return Array.isArray(runs) && runs.some((r) => r.name === CHECK_NAME && r.app?.id === appId);
}

export async function reconcileStale(
  deps: StaleReconcileDeps,
): Promise<{ prs: number; stale: number; queued: number }> {
  const app = await deps.app();
  const installations = await pages(app, "GET /app/installations", {}, (d) => d as { id: number }[]);
  let prs = 0;
  let stale = 0;
  let queued = 0;
  for (const inst of installations) {
    try {
      const client = await deps.installation(inst.id);
      const repos = await pages(
        client,
        "GET /installation/repositories",
        {},
        (d) => (d as { repositories: { full_name: string; archived?: boolean }[] }).repositories,
      );
      for (const r of repos.filter((x) => !x.archived)) {
        const [owner, repo] = r.full_name.split("/") as [string, string];
        const pulls = await pages(
          client,
          "GET /repos/{owner}/{repo}/pulls",
          { owner, repo, state: "open" },
          (d) => d as { number: number; head: { sha: string } }[],
        );
        for (const p of pulls) {
          prs++;
          if (await hasOwnCheck(client, owner, repo, p.head.sha, deps.appId)) continue;
          stale++;
          if (queued >= deps.max) continue;
          if (queued > 0) await deps.sleep(deps.paceMs);
          queued++;
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
  deps.log.info(
    { prs, stale, queued },
    `reconcile: ${stale} of ${prs} open PRs had no changegate check on their head; ${queued} queued`,
  );
  return { prs, stale, queued };
}
