/**
 * `changegate rehearse`'s output, pure: one row per PR merged in the window (judged as of its merge
 * against a proposed policy) as a terminal table, and the JSON document. Every piece of text from
 * GitHub or the policy goes through terminalLine (no control characters reach the terminal).
 */
import type { RuleResult, Verdict } from "../policy/types.js";
import { terminalLine } from "./terminal.js";

export type RehearsedOutcome = "allowed" | "blocked" | "not gated" | "error";

export interface RehearsalRow {
  pr: string;
  url: string;
  mergedAt: string | null;
  mergedBy: string | null;
  /** The merge's recorded outcome today (the audit store), null when not on record or no store was read. */
  recorded: string | null;
  rehearsed: RehearsedOutcome;
  /** The rehearsed verdict's conclusion (success, failure, pending), null on error. */
  conclusion: string | null;
  /** The first unmet rule ("approvals: 1 of 2 approvals"), or why there is no verdict; null when allowed. */
  reason: string | null;
}

export interface Rehearsal {
  kind: "changegate-rehearsal";
  repo: string;
  from: string;
  to: string;
  policy: { file: string; source: string };
  /** The org's `enforce:` floors that changed the proposed policy (key and why). */
  floors: { location: string; changed: { key: string; message: string }[] } | null;
  merges: number;
  blocked: number;
  errors: number;
  rows: RehearsalRow[];
  notes: string[];
}

/** The first rule not met (failing, then pending), as one line. */
export function firstUnmet(verdict: Verdict): string {
  const unmet =
    verdict.rules.find((r) => r.status === "fail") ?? verdict.rules.find((r) => r.status === "pending");
  return unmet ? `${ruleName(unmet)}: ${unmet.summary}` : verdict.title;
}

function ruleName(r: RuleResult): string {
  return r.rule;
}

/** Would this verdict have blocked the merge? Gated and not green (failing, or still waiting for CI). */
export function rehearsedOutcome(verdict: Verdict | null): RehearsedOutcome {
  if (verdict === null) return "blocked";
  if (!verdict.gated) return "not gated";
  return verdict.conclusion === "success" ? "allowed" : "blocked";
}

const HEAD = ["PR", "merged at", "merged by", "recorded", "rehearsed", "first unmet rule"];

export function renderRehearsal(r: Rehearsal): string {
  const out: string[] = [];
  out.push(
    `Rehearsal of ${terminalLine(r.policy.file)} on ${terminalLine(r.repo)}, merges ${r.from} .. ${r.to}`,
  );
  out.push(`Policy: ${terminalLine(r.policy.source)}`);
  if (r.floors && r.floors.changed.length > 0) {
    out.push(`Org floors from ${terminalLine(r.floors.location)} changed the rehearsed policy:`);
    for (const c of r.floors.changed) out.push(`  ${terminalLine(c.key)}: ${terminalLine(c.message)}`);
  } else if (r.floors) {
    out.push(
      `Org floors from ${terminalLine(r.floors.location)} apply; they did not change the proposed policy.`,
    );
  }
  out.push("");
  const cells = r.rows.map((row) => [
    terminalLine(row.pr),
    row.mergedAt ?? "?",
    terminalLine(row.mergedBy ?? "unknown"),
    terminalLine(row.recorded ?? "-"),
    row.rehearsed.toUpperCase(),
    terminalLine(clip(row.reason ?? "", 120)),
  ]);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  if (cells.length > 0) {
    out.push(line(HEAD));
    out.push(line(widths.map((w) => "-".repeat(w))));
    for (const c of cells) out.push(line(c));
    out.push("");
  }
  const errors = r.errors > 0 ? `, ${r.errors} could not be judged` : "";
  out.push(`${r.merges} merge${r.merges === 1 ? "" : "s"}, ${r.blocked} would have been blocked${errors}`);
  return `${out.join("\n")}\n`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
