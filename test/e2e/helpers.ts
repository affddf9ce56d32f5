/** Shared helpers of the end-to-end suites (assertions over the simulator's state and changegate's logs). */
import { expect } from "@jest/globals";
import { DIGEST_MARKER } from "../../src/contract.js";
import type { LogLine } from "../sim/driver.js";
import type { SimPull } from "../sim/model.js";
import type { World } from "../sim/world.js";

/** changegate's "evaluated owner/repo#n: title" lines (one per published evaluation). */
export function evaluations(w: World, pr?: SimPull, from = 0): LogLine[] {
  return w.cg.logs
    .slice(from)
    .filter(
      (l) =>
        typeof l.msg === "string" &&
        l.msg.startsWith("evaluated ") &&
        (!pr || (l.repo === pr.repo && l.pr === pr.number)),
    );
}

/**
 * The API budget, asserted two ways: every evaluation changegate logs stays within one GraphQL
 * read and two writes, and the simulator saw exactly the reads and writes those lines add up to.
 */
export function expectBudget(
  w: World,
  pr: SimPull,
  seq: number,
  logFrom: number,
): { reads: number; writes: number; evaluations: number } {
  const lines = evaluations(w, pr, logFrom);
  for (const l of lines) {
    expect(l.reads).toBeLessThanOrEqual(1);
    expect(l.writes).toBeLessThanOrEqual(2);
  }
  // Every job, published or not (a job whose write was superseded by a newer evaluation of the PR
  // ends "skipped" after its read), logs one "evaluation finished" line with its reads and writes.
  const finished = w.cg.logs
    .slice(logFrom)
    .filter((l) => l.msg === "evaluation finished" && l.repo === pr.repo && l.pr === pr.number);
  for (const l of finished) expect(Number(l.reads)).toBeLessThanOrEqual(1);
  const seen = w.sim.since(
    seq,
    (r) => r.target === "github" && r.repo?.toLowerCase() === pr.repo.toLowerCase(),
  );
  const reads = seen.filter((r) => r.route === "POST /graphql").length;
  const writes = seen.filter((r) => r.method !== "GET" && r.route !== "POST /graphql").length;
  expect(reads).toBe(finished.reduce((n, l) => n + Number(l.reads), 0));
  expect(writes).toBe(finished.reduce((n, l) => n + Number(l.writes), 0));
  return { reads, writes, evaluations: lines.length };
}

/** The digest's body, asserting there is exactly one digest comment on the PR. */
export function onlyDigest(w: World, pr: SimPull): string {
  const digests = w.digests(pr);
  expect(digests).toHaveLength(1);
  expect(digests[0]!.body).toContain(DIGEST_MARKER);
  return digests[0]!.body;
}

export function errorLines(w: World, from = 0): LogLine[] {
  return w.cg.logs.slice(from).filter((l) => l.level >= 50);
}

/**
 * No stale verdict overwrote a newer one: every version of the PR's digest names a head at least as
 * new as the version before it (by position in the PR's commits).
 */
export function staleDigestWrites(w: World, pr: SimPull): string[] {
  const problems: string[] = [];
  for (const d of w.digests(pr)) {
    let newest = -1;
    for (const v of d.history) {
      const sha = /Head `([0-9a-f]{7,40})`/.exec(v.body)?.[1];
      if (!sha) continue;
      const at = pr.commits.findIndex((c) => c.startsWith(sha));
      if (at < 0) continue; // a head force-pushed away
      if (at < newest)
        problems.push(
          `${pr.repo}#${pr.number}: digest went back from ${pr.commits[newest]!.slice(0, 7)} to ${sha.slice(0, 7)}`,
        );
      newest = Math.max(newest, at);
    }
  }
  return problems;
}
