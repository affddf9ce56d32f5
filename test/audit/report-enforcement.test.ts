/**
 * The HTML audit report's enforcement section (issue 23): per repository and gated branch, how long
 * the `changegate` check was in force, not in force and not observed over the period, its periods,
 * and a timeline figure (echarts SSR SVG), all from the `branch_enforcement` records through the same
 * timeline `audit enforcement` uses. The model on its own (pure), the page, and `audit report`
 * against a store written by the enforcement flow.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainEnforcement } from "../../src/audit/enforcement.js";
import { branchTimeline, type BranchTimeline } from "../../src/audit/enforcement-timeline.js";
import { EnforcementFlow } from "../../src/flows/enforcement.js";
import { main, type CliIo } from "../../src/cli.js";
import { buildReportModel, enforcementSection } from "../../src/report/audit-report-model.js";
import { renderAuditReport } from "../../src/report/audit-report-html.js";
import { tempDir } from "./records.js";

const APP = 4242;
const H = 3_600_000;
const at = (h: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + h * H).toISOString();

const rec = (
  h: number,
  state: "enforced" | "not_enforced",
  prevH: number | null,
  missing: string[] = [],
) => ({
  at: at(h),
  payload: {
    state,
    missing: missing.map((text) => ({ code: "not_required" as const, text })),
    previous: prevH === null ? null : { state: "enforced" as const, observedAt: at(prevH), record: null },
    gapBoundMs: 3 * H,
    observedAt: at(h),
  },
});

/** main enforced 0..4 h, not in force 4..7 h (the change's stretch counted not in force), enforced 7..10 h. */
function lossAndReturn(branch = "main"): BranchTimeline {
  return branchTimeline(
    "acme/payments",
    branch,
    [rec(0, "enforced", null), rec(5, "not_enforced", 4, ["nothing requires it"]), rec(7, "enforced", 6)],
    { observedAt: at(10) },
    { from: at(0), to: at(10) },
    new Date(at(12)),
  );
}

describe("the model", () => {
  test("milliseconds per state and shares summing to 100 %; in force only when every branch is", () => {
    const always = branchTimeline(
      "acme/web",
      "main",
      [rec(0, "enforced", null)],
      { observedAt: at(10) },
      { from: at(0), to: at(10) },
      new Date(at(12)),
    );
    const s = enforcementSection([lossAndReturn(), always]);
    expect(s.inForce).toBe(false);
    const [loss, ok] = s.branches;
    expect(loss!.ms).toEqual({ enforced: 7 * H, not_enforced: 3 * H, not_observed: 0 });
    expect(loss!.shareTenths).toEqual({ enforced: 700, not_enforced: 300, not_observed: 0 });
    expect(loss!.periods.map((p) => [p.state, p.ms / H])).toEqual([
      ["enforced", 4],
      ["not_enforced", 3],
      ["enforced", 3],
    ]);
    expect(ok!.inForce).toBe(true);
    expect(enforcementSection([always]).inForce).toBe(true);
    expect(enforcementSection([]).inForce).toBe(false);
  });
});

