/**
 * deploy/prometheus/alerts.yml through Prometheus's own tool: `promtool check rules` (it loads,
 * every expression parses, templates compile) and `promtool test rules` on alerts.test.yml (each
 * alert fires on the series it is for, with the labels its text uses, and stays quiet otherwise).
 * Needs promtool (Debian: apt-get install prometheus; CI installs it): without it the suite is left
 * out with a note, with CI set it fails (test/support/tools.ts).
 */
import { expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describeWith, PROMTOOL } from "../support/tools.js";

const DIR = join(import.meta.dirname, "..", "..", "deploy", "prometheus");
const promtool = (...args: string[]) =>
  spawnSync("promtool", args, { cwd: DIR, encoding: "utf8", timeout: 60_000 });

describeWith(PROMTOOL, import.meta.url)("promtool", () => {
  test("check rules: alerts.yml loads", () => {
    const r = promtool("check", "rules", "alerts.yml");
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  test("test rules: every alert fires on its case, with its labels and text, and only there", () => {
    const r = promtool("test", "rules", "alerts.test.yml");
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  });
});
