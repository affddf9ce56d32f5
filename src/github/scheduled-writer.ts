/**
 * scheduled-writer: the Writer publish() is given when the write scheduler is on. The four writes of
 * a result (create/update the check run, create/update the digest) go through the WriteScheduler and
 * are sent by a plain @octokit/core client with the installation's token, outside Probot's
 * throttling (whose fixed spacing the scheduler replaces); every other request (reads, the bypass
 * issue) goes to Probot's Octokit unchanged.
 */
import { Octokit } from "@octokit/core";
import { fetchWithTimeout } from "./http.js";
import type { OctokitLike } from "./types.js";
import type { WriteScheduler } from "./write-scheduler.js";

const SCHEDULED: Record<string, { check: boolean; create: boolean }> = {
  "POST /repos/{owner}/{repo}/check-runs": { check: true, create: true },
  "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": { check: true, create: false },
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": { check: false, create: true },
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": { check: false, create: false },
};

/** Probot's installation Octokit, as far as this module needs it. */
export interface InstallationOctokit extends OctokitLike {
  auth(options: { type: "installation" }): Promise<unknown>;
  request: OctokitLike["request"] & { endpoint: { DEFAULTS: { baseUrl: string } } };
}

const clients = new Map<string, Octokit>();

/** A client per token (tokens are cached by Probot and change hourly); old ones are let go. */
function clientFor(token: string, baseUrl: string, instrument?: (client: Octokit) => void): Octokit {
  const key = `${baseUrl} ${token}`;
  let c = clients.get(key);
  if (!c) {
    if (clients.size >= 1000) clients.delete(clients.keys().next().value!);
    c = new Octokit({ auth: token, baseUrl, userAgent: "changegate", request: { fetch: fetchWithTimeout(30_000) } });
    instrument?.(c);
    clients.set(key, c);
  }
  return c;
}

export function scheduledWriter(
  scheduler: WriteScheduler,
  installationId: number,
  octokit: InstallationOctokit,
  /** True once a newer evaluation of this PR is waiting (its writes supersede these). */
  stale: () => boolean,
  /** Called once on each new write client (the metrics count its requests). */
  instrument?: (client: Octokit) => void,
): OctokitLike {
  return {
    request(route, params) {
      const kind = SCHEDULED[route];
      if (!kind) return octokit.request(route, params);
      // The token is fetched (or found in Probot's cache) before the write queues, so the slot's
      // time is the send's time and not a token request's.
      // Only a write that would make the check greener may be dropped for a newer evaluation: a check
      // that goes to failure or back in progress is always sent, so a stream of events (a label
      // toggled non-stop) can never hold an outdated green check in place.
      const mayDrop = !kind.check || checkConclusion(params) === "success";
      return octokit.auth({ type: "installation" }).then(() => scheduler.submit({
        installationId,
        ...kind,
        stale: mayDrop ? stale : () => false,
        send: async () => {
          const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
          if (!auth?.token) throw new Error("could not obtain an installation token for a write");
          const res = await clientFor(auth.token, octokit.request.endpoint.DEFAULTS.baseUrl, instrument).request(route, params);
          return { data: res.data as unknown };
        },
      }));
    },
  };
}

/** The conclusion a check-run write sets (undefined: none, e.g. in progress). */
function checkConclusion(params: unknown): string | undefined {
  const p = params as { conclusion?: unknown } | undefined;
  return typeof p?.conclusion === "string" ? p.conclusion : undefined;
}
