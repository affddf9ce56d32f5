/**
 * The simulator's rulesets and classic branch protection (test/sim/rulesets.ts) against GitHub's
 * OpenAPI description (GHES 3.19): the rules endpoint returns only active rulesets' rules (paged),
 * the rulesets list and one ruleset (includes_parents), classic required checks with 403 when the
 * installation lacks `administration: read`, and the three webhooks in GitHub's shapes, sent only to
 * installations granted `administration`. changegate's own reader (src/github/enforcement.ts) and
 * classifier run against it.
 */
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readEnforcement } from "../../src/github/enforcement.js";
import type { OctokitLike } from "../../src/github/types.js";
import { classifyEnforcement } from "../../src/policy/enforcement.js";
import { conforms } from "../sim/conforms.js";
import type { SimInstallation, SimRepo, SimWebhook } from "../sim/model.js";
import { Simulator } from "../sim/server.js";
import { appKeyPair } from "../sim/driver.js";
import { createSign } from "node:crypto";

const APP_ID = 91;
const OTHER_APP = 92;
let sim: Simulator;
let inst: SimInstallation;
let spec: any;
const hooks: SimWebhook[] = [];
const { privateKey } = appKeyPair();

function jwt(): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iss: APP_ID, iat: now - 30, exp: now + 500 })}`;
  return `${body}.${createSign("RSA-SHA256").update(body).sign(privateKey).toString("base64url")}`;
}

async function token(): Promise<string> {
  const res = await fetch(`${sim.githubUrl}/api/v3/app/installations/${inst.id}/access_tokens`, {
    method: "POST",
    headers: { authorization: `bearer ${jwt()}` },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.githubUrl}/api/v3${path}`, {
    headers: { authorization: `token ${await token()}` },
  });
  return { status: res.status, json: await res.json() };
}

/** A minimal Octokit over fetch: GitHub's RequestError shape (status, response.data.message). */
function octokit(): OctokitLike {
  return {
    async request(route: string, params: Record<string, unknown>) {
      const [, tpl] = route.split(" ") as [string, string];
      const rest = { ...params };
      const path = tpl.replace(/\{(\w+)\}/g, (_m, k: string) => {
        const v = String(rest[k]);
        delete rest[k];
        return encodeURIComponent(v);
      });
      const q = new URLSearchParams(Object.entries(rest).map(([k, v]): [string, string] => [k, String(v)]));
      const r = await get(`${path}${q.size ? `?${q.toString()}` : ""}`);
      if (r.status >= 400)
        throw Object.assign(new Error(r.json.message), { status: r.status, response: { data: r.json } });
      return { data: r.json };
    },
  };
}

const schema = (path: string) => spec.paths[path].get.responses["200"].content["application/json"].schema;

beforeAll(async () => {
  sim = await Simulator.start();
  inst = sim.installApp(
    {
      id: APP_ID,
      slug: "gate",
      privateKeyPem: privateKey,
      events: ["repository_ruleset", "branch_protection_rule", "branch_protection_configuration"],
    },
    "acme",
  );
  sim.model.app(APP_ID).permissions = { ...sim.model.app(APP_ID).permissions, administration: "read" };
  sim.model.onWebhook((h) => hooks.push(h));
  spec = createRequire(import.meta.url)("@octokit/openapi/generated/ghes-3.19.json");
}, 60_000);

afterAll(async () => {
  await sim?.stop();
});

let n = 0;
const newRepo = (): SimRepo => sim.model.addRepo({ owner: "acme", name: `svc${++n}` });
const read = (repo: SimRepo, branch = "main") =>
  readEnforcement(octokit(), repo.fullName, branch, { appId: APP_ID, defaultBranch: repo.defaultBranch });

