/**
 * `changegate audit report` agrees with `changegate audit export` for the same window, read from
 * the HTML file itself (no browser needed): one population (merged PRs and direct pushes), every
 * figure counted from the export's rows, shares summing to 100 %, an ungated merge under "other"
 * with the export's `gated` column false, the direct-push figure linking to exactly the export's
 * direct-push rows, and an emergency's retro-review due time and status the recorded ones (due 48 h
 * after the merge, reviewed at 72 h: late in both).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import type { ExportRow } from "../../src/audit/export.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainAfterMerge } from "../../src/audit/after-merge.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import { sharesInTenths } from "../../src/report/audit-report-model.js";
import { merge, tempDir } from "./records.js";

const tmp = tempDir();
const DB = `sqlite:${join(tmp.dir, "agree.db")}`;
const HOUR = 3_600_000;
const EMERGENCY_MERGED = "2026-03-10T10:00:00.000Z";
const DUE = new Date(Date.parse(EMERGENCY_MERGED) + 48 * HOUR).toISOString();
const REVIEWED = new Date(Date.parse(EMERGENCY_MERGED) + 72 * HOUR).toISOString();

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: { DATABASE_URL: DB },
    cwd: tmp.dir,
    now: () => new Date("2026-04-02T12:00:00.000Z"),
  };
  return { code: await main(argv, io), stdout, stderr };
}

let exported: ExportRow[] = [];
let page = "";

/** The number a figure shows (linked or not). */
function figure(id: string): number {
  const m = new RegExp(`data-figure="${id}">(?:<a href="#set-${id}">)?(\\d+)`).exec(page);
  if (!m) throw new Error(`no figure ${id} in the report`);
  return Number(m[1]);
}
function share(id: string): string {
  const m = new RegExp(`data-share="${id}">([^<]*)<`).exec(page);
  if (!m) throw new Error(`no share for ${id} in the report`);
  return m[1]!;
}
/** The report's rows, in order: their record ids. */
function rowRecords(): string[] {
  return [...page.matchAll(/<tr id="row-(\d+)" data-record="([^"]+)">/g)].map((m) => m[2]!);
}
/** The records of the rows a figure links to (its set). */
function setRecords(id: string): string[] {
  const m = new RegExp(`<div class="set" id="set-${id}">(.*?)</div>`).exec(page);
  if (!m) return [];
  const records = rowRecords();
  return [...m[1]!.matchAll(/href="#row-(\d+)"/g)].map((x) => records[Number(x[1])]!);
}

beforeAll(async () => {
  const store = await AuditStore.open(DB);
  try {
    const writer = new ChainWriter(store);
    // #1 compliant: merged with its own green verdict into a gated branch.
    await writer.recordMerge(merge({ number: 1, mergedAt: "2026-03-02T10:00:00Z", outcome: "success" }));
    // #2 and #3 into a branch the policy does not gate: the green "Not gated" check.
    await writer.recordMerge(
      merge({ number: 2, mergedAt: "2026-03-03T10:00:00Z", outcome: "success", gated: false }),
    );
    await writer.recordMerge(
      merge({ number: 3, mergedAt: "2026-03-04T10:00:00Z", outcome: "success", gated: false }),
    );
    // #4 bypass: merged into a gated branch while its verdict was failure.
    await writer.recordMerge(merge({ number: 4, mergedAt: "2026-03-05T10:00:00Z", outcome: "failure" }));
    // #5 emergency, due 48 h after the merge (the policy's default), reviewed at 72 h: late.
    await writer.recordMerge({
      ...merge({ number: 5, mergedAt: EMERGENCY_MERGED, outcome: "success", emergency: true }),
      retroReview: { dueAt: DUE, withinHours: 48, issueRepo: null },
    });
    await new ChainAfterMerge(writer).recordRetroReview({
      at: REVIEWED,
      deliveryId: "retro-5",
      ref: { installationId: 77, owner: "acme", repo: "payments", number: 5 },
      headSha: "a".repeat(40),
      by: "lead",
      reviewedAt: REVIEWED,
      via: "review",
      url: "https://github.com/acme/payments/pull/5",
      dueAt: DUE,
      lateMs: Date.parse(REVIEWED) - Date.parse(DUE),
    });
    // Two direct pushes to main.
    for (const [i, at] of ["2026-03-12T10:00:00Z", "2026-03-20T10:00:00Z"].entries()) {
      await new ChainDirectPush(writer).recordDirectPush({
        at,
        deliveryId: `push-${i}`,
        installationId: 77,
        owner: "acme",
        repo: "payments",
        branch: "main",
        pusher: "mallory",
        before: String(i).repeat(40),
        after: String(i + 5).repeat(40),
        forced: false,
        commitsWithoutPr: [String(i + 5).repeat(40)],
        examined: 1,
        pushedAt: at,
        policySource: "defaults",
      });
    }
  } finally {
    await store.close();
  }
  const e = await run([
    "audit",
    "export",
    "--from",
    "2026-03-01",
    "--to",
    "2026-03-31",
    "--format",
    "json",
    "--out",
    "export.json",
  ]);
  expect(e.code).toBe(EXIT.ok);
  exported = (JSON.parse(readFileSync(join(tmp.dir, "export.json"), "utf8")) as { changes: ExportRow[] })
    .changes;
  const r = await run([
    "audit",
    "report",
    "--from",
    "2026-03-01",
    "--to",
    "2026-03-31",
    "--out",
    "report.html",
  ]);
  expect(r.stderr).toContain("report of 7 changes written to report.html");
  expect(r.code).toBe(EXIT.ok);
  page = readFileSync(join(tmp.dir, "report.html"), "utf8");
}, 60_000);
afterAll(() => tmp.cleanup());

