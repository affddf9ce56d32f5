/**
 * Rulesets and classic branch protection (issue 23: was the `changegate` check in force?).
 *
 * - Rulesets of a repository or of its organisation (`source_type` Organization, applying to every
 *   repository of the owner), each `active`, `evaluate` or `disabled`, with `conditions.ref_name`
 *   (`~ALL`, `~DEFAULT_BRANCH`, `refs/heads/<fnmatch>`; excludes win) and rules
 *   (`required_status_checks` with `context` and the optional `integration_id`).
 * - `GET /repos/{o}/{r}/rules/branches/{b}`: the rules of ACTIVE rulesets applying to the branch
 *   (GitHub leaves evaluate and disabled ones out), each with `ruleset_source_type`,
 *   `ruleset_source`, `ruleset_id`; paged.
 * - `GET /repos/{o}/{r}/rulesets` (`includes_parents`, default true as on GitHub; `targets`), and
 *   `GET …/rulesets/{id}` with its conditions and rules.
 * - Classic protection per branch (`required_status_checks.checks[]` with `context` and `app_id`):
 *   `GET /repos/{o}/{r}/branches/{b}/protection/required_status_checks` answers 403 "Resource not
 *   accessible by integration" to an installation without `administration: read` (its installation
 *   permissions decide), 404 "Branch not protected" or "Required status checks not enabled".
 * - The webhooks: `repository_ruleset` (created/edited/deleted, `repository_ruleset`, `changes` on
 *   edited; an organisation's ruleset without `repository`), `branch_protection_rule`
 *   (created/edited/deleted, `rule`), `branch_protection_configuration` (enabled/disabled). GitHub
 *   sends them only to installations granted `administration: read` (model.ts `emit`).
 */
import picomatch from "picomatch";
import type { GitHubModel, SimRepo } from "./model.js";
import { SimHttpError } from "./model.js";

export type RulesetEnforcement = "active" | "evaluate" | "disabled";

export interface SimRequiredCheck {
  context: string;
  /** The app that must provide it (rulesets: `integration_id`, classic: `app_id`); null/absent: any source. */
  appId?: number | null;
}

export interface SimRule {
  type: string;
  parameters?: Record<string, unknown>;
}

export interface SimRuleset {
  id: number;
  nodeId: string;
  name: string;
  target: "branch" | "tag" | "push";
  sourceType: "Repository" | "Organization";
  /** "owner/name" of a repository's ruleset, the organisation's login for an organisation's. */
  source: string;
  enforcement: RulesetEnforcement;
  conditions: { ref_name: { include: string[]; exclude: string[] } };
  rules: SimRule[];
  createdAt: string;
  updatedAt: string;
}

export interface RulesetSpec {
  name?: string;
  enforcement?: RulesetEnforcement;
  /** ref_name include patterns (default `~DEFAULT_BRANCH`). */
  include?: string[];
  exclude?: string[];
  /** Required status checks (a `required_status_checks` rule); other rules through `rules`. */
  checks?: SimRequiredCheck[];
  rules?: SimRule[];
  target?: SimRuleset["target"];
}

export interface SimProtection {
  id: number;
  repo: string;
  branch: string;
  /** Required status checks; null: protection without required checks. */
  checks: SimRequiredCheck[] | null;
  strict: boolean;
  createdAt: string;
  updatedAt: string;
}

export const ADMIN_EVENTS = new Set([
  "repository_ruleset",
  "branch_protection_rule",
  "branch_protection_configuration",
]);

/** The `required_status_checks` rule of a list of checks. */
export function checksRule(checks: SimRequiredCheck[]): SimRule {
  return {
    type: "required_status_checks",
    parameters: {
      strict_required_status_checks_policy: false,
      do_not_enforce_on_create: false,
      required_status_checks: checks.map((c) =>
        typeof c.appId === "number"
          ? { context: c.context, integration_id: c.appId }
          : { context: c.context },
      ),
    },
  };
}

export function newRuleset(
  m: GitHubModel,
  owner: { repo: SimRepo } | { org: string },
  spec: RulesetSpec,
): SimRuleset {
  const id = m.id();
  const at = m.tick();
  return {
    id,
    nodeId: m.nodeId("RRS", id),
    name: spec.name ?? `ruleset-${id}`,
    target: spec.target ?? "branch",
    sourceType: "repo" in owner ? "Repository" : "Organization",
    source: "repo" in owner ? owner.repo.fullName : owner.org,
    enforcement: spec.enforcement ?? "active",
    conditions: { ref_name: { include: spec.include ?? ["~DEFAULT_BRANCH"], exclude: spec.exclude ?? [] } },
    rules: [...(spec.checks ? [checksRule(spec.checks)] : []), ...(spec.rules ?? [])],
    createdAt: at,
    updatedAt: at,
  };
}

