/**
 * ci: every check run and commit status on the head commit (changegate's own excluded by gather)
 * must be green; every entry in `ci.required` must be met by a green result. A plain entry is met by
 * any check run or status of that name; a pinned one only by a check run from that GitHub App
 * (`app`, the slug) or a commit status created by that login (`creator`), both compared
 * case-insensitively. A same-named result from another source does not count toward a pinned entry
 * (it is listed, saying so), but it still has to be green like every other result. A required entry
 * that nothing meets is missing: pending, never green. Pending with nothing failed → the verdict waits.
 */
import type { CiCheck, CiLine, CiResult, RequiredCheck } from "./types.js";
import { plural } from "./text.js";

/** Does this result meet this `ci.required` entry? */
export function meets(c: CiCheck, r: RequiredCheck): boolean {
  if (c.name !== r.name) return false;
  if (r.app !== undefined && !(c.kind === "check_run" && sameLogin(c.source, r.app))) return false;
  if (r.creator !== undefined && !(c.kind === "status" && sameLogin(c.source, r.creator))) return false;
  return true;
}

export function isPinned(r: RequiredCheck): boolean {
  return r.app !== undefined || r.creator !== undefined;
}

/** "build", "build (check run by app github-actions)", "ci/jenkins (commit status by jenkins-bot)". */
export function describeRequirement(r: RequiredCheck): string {
  const pin = pinText(r);
  return pin === null ? r.name : `${r.name} (${pin})`;
}

/** "check run by app github-actions" / "commit status by jenkins-bot"; null for a plain entry. */
export function pinText(r: RequiredCheck): string | null {
  const pins = [
    r.app !== undefined ? `check run by app ${r.app}` : null,
    r.creator !== undefined ? `commit status by ${r.creator}` : null,
  ];
  const given = pins.filter((p): p is string => p !== null);
  return given.length === 0 ? null : given.join(" and ");
}

/** "reported by app evil-app" / "reported as a commit status by mallory": who reported a result, in words. */
export function describeSource(c: Pick<CiCheck, "kind" | "source">): string {
  if (c.kind === "check_run")
    return c.source === null ? "reported as a check run with no app" : `reported by app ${c.source}`;
  return c.source === null
    ? "reported as a commit status with no creator"
    : `reported as a commit status by ${c.source}`;
}

export function evaluateCi(checks: CiCheck[], required: readonly (RequiredCheck | string)[]): CiResult {
  const reqs = dedupe(required.map((r) => (typeof r === "string" ? { name: r } : r)));
  const lines: CiLine[] = checks.map((c) => {
    const met = reqs.filter((r) => meets(c, r));
    const requirement = met.find(isPinned) ?? met[0] ?? null;
    const notCountedFor = requirement ? [] : reqs.filter((r) => r.name === c.name && isPinned(r));
    return {
      name: c.name,
      kind: c.kind,
      state: c.state,
      raw: c.raw,
      required: requirement !== null,
      url: c.url,
      source: c.source,
      requirement,
      notCountedFor,
    };
  });
  for (const r of reqs) {
    if (checks.some((c) => meets(c, r))) continue;
    const kind = r.creator !== undefined && r.app === undefined ? "status" : "check_run";
    lines.push({
      name: r.name,
      kind,
      state: "missing",
      raw: "not reported",
      required: true,
      url: null,
      source: null,
      requirement: r,
      notCountedFor: [],
    });
  }
  lines.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));

  const failed = lines.filter((l) => l.state === "failure");
  const waiting = lines.filter((l) => l.state === "pending" || l.state === "missing");
  const todo: string[] = [];
  if (failed.length > 0) {
    todo.push(
      `Fix the failing ${failed.length === 1 ? "check" : "checks"}: ${failed.map((l) => l.name).join(", ")}.`,
    );
  }
  const missing = lines.filter((l) => l.state === "missing");
  if (missing.length > 0) {
    todo.push(
      `Make sure the required ${missing.length === 1 ? "check runs" : "checks run"} on the head commit: ${missing.map(label).join(", ")}.`,
    );
  }
  // A foreign result only matters while the entry it imitates is unmet.
  for (const l of lines) {
    const unmet = l.notCountedFor.filter((r) => missing.some((m) => m.requirement === r));
    if (unmet.length === 0) continue;
    todo.push(
      `${l.name} ${describeSource(l)} does not count: the policy requires it as ${unmet.map(pinWords).join(" and as ")}.`,
    );
  }

  if (failed.length > 0) {
    return {
      rule: "ci",
      status: "fail",
      summary: `${plural(failed.length, "check")} failed`,
      todo,
      checks: lines,
    };
  }
  if (waiting.length > 0) {
    return {
      rule: "ci",
      status: "pending",
      summary: `waiting for ${waiting.map(label).join(", ")}`,
      todo,
      checks: lines,
    };
  }
  const summary =
    lines.length === 0
      ? "no CI checks reported on the head commit"
      : `all ${plural(lines.length, "check")} passed`;
  return { rule: "ci", status: "pass", summary, todo, checks: lines };
}

function label(l: CiLine): string {
  return l.state === "missing" && l.requirement ? describeRequirement(l.requirement) : l.name;
}

function pinWords(r: RequiredCheck): string {
  return `a ${pinText(r) ?? "check"}`;
}

function sameLogin(source: string | null, wanted: string): boolean {
  return source !== null && source.toLowerCase() === wanted.toLowerCase();
}

function dedupe(reqs: RequiredCheck[]): RequiredCheck[] {
  const seen = new Set<string>();
  return reqs.filter((r) => {
    const key = JSON.stringify([r.name, r.app?.toLowerCase() ?? null, r.creator?.toLowerCase() ?? null]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function order(l: CiLine): number {
  return { failure: 0, missing: 1, pending: 2, success: 3 }[l.state];
}
