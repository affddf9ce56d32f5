/**
 * The test command's own support: a suite needing a missing tool is left out with a note locally
 * and fails with CI set (test/support/tools.ts); an HTTP interceptor a test file applied does not
 * outlive the file (test/support/environment.cjs, checked in a child jest with two files in
 * one worker).
 */
import { describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { takeLeftOut } from "../support/left-out.mjs";
import { CHROMIUM, inCi, PROMTOOL, REDIS, requireTool, type Tool } from "../support/tools.js";

const ROOT = join(import.meta.dirname, "..", "..");
const absent: Tool = { name: "frobnicator", find: () => null, install: "apt-get install frobnicator" };

describe("a suite whose tool is missing", () => {
  test("with CI set it fails, naming the tool and how to install it", () => {
    for (const CI of ["true", "1", "yes"]) {
      expect(() => requireTool(absent, "test/x.test.ts", { CI })).toThrow(
        /test\/x\.test\.ts: frobnicator is not installed, and CI is set.*apt-get install frobnicator/,
      );
    }
  });

  test("without CI it is left out, and the end of the run names it with the command that includes it", () => {
    const dir = mkdtempSync(join(tmpdir(), "changegate-left-out-test-"));
    try {
      const env = { CHANGEGATE_LEFT_OUT_FILE: join(dir, "suites.ndjson"), CI: "false" };
      expect(requireTool(absent, "test/x.test.ts", env)).toBeNull();
      expect(requireTool(absent, "test/x.test.ts", env)).toBeNull();
      expect(readFileSync(env.CHANGEGATE_LEFT_OUT_FILE, "utf8").trim().split("\n")).toHaveLength(2);
      expect(takeLeftOut(env)).toEqual([
        { suite: "test/x.test.ts", tool: "frobnicator", install: "apt-get install frobnicator" },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("CI is read as pgTestUrl reads it", () => {
    expect([undefined, "", "false", "0"].map((CI) => inCi({ CI }))).toEqual([false, false, false, false]);
    expect(inCi({ CI: "true" })).toBe(true);
  });

  test("tools are looked up on the PATH (CHROMIUM_PATH, when set, names Chromium exactly)", () => {
    for (const t of [CHROMIUM, REDIS, PROMTOOL]) expect(t.find({ PATH: "/nonexistent" })).toBeNull();
    expect(CHROMIUM.find({ PATH: "/nonexistent", CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
    expect(CHROMIUM.find({ PATH: process.env.PATH, CHROMIUM_PATH: "/nonexistent/chromium" })).toBeNull();
  });
});

describe("HTTP interceptors end with their test file", () => {
  test("a file after one that imported nock, in the same worker, sends plain requests with no soft-deleted interceptor in the way", async () => {
    // The project's own jest configuration (its setup files), on two fixture files in name order.
    const config = (
      (await import(pathToFileURL(join(ROOT, "jest.config.js")).href)) as { default: Record<string, unknown> }
    ).default;
    const child = {
      ...config,
      rootDir: ROOT,
      testMatch: ["<rootDir>/test/support/fixtures/interceptors/*.fixture.ts"],
      testSequencer: "<rootDir>/test/support/fixtures/interceptors/sequencer.cjs",
      globalSetup: undefined,
      globalTeardown: undefined,
    };
    const r = spawnSync(
      process.execPath,
      [
        "--experimental-vm-modules",
        join(ROOT, "node_modules/jest/bin/jest.js"),
        "--config",
        JSON.stringify(child),
        "-i",
        "--ci",
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
        timeout: 120_000,
      },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(out).not.toMatch(/after it was soft deleted/);
    expect(r.status).toBe(0);
  }, 150_000);
});

describe("a changegate the driver started dies with its test process", () => {
  test("a parent killed outright leaves no child running (test/support/exit-with-parent.mjs)", async () => {
    const preload = pathToFileURL(join(ROOT, "test", "support", "exit-with-parent.mjs")).href;
    // The parent starts a long-lived child with the preload, prints its pid, and is killed with SIGKILL.
    const parent = `
      const { spawn } = require("node:child_process");
      const c = spawn(process.execPath, ["--import", ${JSON.stringify(preload)}, "-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      process.stdout.write(String(c.pid), () => setTimeout(() => process.kill(process.pid, "SIGKILL"), 200));
    `;
    const out = spawnSync(process.execPath, ["-e", parent], { encoding: "utf8", timeout: 10_000 });
    const pid = Number(out.stdout);
    expect(pid).toBeGreaterThan(0);
    // Gone, or a zombie waiting for whoever adopted it to reap it: either way it no longer runs.
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
  });
});
