/**
 * approvals.rules: team and path rules, and CODEOWNERS. Pure: the changed files, the default
 * branch's CODEOWNERS and the members of the teams involved are facts in the evidence (gather and
 * src/github/rule-facts.ts read them). An approval counts for a rule only if it counts under the
 * general discipline (src/policy/approvals.ts: latest opinion, head commit with dismiss_stale, write
 * access, not the author, not a contributor, not a bot) AND the approver is one the rule names.
 * Fail closed: files not seen (past GitHub's 3,000), CODEOWNERS missing or too large, or a team
 * not read all fail the rule; nothing unknown lets a rule pass.
 */
import picomatch from "picomatch";
import type { ReviewRuleConfig } from "../config/rules-schema.js";
import { evaluateApprovals } from "./approvals.js";
import { ownerName, ownersOf, parseCodeowners, type Owner } from "./codeowners.js";
import { plural } from "./text.js";
import { pathsToMatch, renamesUnseen } from "./renamed-paths.js";
import type { Evidence, ReviewRuleResult } from "./types.js";

/** GitHub lists at most this many changed files of a PR. */
export const MAX_PR_FILES = 3000;
/** Files named per rule in the result (and so the digest and the audit record). */
export const MAX_RULE_FILES = 50;
/** Files named in one "missing" line. */
const FILES_PER_LINE = 5;

export interface RuleSettings {
  dismissStale: boolean;
  allowContributors: boolean;
}

/** Does a rule need the PR's changed files? (paths, or CODEOWNERS) */
export function needsFiles(rule: ReviewRuleConfig): boolean {
  return rule.paths !== undefined || rule.codeowners;
}

/**
 * The changed files matching the rule's paths (every file when it has none), as in .gitignore: a glob
 * without `/` matches at any depth; a leading `/` anchors (as every glob with a `/` is anchored); a
 * trailing `/` names a directory; a glob matching a directory covers everything beneath it. So
 * `/infra/`, `infra` and `infra/**` all cover `infra/main.tf` (none of them silently matches nothing).
 */
export function triggeredFiles(rule: ReviewRuleConfig, files: string[]): string[] {
  if (!rule.paths) return files;
  // picomatch's own `basename` option applies to every pattern: split them instead.
  const globs = rule.paths.map((p) =>
    p.includes("/") ? p.replace(/^\/+/, "").replace(/\/+$/, "") || "**" : p,
  );
  const slashless = globs.filter((p, i) => !rule.paths![i]!.includes("/"));
  const anchored = globs.filter((p, i) => rule.paths![i]!.includes("/"));
  const base = slashless.length > 0 ? picomatch(slashless, { dot: true }) : () => false;
  // `g/**` matches exactly the paths beneath a directory matching g: one match per file, whatever its depth.
  const full =
    anchored.length + slashless.length > 0
      ? picomatch([...anchored.flatMap((g) => [g, `${g}/**`]), ...slashless.map((g) => `**/${g}/**`)], {
          dot: true,
        })
      : () => false;
  return files.filter((f) => full(f) || base(f.slice(f.lastIndexOf("/") + 1)));
}

/** Reviewers whose approval counts under the general discipline, lower-case login → their login. */
export function eligibleApprovers(evidence: Evidence, s: RuleSettings): Map<string, string> {
  const general = evaluateApprovals(evidence, {
    required: 0,
    dismissStale: s.dismissStale,
    allowContributors: s.allowContributors,
  });
  return new Map(general.reviewers.filter((r) => r.counted).map((r) => [r.login.toLowerCase(), r.login]));
}

/**
 * The teams whose members must be known to judge the rules (lower case `org/slug`): those named by
 * triggered rules and the team owners of triggered files. [] when nobody eligible approved: no
 * membership can make a difference, so nothing is read.
 */
export function teamsNeeded(rules: ReviewRuleConfig[], evidence: Evidence, s: RuleSettings): string[] {
  if (rules.length === 0 || eligibleApprovers(evidence, s).size === 0) return [];
  const out = new Set<string>();
  const files = evidence.files;
  for (const rule of rules) {
    if (needsFiles(rule) && (!files || !files.complete || renamesUnseen(files))) continue;
    const triggered = needsFiles(rule) ? triggeredFiles(rule, pathsToMatch(files!)) : [];
    if (needsFiles(rule) && triggered.length === 0) continue;
    for (const t of rule.teams ?? []) out.add(t.toLowerCase());
    if (rule.codeowners && evidence.codeowners && !evidence.codeowners.tooLarge) {
      const co = parseCodeowners(evidence.codeowners.path, evidence.codeowners.text);
      for (const f of triggered)
        for (const o of ownersOf(co, f)?.owners ?? []) if (o.kind === "team") out.add(o.team);
    }
  }
  return [...out].sort();
}

