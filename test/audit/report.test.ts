/**
 * `changegate audit report`: the HTML file opened in real headless Chromium (/usr/bin/chromium, via
 * playwright-core) with every network request refused; what it shows matches `audit export` for
 * the same window, every figure links to rows that exist, the charts are inline SVG, and nothing
 * is fetched. Plus the model on its own and hostile input (titles, completeness files).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import type { ExportRow } from "../../src/audit/export.js";
import { buildReportModel, categoryOf, weekStart } from "../../src/report/audit-report-model.js";
import { renderAuditReport } from "../../src/report/audit-report-html.js";
import { goldenStore } from "./golden.js";
import { merge, tempDir } from "./records.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainAfterMerge } from "../../src/audit/after-merge.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import { CHROMIUM, requireTool, suiteName } from "../support/tools.js";

/** The page's document, in functions that run inside Chromium (no DOM lib in this project). */
declare const document: {
  getElementById(id: string): unknown;
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
  scripts: { length: number };
};

// Chromium: CHROMIUM_PATH, else `chromium` on the PATH. Without it this part is left out locally
// (the end of the run says so) and fails with CI set (test/support/tools.ts).
const chromiumPath = requireTool(CHROMIUM, suiteName(import.meta.url));
const describeWithChromium = chromiumPath ? describe : describe.skip;
const tmp = tempDir();
const DB = join(tmp.dir, "golden.db");
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const ENV = {
  DATABASE_URL: `sqlite:${DB}`,
  AUDIT_SIGNING_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  AUDIT_VERIFY_KEY: publicKey.export({ format: "pem", type: "spki" }).toString(),
};

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: ENV,
    cwd: tmp.dir,
    now: () => new Date("2026-04-02T12:00:00.000Z"),
  };
  return { code: await main(argv, io), stdout, stderr };
}

const completeness = {
  kind: "changegate-completeness",
  from: "2026-03-01T00:00:00.000Z",
  to: "2026-04-01T00:00:00.000Z",
  generatedAt: "2026-04-02T11:00:00.000Z",
  complete: false,
  repositories: [
    {
      repo: "acme/payments",
      githubMerges: 4,
      records: 3,
      missing: [
        { number: 9, mergedAt: "2026-03-09T10:00:00Z", url: "https://github.com/acme/payments/pull/9" },
      ],
      extra: [],
    },
    { repo: "acme/ledger", githubMerges: 1, records: 1, missing: [], extra: [] },
  ],
};

let exported: ExportRow[] = [];