describe("the report's figures are the export's", () => {
  test("one population: the same rows in the same order, the total counts them all (direct pushes too)", () => {
    expect(exported).toHaveLength(7);
    expect(exported.filter((r) => r.change_type === "direct_push")).toHaveLength(2);
    expect(rowRecords()).toEqual(exported.map((r) => r.record));
    expect(figure("total")).toBe(exported.length);
  });

  test("each category counted from the export's columns; every row in exactly one; shares sum to 100 %", () => {
    const merged = (r: ExportRow) => r.change_type === "merge";
    const counts = {
      "category-compliant": exported.filter(
        (r) => merged(r) && r.gated && !r.emergency && !r.bypass && r.check_at_merge === "success",
      ).length,
      "category-emergency": exported.filter((r) => merged(r) && r.gated && r.emergency).length,
      "category-bypass": exported.filter((r) => merged(r) && r.gated && !r.emergency && r.bypass).length,
      "category-direct-push": exported.filter((r) => r.change_type === "direct_push").length,
      "category-other": exported.filter(
        (r) => merged(r) && (!r.gated || (!r.emergency && !r.bypass && r.check_at_merge !== "success")),
      ).length,
    };
    expect(counts).toEqual({
      "category-compliant": 1,
      "category-emergency": 1,
      "category-bypass": 1,
      "category-direct-push": 2,
      "category-other": 2,
    });
    for (const [id, n] of Object.entries(counts)) expect(figure(id)).toBe(n);
    const sum = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sum).toBe(figure("total"));
    // 1/7, 2/7 … rounded one by one would sum to 99.9 %.
    const shares = Object.keys(counts).map((id) => Number(share(id).replace(" %", "")));
    expect(Math.round(shares.reduce((a, b) => a + b, 0) * 10)).toBe(1000);
  });

  test("an ungated merge is 'other' and the export says gated: false", () => {
    const ungated = exported.filter((r) => !r.gated);
    expect(ungated.map((r) => r.pr)).toEqual([2, 3]);
    expect(setRecords("category-other").sort()).toEqual(ungated.map((r) => r.record).sort());
    expect(setRecords("category-compliant")).toEqual(exported.filter((r) => r.pr === 1).map((r) => r.record));
  });

  test("the direct-push figure links to the export's direct-push rows, listed in the direct-push table", () => {
    const pushes = exported.filter((r) => r.change_type === "direct_push").map((r) => r.record);
    expect(setRecords("category-direct-push")).toEqual(pushes);
    expect(page).toContain('<table data-figure="direct-pushes" data-value="2">');
  });

  test("the emergency's due time and status are the recorded ones: due at 48 h, reviewed at 72 h, late in both", () => {
    const row = exported.find((r) => r.emergency)!;
    expect(row).toMatchObject({
      retro_review: "reviewed late",
      retro_review_due_at: DUE,
      retro_reviewed_at: REVIEWED,
      retro_reviewed_by: "lead",
    });
    const line = /<tr data-retro-review="([^"]+)">(.*?)<\/tr>/.exec(page);
    expect(line).not.toBeNull();
    expect(line![1]).toBe(row.retro_review);
    expect(line![2]).toContain(`<td data-due-by>${DUE}</td>`);
    expect(line![2]).toContain(`${REVIEWED} by lead`);
    expect(line![2]).toContain("72 h");
    expect(line![2]).toMatch(/class="bad">reviewed late</);
    expect(page).not.toMatch(/reviewed in time/);
  });

  test("--retro-window-days is refused with a message saying the recorded due time is used", async () => {
    const r = await run([
      "audit",
      "report",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--out",
      "r2.html",
      "--retro-window-days",
      "5",
    ]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--retro-window-days is no longer used: .*retro_review_due_at/);
  });
});

describe("shares in tenths of a percent", () => {
  test.each([
    [[1, 1, 1], 3, [334, 333, 333]],
    [[1, 1, 1, 2, 2], 7, [143, 143, 143, 286, 285]],
    [[0, 5, 0], 5, [0, 1000, 0]],
    [[0, 0], 0, [0, 0]],
  ])("%j of %i", (values, total, expected) => {
    const s = sharesInTenths(values, total);
    expect(s).toEqual(expected);
    if (total > 0) expect(s.reduce((a, b) => a + b, 0)).toBe(1000);
  });
});
