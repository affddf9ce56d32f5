/**
 * The GitHub App's webhook delivery log (app JWT): `GET /app/hook/deliveries` (one entry per
 * attempt, newest first, cursor-paged through the `Link` header, per_page <= 100; GitHub keeps
 * three days) and `POST /app/hook/deliveries/{id}/attempts` (redeliver: 202, the same guid and
 * body sent again). Entries are parsed with zod at this edge; an entry of another shape is
 * dropped (never redelivered on a guess), an answer that is not a list is an error.
 */
import { z } from "zod";

/** One attempt at delivering one event (GitHub's "simple webhook delivery"). */
export interface DeliveryAttempt {
  /** The attempt's id (what a redelivery is asked for). */
  id: number;
  /** X-GitHub-Delivery: shared by every attempt of one event (the delivery ledger's key). */
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  /** 0 when GitHub got no HTTP answer (connection refused, timeout). */
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
}

const attemptSchema = z.object({
  id: z.number().int(),
  guid: z.string().min(1).max(100),
  delivered_at: z.string().refine((s) => Number.isFinite(Date.parse(s)), "not a date"),
  redelivery: z.boolean(),
  status_code: z.number().int(),
  event: z.string().max(100),
  action: z.string().max(100).nullable().optional(),
  installation_id: z.number().int().nullable().optional(),
  repository_id: z.number().int().nullable().optional(),
});

/** The app-authenticated Octokit (app.auth() without an id): `request` with the answer's headers. */
export interface AppOctokit {
  request(
    route: string,
    params: Record<string, unknown>,
  ): Promise<{ status?: number; data: unknown; headers?: Record<string, unknown> }>;
}

export const DELIVERIES_PER_PAGE = 100;

export interface DeliveryListing {
  /** The attempts delivered at or after `since`, newest first. */
  attempts: DeliveryAttempt[];
  /** false when `maxPages` ran out before the list reached `since` (older attempts were not read). */
  complete: boolean;
  /** Entries of another shape, dropped. */
  malformed: number;
  pages: number;
}

/** The `cursor` of the `rel="next"` link, or null on the last page. */
export function nextCursor(link: unknown): string | null {
  return nextPageParam(link, "cursor");
}

/** A query parameter (`cursor`, `after`, …) of a `Link` header's `rel="next"` URL, or null on the last page. */
export function nextPageParam(link: unknown, param: string): string | null {
  if (typeof link !== "string" || link.length > 10_000) return null;
  for (const part of link.split(",")) {
    const m = /<([^>]*)>\s*;\s*rel="next"/.exec(part);
    if (!m) continue;
    try {
      return new URL(m[1]!, "http://x").searchParams.get(param);
    } catch {
      return null;
    }
  }
  return null;
}

/** The app's delivery attempts back to `since` (inclusive), at most `maxPages` pages of 100. */
export async function listDeliveriesSince(
  octokit: AppOctokit,
  since: Date,
  maxPages: number,
): Promise<DeliveryListing> {
  const attempts: DeliveryAttempt[] = [];
  let malformed = 0;
  let cursor: string | null = null;
  const sinceMs = since.getTime();
  for (let page = 1; page <= maxPages; page++) {
    const res = await octokit.request("GET /app/hook/deliveries", {
      per_page: DELIVERIES_PER_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    if (!Array.isArray(res.data)) throw new Error("GET /app/hook/deliveries did not answer a list");
    let reachedSince = false;
    for (const raw of res.data) {
      const p = attemptSchema.safeParse(raw);
      if (!p.success) {
        malformed++;
        continue;
      }
      const d = p.data;
      if (Date.parse(d.delivered_at) < sinceMs) {
        reachedSince = true;
        continue;
      }
      attempts.push({
        id: d.id,
        guid: d.guid,
        deliveredAt: new Date(Date.parse(d.delivered_at)).toISOString(),
        redelivery: d.redelivery,
        statusCode: d.status_code,
        event: d.event,
        action: d.action ?? null,
        installationId: d.installation_id ?? null,
        repositoryId: d.repository_id ?? null,
      });
    }
    cursor = nextCursor(res.headers?.link);
    if (reachedSince || !cursor || res.data.length === 0)
      return { attempts, complete: true, malformed, pages: page };
  }
  return { attempts, complete: false, malformed, pages: maxPages };
}

/** Ask GitHub to deliver attempt `id` again (202). GitHub's refusal is thrown (Octokit's RequestError). */
export async function redeliverAttempt(octokit: AppOctokit, id: number): Promise<void> {
  await octokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: id });
}

/**
 * The app's delivery log as the redelivery needs it, through one app-authenticated Octokit (its auth
 * signs a fresh JWT when one expires), built on first use and rebuilt after a failure.
 */
export function appDeliveryLog(
  appAuth: () => Promise<unknown>,
  instrument: (octokit: unknown) => void,
): {
  list(since: Date, maxPages: number): Promise<DeliveryListing>;
  redeliver(attemptId: number): Promise<void>;
} {
  let client: Promise<AppOctokit> | null = null;
  const jwt = (): Promise<AppOctokit> => {
    client ??= appAuth().then((octokit) => {
      instrument(octokit);
      return octokit as AppOctokit;
    });
    client.catch(() => (client = null));
    return client;
  };
  return {
    list: async (since, maxPages) => listDeliveriesSince(await jwt(), since, maxPages),
    redeliver: async (id) => redeliverAttempt(await jwt(), id),
  };
}
