/**
 * Branch enforcement observed and recorded (issue 23): the flow against a fake GitHub that answers
 * like GitHub's REST description (rules of active rulesets only; classic protection 403 without
 * `administration`; rulesets in evaluate mode only through the rulesets list), a real SQLite store,
 * the hash chain, and `changegate audit enforcement`.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainEnforcement, enforcementRecords } from "../../src/audit/enforcement.js";
import { AuditReader } from "../../src/audit/reader.js";
import { verifyChains } from "../../src/audit/verify.js";
import { EnforcementFlow } from "../../src/flows/enforcement.js";
import { enforcementCommand } from "../../src/commands/enforcement.js";
import { renderVerdict } from "../../src/report/digest.js";
import { tempDir } from "./records.js";
import { configSchema } from "../../src/config/schema.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { evidence as fixtureEvidence } from "../helpers/fixtures.js";

const APP = 4242;
const REPO = { installationId: 7, owner: "acme", repo: "payments", branch: "main", defaultBranch: "main" };

interface Github {
  rules: unknown[];
  /** null: classic protection needs administration: read, which the app was not granted (403). */
  classic: { checks: { context: string; app_id: number | null }[] } | "not protected" | null;
  rulesets: { id: number; name: string; enforcement: string; rules: unknown[]; conditions: unknown }[];
  fail?: boolean;
}

function fakeGithub(g: Github) {
  const requests: string[] = [];
  const err = (status: number, message: string) =>
    Object.assign(new Error(message), { status, response: { data: { message } } });
  const octokit = {
    async request(route: string, params: Record<string, unknown>) {
      requests.push(route);
      if (g.fail) throw err(502, "Bad gateway");
      if (route === "GET /repos/{owner}/{repo}/rules/branches/{branch}") {
        const page = Number(params.page ?? 1);
        return { data: g.rules.slice((page - 1) * 100, page * 100) };
      }
      if (route === "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks") {
        if (g.classic === null) throw err(403, "Resource not accessible by integration");
        if (g.classic === "not protected") throw err(404, "Branch not protected");
        return { data: { url: "u", contexts_url: "c", strict: true, contexts: [], ...g.classic } };
      }
      if (route === "GET /repos/{owner}/{repo}/rulesets")
        return {
          data: g.rulesets.map(({ id, name, enforcement }) => ({
            id,
            name,
            enforcement,
            source: "acme/payments",
          })),
        };
      if (route === "GET /repos/{owner}/{repo}/rulesets/{ruleset_id}") {
        const r = g.rulesets.find((x) => x.id === params.ruleset_id);
        if (!r) throw err(404, "Not Found");
        return { data: r };
      }
      throw err(404, "Not Found");
    },
  };
  return { octokit, requests };
}

const checksRule = (integration_id?: number) => ({
  type: "required_status_checks",
  ruleset_id: 12,
  ruleset_source_type: "Repository",
  ruleset_source: "acme/payments",
  parameters: {
    strict_required_status_checks_policy: false,
    required_status_checks: [
      { context: "changegate", ...(integration_id !== undefined ? { integration_id } : {}) },
    ],
  },
});

let tmp: ReturnType<typeof tempDir>;
let store: AuditStore;
let clock: Date;
let gh: Github;
let fake: ReturnType<typeof fakeGithub>;
let flow: EnforcementFlow;
let counted: number[];
const logs: string[] = [];

