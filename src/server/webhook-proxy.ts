/**
 * Local development: smee.io relays GitHub's webhooks to localhost. Probot creates a channel on its
 * setup page (no APP_ID) and, with WEBHOOK_PROXY_URL set, starts a SmeeClient — both through
 * smee-client, a devDependency, which the production image does not have. We load it here and hand
 * it to Probot, so that a missing package is said once, with the command that fixes it.
 */
export interface SmeeClientClass {
  createChannel(options?: { fetch?: typeof fetch; newChannelUrl?: string }): Promise<string>;
  new (options: { source: string; target: string; logger?: unknown; fetch?: typeof fetch }): {
    start(): Promise<unknown>;
    stop(): Promise<void> | void;
  };
}

export const SMEE_MISSING =
  "smee-client is not installed (a devDependency, absent from the production image): run `npm install` in the checkout " +
  "for local development, or run the relay yourself: npx smee-client@5 --url $WEBHOOK_PROXY_URL --target http://localhost:3000/api/github/webhooks";

/** smee-client's SmeeClient, or null (with why) when it cannot be loaded. */
export async function loadSmeeClient(
  importer: (name: string) => Promise<unknown> = (n) => import(n),
): Promise<{ SmeeClient: SmeeClientClass | null; problem: string | null }> {
  try {
    const mod = (await importer("smee-client")) as { SmeeClient?: SmeeClientClass };
    if (typeof mod.SmeeClient?.createChannel !== "function")
      return { SmeeClient: null, problem: SMEE_MISSING };
    return { SmeeClient: mod.SmeeClient, problem: null };
  } catch {
    return { SmeeClient: null, problem: SMEE_MISSING };
  }
}

/** Whether Probot will want a relay: the setup page (no APP_ID) or a WEBHOOK_PROXY_URL. */
export function wantsWebhookProxy(appId: number | null, proxyUrl: string | null): boolean {
  return !appId || Boolean(proxyUrl);
}
