/**
 * What a merged PR's digest, its `changegate/retro-review` check and the audit issue say after the
 * merge: the retroactive review of an emergency change (due, done, overdue) and the tickets moved
 * to tickets.transition_on_merge. Each is a marked section of the digest, replaced in place, so
 * later news (a review two days on) edits the same lines. Pure; user text through escape.ts.
 */
import type { TicketTransitionResult } from "../policy/transition.js";
import { describeDuration } from "../policy/retro-review.js";
import { code, link, md } from "./escape.js";
import { MAX_BODY, type CheckOutput } from "./types.js";

export const RETRO_CHECK_NAME = "changegate/retro-review";

export type RetroState =
  | { kind: "due"; dueAt: string; withinHours: number }
  | {
      kind: "reviewed";
      by: string;
      at: string;
      via: "review" | "comment";
      url: string;
      lateMs: number;
      dueAt: string;
    }
  | { kind: "overdue"; dueAt: string; lateMs: number };

/** A time as "2026-11-22 10:00 UTC", rebuilt from the parsed instant (never the raw text). */
function when(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime())
    ? "an unknown time"
    : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function retroSection(s: RetroState): string {
  switch (s.kind) {
    case "due":
      return (
        `### 🚨 Retroactive review due by ${when(s.dueAt)}\n` +
        `This emergency change merged with relaxed rules: someone with write access who neither wrote, merged nor contributed to it ` +
        `must review it within ${s.withinHours} hours of the merge, with an approving review or a comment reading \`/changegate approve\`.`
      );
    case "reviewed": {
      const late = s.lateMs > 0 ? ` (${describeDuration(s.lateMs)} after it was due, ${when(s.dueAt)})` : "";
      const how = s.via === "review" ? "approving review" : "`/changegate approve` comment";
      return `### ✅ Retroactively reviewed by ${code(s.by, 100)} at ${when(s.at)}${late}\nBy an ${link(how, s.url)}; on the audit record.`;
    }
    case "overdue":
      return `### ❌ Retroactive review overdue\nIt was due by ${when(s.dueAt)} and is ${describeDuration(s.lateMs)} late. This change is reported as non-compliant.`;
  }
}

export function retroCheck(s: RetroState): CheckOutput {
  switch (s.kind) {
    case "due":
      return {
        status: "in_progress",
        conclusion: null,
        title: `Retroactive review due by ${when(s.dueAt)}`,
        summary: retroSection(s),
      };
    case "reviewed":
      return {
        status: "completed",
        conclusion: "success",
        title: `Retroactively reviewed by ${s.by.slice(0, 100)}${s.lateMs > 0 ? " (late)" : ""}`,
        summary: retroSection(s),
      };
    case "overdue":
      return {
        status: "completed",
        conclusion: "failure",
        title: `Retroactive review overdue by ${describeDuration(s.lateMs)}`,
        summary: retroSection(s),
      };
  }
}

export function transitionSection(target: string, results: TicketTransitionResult[]): string {
  const lines = [`### Tickets moved to ${code(target, 100)} on merge`];
  for (const r of results.slice(0, 50)) {
    if (r.result === "moved")
      lines.push(
        `- ✅ ${code(r.key, 40)} → ${md(r.status ?? target, 100)} (transition ${md(r.transition ?? "", 100)})`,
      );
    else if (r.result === "already")
      lines.push(`- ✅ ${code(r.key, 40)} was already ${md(r.status ?? target, 100)}`);
    else lines.push(`- ❌ ${code(r.key, 40)} could not be moved: ${md(r.message ?? "unknown error", 400)}`);
  }
  if (results.length > 50) lines.push(`- … and ${results.length - 50} more (on the audit record)`);
  if (results.some((r) => r.result === "failed"))
    lines.push("", "Move the tickets that failed by hand; the merge itself is recorded as it was.");
  return lines.join("\n");
}

/** `body` with the section `name` replaced by `section` (appended when missing). */
export function withSection(
  body: string,
  name: "retro-review" | "ticket-transitions",
  section: string,
): string {
  const start = `<!-- changegate:${name} -->`;
  const end = `<!-- /changegate:${name} -->`;
  const block = `${start}\n${section}\n${end}`;
  const i = body.indexOf(start);
  const j = i >= 0 ? body.indexOf(end, i) : -1;
  const next =
    i >= 0 && j >= 0 ? `${body.slice(0, i)}${block}${body.slice(j + end.length)}` : `${body}\n\n${block}`;
  // Never past GitHub's limit: the section is short, so cut the older text above it.
  return next.length <= MAX_BODY
    ? next
    : `${next.slice(0, MAX_BODY - block.length - 40)}\n\n…(cut)\n\n${block}`;
}
