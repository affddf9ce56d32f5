/**
 * The process log's redaction (its format, level and key are settings: src/settings.ts): pino's redact paths remove secret-bearing fields by name before a line is
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
