/**
 * Secrets never reach a comment, a check run or a log line: known secret values from the
 * environment are replaced, and so is anything shaped like a token or a private key.
 */
const SECRET_ENV = ["PRIVATE_KEY", "WEBHOOK_SECRET", "JIRA_API_TOKEN", "JIRA_PAT", "JIRA_WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET", "DATABASE_URL", "REDIS_URL"];

const PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\bgh[pousr]_[A-Za-z0-9_]{20,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\bv1\.[0-9a-f]{40}\b/g, // legacy installation tokens
  /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi, // Authorization header values
  /(\/\/)[^/\s:@]+:[^/\s]+@/g, // credentials in URLs (postgres://user:pass@host), up to the last @ (a raw @ in the password)
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWTs
];

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((k) => env[k])
    .filter((v): v is string => typeof v === "string" && v.length >= 6)
    .sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: string[] = secretValues()): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("[REDACTED]");
  for (const p of PATTERNS) {
    out = out.replace(p, (m, g1: string | undefined) => (g1 === "//" ? "//[REDACTED]@" : "[REDACTED]"));
  }
  return out;
}
