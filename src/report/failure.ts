/**
 * The failure report: when changegate itself breaks, the check fails (never a silent pass) and the
 * digest says what failed, the error, and the stack trace, with secrets redacted and internal host
 * names and addresses hidden (the report is public on the PR; the operators' log keeps them).
 */
import { codeBlock, code, cut, md } from "./escape.js";
import { DIGEST_MARKER } from "../contract.js";
import { bound, clip } from "./digest.js";
import { redact } from "./redact.js";
import { MAX_TITLE, type Report } from "./types.js";

export type Stage = "store" | "gather" | "tickets" | "evaluate" | "render" | "record" | "publish";

const STAGE_TEXT: Record<Stage, string> = {
  store: "reaching its audit store (the database that records every verdict is unavailable)",
  gather: "reading the pull request from GitHub",
  tickets: "looking up Jira tickets",
  evaluate: "evaluating the policy",
  render: "writing the report",
  record: "writing the audit record (the audit store failed)",
  publish: "publishing the result",
};

export interface FailureInfo {
  stage: Stage;
  error: unknown;
  headSha: string | null;
  deliveryId: string;
}

export function renderFailure(f: FailureInfo, secrets?: string[]): Report {
  const err = f.error instanceof Error ? f.error : new Error(String(f.error));
  const message = hideHosts(redact(err.message || err.name || "unknown error", secrets));
  const stack = hideHosts(redact(describe(err), secrets));
  const lines = [
    "## 💥 changegate failed — this is changegate's fault, not yours",
    "",
    `changegate broke while **${STAGE_TEXT[f.stage]}**, so it could not judge this PR. The check is failing so nothing merges unjudged.`,
    "",
    `**Error:** ${md(message, 1000)}`,
    "",
    "<details><summary>Stack trace</summary>",
    "",
    codeBlock(cut(stack, 20000)),
    "",
    "</details>",
    "",
    "**To re-run:** press **Re-evaluate** on the `changegate` check (or push a commit). If it keeps failing, send this report to the changegate operators.",
    "",
    "---",
    `<sub>Head ${f.headSha ? code(f.headSha.slice(0, 12)) : "unknown"} · Delivery ${code(f.deliveryId, 60)}</sub>`,
  ];
  const summary = bound(lines.join("\n"));
  return {
    check: {
      status: "completed",
      conclusion: "failure",
      title: clip(`changegate error while ${STAGE_TEXT[f.stage]}: ${message}`, MAX_TITLE),
      summary,
    },
    comment: `${summary}\n\n${DIGEST_MARKER}`,
    createComment: true,
  };
}

/** The stack, with the chain of causes. */
function describe(err: Error): string {
  const parts: string[] = [err.stack ?? `${err.name}: ${err.message}`];
  let cause = (err as { cause?: unknown }).cause;
  for (let i = 0; cause && i < 5; i++) {
    parts.push(`Caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  return parts.join("\n");
}

const HOST = "<host>";

/** Public GitHub hosts (github.com, api.github.com, docs.github.com, …) say nothing about the deployment. */
function publicHost(host: string): boolean {
  return /^(?:[a-z0-9-]+\.)*github\.com\.?$/i.test(host);
}

/** `host:port` (or `[v6]:port`, `v6:port`) → `<host>:port`; a bare host → `<host>`. */
function hostPort(token: string): string {
  if (publicHost(token.replace(/:\d{1,5}$/, ""))) return token;
  const port = /:(\d{1,5})$/.exec(token);
  return port ? `${HOST}:${port[1]}` : HOST;
}

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const H16 = "[0-9a-fA-F]{1,4}";
/** File extensions: `name.js:10` is a stack position, not a host and port. */
const FILE_EXT = /\.(?:[cm]?[jt]sx?|json|node|ya?ml|md|sql|txt|log|map|html?|css|sh)\.?$/i;

const HOST_RULES: [RegExp, (m: string, ...g: string[]) => string][] = [
  // Node's network errors: `connect ECONNREFUSED 10.0.3.7:5432`, `getaddrinfo ENOTFOUND db.internal`.
  [
    /\b((?:connect|getaddrinfo|query[A-Za-z]*|lookup|read|write) (?:E[A-Z_]+|UND_ERR_[A-Z_]+) )([^\s,;()'"]+)/g,
    (_m, head, token) => `${head}${hostPort(token)}`,
  ],
  // URLs: scheme://[user@]host[:port] keeps its scheme, credentials marker, port and path.
  [
    /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]*@)?(\[[0-9a-fA-F:.%\w]+\]|[^\s/?#:"'<>[\]@]+)/gi,
    (m, scheme, user = "", host) => (publicHost(host) ? m : `${scheme}${user}${HOST}`),
  ],
  // Labelled hosts: `host: x`, `hostname=x`, `address: x` (undici's "attempted address"), TLS altnames.
  [
    /\b(host(?:name)?|servername|address(?:es)?|Host)(["']?\s*[:=]\s*["']?)(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)/gi,
    (m, label, sep, host) => (publicHost(host) || /^\d+$/.test(host) ? m : `${label}${sep}${HOST}`),
  ],
  [/\b(DNS:)(\*?[A-Za-z0-9.-]+)/g, (m, label, host) => (publicHost(host) ? m : `${label}${HOST}`)],
  // IPv4 addresses, not parts of longer dotted numbers (versions) or words.
  [new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d)`, "g"), () => HOST],
  // IPv6 addresses: eight groups, or a `::` with at least one group (not times like 12:30:45).
  [
    new RegExp(
      `(?<![\\w:.])(?:${H16}(?::${H16}){7}|(?:${H16}(?::${H16}){0,6})?::(?:${H16}(?::${H16}){0,6})?)(?:%[\\w.-]+)?(?![\\w:])`,
      "g",
    ),
    (m) => (m === "::" ? m : HOST),
  ],
  // A dotted host name with a port (`cache.internal:6379`), never a file position (`x.js:10:5`).
  [
    /(?<![\w/\\.@<-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\.?):(\d{1,5})(?![\w:.])/gi,
    (m, host, port) => (publicHost(host) || FILE_EXT.test(host) ? m : `${HOST}:${port}`),
  ],
];

/**
 * The text with internal host names and IP addresses replaced by `<host>`: in URLs, in Node's
 * network errors, after `host`/`address` labels, in TLS altnames, bare IPv4/IPv6 addresses, and
 * dotted names with a port. github.com and its subdomains stay (public, and useful to read).
 * File paths and line:column positions in stack frames are left as they are.
 */
export function hideHosts(text: string): string {
  let out = text;
  for (const [pattern, replace] of HOST_RULES)
    out = out.replace(pattern, replace as (m: string, ...rest: unknown[]) => string);
  return out;
}
