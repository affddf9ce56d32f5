/**
 * The digest's section for one approvals.rules entry: the files that triggered it (capped), who may
 * approve, who did (and through which team), and what is missing. Pure; user text through escape.ts.
 */
import type { ReviewRuleResult } from "../policy/types.js";
import { code, md } from "./escape.js";

const SHOWN_FILES = 20;

export function reviewRuleSection(r: ReviewRuleResult): string[] {
  const icon = r.status === "pass" ? "✅" : r.status === "fail" ? "❌" : "➖";
  const out = [`### Rule ${md(r.name, 100)} ${icon}`, ""];
  if (!r.triggered) return [...out, "Not triggered: no changed file matches its paths.", ""];
  if (r.status === "skipped") out.push(`${md(r.summary, 400)}`, "");
  if (r.fileCount > 0) {
    const shown = r.files.slice(0, SHOWN_FILES);
    const more = r.fileCount - shown.length;
    out.push(
      `Triggered by ${r.fileCount} file${r.fileCount === 1 ? "" : "s"}: ${shown.map((f) => code(f, 200)).join(", ")}${more > 0 ? `, and ${more} more` : ""}`,
    );
  }
  const who =
    r.mayApprove.length > 0 ? r.mayApprove.map((w) => md(w, 120)).join(", ") : "any eligible reviewer";
  out.push(`May approve: ${who} (${r.required} required)`);
  if (r.approvedBy.length === 0) out.push("Approved by: nobody yet");
  else
    out.push(
      `Approved by: ${r.approvedBy.map((a) => md(a.login, 60) + (a.teams.length > 0 ? ` (${a.teams.map((t) => md(`@${t}`, 120)).join(", ")})` : "")).join(", ")}`,
    );
  out.push("");
  for (const m of r.missing) out.push(`- ❌ ${md(m, 500)}`);
  if (r.missing.length > 0) out.push("");
  return out;
}
