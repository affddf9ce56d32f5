/**
 * Suites that need a system tool (Chromium, redis-server, promtool) run whenever the tool is here.
 * Without it: locally the suite is left out and the end of the run says which suites were left out
 * and the one command that includes them (test/support/left-out.mjs, printed by the jest
 * globalTeardown); with CI set the suite fails instead, naming the tool (CI installs every tool:
 * .ci/run). PostgreSQL follows the same rule through test/support/pg-setup.mjs and pgTestUrl.
 *
 * A suite picks `describe` or `describe.skip` once, at load time: `describeWith(tool, suite)`.
 */
import { describe } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { recordLeftOut } from "./left-out.mjs";

type Env = Record<string, string | undefined>;

export interface Tool {
  /** What the note calls it. */
  name: string;
  /** The executable's path, or null when it is not here. */
  find(env: Env): string | null;
  /** The command that installs it (Debian, as .ci/run does). */
  install: string;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The first of `names` on the PATH (as the shell finds it), or null. */
function onPath(names: string[], env: Env): string | null {
  for (const n of names) {
    const r = spawnSync("sh", ["-c", `command -v ${n}`], { encoding: "utf8", env: { PATH: env.PATH ?? "" } });
    const found = r.status === 0 ? r.stdout.trim() : "";
    if (found) return found;
  }
  return null;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const CHROMIUM: Tool = {
  name: "Chromium",
  // CHROMIUM_PATH names it exactly (and must exist); otherwise `chromium` on the PATH (Debian's /usr/bin/chromium).
  find: (env) =>
    env.CHROMIUM_PATH?.trim()
      ? executable(env.CHROMIUM_PATH.trim())
        ? env.CHROMIUM_PATH.trim()
        : null
      : onPath(["chromium", "chromium-browser"], env),
  install: "apt-get install chromium (or set CHROMIUM_PATH)",
};

export const REDIS: Tool = {
  name: "redis-server",
  find: (env) => onPath(["redis-server"], env),
  install: "apt-get install redis-server",
};

export const PROMTOOL: Tool = {
  name: "promtool",
  find: (env) => onPath(["promtool"], env),
  install: "apt-get install prometheus",
};

/** CI is set (and not "false"/"0"), as pgTestUrl reads it. */
export function inCi(env: Env = process.env): boolean {
  return Boolean(env.CI) && env.CI !== "false" && env.CI !== "0";
}

/** A test file's path from the repository root, for the note (`import.meta.url` of the file). */
export function suiteName(fileUrl: string): string {
  return relative(ROOT, fileURLToPath(fileUrl));
}

/**
 * The tool's path when it is here. Otherwise: with CI set, throws (the suite fails, naming the tool);
 * without CI, records the suite as left out (printed at the end of the run) and returns null.
 */
export function requireTool(tool: Tool, suite: string, env: Env = process.env): string | null {
  const found = tool.find(env);
  if (found) return found;
  if (inCi(env))
    throw new Error(
      `${suite}: ${tool.name} is not installed, and CI is set: CI never leaves a suite out (install it: ${tool.install}; .ci/run does)`,
    );
  recordLeftOut({ suite, tool: tool.name, install: tool.install }, env);
  return null;
}

/** `describe` when the tool is here, else `describe.skip` with the suite noted as left out (CI: fails). */
export function describeWith(tool: Tool, fileUrl: string): (name: string, fn: () => void) => void {
  return requireTool(tool, suiteName(fileUrl)) ? describe : describe.skip;
}
