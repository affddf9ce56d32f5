/**
 * Branch enforcement end to end (issue 23): `node lib/main.js` against the simulator's rulesets and
 * classic protection (test/sim/rulesets.ts). A gated PR's evaluation observes its base branch in the
 * background; the ruleset and protection webhooks observe it again; each change is a
 * `branch_enforcement` record; `changegate audit enforcement` builds the timeline (exit 1 when not in
 * force for part of the period) and the digest says when the base branch does not require the check.
 * Once observed, an evaluation costs no extra read.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { ENTRY } from "../sim/driver.js";
import type { SimInstallation, SimPull, SimRepo } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const POLICY = "approvals:\n  required: 1\n";
const ENFORCEMENT_ROUTES = [
  "GET /repos/{owner}/{repo}/rules/branches/{branch}",
  "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
  "GET /repos/{owner}/{repo}/rulesets",
  "GET /repos/{owner}/{repo}/rulesets/{ruleset_id}",
];
const WARNING = "does not require the `changegate` check: merging is not blocked";

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Timeline {
  repo: string;
  branch: string;
  inForce: boolean;
  firstObservation: string | null;
  periods: { from: string; to: string; state: string; missing: string[] }[];
}

function enforcement(
  repo: SimRepo,
  from = "2000-01-01",
  to = "2100-01-01",
): { code: number | null; report: { inForce: boolean; branches: Timeline[] }; stdout: string } {
  const r = w.cg.cli(["audit", "enforcement", "--from", from, "--to", to, "--repo", repo.fullName, "--json"]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`audit enforcement: ${r.code} ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout), stdout: r.stdout };
}

const branchOf = (repo: SimRepo, branch = "main") =>
  enforcement(repo).report.branches.find((b) => b.branch === branch);

/** The states of the branch's records (the timeline's periods without the stretch before the first). */
const states = (t: Timeline | undefined) =>
  (t?.periods ?? []).map((p) => p.state).filter((s, i, a) => i > 0 || s !== "not_observed" || a.length === 1);

/** The branch's last observation on the books (the report's lastObservation). */
function lastObservation(repo: SimRepo, branch = "main"): string {
  return (branchOf(repo, branch) as Timeline & { lastObservation: string }).lastObservation;
}

/**
 * The repository's branch_enforcement records, straight from the audit store (sqlite), read by a
 * child process through changegate's own SQLite driver (as push.test.ts does).
 */
