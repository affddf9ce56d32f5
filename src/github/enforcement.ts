/**
 * The reads behind branch enforcement (policy/enforcement.ts classifies them):
 * 1. `GET /repos/{o}/{r}/rules/branches/{b}` (paged; `metadata: read`): the rules of ACTIVE rulesets
 *    on the branch; a `required_status_checks` rule lists `parameters.required_status_checks[]`
 *    with `context` and the optional `integration_id`.
 * 2. Only when those do not enforce it: classic protection,
 *    `GET /repos/{o}/{r}/branches/{b}/protection/required_status_checks` (`administration: read`):
 *    `checks[]` with `context` and `app_id`. 403, or a 404 that is not GitHub's "not protected"
 *    answer, means the app may not read it (it is said, never taken as "none").
 * 3. Only when still not enforced: `GET /repos/{o}/{r}/rulesets?includes_parents=true` and each
 *    non-active ruleset (`GET …/rulesets/{id}`), to say "only in evaluate mode" (unreadable: not said).
 * In steady state (enforced by a ruleset) one request per branch. A failure of read 1 throws.
 */
import picomatch from "picomatch";
import { z } from "zod";
import {
  requiredCheckIn,
  rulesetIncludes,
  type ClassicFact,
  type EnforcementFacts,
  type InactiveRulesetFact,
} from "../policy/enforcement.js";
import type { OctokitLike } from "./types.js";

export const MAX_RULE_PAGES = 10;
export const MAX_RULESETS = 50;

const ruleItem = z
  .object({
    type: z.string(),
    parameters: z.unknown().optional(),
    ruleset_id: z.number().int().optional(),
    ruleset_source: z.string().optional(),
  })
  .loose();
const rulesetItem = z
  .object({
    id: z.number().int(),
    name: z.string(),
    enforcement: z.enum(["disabled", "active", "evaluate"]),
    target: z.string().optional(),
  })
  .loose();
const classicChecks = z
  .object({ checks: z.array(z.object({ context: z.string(), app_id: z.number().int().nullable() }).loose()) })
  .loose();

/** What was read, for the record: every request made and what it answered, in brief. */
export interface EnforcementRead {
  facts: Omit<EnforcementFacts, "appId">;
  /** "GET /repos/acme/payments/rules/branches/main → 200 (2 rules)", … */
  requests: string[];
}

const statusOf = (err: unknown): number | null => {
  const s = (err as { status?: unknown })?.status;
  return typeof s === "number" ? s : null;
};
const messageOf = (err: unknown): string => {
  const r = (err as { response?: { data?: { message?: unknown } } })?.response?.data?.message;
  return typeof r === "string" ? r : "";
};

export async function readEnforcement(
  octokit: OctokitLike,
  repo: string,
  branch: string,
  opts: { appId: number; defaultBranch: string | null },
): Promise<EnforcementRead> {
  const [owner, name] = repo.split("/") as [string, string];
  const requests: string[] = [];
  const rules: EnforcementFacts["rules"] = [];
  for (let page = 1; ; page++) {
    if (page > MAX_RULE_PAGES)
      throw new Error(`${repo} ${branch}: more than ${MAX_RULE_PAGES * 100} rules: not read whole`);
    const res = await octokit.request("GET /repos/{owner}/{repo}/rules/branches/{branch}", {
      owner,
      repo: name,
      branch,
      per_page: 100,
      page,
    });
    const parsed = z.array(ruleItem).max(100).safeParse(res.data);
    if (!parsed.success)
      throw new Error(
        `GitHub's rules of ${repo} ${branch} are malformed: ${parsed.error.message.slice(0, 300)}`,
      );
    requests.push(`GET /repos/${repo}/rules/branches/${branch}?page=${page} → ${parsed.data.length} rules`);
    for (const r of parsed.data) {
      if (r.type !== "required_status_checks") continue;
      const checks = (r.parameters as { required_status_checks?: unknown } | undefined)
        ?.required_status_checks;
      for (const c of Array.isArray(checks)
        ? (checks as { context?: unknown; integration_id?: unknown }[])
        : [])
        if (typeof c?.context === "string")
          rules.push({
            context: c.context,
            appId: typeof c.integration_id === "number" ? c.integration_id : null,
            rulesetId: r.ruleset_id ?? null,
            source: r.ruleset_source ?? null,
          });
    }
    if (parsed.data.length < 100) break;
  }
  const facts: EnforcementRead["facts"] = { rules, classic: { kind: "not_read" }, inactive: null };
  const pinnedByRules = rules.some(
    (c) => c.context === "changegate" && opts.appId > 0 && c.appId === opts.appId,
  );
  if (pinnedByRules) return { facts, requests };

  facts.classic = await readClassic(octokit, owner, name, branch, requests);
  if (
    facts.classic.kind === "read" &&
    facts.classic.checks.some((c) => c.context === "changegate" && opts.appId > 0 && c.appId === opts.appId)
  )
    return { facts, requests };
  facts.inactive = await readInactive(octokit, owner, name, branch, opts.defaultBranch, requests);
  return { facts, requests };
}

