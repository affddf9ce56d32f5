/**
 * enforcement: is a gated branch's `changegate` check actually in force? A check that nothing
 * requires blocks nothing. Pure: the facts GitHub gave (github/enforcement.ts) in, the branch's state
 * and exactly what is missing out. The branch is ENFORCED when a required status check named
 * `changegate` is in force on it (an active ruleset's `required_status_checks` rule, or classic
 * branch protection's required checks) AND pinned to changegate's own app (ruleset:
 * `integration_id`; classic: `app_id`) — anything else (any source may satisfy it, another app's)
 * lets a commit status or another app's check named `changegate` turn it green.
 */
import { CHECK_NAME } from "../contract.js";

/** A required check as one of GitHub's sources states it. */
export interface RequiredCheckFact {
  context: string;
  /** The app that must provide it: ruleset `integration_id`, classic `app_id`; null/absent or -1: any source. */
  appId: number | null;
}

/** Classic branch protection's required checks, as far as the app could read them. */
export type ClassicFact =
  /** `GET …/protection/required_status_checks` answered. */
  | { kind: "read"; checks: RequiredCheckFact[] }
  /** 404 "Branch not protected" / "Required status checks not enabled": no classic required checks. */
  | { kind: "none" }
  /** 403 (or a 404 that is not one of GitHub's "not protected" answers): `administration: read` not granted. */
  | { kind: "not_accessible"; status: number }
  /** Not asked (the rulesets already enforce it). */
  | { kind: "not_read" };

/** A ruleset that is not active (evaluate or disabled) and requires a `changegate` check on this branch. */
export interface InactiveRulesetFact {
  id: number;
  name: string;
  enforcement: "evaluate" | "disabled";
  /** The app its `changegate` check is pinned to (null: any source). */
  appId: number | null;
}

export interface EnforcementFacts {
  /** changegate's own App ID (APP_ID). */
  appId: number;
  /** Required checks of active rulesets on the branch (`GET /repos/{o}/{r}/rules/branches/{b}`), with their ruleset. */
  rules: (RequiredCheckFact & { rulesetId: number | null; source: string | null })[];
  classic: ClassicFact;
  /** Non-active rulesets requiring `changegate` here; null when not looked at (or not readable). */
  inactive: InactiveRulesetFact[] | null;
}

export type EnforcementState = "enforced" | "not_enforced";

export interface Missing {
  /** A stable code (records, metrics, tests). */
  code:
    | "not_required"
    | "any_source"
    | "other_app"
    | "evaluate_only"
    | "disabled_only"
    | "classic_unreadable"
    | "app_id_unknown";
  /** One sentence a person reads. */
  text: string;
}

export interface Enforcement {
  state: EnforcementState;
  /** Empty when enforced. */
  missing: Missing[];
  /** Where the pinned requirement was found ("ruleset 12", "classic branch protection"), when enforced. */
  by: string | null;
}

const isOurs = (c: RequiredCheckFact) => c.context === CHECK_NAME;
const pinnedTo = (c: RequiredCheckFact, appId: number) => appId > 0 && c.appId === appId;
const anySource = (c: RequiredCheckFact) => c.appId === null || c.appId === -1 || c.appId === 0;

export function classifyEnforcement(f: EnforcementFacts): Enforcement {
  const required: (RequiredCheckFact & { where: string })[] = [
    ...f.rules
      .filter(isOurs)
      .map((c) => ({ ...c, where: c.rulesetId !== null ? `ruleset ${c.rulesetId}` : "a ruleset" })),
    ...(f.classic.kind === "read"
      ? f.classic.checks.filter(isOurs).map((c) => ({ ...c, where: "classic branch protection" }))
      : []),
  ];
  const pinned = required.find((c) => pinnedTo(c, f.appId));
  if (pinned) return { state: "enforced", missing: [], by: pinned.where };

  const missing: Missing[] = [];
  if (f.appId <= 0)
    missing.push({
      code: "app_id_unknown",
      text: "changegate does not know its own App ID (APP_ID), so it cannot tell whether the check is pinned to it",
    });
  if (required.some(anySource))
    missing.push({
      code: "any_source",
      text: `the \`${CHECK_NAME}\` check is required but any source may satisfy it: pin it to the changegate app (expected source)`,
    });
  const others = [...new Set(required.filter((c) => !anySource(c)).map((c) => c.appId))];
  if (others.length > 0)
    missing.push({
      code: "other_app",
      text: `the \`${CHECK_NAME}\` check is required from another app (App ID ${others.join(", ")}), not from changegate${f.appId > 0 ? ` (App ID ${f.appId})` : ""}`,
    });
  for (const r of f.inactive ?? []) {
    missing.push({
      code: r.enforcement === "evaluate" ? "evaluate_only" : "disabled_only",
      text: `ruleset "${r.name}" (${r.id}) requires the \`${CHECK_NAME}\` check only in ${r.enforcement} mode: set its enforcement to active`,
    });
  }
  if (required.length === 0)
    missing.push({
      code: "not_required",
      text: `no ruleset or branch protection in force requires the \`${CHECK_NAME}\` check: require it, pinned to the changegate app`,
    });
  if (f.classic.kind === "not_accessible")
    missing.push({
      code: "classic_unreadable",
      text: `classic branch protection could not be read (HTTP ${f.classic.status}): grant the app \`administration: read\` to see it`,
    });
  return { state: "not_enforced", missing, by: null };
}

/** Does an inactive ruleset's rule list require `changegate`? (its pinned app, or null for any source; undefined: it does not) */
export function requiredCheckIn(
  rules: readonly { type?: unknown; parameters?: unknown }[],
): RequiredCheckFact | undefined {
  for (const r of rules) {
    if (r.type !== "required_status_checks") continue;
    const checks = (r.parameters as { required_status_checks?: unknown } | undefined)?.required_status_checks;
    if (!Array.isArray(checks)) continue;
    for (const c of checks as { context?: unknown; integration_id?: unknown }[]) {
      if (c?.context === CHECK_NAME)
        return { context: CHECK_NAME, appId: typeof c.integration_id === "number" ? c.integration_id : null };
    }
  }
  return undefined;
}

/**
 * Does a ruleset's ref_name condition include `branch`? GitHub's patterns: `~ALL`, `~DEFAULT_BRANCH`,
 * `refs/heads/<fnmatch>`. Unknown conditions (custom properties, no ref_name) count as including it:
 * saying "only in evaluate mode" of a ruleset that may not apply is a note, never a pass.
 */
export function rulesetIncludes(
  conditions: unknown,
  branch: string,
  defaultBranch: string,
  match: (pattern: string, name: string) => boolean,
): boolean {
  const ref = (conditions as { ref_name?: { include?: unknown; exclude?: unknown } } | null)?.ref_name;
  if (!ref) return true;
  const hits = (list: unknown) =>
    Array.isArray(list) &&
    list.some((p) => {
      if (typeof p !== "string") return false;
      if (p === "~ALL") return true;
      if (p === "~DEFAULT_BRANCH") return branch === defaultBranch;
      return match(p.replace(/^refs\/heads\//, ""), branch);
    });
  return hits(ref.include) && !hits(ref.exclude);
}

/** The digest's one line for a gated PR whose base branch is not enforced (markdown; `branch` is code-escaped by the caller). */
export function missingSummary(e: Enforcement): string {
  return e.missing.map((m) => m.text).join("; ");
}