beforeAll(async () => {
  await (await goldenStore(`sqlite:${DB}`)).close();
  writeFileSync(join(tmp.dir, "completeness.json"), JSON.stringify(completeness));
  expect((await run(["audit", "checkpoint", "--out", "checkpoints.ndjson"])).code).toBe(EXIT.ok);
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
  exported = JSON.parse(readFileSync(join(tmp.dir, "export.json"), "utf8")).changes;
  const r = await run([
    "audit",
    "report",
    "--from",
    "2026-03-01",
    "--to",
    "2026-03-31",
    "--out",
    "report.html",
    "--completeness",
    "completeness.json",
    "--checkpoints",
    "checkpoints.ndjson",
  ]);
  expect(r.stderr).toMatch(
    /report of 4 changes written to report.html \(completeness: INCOMPLETE; checkpoints: ok\)/,
  );
  expect(r.code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => tmp.cleanup());

describeWithChromium("in headless Chromium, with no network", () => {
  let context: BrowserContext;
  let profile: string;
  const requests: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "changegate-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath!,
      headless: true,
      offline: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    await context.route("**/*", (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith("file:") ? route.continue() : route.abort();
    });
    context.on("request", (r) => requests.push(r.url()));
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("Chromium is where it was found", () => {
    expect(existsSync(chromiumPath!)).toBe(true);
  });

  test("its figures are the export's, each links to rows that exist, charts are inline SVG, nothing is fetched", async () => {
    const page = await context.newPage();
    const url = pathToFileURL(join(tmp.dir, "report.html")).href;
    await page.goto(url);

    const figure = async (id: string) =>
      (await page.locator(`[data-figure="${id}"]`).first().innerText()).trim();
    expect(await figure("total")).toBe(String(exported.length));
    expect(exported).toHaveLength(4);

    // Shares, counted independently from the export's columns.
    const count = (f: (r: ExportRow) => boolean) => String(exported.filter(f).length);
    const merged = (r: ExportRow) => r.change_type === "merge" && r.gated;
    expect(await figure("category-compliant")).toBe(
      count((r) => merged(r) && !r.emergency && !r.bypass && r.check_at_merge === "success"),
    );
    expect(await figure("category-emergency")).toBe(count((r) => merged(r) && r.emergency));
    expect(await figure("category-bypass")).toBe(count((r) => merged(r) && !r.emergency && r.bypass));
    expect(await figure("category-compliant")).toBe("1");
    expect(await figure("category-bypass")).toBe("2");
    // The store records direct pushes now: none in this period.
    expect(await figure("category-direct-push")).toBe("0");

    // Weeks: each figure is the export's rows merged that week.
    for (const w of ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]) {
      const start = Date.parse(`${w}T00:00:00Z`);
      expect(await figure(`week-${w}`)).toBe(
        count((r) => Date.parse(r.merged_at) >= start && Date.parse(r.merged_at) < start + 7 * 86_400_000),
      );
    }
    // Approvals per change.
    expect(await figure("approvals-1")).toBe(count((r) => r.approvers.length === 1));
    expect(await figure("approvals-0")).toBe(count((r) => r.approvers.length === 0));

    // Each figure's link leads to rows whose records are the export's rows of that figure.
    await page.locator('[data-figure="category-bypass"] a').click();
    expect(page.url()).toMatch(/#set-category-bypass$/);
    const bypassRows = await page
      .locator("#set-category-bypass a")
      .evaluateAll((as) =>
        as.map((a) => document.querySelector(a.getAttribute("href")!)!.getAttribute("data-record")),
      );
    expect(bypassRows.sort()).toEqual(
      exported
        .filter((r) => merged(r) && !r.emergency && r.bypass)
        .map((r) => r.record)
        .sort(),
    );
    const broken = await page
      .locator('a[href^="#"]')
      .evaluateAll((as) =>
        as.map((a) => a.getAttribute("href")!).filter((h) => !document.getElementById(h.slice(1))),
      );
    expect(broken).toEqual([]);
    const records = await page
      .locator("tr[data-record]")
      .evaluateAll((trs) => trs.map((t) => t.getAttribute("data-record")));
    expect(records).toEqual(exported.map((r) => r.record));

    // Emergencies, retro-reviews, completeness, checkpoints.
    expect(await page.locator('[data-figure="emergencies"]').getAttribute("data-value")).toBe(
      count((r) => r.emergency),
    );
    // The golden emergency merge is an older record without retro-review terms: no due time is made up.
    await expect(page.locator('table[data-figure="emergencies"]').innerText()).resolves.toMatch(
      /none on record[\s\S]*no due time on record/,
    );
    expect(await page.locator("[data-retro-reviews]").getAttribute("data-retro-reviews")).toBe("recorded");
    expect(await page.locator("[data-completeness]").getAttribute("data-completeness")).toBe("incomplete");
    await expect(page.locator("body").innerText()).resolves.toMatch(/#9 \(2026-03-09T10:00:00Z\)/);
    expect(await page.locator("[data-checkpoints]").getAttribute("data-checkpoints")).toBe("ok");

    // Charts: echarts' inline SVG, drawn (bars and pie sectors are paths).
    for (const id of ["chart-weeks", "chart-categories", "chart-approvals"]) {
      expect(await page.locator(`#${id} svg path`).count()).toBeGreaterThan(0);
      const box = await page.locator(`#${id} svg`).boundingBox();
      expect(box!.width).toBeGreaterThan(100);
    }
    // A title built to run as a formula or script is text.
    await expect(page.locator("#row-0").innerText()).resolves.toBeTruthy();
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);

    expect(requests.filter((u) => u !== url && !u.startsWith(`${url}#`))).toEqual([]);
    await page.close();
  }, 120_000);
});

describe("the model and the page on their own", () => {
  const row = (over: Partial<ExportRow>): ExportRow => ({ ...exported[0]!, ...over });

  test("weeks start on Monday UTC; categories are exclusive; an emergency's due time and status are the row's", () => {
    expect(weekStart("2026-03-01T23:59:00Z")).toBe("2026-02-23");
    expect(weekStart("2026-03-02T00:00:00Z")).toBe("2026-03-02");
    expect(categoryOf(row({ emergency: true, bypass: true }))).toBe("emergency");
    expect(categoryOf(row({ emergency: false, bypass: false, check_at_merge: "pending" }))).toBe("other");
    expect(
      categoryOf(row({ gated: false, emergency: false, bypass: false, check_at_merge: "success" })),
    ).toBe("other");
    expect(categoryOf(row({ change_type: "direct_push", bypass: true }))).toBe("direct push");
    const m = buildReportModel({
      from: "2026-03-01T00:00:00.000Z",
      to: "2026-04-01T00:00:00.000Z",
      generatedAt: "2026-03-03T00:00:00.000Z",
      rows: [
        row({
          emergency: true,
          merged_at: "2026-03-02T00:00:00.000Z",
          retro_review: "reviewed",
          retro_reviewed_by: "lead",
          retro_reviewed_at: "2026-03-02T06:00:00.000Z",
          retro_review_due_at: "2026-03-04T00:00:00.000Z",
        }),
      ],
      completeness: null,
      checkpoints: { kind: "not checked" },
    });
    expect(m.emergencies[0]).toMatchObject({
      status: "reviewed in time",
      review: { leadHours: 6, reviewer: "lead" },
      dueBy: "2026-03-04T00:00:00.000Z",
    });
    const page = renderAuditReport(m);
    expect(page).toContain('data-completeness="not checked"');
    expect(page).toContain('data-checkpoints="not checked"');
  });

  test("hostile text is escaped; a javascript: URL is not linked", () => {
    const m = buildReportModel({
      from: "2026-03-01T00:00:00.000Z",
      to: "2026-03-08T00:00:00.000Z",
      generatedAt: "2026-03-09T00:00:00.000Z",
      rows: [
        row({
          title: '<img src=x onerror=alert(1)>"',
          author: "<script>",
          url: "javascript:alert(1)",
          merged_at: "2026-03-02T00:00:00.000Z",
        }),
      ],
      completeness: null,
      checkpoints: { kind: "failed", problems: ["<b>forged</b>"] },
    });
    const page = renderAuditReport(m);
    expect(page).not.toMatch(/<img src=x|<script>|<b>forged|href="javascript/);
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;");
  });

  test.each([
    ["not JSON", "{", /--completeness c.json: not JSON/],
    [
      "another file",
      JSON.stringify({ kind: "changegate audit export" }),
      /not an `audit completeness` result \(kind: /,
    ],
    [
      "a negative count",
      JSON.stringify({ ...completeness, repositories: [{ ...completeness.repositories[0], records: -1 }] }),
      /repositories\.0\.records/,
    ],
  ])("a completeness file that is %s is refused (exit 2)", async (_what, text, message) => {
    writeFileSync(join(tmp.dir, "c.json"), text);
    const r = await run([
      "audit",
      "report",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--out",
      "r2.html",
      "--completeness",
      "c.json",
    ]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(EXIT.usage);
  });

  test("a completeness result claiming complete while listing a difference is shown incomplete (fail closed)", async () => {
    writeFileSync(join(tmp.dir, "c.json"), JSON.stringify({ ...completeness, complete: true }));
    const r = await run([
      "audit",
      "report",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--out",
      "r3.html",
      "--completeness",
      "c.json",
    ]);
    expect(r.code).toBe(EXIT.ok);
    expect(readFileSync(join(tmp.dir, "r3.html"), "utf8")).toContain('data-completeness="incomplete"');
  });
});

describe("records behind the report (direct pushes, retro-reviews)", () => {
  test("a recorded retro-review and a recorded direct push reach the report", async () => {
    const db = join(tmp.dir, "retro.db");
    const store = await AuditStore.open(`sqlite:${db}`);
    try {
      const writer = new ChainWriter(store);
      const terms = (dueAt: string) => ({ retroReview: { dueAt, withinHours: 48, issueRepo: null } });
      await writer.recordMerge({
        ...merge({ number: 8, mergedAt: "2026-03-10T10:00:00Z", emergency: true }),
        ...terms("2026-03-12T10:00:00Z"),
      });
      await writer.recordMerge({
        ...merge({ number: 9, mergedAt: "2026-03-11T10:00:00Z", emergency: true }),
        ...terms("2026-03-13T10:00:00Z"),
      });
      await new ChainAfterMerge(writer).recordRetroReview({
        at: "2026-03-10T16:00:00Z",
        deliveryId: "r-1",
        ref: { installationId: 77, owner: "acme", repo: "payments", number: 8 },
        headSha: "a".repeat(40),
        by: "lead",
        reviewedAt: "2026-03-10T16:00:00Z",
        via: "review",
        url: "https://github.com/acme/payments/pull/8",
        dueAt: "2026-03-12T10:00:00Z",
        lateMs: 0,
      });
      await new ChainDirectPush(writer).recordDirectPush({
        at: "2026-03-12T10:00:00Z",
        deliveryId: "p-1",
        installationId: 77,
        owner: "acme",
        repo: "payments",
        branch: "main",
        pusher: "mallory",
        before: "b".repeat(40),
        after: "e".repeat(40),
        forced: false,
        commitsWithoutPr: ["e".repeat(40)],
        examined: 1,
        pushedAt: "2026-03-12T10:00:00Z",
        policySource: "defaults",
      });
    } finally {
      await store.close();
    }
    const r = await run([
      "audit",
      "report",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--out",
      "retro.html",
      "--database",
      `sqlite:${db}`,
    ]);
    expect(r.code).toBe(EXIT.ok);
    const page = readFileSync(join(tmp.dir, "retro.html"), "utf8");
    expect(page).toContain('data-retro-reviews="recorded"');
    expect(page).toMatch(
      /2026-03-10T16:00:00Z by lead<\/td><td class="n">6 h<\/td><td class="ok">reviewed in time/,
    );
    expect(page).toMatch(/overdue: no retro-review recorded/); // #9: none recorded, past its window
    expect(page).toMatch(/data-figure="category-direct-push">(<a [^>]*>)?1</);
    expect(page).toContain('<table data-figure="direct-pushes" data-value="1">');
    expect(page).toContain("mallory");
  }, 60_000);
});