function records(
  repo: SimRepo,
): { outcome: string; payload: { branch: string; reason: string; trigger: string } }[] {
  const file = w.cg.env().DATABASE_URL!.replace(/^sqlite:/, "");
  const driver = pathToFileURL(join(dirname(ENTRY), "audit", "sqlite-driver.js")).href;
  const script = `import { openSqliteConnection } from ${JSON.stringify(driver)};
const db = await openSqliteConnection(process.argv[1], { timeoutMs: 5000 });
try {
  const rows = db.prepare("select outcome, payload from audit_record where chain = ? and kind = 'branch_enforcement' order by seq").all([process.argv[2]]);
  process.stdout.write(JSON.stringify(rows));
} finally {
  db.close();
}`;
  const r = spawnSync(
    process.execPath,
    ["--no-warnings", "--input-type=module", "-e", script, file, repo.fullName.toLowerCase()],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`reading the audit store failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { outcome: string; payload: string }[]).map((row) => ({
    outcome: row.outcome,
    payload: JSON.parse(row.payload),
  }));
}

const recordCount = (repo: SimRepo) => records(repo).length;

function enforcementRequests(seq: number, inst: SimInstallation) {
  return w.sim.since(seq, (r) => r.installationId === inst.id && ENFORCEMENT_ROUTES.includes(r.route));
}

/** A gated repository and a PR on main; waits until main's enforcement is on record. */
async function gatedPr(opts: { enforced?: boolean } = {}): Promise<{
  repo: SimRepo;
  installation: SimInstallation;
  pr: SimPull;
}> {
  const { repo, installation } = w.repo({ policy: POLICY, enforced: opts.enforced ?? false });
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  await w.settle();
  await until(() => branchOf(repo) !== undefined);
  await w.settle();
  return { repo, installation, pr };
}

describe("what the app observes and records", () => {
  test("an active ruleset pinned to changegate: enforced, one request; in force for the period (exit 0)", async () => {
    const seq = w.sim.lastSeq;
    const { repo, installation } = await gatedPr({ enforced: true });
    const t = branchOf(repo)!;
    expect(states(t)).toEqual(["enforced"]);
    expect(enforcementRequests(seq, installation).map((r) => r.route)).toEqual([ENFORCEMENT_ROUTES[0]]);
    // From its first observation on, it was in force: exit 0.
    const since = enforcement(repo, t.firstObservation!, new Date(Date.now() + 60_000).toISOString());
    expect(since.report.inForce).toBe(true);
    expect(since.code).toBe(0);
    // Before it, not observed: the whole year is not vouched for (exit 1).
    expect(enforcement(repo).code).toBe(1);
  }, 120_000);

  test("a ruleset only in evaluate mode: not enforced, 'only in evaluate mode'", async () => {
    const { repo } = w.repo({ policy: POLICY, enforced: false });
    w.model.addRuleset(repo, {
      name: "trial",
      enforcement: "evaluate",
      checks: [{ context: "changegate", appId: w.appId }],
    });
    w.model.openPullRequest(repo, { author: "dev" });
    await w.settle();
    await until(() => branchOf(repo) !== undefined);
    const t = branchOf(repo)!;
    expect(states(t)).toEqual(["not_enforced"]);
    expect(t.periods.at(-1)!.missing.join("; ")).toContain(
      'ruleset "trial" (' +
        [...w.model.rulesets.values()].find((r) => r.name === "trial" && r.source === repo.fullName)!.id +
        ") requires the `changegate` check only in evaluate mode",
    );
  }, 120_000);

  test("the check pinned to another app: not enforced", async () => {
    const { repo } = w.repo({ policy: POLICY, enforced: false });
    w.model.addRuleset(repo, { checks: [{ context: "changegate", appId: w.appId + 1 }] });
    w.model.openPullRequest(repo, { author: "dev" });
    await w.settle();
    await until(() => branchOf(repo) !== undefined);
    const t = branchOf(repo)!;
    expect(states(t)).toEqual(["not_enforced"]);
    expect(t.periods.at(-1)!.missing.join("; ")).toContain(`from another app (App ID ${w.appId + 1})`);
  }, 120_000);

  test("classic protection: enforced with administration; without it, 'could not be read'", async () => {
    const org = w.org();
    const { repo } = w.repo({ policy: POLICY, enforced: false, org });
    w.quietly(() => w.model.protectBranch(repo, "main", [{ context: "changegate", appId: w.appId }]));
    w.model.openPullRequest(repo, { author: "dev" });
    await w.settle();
    await until(() => branchOf(repo) !== undefined);
    expect(states(branchOf(repo))).toEqual(["enforced"]);

    const other = w.org();
    w.model.setInstallationPermissions(other.installation, {
      ...w.model.app(w.appId).permissions,
      administration: "none",
    });
    const { repo: repo2 } = w.repo({ policy: POLICY, enforced: false, org: other });
    const seen = w.model.webhooks.length;
    w.model.protectBranch(repo2, "main", [{ context: "changegate", appId: w.appId }]);
    // GitHub sends no branch protection event without administration.
    expect(w.model.webhooks.slice(seen).filter((h) => h.installationId === other.installation.id)).toEqual(
      [],
    );
    w.model.openPullRequest(repo2, { author: "dev" });
    await w.settle();
    await until(() => branchOf(repo2) !== undefined);
    const t = branchOf(repo2)!;
    expect(states(t)).toEqual(["not_enforced"]);
    expect(t.periods.at(-1)!.missing.join("; ")).toContain(
      "classic branch protection could not be read (HTTP 403): grant the app `administration: read`",
    );
  }, 120_000);
});

describe("losing and regaining enforcement", () => {
  test("webhooks record the loss and the return; audit enforcement shows the period not in force (exit 1); the digest line appears and disappears; no extra read per evaluation", async () => {
    const { repo, installation, pr } = await gatedPr({ enforced: false });
    // Never observed at the first evaluation: no line yet; observed since (nothing requires the check).
    expect(states(branchOf(repo))).toEqual(["not_enforced"]);

    // The next evaluation says it.
    w.model.review(pr, { author: "alice" });
    await w.settle();
    await until(() => (w.digest(pr)?.body ?? "").includes(WARNING));
    expect(w.digest(pr)!.body).toContain("`main` " + WARNING);
    expect(w.check(pr)).toMatchObject({ conclusion: "success" }); // the check itself is unchanged

    // An admin requires it through a ruleset: the webhook observes main again: enforced.
    const rs = w.model.addRuleset(repo, {
      name: "gate",
      checks: [{ context: "changegate", appId: w.appId }],
    });
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "enforced");
    const t0 = lastObservation(repo);

    // Once observed, evaluations read nothing more: N evaluations, N GraphQL reads, 0 enforcement reads.
    const seq = w.sim.lastSeq;
    const logFrom = w.cg.logs.length;
    for (const label of ["a", "b", "c"]) {
      w.model.addLabel(pr, label);
      await w.settle();
    }
    const finished = w.cg.logs
      .slice(logFrom)
      .filter((l) => l.msg === "evaluation finished" && l.repo === pr.repo && l.pr === pr.number);
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(enforcementRequests(seq, installation)).toEqual([]);
    expect(w.api(seq, installation).reads).toBe(finished.reduce((n, l) => n + Number(l.reads), 0));
    // The digest line is gone.
    expect(w.digest(pr)!.body).not.toContain(WARNING);

    // Observed again, unchanged (a ruleset event that changes nothing it requires; the hourly scan
    // does the same): the period in force reaches to this observation, and nothing is appended.
    const before = recordCount(repo);
    w.model.editRuleset(rs, { name: "gate (renamed)" });
    await w.settle();
    await until(() => lastObservation(repo) > t0);
    expect(recordCount(repo)).toBe(before);

    // Switched to evaluate mode for a while (the webhook), then active again.
    w.model.editRuleset(rs, { enforcement: "evaluate" });
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "not_enforced");
    w.model.addLabel(pr, "d");
    await w.settle();
    await until(() => (w.digest(pr)?.body ?? "").includes("only in evaluate mode"));
    w.model.editRuleset(rs, { enforcement: "active" });
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "enforced");
    w.model.addLabel(pr, "e");
    await w.settle();
    await until(() => !(w.digest(pr)?.body ?? WARNING).includes(WARNING));

    const t = branchOf(repo)!;
    expect(states(t)).toEqual(["not_enforced", "enforced", "not_enforced", "enforced"]);
    // One record per change, each from the webhook that announced it (the first from the evaluation).
    expect(records(repo).map((r) => [r.outcome, r.payload.reason, r.payload.trigger])).toEqual([
      ["not_enforced", "first", "evaluation"],
      ["enforced", "changed", "repository_ruleset"],
      ["not_enforced", "changed", "repository_ruleset"],
      ["enforced", "changed", "repository_ruleset"],
    ]);
    const evaluateOnly = t.periods.filter((p) => p.missing.some((m) => m.includes("only in evaluate mode")));
    expect(evaluateOnly).toHaveLength(1);
    // From its first observation on: not in force for part of it, exit 1, in text too.
    const now = new Date(Date.now() + 60_000).toISOString();
    const r = enforcement(repo, t.firstObservation!, now);
    expect(r.code).toBe(1);
    const text = w.cg.cli([
      "audit",
      "enforcement",
      "--from",
      t.firstObservation!,
      "--to",
      now,
      "--repo",
      repo.fullName,
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${repo.fullName} main: NOT in force for part of the period`);
    expect(text.stdout).toContain("only in evaluate mode");

    // The HTML report: the same periods in its enforcement section.
    const html = join(w.cg.dataDir, `enforcement-${repo.name}-${Date.now()}.html`);
    const report = w.cg.cli([
      "audit",
      "report",
      "--from",
      t.firstObservation!,
      "--to",
      now,
      "--repo",
      repo.fullName,
      "--out",
      html,
    ]);
    expect([report.code, report.stderr]).toEqual([0, expect.stringContaining("written to")]);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('data-enforcement="not in force"');
    expect(page).toContain(`<tr data-branch="${repo.fullName} main" data-in-force="false">`);
    expect(page).toMatch(/data-chart="enforcement-timeline"><svg/);
    const rows = /<table data-periods="[^"]+ main">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? "";
    expect([...rows.matchAll(/data-period="(\w+)"/g)].map((m) => m[1])).toEqual(
      t.periods.filter((p) => Date.parse(p.to) > Date.parse(t.firstObservation!)).map((p) => p.state),
    );

    // audit completeness mentions the gap.
    const comp = await w.cg.cliAsApp(
      ["audit", "completeness", "--from", t.firstObservation!, "--to", now, "--repo", repo.fullName],
      { CHANGEGATE_SEARCH_PACE_MS: "0" },
    );
    expect(comp.stdout).toContain(`enforcement gap: ${repo.fullName} main: not in force`);
  }, 240_000);

  test("classic protection removed by a rule deletion and the configuration turned off: recorded from the webhooks", async () => {
    const { repo } = await gatedPr({ enforced: false });
    w.model.protectBranch(repo, "main", [{ context: "changegate", appId: w.appId }]);
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "enforced");
    // Observed again unchanged (an edit that keeps the check), so the period in force has a length.
    const t0 = lastObservation(repo);
    w.model.protectBranch(repo, "main", [{ context: "changegate", appId: w.appId }, { context: "build" }]);
    await w.settle();
    await until(() => lastObservation(repo) > t0);
    w.model.setBranchProtectionEnabled(repo, false);
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "not_enforced");
    w.model.setBranchProtectionEnabled(repo, true);
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "enforced");
    const t1 = lastObservation(repo);
    w.model.protectBranch(repo, "main", [{ context: "changegate", appId: w.appId }]);
    await w.settle();
    await until(() => lastObservation(repo) > t1);
    w.model.unprotectBranch(repo, "main");
    await w.settle();
    await until(() => states(branchOf(repo)).at(-1) === "not_enforced");
    expect(states(branchOf(repo))).toEqual([
      "not_enforced",
      "enforced",
      "not_enforced",
      "enforced",
      "not_enforced",
    ]);
  }, 180_000);
});
