/**
 * render: verdict + evidence → the digest comment and the check-run output. Pure; every piece of
 * user-controlled text goes through escape.ts.
 */
import { DIGEST_MARKER } from "../contract.js";
import type { ConfigProblem } from "../config/load.js";
import type {
  ApprovalsResult,
  CiLine,
  CiResult,
  EmergencyDeclaration,
  Evidence,
  Policy,
  RequiredCheck,
  RuleResult,
  RuleStatus,
  TicketsResult,
  Verdict,
} from "../policy/types.js";
import { code, link, md } from "./escape.js";
import { floorLines } from "./floors.js";
import { reviewRuleSection } from "./rules.js";
import { MAX_BODY, MAX_TITLE, type CheckOutput, type Report } from "./types.js";

const MAX_SHIPPED_COMMITS = 100;
const MAX_UNATTRIBUTED = 20;

const ICON: Record<RuleStatus, string> = { pass: "✅", fail: "❌", pending: "⏳", skipped: "➖" };
const RULE_NAME: Record<RuleResult["rule"], string> = {
  approvals: "Approvals",
  ci: "CI",
  tickets: "Tickets",
  reviewers: "Reviewers",
};

/** The base branch's enforcement as last observed (flows/enforcement.ts): the digest says when it is not in force. */
export interface BaseEnforcement {
  state: "enforced" | "not_enforced";
  missing: { text: string }[];
}

export function renderVerdict(
  verdict: Verdict,
  evidence: Evidence,
  policy: Policy,
  base?: BaseEnforcement | null,
): Report {
  const lines: string[] = [];
  lines.push(headline(verdict));
  lines.push("");
  if (verdict.gated && base && base.state !== "enforced")
    lines.push(enforcementLine(evidence.pr.baseRef, base), "");
  if (verdict.draft)
    lines.push(
      "> [!NOTE]\n> This PR is a **draft**. changegate evaluates it anyway, so you know where it stands.\n",
    );
  if (verdict.emergency && verdict.conclusion !== "failure") {
    lines.push(
      "> [!CAUTION]\n> **EMERGENCY CHANGE.** This PR carries the emergency label, so the normal rules are relaxed. " +
        "The merge is recorded as an emergency change and **a retroactive review will be required** after it ships." +
        ` **Retroactive review due within ${policy.config.emergency.review_within_hours} hours of the merge**: an approving review, or a comment reading \`/changegate approve\`, by someone with write access who did not write, merge or contribute to it.` +
        (verdict.declaration ? `\n> ${declaredLine(verdict.declaration)}` : "") +
        "\n",
    );
  } else if (verdict.emergency && verdict.declaration) {
    lines.push(`> [!NOTE]\n> The emergency rules apply: ${declaredLine(verdict.declaration)}\n`);
  }
  if (verdict.declaration && !verdict.declaration.accepted) {
    const at = verdict.declaration.at ? ` (label applied at ${when_(verdict.declaration.at)})` : "";
    lines.push(`> [!WARNING]\n> **Emergency label ignored:** ${md(verdict.declaration.reason, 600)}${at}.\n`);
  }
  if (!verdict.gated) {
    lines.push(
      `The base branch ${code(evidence.pr.baseRef)} is not gated by the policy, so changegate does not block this PR.`,
    );
  } else {
    lines.push("| Rule | Status | Details |", "| --- | --- | --- |");
    for (const r of verdict.rules)
      lines.push(`| ${RULE_NAME[r.rule]} | ${ICON[r.status]} ${r.status} | ${md(r.summary, 400)} |`);
    lines.push("");
    for (const r of verdict.rules) lines.push(...ruleSection(r, evidence));
    const todo = verdict.rules.flatMap((r) => r.todo);
    if (todo.length > 0) {
      lines.push("### What to do", "");
      todo.forEach((t, i) => lines.push(`${i + 1}. ${md(t, 500)}`));
      lines.push("");
    }
    if (verdict.conclusion === "success") lines.push(...shipped(evidence));
  }
  lines.push(...floorLines(policy));
  lines.push(
    ...footer(
      evidence,
      policy.source.kind === "defaults"
        ? "built-in defaults (no `.github/changegate.yml` in this repository or the owner's `.github` repository): 1 approval, all CI green"
        : `${md(policy.source.location)} (default branch)`,
    ),
  );
  const summary = bound(lines.join("\n"));
  return {
    check: checkFor(verdict, summary),
    comment: `${summary}\n\n${DIGEST_MARKER}`,
    createComment: verdict.gated,
  };
}