beforeEach(async () => {
  tmp = tempDir();
  clock = new Date("2026-01-01T00:00:00Z");
  store = await AuditStore.open(`sqlite:${tmp.dir}/a.db`, { now: () => clock });
  gh = { rules: [checksRule(APP)], classic: null, rulesets: [] };
  fake = fakeGithub(gh);
  counted = [];
  flow = new EnforcementFlow({
    store: new ChainEnforcement(new ChainWriter(store)),
    appId: APP,
    octokitFor: async () => fake.octokit,
    now: () => clock,
    log: { info: (_o, m) => logs.push(m), warn: (_o, m) => logs.push(m), error: (_o, m) => logs.push(m) },
    onCount: (n) => counted.push(n),
  });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const later = (minutes: number) => (clock = new Date(clock.getTime() + minutes * 60_000));
const records = () => enforcementRecords(store.db);

describe("observing a branch", () => {
  test("an active ruleset pinned to the app: enforced after one request; recorded once, not again while unchanged", async () => {
    const r = await flow.observe(REPO, "scan", "scan-1");
    expect(r.reason).toBe("first");
    expect(fake.requests).toEqual(["GET /repos/{owner}/{repo}/rules/branches/{branch}"]);
    later(30);
    expect((await flow.observe(REPO, "scan", "scan-2")).record).toBeNull();
    const recs = await records();
    expect(recs.map((x) => [x.payload.state, x.payload.reason])).toEqual([["enforced", "first"]]);
    expect(recs[0]!.payload.read.requests[0]).toMatch(/rules\/branches\/main/);
    expect(counted.at(-1)).toBe(0);
  });

  test("a ruleset in evaluate mode only: not enforced, 'only in evaluate mode', classic unreadable without administration", async () => {
    gh.rules = [];
    gh.rulesets = [
      {
        id: 3,
        name: "gate",
        enforcement: "evaluate",
        rules: [checksRule(APP)],
        conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      },
    ];
    await flow.observe(REPO, "repository_ruleset", "d-1");
    const [rec] = await records();
    expect(rec!.payload.state).toBe("not_enforced");
    expect(rec!.payload.missing.map((m) => m.code)).toEqual([
      "evaluate_only",
      "not_required",
      "classic_unreadable",
    ]);
    expect(fake.requests).toEqual([
      "GET /repos/{owner}/{repo}/rules/branches/{branch}",
      "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
      "GET /repos/{owner}/{repo}/rulesets",
      "GET /repos/{owner}/{repo}/rulesets/{ruleset_id}",
    ]);
    expect(counted.at(-1)).toBe(1);
  });

  test("pinned to another app, and required from any source, are named", async () => {
    gh.rules = [checksRule(999)];
    gh.classic = "not protected";
    await flow.observe(REPO, "scan", "s");
    gh.rules = [checksRule()];
    later(10);
    await flow.observe(REPO, "scan", "s2");
    expect((await records()).map((r) => r.payload.missing.map((m) => m.code))).toEqual([
      ["other_app"],
      ["any_source"],
    ]);
  });

  test("classic protection with administration: read, pinned to the app: enforced", async () => {
    gh.rules = [];
    gh.classic = { checks: [{ context: "changegate", app_id: APP }] };
    await flow.observe(REPO, "branch_protection_rule", "d");
    const [rec] = await records();
    expect(rec!.payload.state).toBe("enforced");
    expect(rec!.payload.by).toBe("classic branch protection");
  });
});

describe("the evaluation's part", () => {
  test("budget: 0 extra reads per evaluation once observed; a read only when the observation is over an hour old", async () => {
    expect(await flow.forEvaluation(REPO, "e1")).toBeNull(); // never observed: read in the background
    await flow.idle();
    expect(fake.requests).toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      later(2);
      expect((await flow.forEvaluation(REPO, `e${i}`))?.state).toBe("enforced");
    }
    await flow.idle();
    expect(fake.requests).toHaveLength(1); // 20 evaluations within the hour: no request
    later(30); // 70 minutes after the observation
    await flow.forEvaluation(REPO, "late");
    await flow.idle();
    expect(fake.requests).toHaveLength(2);
  });

  test("a failing read never fails the evaluation; it is tried again later, not on every evaluation", async () => {
    gh.fail = true;
    expect(await flow.forEvaluation(REPO, "e1")).toBeNull();
    await flow.idle();
    await flow.forEvaluation(REPO, "e2");
    await flow.idle();
    expect(fake.requests).toHaveLength(1);
    expect(logs.some((l) => /could not observe the enforcement/.test(l))).toBe(true);
    later(6);
    await flow.forEvaluation(REPO, "e3");
    await flow.idle();
    expect(fake.requests).toHaveLength(2);
  });

  test("the digest line appears when the base branch is not enforced, and disappears when it is; the check's conclusion is unchanged", () => {
    const e = fixtureEvidence({});
    const p = {
      config: configSchema.parse({}),
      source: { kind: "repo", location: "acme/payments:.github/changegate.yml", contentHash: "h" },
    } as const;
    const verdict = evaluate(p as never, e);
    const off = renderVerdict(verdict, e, p as never, {
      state: "not_enforced",
      missing: [{ text: 'ruleset "<b>x</b>" requires it only in evaluate mode' }],
    });
    const on = renderVerdict(verdict, e, p as never, { state: "enforced", missing: [] });
    const none = renderVerdict(verdict, e, p as never);
    expect(off.comment).toContain(
      `\`${e.pr.baseRef}\` does not require the \`changegate\` check: merging is not blocked`,
    );
    expect(off.comment).not.toContain("<b>"); // GitHub's ruleset names are escaped
    expect(on.comment).not.toContain("merging is not blocked");
    expect(on.comment).toBe(none.comment);
    expect(off.check.conclusion).toBe(on.check.conclusion);
    expect(off.check.title).toBe(on.check.title);
  });
});

describe("audit enforcement: the timeline from the records", () => {
  function io() {
    const out: string[] = [];
    return {
      out,
      io: {
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: () => true },
        env: { DATABASE_URL: `sqlite:${tmp.dir}/a.db` },
        cwd: tmp.dir,
        now: () => clock,
      },
    };
  }

  test("a branch losing and regaining enforcement: a period not in force, exit 1; the chain verifies", async () => {
    clock = new Date("2026-01-01T00:00:00Z");
    await flow.observe(REPO, "scan", "s1");
    for (let h = 1; h <= 4; h++) {
      later(60);
      await flow.observe(REPO, "scan", `s${h + 1}`);
    }
    // 05:00 an admin removes the rule; the ruleset webhook says so
    later(60);
    gh.rules = [];
    gh.classic = "not protected";
    await flow.observe(REPO, "repository_ruleset", "d-off");
    later(60);
    await flow.observe(REPO, "scan", "s7");
    // 07:00 restored
    later(60);
    gh.rules = [checksRule(APP)];
    await flow.observe(REPO, "repository_ruleset", "d-on");
    for (let h = 0; h < 3; h++) {
      later(60);
      await flow.observe(REPO, "scan", `t${h}`);
    }
    expect((await records()).map((r) => `${r.payload.state}/${r.payload.reason}`)).toEqual([
      "enforced/first",
      "not_enforced/changed",
      "enforced/changed",
    ]);
    expect((await verifyChains(new AuditReader(store))).ok).toBe(true);

    const whole = io();
    const code = await enforcementCommand(whole.io as never, {
      from: "2026-01-01T00:00:00Z",
      to: "2026-01-01T10:00:00Z",
      json: true,
    });
    expect(code).toBe(1);
    const report = JSON.parse(whole.out.join(""));
    const b = report.branches[0];
    expect(b.repo).toBe("acme/payments");
    expect(
      b.periods.map((p: { state: string; from: string; to: string }) => [p.state, p.from, p.to]),
    ).toEqual([
      ["enforced", "2026-01-01T00:00:00.000Z", "2026-01-01T04:00:00.000Z"],
      ["not_enforced", "2026-01-01T04:00:00.000Z", "2026-01-01T07:00:00.000Z"],
      ["enforced", "2026-01-01T07:00:00.000Z", "2026-01-01T10:00:00.000Z"],
    ]);
    expect(b.firstObservation).toBe("2026-01-01T00:00:00.000Z");
    expect(b.lastObservation).toBe("2026-01-01T10:00:00.000Z");

    // The hours before the loss alone: in force, exit 0.
    const before = io();
    expect(
      await enforcementCommand(before.io as never, {
        from: "2026-01-01T00:00:00Z",
        to: "2026-01-01T04:00:00Z",
      }),
    ).toBe(0);
    expect(before.out.join("")).toMatch(/IN FORCE for the whole period/);
  });

  test("the scheduled scan seeds the gated branches it found: a branch never evaluated is observed, once, and listed", async () => {
    await flow.observe(REPO, "evaluation", "e1");
    fake.requests.length = 0;
    later(60);
    const failed = await flow.scan("scan-1", undefined, [
      { installationId: 7, repo: "acme/payments", branch: "main", defaultBranch: "main" },
      { installationId: 7, repo: "acme/payments", branch: "release", defaultBranch: "main" },
      { installationId: 8, repo: "other/thing", branch: "main", defaultBranch: "main" },
    ]);
    expect(failed).toBe(0);
    // main (on the books and seeded) once, release and other/thing seeded: one read each.
    expect(fake.requests).toHaveLength(3);
    expect(
      (await records()).map((r) => `${r.payload.repo} ${r.payload.branch} ${r.payload.trigger}`),
    ).toEqual(["acme/payments main evaluation", "acme/payments release scan", "other/thing main scan"]);
    // One installation's scan seeds only its own branches.
    fake.requests.length = 0;
    later(60);
    await flow.scan("scan-2", 8, [
      { installationId: 7, repo: "acme/payments", branch: "hotfix", defaultBranch: "main" },
    ]);
    expect(fake.requests).toHaveLength(1);
    const run = io();
    await enforcementCommand(run.io as never, {
      from: "2026-01-01T00:00:00Z",
      to: "2026-01-02T00:00:00Z",
      json: true,
    });
    expect(
      JSON.parse(run.out.join("")).branches.map(
        (b: { repo: string; branch: string }) => `${b.repo} ${b.branch}`,
      ),
    ).toEqual(["acme/payments main", "acme/payments release", "other/thing main"]);
  });

  test("a gap in observation (changegate down for a day) is a gap, and a resumed record marks its end", async () => {
    await flow.observe(REPO, "scan", "s1");
    later(24 * 60);
    const r = await flow.observe(REPO, "scan", "s2");
    expect(r.reason).toBe("resumed");
    const run = io();
    expect(
      await enforcementCommand(run.io as never, {
        from: "2026-01-01T00:00:00Z",
        to: "2026-01-02T00:00:00Z",
        json: true,
      }),
    ).toBe(1);
    const b = JSON.parse(run.out.join("")).branches[0];
    // Two observations a day apart: nothing vouches for the state in between.
    expect(b.gaps).toEqual([{ from: "2026-01-01T00:00:00.000Z", to: "2026-01-02T00:00:00.000Z" }]);
  });
});