export function evaluateRules(
  rules: ReviewRuleConfig[],
  evidence: Evidence,
  s: RuleSettings,
): ReviewRuleResult[] {
  if (rules.length === 0) return [];
  const eligible = eligibleApprovers(evidence, s);
  return rules.map((rule) => evaluateRule(rule, evidence, eligible));
}

function evaluateRule(
  rule: ReviewRuleConfig,
  evidence: Evidence,
  eligible: Map<string, string>,
): ReviewRuleResult {
  const base = { rule: "reviewers" as const, name: rule.name, required: rule.required };
  const files = evidence.files;
  if (needsFiles(rule) && (!files || !files.complete)) {
    const why =
      files && files.total > MAX_PR_FILES
        ? `this PR changes ${files.total} files and GitHub lists at most ${MAX_PR_FILES.toLocaleString("en-US")}, so changegate cannot see which files it touches`
        : "the PR's changed files could not be read in full";
    return {
      ...base,
      status: "fail",
      triggered: true,
      files: [],
      fileCount: files?.total ?? 0,
      mayApprove: mayApprove(rule),
      approvedBy: [],
      missing: [why],
      summary: `${rule.name}: ${why}`,
      todo: [`Rule ${rule.name}: ${why}. Split the change into smaller pull requests.`],
    };
  }
  // A rename counts at its old path too (GraphQL names only the new one): src/policy/renamed-paths.ts
  const unseen = needsFiles(rule) ? renamesUnseen(files!) : null;
  if (unseen) {
    return {
      ...base,
      status: "fail",
      triggered: true,
      files: [],
      fileCount: 0,
      mayApprove: mayApprove(rule),
      approvedBy: [],
      missing: [unseen],
      summary: `${rule.name}: ${unseen}`,
      todo: [`Rule ${rule.name}: ${unseen}.`],
    };
  }
  const triggered = needsFiles(rule) ? triggeredFiles(rule, pathsToMatch(files!)) : [];
  const shown = triggered.slice(0, MAX_RULE_FILES);
  if (needsFiles(rule) && triggered.length === 0) {
    return {
      ...base,
      status: "skipped",
      triggered: false,
      files: [],
      fileCount: 0,
      mayApprove: mayApprove(rule),
      approvedBy: [],
      missing: [],
      summary: `${rule.name}: not triggered (no changed file matches)`,
      todo: [],
    };
  }
  return rule.codeowners
    ? codeownersRule(rule, evidence, eligible, triggered, shown)
    : teamRule(rule, evidence, eligible, triggered, shown);
}

function mayApprove(rule: ReviewRuleConfig): string[] {
  if (rule.codeowners) return ["code owners"];
  return [...(rule.teams ?? []).map((t) => `@${t}`), ...(rule.users ?? []).map((u) => `@${u}`)];
}

/** The teams of `teams` that `login` is a member of; `unknown` lists teams whose members were not read. */
function membership(
  evidence: Evidence,
  login: string,
  teams: string[],
): { in: string[]; unknown: string[]; invisible: string[] } {
  const out = { in: [] as string[], unknown: [] as string[], invisible: [] as string[] };
  for (const t of teams) {
    const members = evidence.teams?.[t.toLowerCase()];
    if (members === undefined) out.unknown.push(t);
    else if (members === null) out.invisible.push(t);
    else if (members.includes(login)) out.in.push(t);
  }
  return out;
}

function fileList(files: string[]): string {
  const head = files.slice(0, FILES_PER_LINE).join(", ");
  return files.length > FILES_PER_LINE ? `${head} (+${files.length - FILES_PER_LINE} more)` : head;
}

function teamRule(
  rule: ReviewRuleConfig,
  evidence: Evidence,
  eligible: Map<string, string>,
  triggered: string[],
  shown: string[],
): ReviewRuleResult {
  const teams = (rule.teams ?? []).map((t) => t.toLowerCase());
  const users = new Set((rule.users ?? []).map((u) => u.toLowerCase()));
  const anyone = teams.length === 0 && users.size === 0;
  const approvedBy: ReviewRuleResult["approvedBy"] = [];
  const unknown = new Set<string>();
  const invisible = new Set<string>();
  for (const [login, display] of eligible) {
    const m = membership(evidence, login, teams);
    m.invisible.forEach((t) => invisible.add(t));
    if (anyone || users.has(login) || m.in.length > 0) approvedBy.push({ login: display, teams: m.in });
    else m.unknown.forEach((t) => unknown.add(t));
  }
  const who = anyone ? "an eligible reviewer" : mayApprove(rule).join(" or ");
  const forFiles = triggered.length > 0 ? ` for ${fileList(triggered)}` : "";
  const missing: string[] = [];
  const short = Math.max(0, rule.required - approvedBy.length);
  if (short > 0) missing.push(`needs ${plural(short, "more approval")} from ${who}${forFiles}`);
  for (const t of unknown) missing.push(`the members of @${t} could not be read`);
  for (const t of invisible) missing.push(`team @${t} does not exist or is not visible to changegate`);
  const pass = short === 0;
  return {
    rule: "reviewers",
    name: rule.name,
    required: rule.required,
    status: pass ? "pass" : "fail",
    triggered: true,
    files: shown,
    fileCount: triggered.length,
    mayApprove: mayApprove(rule),
    approvedBy,
    missing: pass ? [] : missing,
    summary: pass
      ? `${rule.name}: ${approvedBy.length} of ${rule.required} from ${who}`
      : `${rule.name}: ${missing[0]}`,
    todo: pass ? [] : missing.map((m) => `Rule ${rule.name}: ${m}.`),
  };
}