/** One line: the base branch does not require the check, and what to change (the check's conclusion is unchanged). */
export function enforcementLine(branch: string, base: BaseEnforcement): string {
  const what = base.missing.map((m) => md(m.text, 300)).join("; ");
  return `> [!WARNING]\n> ${code(branch)} does not require the \`changegate\` check: merging is not blocked. To change: ${what || "require the `changegate` check, pinned to the changegate app"}.`;
}

export function renderConfigProblem(p: ConfigProblem, evidence: Evidence): Report {
  const lines = [
    "## ❌ changegate: the policy file is invalid",
    "",
    `changegate cannot judge this PR because the policy ${code(p.file, 300)} is invalid. Fix it on the default branch; this PR will be re-evaluated on its next event (or press **Re-evaluate** on the check).`,
    "",
    "| Key | Problem |",
    "| --- | --- |",
    ...p.issues.map((i) => `| ${i.path ? code(i.path) : "(whole file)"} | ${md(i.message, 500)} |`),
    "",
    ...footer(evidence, md(p.file)),
  ];
  const summary = bound(lines.join("\n"));
  const first = p.issues[0];
  const title = `Invalid policy ${p.file}: ${first ? `${first.path || "file"}: ${first.message}` : "invalid"}`;
  return {
    check: { status: "completed", conclusion: "failure", title: clip(title, MAX_TITLE), summary },
    comment: `${summary}\n\n${DIGEST_MARKER}`,
    createComment: true,
  };
}

function headline(v: Verdict): string {
  const draft = v.draft ? " (draft)" : "";
  if (!v.gated) return `## ✅ changegate: not gated${draft}`;
  if (v.emergency && v.conclusion === "success")
    return `## 🚨 changegate: EMERGENCY CHANGE — allowed, retroactive review required${draft}`;
  if (v.conclusion === "success") return `## ✅ changegate: compliant — ready to merge${draft}`;
  if (v.conclusion === "pending") return `## ⏳ changegate: waiting for CI${draft}`;
  return `## ❌ changegate: not compliant${draft}`;
}

function ruleSection(r: RuleResult, e: Evidence): string[] {
  switch (r.rule) {
    case "approvals":
      return approvalsSection(r, e);
    case "ci":
      return ciSection(r);
    case "tickets":
      return ticketsSection(r);
    case "reviewers":
      return reviewRuleSection(r);
  }
}

/** "Declared by @x, who has write access. The label was applied at 2026-11-20 10:00 UTC." (logins escaped: no ping) */
function declaredLine(d: EmergencyDeclaration): string {
  const reason = md(d.reason, 400);
  const when = d.at ? ` The label was applied at ${when_(d.at)}.` : "";
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.${when}`;
}

function unattributedLines(r: ApprovalsResult): string[] {
  const list = r.unattributed ?? [];
  if (list.length === 0) return [];
  const shown = list.slice(0, MAX_UNATTRIBUTED);
  const blocking = r.unattributedBlock === true;
  const out = [
    `${blocking ? "❌" : "⚠️"} ${list.length} commit${list.length === 1 ? " is" : "s are"} not tied to a GitHub account, so changegate cannot tell whether a reviewer wrote ${list.length === 1 ? "it" : "them"}` +
      (blocking ? " (approvals.block_unattributed_commits):" : ":"),
    "",
  ];
  for (const u of shown)
    out.push(
      `- ${code(u.oid.slice(0, 7))} ${md(u.headline, 120)} — ${u.who.map((w) => md(w, 120)).join("; ")}`,
    );
  if (shown.length < list.length) out.push(`- … and ${list.length - shown.length} more`);
  out.push("");
  return out;
}

/** Merge commits count as their people's contributions: say whose, so a reviewer left out knows why. */
function mergeLines(r: ApprovalsResult): string[] {
  const list = r.mergeContributions ?? [];
  if (list.length === 0) return [];
  const shown = list.slice(0, MAX_UNATTRIBUTED);
  const out: string[] = [];
  for (const m of shown) {
    const who = m.logins.map((l) => md(l, 60)).join(", ");
    out.push(
      `- Merge commit ${code(m.oid.slice(0, 7))} by ${who} counts as ${m.logins.length === 1 ? `${who}'s contribution` : "their contribution"}.`,
    );
  }
  if (shown.length < list.length) out.push(`- … and ${list.length - shown.length} more merge commits`);
  out.push(
    "",
    "<sub>changegate does not check what a merge commit changes, so whoever authored or committed one cannot approve this PR.</sub>",
    "",
  );
  return out;
}

function approvalsSection(r: ApprovalsResult, e: Evidence): string[] {
  const out = [`### Approvals: ${r.counted} of ${r.required} required`, ""];
  out.push(...unattributedLines(r));
  out.push(...mergeLines(r));
  if (r.reviewers.length === 0) {
    out.push("No reviews yet.", "");
    return out;
  }
  for (const rev of r.reviewers) {
    const on = rev.commitOid
      ? ` on ${code(rev.commitOid.slice(0, 7))}${rev.commitOid === e.pr.headSha ? " (head)" : ""}`
      : "";
    const when = rev.submittedAt ? ` at ${when_(rev.submittedAt)}` : "";
    const verb = rev.state === "APPROVED" ? "approved" : "requested changes";
    const why = rev.counted ? "counted" : `not counted: ${md(rev.reason)}`;
    out.push(
      `- ${rev.counted ? "✅" : rev.state === "CHANGES_REQUESTED" ? "❌" : "➖"} ${md(rev.login, 60)} ${verb}${on}${when} — ${why}`,
    );
  }
  out.push("");
  return out;
}

