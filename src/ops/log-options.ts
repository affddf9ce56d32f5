/**
 * The process log's settings: JSON lines in production (NODE_ENV=production or LOG_FORMAT=json),
 * pretty in development; pino's redact paths remove secret-bearing fields by name before a line is
 * written (main.ts also scrubs known secret values and token shapes from every line, see
 * report/redact.ts).
 */
export const REDACT_PATHS = [
  "password",
  "token",
  "secret",
  "privateKey",
  "authorization",
  "headers.authorization",
  "headers.cookie",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  "request.headers.authorization",
  "*.password",
  "*.token",
  "*.secret",
  "*.privateKey",
  "*.authorization",
  "*.headers.authorization",
  "err.request.headers.authorization",
  "err.response.headers.authorization",
];

export const REDACT_CENSOR = "[REDACTED]";

export function logFormat(env: NodeJS.ProcessEnv): "json" | "pretty" {
  if (env.LOG_FORMAT === "json" || env.LOG_FORMAT === "pretty") return env.LOG_FORMAT;
  return env.NODE_ENV === "production" ? "json" : "pretty";
}
