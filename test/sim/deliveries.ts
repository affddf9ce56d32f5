/**
 * The GitHub App's webhook delivery log, as GitHub keeps it (REST "webhooks for a GitHub App"):
 * every webhook the simulator sends to an app is logged per attempt (id, guid = X-GitHub-Delivery,
 * delivered_at, redelivery, duration, status, status_code, event, action, installation_id,
 * repository_id). A delivery to an app that does not answer (connection refused, 10 s timeout) is
 * logged as GitHub's documented example shows it: status "failed to connect to host", status_code
 * 502. Listing is newest first, `per_page` <= 100, cursor pagination through the `Link` header;
 * a redelivery re-sends the same guid and body and logs a new attempt with `redelivery: true`.
 * Routes (app JWT only) are in server.ts.
 */
import type { SimWebhook } from "./model.js";

export interface SimDeliveryAttempt {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: null;
  /** Not in GitHub's list answer: whose log it is, and the exact body sent (a redelivery sends it again). */
  appId: number;
  body: string;
}

/** Sends one delivery to the app's webhook URL; `status` 0 when there was no HTTP answer. */
export type HookSender = (event: string, body: string, guid: string) => Promise<{ status: number }>;

/** GitHub's list entry (without the simulator's own fields). */
export function deliveryItemJson(a: SimDeliveryAttempt): Record<string, unknown> {
  const { appId: _a, body: _b, ...item } = a;
  return item;
}

/** GitHub's single delivery (`GET /app/hook/deliveries/{id}`): the item plus request and response. */
export function deliveryJson(a: SimDeliveryAttempt): Record<string, unknown> {
  return {
    ...deliveryItemJson(a),
    url: "",
    request: {
      headers: { "X-GitHub-Delivery": a.guid, "X-GitHub-Event": a.event, "Content-Type": "application/json" },
      payload: JSON.parse(a.body) as Record<string, unknown>,
    },
    response: { headers: {}, payload: null },
  };
}

const statusText = (code: number) =>
  code >= 200 && code <= 299
    ? "OK"
    : code === 502
      ? "failed to connect to host"
      : `Invalid HTTP Response: ${code}`;

export class DeliveryLog {
  /** Every attempt, oldest first. */
  readonly attempts: SimDeliveryAttempt[] = [];
  private seq = 1000;
  private readonly senders = new Map<number, HookSender>();
  private readonly inFlight = new Set<Promise<unknown>>();

  /** Where an app's webhooks go (its webhook URL). */
  setSender(appId: number, send: HookSender): void {
    this.senders.set(appId, send);
  }

  /** Send a webhook the model produced to its app and log the attempt. */
  send(hook: SimWebhook): Promise<SimDeliveryAttempt> {
    const payload = hook.payload as { repository?: { id?: unknown } };
    return this.attempt({
      appId: hook.appId,
      guid: hook.id,
      event: hook.name,
      action: hook.action,
      installationId: hook.installationId,
      repositoryId: typeof payload.repository?.id === "number" ? payload.repository.id : null,
      body: JSON.stringify(hook.payload),
      redelivery: false,
    });
  }

  /** `POST /app/hook/deliveries/{id}/attempts`: the same guid and body again (null: no such attempt of this app). */
  redeliver(appId: number, id: number): Promise<SimDeliveryAttempt> | null {
    const a = this.get(appId, id);
    if (!a) return null;
    return this.attempt({
      appId,
      guid: a.guid,
      event: a.event,
      action: a.action,
      installationId: a.installation_id,
      repositoryId: a.repository_id,
      body: a.body,
      redelivery: true,
    });
  }

  get(appId: number, id: number): SimDeliveryAttempt | undefined {
    return this.attempts.find((a) => a.id === id && a.appId === appId);
  }

  /** An app's attempts, newest first. */
  list(appId: number): SimDeliveryAttempt[] {
    return this.attempts.filter((a) => a.appId === appId).reverse();
  }

  /** Resolves when every attempt under way has been answered (and logged). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private attempt(o: {
    appId: number;
    guid: string;
    event: string;
    action: string | null;
    installationId: number | null;
    repositoryId: number | null;
    body: string;
    redelivery: boolean;
  }): Promise<SimDeliveryAttempt> {
    const send = this.senders.get(o.appId);
    const started = Date.now();
    const run = (async () => {
      let code = 502;
      if (send) {
        const r = await send(o.event, o.body, o.guid).catch(() => ({ status: 0 }));
        code = r.status > 0 ? r.status : 502;
      }
      const a: SimDeliveryAttempt = {
        id: ++this.seq,
        guid: o.guid,
        delivered_at: new Date(started).toISOString().replace(/\.\d{3}Z$/, "Z"),
        redelivery: o.redelivery,
        duration: (Date.now() - started) / 1000,
        status: statusText(code),
        status_code: code,
        event: o.event,
        action: o.action,
        installation_id: o.installationId,
        repository_id: o.repositoryId,
        throttled_at: null,
        appId: o.appId,
        body: o.body,
      };
      this.attempts.push(a);
      return a;
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }
}