function ciSection(r: CiResult): string[] {
  const out = [`### CI: ${md(r.summary, 400)}`, ""];
  if (r.checks.length === 0) return [...out, "No check runs or commit statuses on the head commit.", ""];
  out.push("| Check | State | Required | Reported by |", "| --- | --- | --- | --- |");
  for (const c of r.checks) {
    const icon = c.state === "success" ? "✅" : c.state === "failure" ? "❌" : "⏳";
    out.push(
      `| ${link(md(c.name, 120), c.url)} | ${icon} ${md(c.raw, 40)} | ${requiredCell(c)} | ${c.state === "missing" ? "" : reportedBy(c)} |`,
    );
  }
  out.push("");
  const notes = r.checks.flatMap((c) => c.notCountedFor.map((pin) => `- ⚠️ ${notCounted(c, pin)}`));
  if (notes.length > 0) out.push(...notes, "");
  return out;
}

/** "yes", "yes, pinned to a check run by app github-actions", "⚠️ not counted" or "". */
function requiredCell(c: CiLine): string {
  if (c.requirement) {
    const pin = pinWords(c.requirement);
    return pin === null ? "yes" : `yes, pinned to ${pin}`;
  }
  return c.notCountedFor.length > 0 ? "⚠️ not counted" : "";
}

/** The source of a reported result: "app github-actions" or "commit status by mallory". */
function reportedBy(c: CiLine): string {
  if (c.kind === "check_run")
    return c.source === null ? "a check run with no app" : `app ${md(c.source, 60)}`;
  return c.source === null ? "a commit status with no creator" : `commit status by ${md(c.source, 60)}`;
}

/** What a pinned entry asks for: "a check run by app github-actions", "a commit status by jenkins-bot". */
function pinWords(pin: RequiredCheck): string | null {
  const parts = [
    pin.app !== undefined ? `a check run by app ${md(pin.app, 60)}` : null,
    pin.creator !== undefined ? `a commit status by ${md(pin.creator, 60)}` : null,
  ].filter((p): p is string => p !== null);
  return parts.length === 0 ? null : parts.join(" and ");
}

/**
 * Why a same-named result from another source did not count: "**build** was reported by app
 * evil-app, not github-actions: not counted". All of it is user text, so md(), not code spans
 * (they would leave HTML, and our own marker, literal in the comment's source).
 */