function codeownersRule(
  rule: ReviewRuleConfig,
  evidence: Evidence,
  eligible: Map<string, string>,
  triggered: string[],
  shown: string[],
): ReviewRuleResult {
  const fail = (why: string): ReviewRuleResult => ({
    rule: "reviewers",
    name: rule.name,
    required: rule.required,
    status: "fail",
    triggered: true,
    files: shown,
    fileCount: triggered.length,
    mayApprove: ["code owners"],
    approvedBy: [],
    missing: [why],
    summary: `${rule.name}: ${why}`,
    todo: [`Rule ${rule.name}: ${why}.`],
  });
  const file = evidence.codeowners;
  if (file === undefined) return fail("the default branch's CODEOWNERS could not be read");
  if (file === null)
    return fail(
      "there is no CODEOWNERS file on the default branch (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)",
    );
  if (file.tooLarge)
    return fail(`${file.path} is over GitHub's 3 MB limit, so GitHub (and changegate) cannot load it`);
  const co = parseCodeowners(file.path, file.text);

  // Group files by their owners, so the digest says "needs 1 approval from @a or @b/c for x, y".
  const groups = new Map<string, { owners: Owner[]; files: string[]; short: number }>();
  const approvers = new Map<string, Set<string>>();
  const unknownTeams = new Set<string>();
  const unowned: string[] = [];
  for (const f of triggered) {
    const owners = ownersOf(co, f)?.owners ?? [];
    if (owners.length === 0) {
      unowned.push(f);
      continue;
    }
    const teams = owners
      .filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team")
      .map((o) => o.team);
    let count = 0;
    for (const [login, display] of eligible) {
      const m = membership(evidence, login, teams);
      const byUser = owners.some((o) => o.kind === "user" && o.login === login);
      if (byUser || m.in.length > 0) {
        count++;
        const set = approvers.get(display) ?? new Set<string>();
        m.in.forEach((t) => set.add(t));
        approvers.set(display, set);
      } else m.unknown.forEach((t) => unknownTeams.add(t));
    }
    const key = owners.map(ownerName).join(" ");
    const g = groups.get(key) ?? { owners, files: [], short: 0 };
    if (count < rule.required) {
      g.files.push(f);
      g.short = Math.max(g.short, rule.required - count);
    }
    groups.set(key, g);
  }
  const missing: string[] = [];
  for (const g of groups.values()) {
    if (g.files.length === 0) continue;
    missing.push(
      `needs ${plural(g.short, "approval")} from ${g.owners.map(ownerName).join(" or ")} for ${fileList(g.files)}`,
    );
  }
  for (const t of unknownTeams) missing.push(`the members of @${t} could not be read`);
  const approvedBy = [...approvers].map(([login, teams]) => ({ login, teams: [...teams].sort() }));
  const mayApproveList = [...new Set([...groups.values()].flatMap((g) => g.owners.map(ownerName)))].slice(
    0,
    20,
  );
  const pass = missing.length === 0;
  const owned = triggered.length - unowned.length;
  const notes = unowned.length > 0 ? `; ${plural(unowned.length, "file")} without a code owner` : "";
  return {
    rule: "reviewers",
    name: rule.name,
    required: rule.required,
    status: pass ? "pass" : "fail",
    triggered: true,
    files: shown,
    fileCount: triggered.length,
    mayApprove: mayApproveList.length > 0 ? mayApproveList : ["code owners"],
    approvedBy,
    missing,
    summary: pass
      ? owned === 0
        ? `${rule.name}: no changed file has a code owner in ${file.path}`
        : `${rule.name}: every owned file approved by a code owner${notes}`
      : `${rule.name}: ${missing[0]}`,
    todo: missing.map((m) => `Rule ${rule.name}: ${m}.`),
  };
}
