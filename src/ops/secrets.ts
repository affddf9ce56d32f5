/**
 * The process edge of redaction: which environment variables hold secrets, read from the
 * environment. Importing this module makes their values the default that src/report/redact.ts
 * replaces (main, the CLI and the app module import it); report/ itself never reads process.env.
 */
import { useSecretSource } from "../report/redact.js";
import { SECRET_SETTINGS } from "../settings.js";

/** The settings that are secrets (src/settings.ts), and the setup page's client secret (Probot's). */
const SECRET_ENV: readonly string[] = [...SECRET_SETTINGS, "GITHUB_CLIENT_SECRET"];

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((k) => env[k])
    .filter((v): v is string => typeof v === "string" && v.length >= 6)
    .sort((a, b) => b.length - a.length);
}

// Read at each use, as before: a value set after start-up (Probot's .env) is still a secret.
useSecretSource(() => secretValues(process.env));