function notCounted(c: CiLine, pin: RequiredCheck): string {
  const name = `**${md(c.name, 120)}**`;
  const who = c.source === null ? null : md(c.source, 60);
  if (pin.app !== undefined && pin.creator === undefined && c.kind === "check_run") {
    return `${name} was reported by ${who === null ? "a check run with no app" : `app ${who}`}, not ${md(pin.app, 60)}: not counted.`;
  }
  if (pin.creator !== undefined && pin.app === undefined && c.kind === "status") {
    return `${name} was reported by ${who ?? "a commit status with no creator"}, not ${md(pin.creator, 60)}: not counted.`;
  }
  const as =
    c.kind === "check_run"
      ? `as a check run by ${who === null ? "no app" : `app ${who}`}`
      : `as a commit status by ${who ?? "no creator"}`;
  return `${name} was reported ${as}, not as ${pinWords(pin) ?? "required"}: not counted.`;
}

function ticketsSection(r: TicketsResult): string[] {
  if (r.tickets.length === 0 && r.status === "skipped") return [];
  const allowed =
    r.allowedStates.length > 0
      ? ` (allowed states: ${r.allowedStates.map((s) => md(s, 60)).join(", ")})`
      : "";
  const out = [`### Tickets${allowed}`, ""];
  if (r.tickets.length === 0) return [...out, "No ticket key found.", ""];
  out.push("| Ticket | Found in | Summary | State | |", "| --- | --- | --- | --- | --- |");
  for (const t of r.tickets) {
    const verdict = {
      ok: "✅ allowed",
      not_allowed: "❌ state not allowed",
      unknown: "❌ unknown to Jira",
      unverified: "⚠️ not verified",
    }[t.outcome];
    out.push(
      `| ${link(md(t.key, 40), t.url)} | ${t.foundIn.join(", ")} | ${t.summary === null ? "" : md(t.summary, 150)} | ${t.status === null ? "" : md(t.status, 60)} | ${verdict} |`,
    );
  }
  out.push("");
  return out;
}

function shipped(e: Evidence): string[] {
  const commits = e.commits.filter((c) => !c.isMerge);
  const shown = commits.slice(-MAX_SHIPPED_COMMITS);
  const out = [
    "<details><summary>What is about to ship: " +
      `${commits.length} commit${commits.length === 1 ? "" : "s"}</summary>`,
    "",
  ];
  if (shown.length < commits.length) out.push(`(the last ${shown.length} of ${commits.length})`, "");
  for (const c of shown) {
    const authors =
      [...new Set(c.authors.filter((a): a is string => !!a))].map((a) => md(a, 60)).join(", ") ||
      "unknown author";
    out.push(`- ${link(code(c.oid.slice(0, 7)), c.url)} ${md(c.headline, 200)} — ${authors}`);
  }
  out.push("", "</details>", "");
  return out;
}

function footer(e: Evidence, policy: string): string[] {
  return [
    "---",
    `<sub>Head ${code(e.pr.headSha.slice(0, 12))} · Policy: ${policy} · Re-run: the **Re-evaluate** button on the \`changegate\` check</sub>`,
  ];
}

function checkFor(v: Verdict, summary: string): CheckOutput {
  if (v.conclusion === "pending")
    return { status: "in_progress", conclusion: null, title: clip(v.title, MAX_TITLE), summary };
  return { status: "completed", conclusion: v.conclusion, title: clip(v.title, MAX_TITLE), summary };
}

function when_(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

export function clip(s: string, max: number): string {
  // lone surrogates become U+FFFD, and the cut never splits a surrogate pair
  const one = s
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replace(/\s+/g, " ");
  if (one.length <= max) return one;
  const n = Math.max(0, max - 1);
  return `${one.slice(0, /[\ud800-\udbff]/.test(one.charAt(n - 1)) ? n - 1 : n)}…`;
}

/** Keep a body under GitHub's limit without cutting an open code fence or details block in a way that hides the rest. */
export function bound(body: string): string {
  if (body.length <= MAX_BODY) return body;
  // Cut at a line end, so no table row, link or escape sequence is left half-written.
  const limit = MAX_BODY - 200;
  const nl = body.lastIndexOf("\n", limit);
  let cut = nl > limit / 2 ? nl : limit;
  if (/[\ud800-\udbff]/.test(body.charAt(cut - 1))) cut--; // never split a surrogate pair
  const kept = body.slice(0, cut);
  const open = (kept.match(/<details>/g) ?? []).length - (kept.match(/<\/details>/g) ?? []).length;
  return `${kept}\n\n${"</details>\n\n".repeat(Math.max(0, open))}… (truncated: the full report exceeds GitHub's size limit)`;
}