describe("rules and rulesets", () => {
  test("rules/branches returns only active rulesets' rules, with their ruleset, in GitHub's shape", async () => {
    const repo = newRepo();
    const active = sim.model.addRuleset(repo, {
      name: "gate",
      checks: [{ context: "changegate", appId: APP_ID }],
    });
    sim.model.addRuleset(repo, {
      name: "trial",
      enforcement: "evaluate",
      checks: [{ context: "changegate", appId: OTHER_APP }],
    });
    sim.model.addRuleset(repo, { name: "off", enforcement: "disabled", checks: [{ context: "lint" }] });
    sim.model.addRuleset(repo, {
      name: "release",
      include: ["refs/heads/release/*"],
      checks: [{ context: "x" }],
    });
    const r = await get(`/repos/${repo.fullName}/rules/branches/main`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      {
        type: "required_status_checks",
        parameters: {
          strict_required_status_checks_policy: false,
          do_not_enforce_on_create: false,
          required_status_checks: [{ context: "changegate", integration_id: APP_ID }],
        },
        ruleset_source_type: "Repository",
        ruleset_source: repo.fullName,
        ruleset_id: active.id,
      },
    ]);
    expect(conforms(schema("/repos/{owner}/{repo}/rules/branches/{branch}"), r.json, spec)).toEqual([]);
    // A branch the pattern names (a slash in the branch, URL-encoded).
    const rel = await get(`/repos/${repo.fullName}/rules/branches/${encodeURIComponent("release/1.0")}`);
    expect(rel.json.map((x: any) => x.parameters.required_status_checks[0].context)).toEqual(["x"]);

    const list = await get(`/repos/${repo.fullName}/rulesets?includes_parents=true`);
    expect(list.json.map((x: any) => [x.name, x.enforcement])).toEqual([
      ["gate", "active"],
      ["trial", "evaluate"],
      ["off", "disabled"],
      ["release", "active"],
    ]);
    expect(conforms(schema("/repos/{owner}/{repo}/rulesets"), list.json, spec)).toEqual([]);
    const one = await get(`/repos/${repo.fullName}/rulesets/${active.id}`);
    expect(one.json.conditions).toEqual({ ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } });
    expect(conforms(schema("/repos/{owner}/{repo}/rulesets/{ruleset_id}"), one.json, spec)).toEqual([]);
    // The check bites: a ruleset without its enforcement is not GitHub's.
    const { enforcement: _e, ...bad } = one.json;
    expect(conforms(schema("/repos/{owner}/{repo}/rulesets/{ruleset_id}"), bad, spec)).toContain(
      "$.enforcement: missing",
    );
  });

  test("rules/branches is paged (per_page, Link)", async () => {
    const repo = newRepo();
    for (let i = 0; i < 3; i++) sim.model.addRuleset(repo, { checks: [{ context: `c${i}` }] });
    const p1 = await fetch(`${sim.githubUrl}/api/v3/repos/${repo.fullName}/rules/branches/main?per_page=2`, {
      headers: { authorization: `token ${await token()}` },
    });
    expect(((await p1.json()) as unknown[]).length).toBe(2);
    expect(p1.headers.get("link")).toContain('rel="next"');
    const p2 = await get(`/repos/${repo.fullName}/rules/branches/main?per_page=2&page=2`);
    expect(p2.json).toHaveLength(1);
  });

  test("an organisation's ruleset applies to its repositories (includes_parents) and is left out without it", async () => {
    const repo = newRepo();
    const org = sim.model.addOrgRuleset("acme", {
      name: "org gate",
      include: ["~ALL"],
      checks: [{ context: "changegate", appId: APP_ID }],
    });
    try {
      const rules = await get(`/repos/${repo.fullName}/rules/branches/main`);
      expect(rules.json).toMatchObject([
        { ruleset_source_type: "Organization", ruleset_source: "acme", ruleset_id: org.id },
      ]);
      expect((await get(`/repos/${repo.fullName}/rulesets?includes_parents=false`)).json).toEqual([]);
      expect((await get(`/repos/${repo.fullName}/rulesets`)).json.map((x: any) => x.id)).toEqual([org.id]);
      const hook = hooks.filter((h) => h.name === "repository_ruleset").at(-1)!;
      expect(hook.payload).not.toHaveProperty("repository");
      expect(
        conforms(spec.components.schemas["webhook-repository-ruleset-created"], hook.payload, spec),
      ).toEqual([]);
    } finally {
      sim.model.deleteRuleset(org);
    }
  });
});

describe("classic protection", () => {
  test("required checks with app_id; 404 when not protected or no checks; 403 without administration", async () => {
    const repo = newRepo();
    expect(
      await get(`/repos/${repo.fullName}/branches/main/protection/required_status_checks`),
    ).toMatchObject({
      status: 404,
      json: { message: "Branch not protected" },
    });
    sim.model.protectBranch(repo, "main", null);
    expect(
      await get(`/repos/${repo.fullName}/branches/main/protection/required_status_checks`),
    ).toMatchObject({
      status: 404,
      json: { message: "Required status checks not enabled" },
    });
    sim.model.protectBranch(repo, "main", [{ context: "changegate", appId: APP_ID }, { context: "build" }]);
    const r = await get(`/repos/${repo.fullName}/branches/main/protection/required_status_checks`);
    expect(r.status).toBe(200);
    expect(r.json.checks).toEqual([
      { context: "changegate", app_id: APP_ID },
      { context: "build", app_id: null },
    ]);
    expect(
      conforms(
        schema("/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"),
        r.json,
        spec,
      ),
    ).toEqual([]);
    // The whole repository's classic protection off: not protected.
    sim.model.setBranchProtectionEnabled(repo, false);
    expect(
      (await get(`/repos/${repo.fullName}/branches/main/protection/required_status_checks`)).status,
    ).toBe(404);
    sim.model.setBranchProtectionEnabled(repo, true);

    sim.model.setInstallationPermissions(inst, { metadata: "read", checks: "write" });
    try {
      expect(
        await get(`/repos/${repo.fullName}/branches/main/protection/required_status_checks`),
      ).toMatchObject({
        status: 403,
        json: { message: "Resource not accessible by integration" },
      });
      const seen = hooks.length;
      sim.model.protectBranch(repo, "main", [{ context: "changegate" }]);
      expect(hooks.slice(seen)).toEqual([]); // no administration: no webhook
    } finally {
      inst.permissions = null;
    }
  });
});

