/**
 * Settings changegate refuses to start without. Pure: takes the environment, returns what is wrong.
 */

/** Long enough that it cannot be guessed; GitHub accepts any string, so say it here. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/**
 * With APP_ID set (the app is registered), WEBHOOK_SECRET must be set and at least 16 characters:
 * without it Probot verifies signatures with the well-known secret "development", so anyone could
 * forge deliveries. Without APP_ID, Probot's setup flow runs (it registers the app and writes the
 * secret), so nothing is required yet. Never echoes the secret.
 */
export function webhookSecretProblem(env: Record<string, string | undefined>): string | null {
  if ((env.APP_ID ?? "").trim() === "") return null;
  const secret = env.WEBHOOK_SECRET ?? "";
  const fix =
    `set WEBHOOK_SECRET to the webhook secret configured in the GitHub App's settings, at least ${MIN_WEBHOOK_SECRET_LENGTH} characters ` +
    "(generate one with `openssl rand -hex 32` and enter it in the app's settings too)";
  if (secret.trim() === "") {
    return `WEBHOOK_SECRET is not set (APP_ID is): webhooks would be verified with Probot's public default secret and anyone could forge them; ${fix}. changegate is not starting.`;
  }
  if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
    return `WEBHOOK_SECRET is too short (${secret.length} characters; at least ${MIN_WEBHOOK_SECRET_LENGTH} are required): a short secret can be guessed and webhooks forged; ${fix}. changegate is not starting.`;
  }
  return null;
}
