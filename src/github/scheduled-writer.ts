/**
 * scheduled-writer: every write the app sends to GitHub goes through the WriteScheduler (one queue
 * per installation, GitHub's 80/min and 500/h content-creation limits, secondary-limit pauses) and
 * is sent by a plain @octokit/core client with the installation's token, outside Probot's
 * throttling (whose fixed spacing the scheduler replaces). Reads (GET, and GraphQL queries) go to
 * Probot's Octokit unchanged.
 *
 * Two doors, one scheduler:
 * - `scheduledWriter`: an evaluation's writer (publish(), the merge and retro jobs). Only an
 *   evaluation's own check (when green) and digest may be dropped for a newer evaluation of its PR.
 * - `pacedOctokit`: the installation Octokit with its writes paced, for every other writer (the
 *   merge group's check, the overdue timer, direct pushes' bypass issue, checkpoints): nothing of
 *   theirs is ever dropped.
 * Which routes create content (GitHub's "content-creating requests": comments, issues, check runs)
 * is CREATING below; any other non-GET request is paced as an update, never sent around the queue.
 */
import { Octokit } from "@octokit/core";
import { fetchWithTimeout } from "./http.js";
import type { OctokitLike } from "./types.js";
import type { WriteScheduler } from "./write-scheduler.js";

/** Routes that create content, each counted against the 80/min and 500/h. */
export const CREATING = new Set([
  "POST /repos/{owner}/{repo}/check-runs",
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
  "POST /repos/{owner}/{repo}/issues",
  "POST /repos/{owner}/{repo}/statuses/{sha}",
]);

const CHECK_ROUTES = new Set([
  "POST /repos/{owner}/{repo}/check-runs",
  "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
]);

/** The writes an evaluation makes on its own PR: its check run and its digest (the only ones a newer evaluation may supersede). */
const OWN_RESULT = new Set([
  ...CHECK_ROUTES,
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
]);

/** How the scheduler sees a request: null for a read (sent straight to Probot's Octokit). */
export function writeKind(route: string, params: unknown): { check: boolean; create: boolean } | null {
  const method = route.split(" ", 1)[0]!.toUpperCase();
  if (method === "GET" || method === "HEAD") return null;
  if (route === "POST /graphql") {
    // A GraphQL mutation (pinning the checkpoint issue) is a write; a query is a read.
    const q = (params as { query?: unknown } | undefined)?.query;
    return typeof q === "string" && /^\s*mutation\b/.test(q) ? { check: false, create: false } : null;
  }
  if (route.startsWith("POST /app/")) return null; // app-level (JWT): nothing created in a repository
  return { check: CHECK_ROUTES.has(route), create: CREATING.has(route) };
}

/** Probot's installation Octokit, as far as this module needs it. */
export interface InstallationOctokit extends OctokitLike {
  auth(options: { type: "installation" }): Promise<unknown>;
  request: OctokitLike["request"] & { endpoint: { DEFAULTS: { baseUrl: string } } };
}

/** The write's fetch (30 s deadline) that tells the scheduler the moment the request leaves. */
function leavingFetch(leaving: () => void): typeof fetch {
  return fetchWithTimeout(30_000, (input, init) => {
    leaving();
    return fetch(input, init);
  });
}

const clients = new Map<string, Octokit>();

/** A client per token (tokens are cached by Probot and change hourly); old ones are let go. */
function clientFor(token: string, baseUrl: string, instrument?: (client: Octokit) => void): Octokit {
  const key = `${baseUrl} ${token}`;
  let c = clients.get(key);
  if (!c) {
    if (clients.size >= 1000) clients.delete(clients.keys().next().value!);
    c = new Octokit({
      auth: token,
      baseUrl,
      userAgent: "changegate",
      request: { fetch: fetchWithTimeout(30_000) },
    });
    instrument?.(c);
    clients.set(key, c);
  }
  return c;
}

export function scheduledWriter(
  scheduler: WriteScheduler,
  installationId: number,
  octokit: InstallationOctokit,
  /**
   * True once a newer evaluation of this PR is waiting (its writes supersede these); null: nothing
   * is ever dropped (a merge's bypass issue entry, a retro-review check, every non-evaluation writer).
   */
  stale: (() => boolean) | null,
  /** Called once on each new write client (the metrics count its requests). */
  instrument?: (client: Octokit) => void,
): OctokitLike {
  return {
    request(route, params) {
      const kind = writeKind(route, params);
      if (!kind) return octokit.request(route, params);
      // Only an evaluation's own write that would make the check greener (or its digest) may be
      // dropped for a newer evaluation: a check that goes to failure or back in progress is always
      // sent, so a stream of events (a label toggled non-stop) can never hold an outdated green check.
      const green = kind.check && checkConclusion(params) === "success";
      const mayDrop = stale !== null && OWN_RESULT.has(route) && (!kind.check || green);
      // A check that takes green away, and every write of a writer whose writes nobody may drop (a
      // bypass or overdue issue entry, a merge group's check, a checkpoint): served oldest first,
      // ahead of the stream of newer checks and digests, so none of them can be starved.
      const urgent = (kind.check && !green) || stale === null;
      // The token is fetched (or found in Probot's cache) before the write queues, so the slot's
      // time is the send's time and not a token request's.
      return octokit.auth({ type: "installation" }).then(() =>
        scheduler.submit({
          installationId,
          ...kind,
          urgent,
          stale: mayDrop ? stale : () => false,
          send: async (leaving) => {
            const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
            if (!auth?.token) throw new Error("could not obtain an installation token for a write");
            const res = await clientFor(
              auth.token,
              octokit.request.endpoint.DEFAULTS.baseUrl,
              instrument,
            ).request(route, {
              ...params,
              request: { ...(params as { request?: object }).request, fetch: leavingFetch(leaving) },
            });
            return { data: res.data as unknown };
          },
        }),
      );
    },
  };
}

/**
 * The installation Octokit with every write paced by the scheduler and nothing dropped; everything
 * else (auth, graphql, reads, the endpoint defaults) is the Octokit's own.
 */
export function pacedOctokit<O extends InstallationOctokit>(
  scheduler: WriteScheduler,
  installationId: number,
  octokit: O,
  instrument?: (client: Octokit) => void,
): O {
  const writer = scheduledWriter(scheduler, installationId, octokit, null, instrument);
  const request = Object.assign(
    (route: string, params?: Record<string, unknown>) => writer.request(route, params ?? {}),
    { endpoint: octokit.request.endpoint },
  );
  return new Proxy(octokit, {
    get(target, prop, receiver) {
      if (prop === "request") return request;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The conclusion a check-run write sets (undefined: none, e.g. in progress). */
function checkConclusion(params: unknown): string | undefined {
  const p = params as { conclusion?: unknown } | undefined;
  return typeof p?.conclusion === "string" ? p.conclusion : undefined;
}
