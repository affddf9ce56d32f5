/**
 * The failure report: when changegate itself breaks, the check fails (never a silent pass) and the
 * digest says what failed, the error, and the stack trace, with secrets redacted.
 */
import { codeBlock, code, cut, md } from "./escape.js";
import { DIGEST_MARKER } from "../contract.js";
import { bound, clip } from "./digest.js";
import { redact } from "./redact.js";
import { MAX_TITLE, type Report } from "./types.js";

export type Stage = "gather" | "tickets" | "evaluate" | "render" | "record" | "publish";

const STAGE_TEXT: Record<Stage, string> = {
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
  const message = redact(err.message || err.name || "unknown error", secrets);
  const stack = redact(describe(err), secrets);
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
    check: { status: "completed", conclusion: "failure", title: clip(`changegate error while ${STAGE_TEXT[f.stage]}: ${message}`, MAX_TITLE), summary },
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