describe("the page", () => {
  const model = (enforcement: BranchTimeline[] | null) =>
    buildReportModel({
      from: at(0),
      to: at(10),
      generatedAt: at(12),
      rows: [],
      completeness: null,
      checkpoints: { kind: "not checked" },
      enforcement,
    });

  test("a section per branch with its periods, and the timeline as inline SVG; hostile names escaped", () => {
    const page = renderAuditReport(model([lossAndReturn(), lossAndReturn('<img src=x onerror="alert(1)">')]));
    expect(page).toContain('data-enforcement="not in force"');
    expect(page).toContain('<tr data-branch="acme/payments main" data-in-force="false">');
    const chart =
      /<div class="chart" data-chart="enforcement-timeline">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? "";
    expect(chart).toMatch(/^<svg[\s\S]*<\/svg>$/);
    // A segment per period, in the state's colour (3 periods × 2 branches).
    expect((chart.match(/fill="#cf222e"/g) ?? []).length).toBe(2);
    expect((chart.match(/fill="#1a7f37"/g) ?? []).length).toBe(4);
    const periods = /<table data-periods="acme\/payments main">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? "";
    expect([...periods.matchAll(/data-period="(\w+)"/g)].map((m) => m[1])).toEqual([
      "enforced",
      "not_enforced",
      "enforced",
    ]);
    expect(periods).toContain("nothing requires it");
    expect(page).not.toContain("<img src=x");
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  test("every branch in force: said so; none observed: said so, never 'in force'; not given: not checked", () => {
    const always = branchTimeline(
      "acme/web",
      "main",
      [rec(0, "enforced", null)],
      { observedAt: at(10) },
      { from: at(0), to: at(10) },
      new Date(at(12)),
    );
    expect(renderAuditReport(model([always]))).toContain('data-enforcement="in force"');
    const none = renderAuditReport(model([]));
    expect(none).toContain('data-enforcement="none observed"');
    expect(none).not.toContain('data-enforcement="in force"');
    expect(renderAuditReport(model(null))).toContain('data-enforcement="not checked"');
  });
});

describe("audit report against the records", () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: AuditStore;
  let clock: Date;
  let rules: unknown[];

  beforeEach(async () => {
    tmp = tempDir();
    clock = new Date(at(0));
    store = await AuditStore.open(`sqlite:${tmp.dir}/a.db`, { now: () => clock });
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  test("a branch losing and regaining enforcement is a period not in force in the report", async () => {
    const pinned = {
      type: "required_status_checks",
      ruleset_id: 12,
      parameters: { required_status_checks: [{ context: "changegate", integration_id: APP }] },
    };
    rules = [pinned];
    const octokit = {
      async request(route: string) {
        if (route === "GET /repos/{owner}/{repo}/rules/branches/{branch}") return { data: rules };
        throw Object.assign(new Error("Branch not protected"), {
          status: 404,
          response: { data: { message: "Branch not protected" } },
        });
      },
    };
    const flow = new EnforcementFlow({
      store: new ChainEnforcement(new ChainWriter(store)),
      appId: APP,
      octokitFor: async () => octokit,
      now: () => clock,
      log: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const target = {
      installationId: 7,
      owner: "acme",
      repo: "payments",
      branch: "main",
      defaultBranch: "main",
    };
    const observeAt = async (h: number) => {
      clock = new Date(at(h));
      await flow.observe(target, "scan", `s${h}`);
    };
    for (const h of [0, 1, 2, 3, 4]) await observeAt(h);
    rules = [];
    await observeAt(5);
    await observeAt(6);
    rules = [pinned];
    for (const h of [7, 8, 9, 10]) await observeAt(h);
    await store.close();

    const out = join(tmp.dir, "report.html");
    let stderr = "";
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      env: { DATABASE_URL: `sqlite:${tmp.dir}/a.db` },
      cwd: tmp.dir,
      now: () => new Date(at(12)),
    };
    const code = await main(["audit", "report", "--from", at(0), "--to", at(10), "--out", out], io);
    expect([code, stderr]).toEqual([0, expect.stringContaining("report of 0 changes")]);
    const page = readFileSync(out, "utf8");
    expect(page).toContain('data-enforcement="not in force"');
    const periods = /<table data-periods="acme\/payments main">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? "";
    expect(
      [...periods.matchAll(/<tr data-period="(\w+)"><td>([^<]+)<\/td><td>([^<]+)<\/td>/g)].map((m) =>
        m.slice(1),
      ),
    ).toEqual([
      ["enforced", at(0), at(4)],
      ["not_enforced", at(4), at(7)],
      ["enforced", at(7), at(10)],
    ]);
    expect(page).toContain('<td class="n" data-state="not_enforced">3.0 h (30.0 %)</td>');
    // Reopened for the next test's afterEach.
    store = await AuditStore.open(`sqlite:${tmp.dir}/a.db`, { now: () => clock });
  });
});
