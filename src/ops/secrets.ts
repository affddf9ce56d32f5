/**
 * The process edge of redaction: which environment variables hold secrets, read from the
 * environment. Importing this module makes their values the default that src/report/redact.ts
 * replaces (main, the CLI and the app module import it); report/ itself never reads process.env.
 */
import { useSecretSource } from "../report/redact.js";

const SECRET_ENV = [
  "PRIVATE_KEY",
  "WEBHOOK_SECRET",
  "JIRA_API_TOKEN",
  "JIRA_PAT",
  "JIRA_WEBHOOK_SECRET",
  "GITHUB_CLIENT_SECRET",
  "DATABASE_URL",
  "REDIS_URL",
  "SENTRY_DSN",
  "WEBHOOK_PROXY_URL",
  "METRICS_TOKEN",
  "AUDIT_SIGNING_KEY",
  "DATABASE_OWNER_URL",
  "GITHUB_TOKEN",
];

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((k) => env[k])
    .filter((v): v is string => typeof v === "string" && v.length >= 6)
    .sort((a, b) => b.length - a.length);
}

// Read at each use, as before: a value set after start-up (Probot's .env) is still a secret.
useSecretSource(() => secretValues(process.env));
