/**
 * Which suites a run left out, and why, so the end of the run can say so (pg-teardown.mjs prints
 * it). pg-setup.mjs names a file in CHANGEGATE_LEFT_OUT_FILE; each worker appends one JSON line per
 * suite it leaves out (test/support/tools.ts). Without that file (a jest run without the
 * globalSetup), the note goes to stderr at once.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";

/** Says that a suite was left out: { suite, tool, install }. */
export function recordLeftOut(entry, env = process.env) {
  const file = env.CHANGEGATE_LEFT_OUT_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(entry)}\n`);
  else
    process.stderr.write(
      `NOTE: ${entry.suite} left out: ${entry.tool} is not installed (${entry.install})\n`,
    );
}

/** The suites left out so far (each once), and the file removed. */
export function takeLeftOut(env = process.env) {
  const file = env.CHANGEGATE_LEFT_OUT_FILE;
  if (!file || !existsSync(file)) return [];
  const seen = new Map();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    seen.set(e.suite, e);
  }
  rmSync(file, { force: true });
  return [...seen.values()].sort((a, b) => a.suite.localeCompare(b.suite));
}
