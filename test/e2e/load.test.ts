/**
 * Load at a size CI can afford: a burst of 30 PRs with interleaved events, then a crash in the middle
 * of another burst. Every PR must end showing exactly what its final evidence says (the oracle runs
 * changegate's own pure stages on the simulator's final state): one digest, the check on the final
 * head, no stale verdict left behind. Throttling is off here (CHANGEGATE_THROTTLE=off) to keep CI
 * fast; the benchmark runs the production write spacing.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mismatches } from "../sim/oracle.js";
import { burst, play } from "../sim/workload.js";
import { World } from "../sim/world.js";
import { errorLines, evaluations, staleDigestWrites } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start({ env: { CHANGEGATE_THROTTLE: "off" }, logLevel: "info" });
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

describe("burst", () => {
  test("30 PRs, interleaved events: every PR ends as its evidence says, one digest each, within the API budget", async () => {
    const b = burst(w, { prs: 30, orgs: 3, seed: 7 });
    const logFrom = w.cg.logs.length;
    await play(b, 15);
    await w.settle(120_000);
    const problems = (await Promise.all(b.prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat();
    expect(problems).toEqual([]);
    expect(b.prs.flatMap((pr) => staleDigestWrites(w, pr))).toEqual([]);
    const lines = evaluations(w, undefined, logFrom);
    expect(lines.length).toBeGreaterThanOrEqual(30);
    expect(lines.filter((l) => Number(l.reads) > 1 || Number(l.writes) > 2)).toEqual([]);
    expect(errorLines(w, logFrom)).toEqual([]);
    // Coalescing: fewer evaluations than webhooks delivered.
    const delivered = w.cg.deliveries.length;
    expect(lines.length).toBeLessThan(delivered);
  }, 150_000);
});

/**
 * Play a burst of 20 PRs. midCrash: changegate is killed before round 3 and back for round 4 (the
 * deliveries of round 3 fail, as GitHub's would). finalCrash: killed after the last round's
 * deliveries were all answered 200 while evaluations still run (no PR gets another event, so only
 * changegate itself can pick those evaluations up).
 */
async function burstWithCrash(
  seed: number,
  o: { midCrash: boolean; finalCrash: boolean },
): Promise<ReturnType<typeof burst>> {
  const b = burst(w, { prs: 20, orgs: 2, seed });
  let activeAtKill = -1;
  await play(b, 25, async (k) => {
    if (o.midCrash && k === 2) await w.cg.kill("SIGKILL");
    if (o.midCrash && k === 3) await w.cg.respawn();
    if (o.finalCrash && k === b.rounds.length - 1) {
      await Promise.all([...w.cg.inFlight]);
      activeAtKill = (await w.cg.health()).active;
      await w.cg.kill("SIGKILL");
    }
  });
  if (o.midCrash) expect(w.cg.deliveries.some((d) => d.status === 0)).toBe(true);
  // The final crash lost work GitHub considers delivered, or the test proves nothing.
  if (o.finalCrash) expect(activeAtKill).toBeGreaterThan(0);
  return b;
}

async function expectAllCorrect(b: ReturnType<typeof burst>): Promise<void> {
  await w.settle(120_000);
  const problems = (await Promise.all(b.prs.map((pr) => mismatches(w.model, w.appId, pr)))).flat();
  expect(problems).toEqual([]);
  expect(b.prs.flatMap((pr) => staleDigestWrites(w, pr))).toEqual([]);
  // The audit trail survived the crashes: every hash chain verifies, and the verdicts the last PRs
  // show are on the record.
  const verify = w.cg.cli(["audit", "verify"]);
  expect([verify.code, verify.stderr]).toEqual([0, expect.any(String)]);
  for (const pr of b.prs.slice(-4)) {
    const show = w.cg.cli(["audit", "show", `${pr.repo}#${pr.number}`, "--json"]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(w.model.headSha(pr));
  }
}

describe("crash", () => {
  test("killed (SIGKILL) mid-burst: the deliveries that failed meanwhile are redelivered (as GitHub's redelivery would) and every PR ends as its evidence says", async () => {
    const b = await burstWithCrash(11, { midCrash: true, finalCrash: false });
    await w.cg.redeliverFailed();
    await expectAllCorrect(b);
  }, 150_000);

  test("killed with evaluations in flight after every delivery was answered: the restarted process resumes them", async () => {
    const b = await burstWithCrash(12, { midCrash: false, finalCrash: true });
    await w.cg.respawn();
    await w.cg.redeliverFailed();
    await expectAllCorrect(b);
  }, 150_000);

  test("the same crash, restarted with RECONCILE_ON_START=true: every open PR is evaluated again", async () => {
    const b = await burstWithCrash(13, { midCrash: false, finalCrash: true });
    await w.cg.respawn({ RECONCILE_ON_START: "true" });
    await expectAllCorrect(b);
  }, 150_000);
});