/** The rulesets a repository sees: its own, and (includes_parents) its organisation's. */
export function rulesetsOf(m: GitHubModel, repo: SimRepo, includesParents = true): SimRuleset[] {
  return [...m.rulesets.values()]
    .filter(
      (r) =>
        (r.sourceType === "Repository" && r.source.toLowerCase() === repo.fullName.toLowerCase()) ||
        (includesParents &&
          r.sourceType === "Organization" &&
          r.source.toLowerCase() === repo.owner.toLowerCase()),
    )
    .sort((a, b) => a.id - b.id);
}

export function appliesTo(r: SimRuleset, repo: SimRepo, branch: string): boolean {
  if (r.target !== "branch") return false;
  const hit = (p: string) =>
    p === "~ALL" ||
    (p === "~DEFAULT_BRANCH" && branch === repo.defaultBranch) ||
    (p.startsWith("refs/heads/") && picomatch.isMatch(branch, p.slice("refs/heads/".length), { dot: true }));
  return r.conditions.ref_name.include.some(hit) && !r.conditions.ref_name.exclude.some(hit);
}

/** GET /repos/{o}/{r}/rules/branches/{b}: the rules of the active rulesets applying to the branch. */
export function branchRules(m: GitHubModel, repo: SimRepo, branch: string): Record<string, unknown>[] {
  return rulesetsOf(m, repo)
    .filter((r) => r.enforcement === "active" && appliesTo(r, repo, branch))
    .flatMap((r) =>
      r.rules.map((rule) => ({
        ...structuredClone(rule),
        ruleset_source_type: r.sourceType,
        ruleset_source: r.source,
        ruleset_id: r.id,
      })),
    );
}

/** A ruleset as the list (full = false) and `GET …/rulesets/{id}` (full) give it. */
export function rulesetJson(m: GitHubModel, r: SimRuleset, full: boolean): Record<string, unknown> {
  const self =
    r.sourceType === "Repository"
      ? `${m.apiBase}/repos/${r.source}/rulesets/${r.id}`
      : `${m.apiBase}/orgs/${r.source}/rulesets/${r.id}`;
  const html =
    r.sourceType === "Repository"
      ? `${m.webBase}/${r.source}/rules/${r.id}`
      : `${m.webBase}/organizations/${r.source}/settings/rules/${r.id}`;
  const base: Record<string, unknown> = {
    id: r.id,
    name: r.name,
    target: r.target,
    source_type: r.sourceType,
    source: r.source,
    enforcement: r.enforcement,
    node_id: r.nodeId,
    _links: { self: { href: self }, html: { href: html } },
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
  if (!full) return base;
  return {
    ...base,
    bypass_actors: [],
    current_user_can_bypass: "never",
    conditions: structuredClone(r.conditions),
    rules: structuredClone(r.rules),
  };
}

export const protectionKey = (repo: string, branch: string) => `${repo}#${branch}`.toLowerCase();

/** GET …/branches/{b}/protection/required_status_checks, as the installation may see it. */
export function classicRequiredChecks(
  m: GitHubModel,
  repo: SimRepo,
  branch: string,
  permissions: Record<string, string>,
): Record<string, unknown> {
  if (!["read", "write"].includes(permissions.administration ?? ""))
    throw new SimHttpError(403, "Resource not accessible by integration");
  const p = repo.protectionDisabled ? undefined : m.protections.get(protectionKey(repo.fullName, branch));
  if (!p) throw new SimHttpError(404, "Branch not protected");
  if (!p.checks) throw new SimHttpError(404, "Required status checks not enabled");
  const url = `${m.apiBase}/repos/${repo.fullName}/branches/${encodeURIComponent(branch)}/protection/required_status_checks`;
  return {
    url,
    strict: p.strict,
    contexts: p.checks.map((c) => c.context),
    contexts_url: `${url}/contexts`,
    checks: p.checks.map((c) => ({
      context: c.context,
      app_id: typeof c.appId === "number" ? c.appId : null,
    })),
  };
}

/** The `rule` of a branch_protection_rule webhook (GitHub's `webhooks_rule`). */
export function protectionRuleJson(repo: SimRepo, p: SimProtection): Record<string, unknown> {
  return {
    id: p.id,
    repository_id: repo.id,
    name: p.branch,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    pull_request_reviews_enforcement_level: "off",
    required_approving_review_count: 0,
    dismiss_stale_reviews_on_push: false,
    require_code_owner_review: false,
    authorized_dismissal_actors_only: false,
    ignore_approvals_from_contributors: false,
    required_status_checks: (p.checks ?? []).map((c) => c.context),
    required_status_checks_enforcement_level: p.checks ? "non_admins" : "off",
    strict_required_status_checks_policy: p.strict,
    signature_requirement_enforcement_level: "off",
    linear_history_requirement_enforcement_level: "off",
    lock_branch_enforcement_level: "off",
    admin_enforced: false,
    allow_force_pushes_enforcement_level: "off",
    allow_deletions_enforcement_level: "off",
    merge_queue_enforcement_level: "off",
    required_deployments_enforcement_level: "off",
    required_conversation_resolution_level: "off",
    authorized_actors_only: false,
    authorized_actor_names: [],
  };
}
