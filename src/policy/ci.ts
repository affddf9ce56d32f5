/**
 * ci: every check run and commit status on the head commit (changegate's own excluded by gather)
 * must be green; every name in `ci.required` must be present and green. A required check that is
 * missing entirely is pending, never green. Pending with nothing failed → the verdict waits.
 */
import type { CiCheck, CiLine, CiResult } from "./types.js";
import { plural } from "./text.js";

export function evaluateCi(checks: CiCheck[], required: string[]): CiResult {
  const requiredSet = new Set(required);
  const lines: CiLine[] = checks.map((c) => ({
    name: c.name,
    kind: c.kind,
    state: c.state,
    raw: c.raw,
    required: requiredSet.has(c.name),
    url: c.url,
  }));
  const present = new Set(checks.map((c) => c.name));
  for (const name of required) {
    if (!present.has(name)) lines.push({ name, kind: "check_run", state: "missing", raw: "not reported", required: true, url: null });
  }
  lines.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));

  const failed = lines.filter((l) => l.state === "failure");
  const waiting = lines.filter((l) => l.state === "pending" || l.state === "missing");
  const todo: string[] = [];
  if (failed.length > 0) {
    todo.push(`Fix the failing ${failed.length === 1 ? "check" : "checks"}: ${failed.map((l) => l.name).join(", ")}.`);
  }
  const missing = lines.filter((l) => l.state === "missing");
  if (missing.length > 0) {
    todo.push(`Make sure the required ${missing.length === 1 ? "check runs" : "checks run"} on the head commit: ${missing.map((l) => l.name).join(", ")}.`);
  }

  if (failed.length > 0) {
    return { rule: "ci", status: "fail", summary: `${plural(failed.length, "check")} failed`, todo, checks: lines };
  }
  if (waiting.length > 0) {
    return { rule: "ci", status: "pending", summary: `waiting for ${waiting.map((l) => l.name).join(", ")}`, todo, checks: lines };
  }
  const summary = lines.length === 0 ? "no CI checks reported on the head commit" : `all ${plural(lines.length, "check")} passed`;
  return { rule: "ci", status: "pass", summary, todo, checks: lines };
}

function order(l: CiLine): number {
  return { failure: 0, missing: 1, pending: 2, success: 3 }[l.state];
}
