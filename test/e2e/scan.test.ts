/**
 * The scan and completeness end to end: changegate's CLI (`lib/cli.js`) as the GitHub App against
 * the simulator, whose search keeps GitHub's rules (test/sim/search.ts). Merges made while the
 * webhooks were lost are found, judged as of their merge, recorded once; completeness lists what
 * is missing and what is extra over a window larger than one search page. These scans pass
 * `--no-direct-pushes` (merges only; direct pushes are on by default, tested in test/e2e/push.test.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { NON_COMPLIANT_PHRASE } from "../../src/contract.js";
import { Probot } from "probot";
import type { SimPull, SimRepo } from "../sim/model.js";
import { World } from "../sim/world.js";

let w: World;
const POLICY = "approvals:\n  required: 1\n";

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

/** The CLI with the app's credentials; the search is not paced in tests. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  w.cg.cliAsApp(args, { CHANGEGATE_SEARCH_PACE_MS: "0", ...env });

const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

function approvedMerge(repo: SimRepo): SimPull {
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  w.model.review(pr, { author: "alice" });
  w.model.merge(pr, "alice");
  return pr;
}

describe("audit scan", () => {
  let org = "";
  let webhookPr: SimPull;
  let bypassPr: SimPull;
  let since = "";

  beforeAll(async () => {
    since = hourAgo();
    const { repo, installation } = w.repo({ policy: POLICY });
    org = installation.account;
    // One merge changegate heard about.
    webhookPr = w.model.openPullRequest(repo, { author: "dev" });
    w.model.review(webhookPr, { author: "alice" });
    await w.settle();
    w.model.merge(webhookPr, "alice");
    await w.settle();
    // Twelve compliant merges and one unapproved, all while the webhooks were lost.
    w.quietly(() => {
      for (let i = 0; i < 12; i++) approvedMerge(repo);
      bypassPr = w.model.openPullRequest(repo, { author: "dev" });
      w.model.merge(bypassPr, "admin");
    });
    w.sim.searchRules.cap = 10; // 14 merges: the window must be sliced
    w.sim.searchRules.perMinute = 10_000;
  }, 120_000);

  afterAll(() => {
    w.sim.searchRules.cap = 1000;
  });

  test("finds every missed merge through sliced searches, records it, and reports the bypass", async () => {
    const seq = w.sim.lastSeq;
    const r = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      inAnHour(),
      "--org",
      org,
      "--json",
      "--no-direct-pushes",
    ]);
    expect(r.stderr).toContain(NON_COMPLIANT_PHRASE);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      merged: number;
      alreadyRecorded: number;
      recorded: number;
      compliant: number;
      bypasses: { pr: string; outcome: string }[];
      failed: unknown[];
    };
    expect(summary).toMatchObject({
      kind: "changegate-scan",
      merged: 14,
      alreadyRecorded: 1,
      recorded: 13,
      compliant: 12,
      failed: [],
    });
    expect(summary.bypasses).toEqual([
      expect.objectContaining({ pr: `${org}/service#${bypassPr.number}`, outcome: "failure" }),
    ]);
    const searches = w.sim.since(seq, (x) => x.route === "GET /search/issues");
    expect(searches.length).toBeGreaterThan(2);
    expect(searches.every((x) => x.status === 200)).toBe(true);
    const shown = await cli(["audit", "show", `${org}/service#${bypassPr.number}`, "--json"]);
    expect(shown.code).toBe(0);
    const merge = shown.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((x) => x.type === "merge")!;
    expect(merge).toMatchObject({
      foundBy: "scan",
      bypass: true,
      outcome: "failure",
      mergedBy: "admin",
      asOfMerge: { outcome: "failure" },
    });
  }, 180_000);

  test("twice: nothing is recorded twice", async () => {
    const r = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      inAnHour(),
      "--org",
      org,
      "--json",
      "--no-direct-pushes",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      merged: 14,
      alreadyRecorded: 14,
      recorded: 0,
      bypasses: [],
    });
    const exported = await cli([
      "audit",
      "export",
      "--from",
      since,
      "--to",
      inAnHour(),
      "--repo",
      `${org}/service`,
      "--format",
      "json",
    ]);
    const doc = JSON.parse(exported.stdout) as {
      rows: number;
      changes: { found_by: string; bypass: boolean; as_of_merge: string | null }[];
    };
    expect(doc.rows).toBe(14);
    expect(doc.changes.filter((c) => c.found_by === "scan").length).toBe(13);
    expect(doc.changes.filter((c) => c.bypass).map((c) => c.as_of_merge)).toEqual(["failure"]);
  }, 180_000);
});

describe("the scan judges as of the merge", () => {
  interface Row {
    pr: number;
    bypass: boolean;
    found_by: string;
    approvers: string[];
    approvals_result: string | null;
    ci_result: string | null;
    ci_checks: { name: string; conclusion: string }[];
    policy: string | null;
    evidence_read_at: string | null;
    read_at_scan_time: string[];
  }

  test("CI that turned green only after the merge does not count; the export carries what the scan read, marked as read at scan time", async () => {
    const since = hourAgo();
    const { repo, installation } = w.repo({
      policy: "approvals:\n  required: 1\nci:\n  required: [build]\n",
    });
    const name = `${installation.account}/service`;
    const m = w.model;
    let late!: SimPull;
    let lateStatus!: SimPull;
    let green!: SimPull;
    w.quietly(() => {
      // Approved, its required check still running when it merged; the run completes afterwards.
      late = m.openPullRequest(repo, { author: "dev" });
      m.review(late, { author: "alice" });
      const run = m.ci(late, "build", { status: "in_progress" });
      m.merge(late, "alice");
      m.tick();
      m.updateCheckRun(run, { status: "completed", conclusion: "success" });
      // Approved, no CI at all when it merged; a green commit status is posted afterwards.
      lateStatus = m.openPullRequest(repo, { author: "dev" });
      m.review(lateStatus, { author: "alice" });
      const head = m.headSha(lateStatus);
      m.merge(lateStatus, "alice");
      m.setStatus(repo, head, { context: "build", state: "success" });
      // Approved and green before it merged: compliant.
      green = m.openPullRequest(repo, { author: "dev" });
      m.review(green, { author: "alice" });
      m.ci(green, "build", { conclusion: "success" });
      m.merge(green, "alice");
    });
    const r = await cli([
      "audit",
      "scan",
      "--since",
      since,
      "--until",
      inAnHour(),
      "--repo",
      name,
      "--json",
      "--no-direct-pushes",
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      recorded: number;
      compliant: number;
      bypasses: { pr: string; outcome: string }[];
    };
    expect(summary).toMatchObject({ recorded: 3, compliant: 1 });
    expect(summary.bypasses.map((b) => b.pr).sort()).toEqual(
      [`${name}#${late.number}`, `${name}#${lateStatus.number}`].sort(),
    );
    expect(summary.bypasses.every((b) => b.outcome === "pending")).toBe(true);

    const exported = await cli([
      "audit",
      "export",
      "--from",
      since,
      "--to",
      inAnHour(),
      "--repo",
      name,
      "--format",
      "json",
    ]);
    expect(exported.code).toBe(0);
    const rows = (JSON.parse(exported.stdout) as { changes: Row[] }).changes;
    const row = (pr: SimPull) => rows.find((x) => x.pr === pr.number)!;
    const marked = [
      "approvals: reviews submitted by the merge",
      "ci: results created and completed by the merge (later ones not counted)",
      "emergency: label applied by the merge",
      "tickets: Jira state at scan time, not at the merge",
    ];
    for (const pr of [late, lateStatus, green]) {
      // What the scan read is exported (issue 21), and marked as read at scan time.
      expect(row(pr)).toMatchObject({
        found_by: "scan",
        approvers: ["alice"],
        approvals_result: "pass",
        policy: `${name}:.github/changegate.yml`,
        read_at_scan_time: marked,
      });
      expect(Number.isNaN(Date.parse(row(pr).evidence_read_at ?? ""))).toBe(false);
    }
    expect(row(late)).toMatchObject({
      bypass: true,
      ci_result: "pending",
      ci_checks: [{ name: "build", conclusion: "success (completed after the merge: not counted)" }],
    });
    expect(row(lateStatus)).toMatchObject({
      bypass: true,
      ci_result: "pending",
      ci_checks: [{ name: "build", conclusion: "success (created after the merge: not counted)" }],
    });
    expect(row(green)).toMatchObject({
      bypass: false,
      ci_result: "pass",
      ci_checks: [{ name: "build", conclusion: "success" }],
    });
  }, 180_000);
});

describe("audit completeness", () => {
  test("a missing and an extra record over a window larger than one search page", async () => {
    const since = hourAgo();
    const { repo, installation } = w.repo({ policy: POLICY });
    const name = `${installation.account}/service`;
    w.quietly(() => {
      for (let i = 0; i < 104; i++) approvedMerge(repo);
    });
    const before = await cli([
      "audit",
      "completeness",
      "--from",
      since,
      "--to",
      inAnHour(),
      "--repo",
      name,
      "--json",
    ]);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({
      complete: false,
      repositories: [{ repo: name, githubMerges: 104, records: 0 }],
    });

    expect(
      (
        await cli([
          "audit",
          "scan",
          "--since",
          since,
          "--until",
          inAnHour(),
          "--repo",
          name,
          "--json",
          "--no-direct-pushes",
        ])
      ).code,
    ).toBe(0);
    const complete = await cli([
      "audit",
      "completeness",
      "--from",
      since,
      "--to",
      inAnHour(),
      "--repo",
      name,
    ]);
    expect(complete.stdout).toContain(`${name}: GitHub 104 merges, 104 records, complete`);
    expect(complete.code).toBe(0);

    // One more merge the scan has not seen, and a record of a merge GitHub does not know.
    const missed = w.quietly(() => approvedMerge(repo));
    const store = await AuditStore.open(w.cg.env().DATABASE_URL, { cwd: w.cg.dataDir });
    try {
      await new ChainWriter(store).recordMerge({
        at: new Date().toISOString(),
        deliveryId: "forged",
        ref: { installationId: installation.id, owner: installation.account, repo: "service", number: 9999 },
        url: "https://example.invalid/9999",
        title: "never merged",
        author: "dev",
        headSha: "f".repeat(40),
        mergedBy: "dev",
        mergedAt: new Date().toISOString(),
        mergeCommitSha: null,
        outcome: "success",
        emergency: false,
        gated: true,
      });
    } finally {
      await store.close();
    }
    const out = join(w.cg.dataDir, "q1.csv");
    const r = await cli([
      "audit",
      "completeness",
      "--from",
      since,
      "--to",
      inAnHour(),
      "--repo",
      name,
      "--beside",
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing record: #${missed.number}`);
    expect(r.stdout).toContain("extra record: #9999");
    const report = JSON.parse(readFileSync(join(w.cg.dataDir, "q1.completeness.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(Object.keys(report)).toEqual(["kind", "from", "to", "generatedAt", "complete", "repositories"]);
    expect(report).toMatchObject({
      kind: "changegate-completeness",
      complete: false,
      repositories: [
        {
          repo: name,
          githubMerges: 105,
          records: 105,
          missing: [
            {
              number: missed.number,
              mergedAt: missed.mergedAt,
              url: expect.stringContaining(`/pull/${missed.number}`),
            },
          ],
          extra: [{ number: 9999, mergedAt: expect.any(String) }],
        },
      ],
    });
  }, 240_000);

  test("the simulator keeps search's rules: 30 a minute, then 403 with the reset; nothing past the cap", async () => {
    const { installation } = w.repo({ policy: POLICY });
    const probot = new Probot({
      appId: w.appId,
      privateKey: w.privateKey,
      baseUrl: `http://${w.sim.gheHost}/api/v3`,
    });
    const app = await probot.auth();
    const { token } = (
      await app.request("POST /app/installations/{installation_id}/access_tokens", {
        installation_id: installation.id,
      })
    ).data as { token: string };
    const search = (q: string, page = 1) =>
      fetch(
        `http://${w.sim.gheHost}/api/v3/search/issues?q=${encodeURIComponent(q)}&per_page=100&page=${page}`,
        { headers: { authorization: `token ${token}` } },
      );
    const q = `is:pr is:merged org:${installation.account} merged:2026-01-01..2026-01-02`;
    w.sim.searchRules.perMinute = 30;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await search(q)).status);
      expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
      const refused = await search(q);
      expect(refused.status).toBe(403);
      expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(Number(refused.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    } finally {
      w.sim.searchRules.perMinute = 10_000;
      w.sim.searchRules.calls.clear();
    }
    expect((await search(q, 11)).status).toBe(422);
  }, 120_000);
});
