/**
 * `npm run demo` (demo/run.ts) as a newcomer runs it, in a child process: it exits 0, each
 * scenario comes out with its expected check and category, the files it promises exist, the
 * export holds exactly the demo's changes, and the commands it prints to explore the store work
 * (run here as printed, `npx changegate` being lib/cli.js): verify passes against the checkpoint,
 * the export and the report are written.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ExportRow } from "../../src/audit/export.js";
import { categoryOf } from "../../src/report/audit-report-model.js";
import { ensureBuilt, ROOT } from "../sim/driver.js";

const CLI = join(ROOT, "lib", "cli.js");
let dir = "";
let out = "";
let run: { code: number | null; stdout: string; stderr: string } = { code: null, stdout: "", stderr: "" };

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "changegate-demo-"));
  out = join(dir, "out");
  run = await new Promise((done, reject) => {
    // From another directory than the repository, as paths printed relative to the caller's directory must work.
    const child = spawn(
      process.execPath,
      ["--import", join(ROOT, "test/support/register-ts.mjs"), join(ROOT, "demo/run.ts"), "--out", "out"],
      { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm run demo", () => {
  test("exits 0 and says every scenario came out as expected", () => {
    if (run.code !== 0) throw new Error(`the demo exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toContain("Every scenario came out as expected.");
    expect(run.stdout).not.toMatch(/UNEXPECTED|DEMO FAILED/);
  });

  test.each([
    ["compliant", "acme/payments#1", /success: Compliant/, "compliant"],
    ["blocked", "acme/payments#2", /failure: Not compliant/, "not merged: no row"],
    ["emergency", "acme/payments#3", /success: Emergency change/, "emergency"],
    ["bypass", "acme/payments#4", /failure: Not compliant/, "bypass"],
    ["direct push", "acme/payments [0-9a-f]{7}", /\(no pull request\)/, "direct push"],
    ["lost webhook", "acme/payments#5", /success: Compliant/, "compliant"],
    ["ungated", "acme/website#1", /success: Not gated/, "other"],
  ])("scenario %s (%s): its check and category, as expected", (name, where, check, category) => {
    const line = run.stdout.split("\n").find((l) => new RegExp(`^\\| ${name}: ${where} \\|`).test(l));
    expect(line).toBeDefined();
    const [, checkCell, classified, ok] = line!.split(" | ");
    expect(checkCell).toMatch(check);
    expect(classified!.startsWith(category)).toBe(true);
    expect(ok).toBe("yes |");
  });

  test("the files it points to exist", () => {
    for (const f of [
      "audit.db",
      "report.html",
      "export.csv",
      "export.csv.manifest.json",
      "export.json",
      "completeness.json",
      "completeness-before-scan.json",
      "checkpoints.ndjson",
      "checkpoints.pub",
      "bypass-issue.md",
      "changegate.log",
      "digests/payments-1.md",
      "digests/payments-2.md",
      "digests/payments-3.md",
    ]) {
      expect([f, existsSync(join(out, f))]).toEqual([f, true]);
    }
    expect(readFileSync(join(out, "digests", "payments-2.md"), "utf8")).toContain(
      "<!-- changegate:digest -->",
    );
    expect(readFileSync(join(out, "bypass-issue.md"), "utf8")).toContain("mallory");
  });

  test("the export holds exactly the demo's six changes; the lost merge was found by the scan; the emergency's review was late", () => {
    const rows = (JSON.parse(readFileSync(join(out, "export.json"), "utf8")) as { changes: ExportRow[] })
      .changes;
    const counts: Record<string, number> = {};
    for (const r of rows) counts[categoryOf(r)] = (counts[categoryOf(r)] ?? 0) + 1;
    expect(counts).toEqual({ compliant: 2, emergency: 1, bypass: 1, "direct push": 1, other: 1 });
    expect(rows.find((r) => r.repo === "acme/payments" && r.pr === 5)).toMatchObject({
      found_by: "scan",
      check_at_merge: "success",
    });
    expect(rows.find((r) => r.emergency)).toMatchObject({
      retro_review: "reviewed late",
      retro_reviewed_by: "rita",
    });
    expect(rows.find((r) => r.repo === "acme/website")).toMatchObject({ gated: false, bypass: false });
    expect(JSON.parse(readFileSync(join(out, "completeness.json"), "utf8"))).toMatchObject({
      complete: true,
    });
    expect(JSON.parse(readFileSync(join(out, "completeness-before-scan.json"), "utf8"))).toMatchObject({
      complete: false,
    });
  });

  test("the printed commands work as printed: verify passes against the checkpoint, export and report write their files", () => {
    const commands = run.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("npx changegate "));
    expect(commands.map((c) => c.split(" ").slice(2, 4).join(" "))).toEqual([
      "audit export",
      "audit show",
      "audit verify",
      "audit report",
    ]);
    for (const c of commands) {
      const args = c.split(" ").slice(2);
      const r = spawnSync(process.execPath, [CLI, ...args], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        timeout: 60_000,
      });
      expect([c, r.status, r.stderr]).toEqual([c, 0, expect.any(String)]);
      if (args[1] === "verify") expect(r.stdout).toMatch(/audit trail OK against 1 checkpoint/);
      if (args[1] === "show") expect(r.stdout).toMatch(/RETROACTIVE REVIEW\s+by rita .* LATE/);
    }
    expect(existsSync(join(dir, "my-export.csv"))).toBe(true);
    expect(readFileSync(join(dir, "my-report.html"), "utf8")).toContain('data-checkpoints="ok"');
  });

  test("refuses to replace a directory it did not make, and a bad argument (exit 2), touching nothing", () => {
    const mine = join(dir, "precious");
    mkdirSync(mine);
    writeFileSync(join(mine, "keep.txt"), "mine");
    const demo = (args: string[]) =>
      spawnSync(
        process.execPath,
        ["--import", join(ROOT, "test/support/register-ts.mjs"), join(ROOT, "demo/run.ts"), ...args],
        { cwd: dir, encoding: "utf8", timeout: 60_000 },
      );
    const refused = demo(["--out", "precious"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("exists and was not made by the demo");
    expect(readFileSync(join(mine, "keep.txt"), "utf8")).toBe("mine");
    const bad = demo(["--bogus"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("usage: npm run demo");
  }, 60_000);
});