describe("the three webhooks in GitHub's shapes", () => {
  test("repository_ruleset created/edited/deleted, branch_protection_rule, branch_protection_configuration", () => {
    const repo = newRepo();
    const from = hooks.length;
    const rs = sim.model.addRuleset(repo, { checks: [{ context: "changegate", appId: APP_ID }] });
    sim.model.editRuleset(rs, { enforcement: "evaluate" });
    sim.model.deleteRuleset(rs);
    sim.model.protectBranch(repo, "main", [{ context: "changegate", appId: APP_ID }]);
    sim.model.protectBranch(repo, "main", [{ context: "build" }]);
    sim.model.unprotectBranch(repo, "main");
    sim.model.setBranchProtectionEnabled(repo, false);
    sim.model.setBranchProtectionEnabled(repo, true);
    const got = hooks.slice(from);
    expect(got.map((h) => `${h.name}.${h.action}`)).toEqual([
      "repository_ruleset.created",
      "repository_ruleset.edited",
      "repository_ruleset.deleted",
      "branch_protection_rule.created",
      "branch_protection_rule.edited",
      "branch_protection_rule.deleted",
      "branch_protection_configuration.disabled",
      "branch_protection_configuration.enabled",
    ]);
    for (const h of got) {
      const name = `webhook-${h.name.replace(/_/g, "-")}-${h.action}`;
      expect([name, conforms(spec.components.schemas[name], h.payload, spec)]).toEqual([name, []]);
      expect(h.payload).toMatchObject({
        installation: { id: inst.id },
        repository: { full_name: repo.fullName },
      });
    }
    expect(got[1]!.payload).toMatchObject({
      repository_ruleset: { id: rs.id, enforcement: "evaluate" },
      changes: { enforcement: { from: "active" } },
    });
    expect(got[4]!.payload).toMatchObject({
      rule: { name: "main", required_status_checks: ["build"] },
      changes: { required_status_checks: { from: ["changegate"] } },
    });
  });
});

describe("changegate's reader and classifier against the simulator", () => {
  test("active and pinned: enforced with one request", async () => {
    const repo = newRepo();
    sim.model.addRuleset(repo, { checks: [{ context: "changegate", appId: APP_ID }] });
    const r = await read(repo);
    expect(r.requests).toHaveLength(1);
    expect(classifyEnforcement({ appId: APP_ID, ...r.facts })).toMatchObject({ state: "enforced" });
  });

  test("evaluate mode: not enforced, 'only in evaluate mode'", async () => {
    const repo = newRepo();
    sim.model.addRuleset(repo, {
      name: "trial",
      enforcement: "evaluate",
      checks: [{ context: "changegate", appId: APP_ID }],
    });
    const e = classifyEnforcement({ appId: APP_ID, ...(await read(repo)).facts });
    expect(e.state).toBe("not_enforced");
    expect(e.missing.map((m) => m.code)).toEqual(["evaluate_only", "not_required"]);
    expect(e.missing[0]!.text).toContain("only in evaluate mode");
  });

  test("pinned to another app: not enforced, other_app", async () => {
    const repo = newRepo();
    sim.model.addRuleset(repo, { checks: [{ context: "changegate", appId: OTHER_APP }] });
    const e = classifyEnforcement({ appId: APP_ID, ...(await read(repo)).facts });
    expect(e.missing.map((m) => m.code)).toEqual(["other_app"]);
  });

  test("classic protection, with administration: enforced; without: classic protection could not be read", async () => {
    const repo = newRepo();
    sim.model.protectBranch(repo, "main", [{ context: "changegate", appId: APP_ID }]);
    expect(classifyEnforcement({ appId: APP_ID, ...(await read(repo)).facts })).toMatchObject({
      state: "enforced",
      by: "classic branch protection",
    });
    sim.model.setInstallationPermissions(inst, { metadata: "read" });
    try {
      const e = classifyEnforcement({ appId: APP_ID, ...(await read(repo)).facts });
      expect(e.state).toBe("not_enforced");
      expect(e.missing.map((m) => m.code)).toEqual(["not_required", "classic_unreadable"]);
    } finally {
      inst.permissions = null;
    }
  });
});