async function readClassic(
  octokit: OctokitLike,
  owner: string,
  repo: string,
  branch: string,
  requests: string[],
): Promise<ClassicFact> {
  const path = `GET /repos/${owner}/${repo}/branches/${branch}/protection/required_status_checks`;
  try {
    const res = await octokit.request(
      "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
      {
        owner,
        repo,
        branch,
      },
    );
    const parsed = classicChecks.safeParse(res.data);
    if (!parsed.success)
      throw new Error(`GitHub's required status checks of ${owner}/${repo} ${branch} are malformed`);
    requests.push(`${path} → ${parsed.data.checks.length} checks`);
    return { kind: "read", checks: parsed.data.checks.map((c) => ({ context: c.context, appId: c.app_id })) };
  } catch (err) {
    const status = statusOf(err);
    if (status === 404 && /not protected|not enabled/i.test(messageOf(err))) {
      requests.push(`${path} → 404 (${messageOf(err)})`);
      return { kind: "none" };
    }
    if (status === 403 || status === 404) {
      requests.push(`${path} → ${status} (not accessible)`);
      return { kind: "not_accessible", status };
    }
    throw err;
  }
}

async function readInactive(
  octokit: OctokitLike,
  owner: string,
  repo: string,
  branch: string,
  defaultBranch: string | null,
  requests: string[],
): Promise<InactiveRulesetFact[] | null> {
  try {
    const listed: z.infer<typeof rulesetItem>[] = [];
    for (let page = 1; page <= MAX_RULE_PAGES; page++) {
      const res = await octokit.request("GET /repos/{owner}/{repo}/rulesets", {
        owner,
        repo,
        includes_parents: true,
        per_page: 100,
        page,
      });
      const parsed = z.array(rulesetItem).max(100).safeParse(res.data);
      if (!parsed.success) return null;
      requests.push(
        `GET /repos/${owner}/${repo}/rulesets?includes_parents=true&page=${page} → ${parsed.data.length} rulesets`,
      );
      listed.push(...parsed.data);
      if (parsed.data.length < 100) break;
    }
    const out: InactiveRulesetFact[] = [];
    const candidates = listed.filter(
      (r) => r.enforcement !== "active" && (r.target ?? "branch") === "branch",
    );
    for (const r of candidates.slice(0, MAX_RULESETS)) {
      const res = await octokit.request("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", {
        owner,
        repo,
        ruleset_id: r.id,
        includes_parents: true,
      });
      const d = res.data as { rules?: unknown; conditions?: unknown };
      requests.push(`GET /repos/${owner}/${repo}/rulesets/${r.id} → ${r.enforcement}`);
      const check = requiredCheckIn(Array.isArray(d.rules) ? d.rules : []);
      if (!check) continue;
      const applies = rulesetIncludes(d.conditions ?? null, branch, defaultBranch ?? branch, (p, n) =>
        picomatch.isMatch(n, p, { dot: true }),
      );
      if (!applies) continue;
      out.push({
        id: r.id,
        name: r.name,
        enforcement: r.enforcement as "evaluate" | "disabled",
        appId: check.appId,
      });
    }
    return out;
  } catch (err) {
    const status = statusOf(err);
    if (status === 403 || status === 404) {
      requests.push(`GET /repos/${owner}/${repo}/rulesets → ${status} (not accessible)`);
      return null;
    }
    throw err;
  }
}
