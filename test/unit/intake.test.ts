/** The delivery ledger boundary: jobs go in as PendingJob rows and come back as EvaluationJobs. */
import { describe, expect, test } from "@jest/globals";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { Intake, knownJobs } from "../../src/intake/intake.js";
import { jobKey, newJob, type EvaluationJob } from "../../src/intake/job.js";

const ref = { installationId: 77, owner: "acme", repo: "payments", number: 1 };

test("a stored row with merge: true (written before `kind`) resumes as a merge; others as evaluations", async () => {
  const ledger = new MemoryDeliveryLedger();
  await ledger.pending("old", [
    { ref, event: "pull_request.closed", expectedHead: "a".repeat(40), merge: true },
    { ref: { ...ref, number: 2 }, event: "status", expectedHead: null, merge: false },
  ]);
  const scheduled: EvaluationJob[] = [];
  const intake = new Intake({
    ledger,
    laterRetryMs: [],
    schedule: async (job) => void scheduled.push(job),
    log: () => undefined,
  });
  expect(await intake.resume()).toBe(1);
  expect(scheduled).toStrictEqual([
    {
      ref,
      deliveryId: "old",
      event: "pull_request.closed (resumed)",
      expectedHead: "a".repeat(40),
      kind: "merge",
      attempt: 0,
    },
    {
      ref: { ...ref, number: 2 },
      deliveryId: "old",
      event: "status (resumed)",
      expectedHead: null,
      kind: "evaluate",
      attempt: 0,
    },
  ]);
});

test("jobs are written to the ledger as rows the store keeps (merge: boolean), and completed once run", async () => {
  const ledger = new MemoryDeliveryLedger();
  const intake = new Intake({ ledger, laterRetryMs: [], schedule: async () => {}, log: () => undefined });
  const written: unknown[] = [];
  const pending = ledger.pending.bind(ledger);
  ledger.pending = async (id, jobs) => {
    written.push(...jobs);
    await pending(id, jobs);
  };
  await intake.dispatch("d-1", [
    newJob({ ref, deliveryId: "d-1", event: "pull_request.closed", kind: "merge" }),
  ]);
  expect(written).toStrictEqual([{ ref, event: "pull_request.closed", expectedHead: null, merge: true }]);
  await new Promise((r) => setImmediate(r));
  expect(await ledger.unfinished()).toStrictEqual([]);
});

describe("store statements per delivery", () => {
  /** A ledger that logs each statement it would run. */
  function countingLedger() {
    const log: string[] = [];
    const seen = new Set<string>();
    const ledger = {
      log,
      async claim(id: string) {
        log.push(`claim ${id}`);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
      async pending(id: string) {
        log.push(`pending ${id}`);
      },
      async complete(id: string) {
        log.push(`complete ${id}`);
      },
      async unfinished() {
        return [];
      },
      async claimPending(id: string, jobs: unknown[]) {
        log.push(`claimPending ${id} ${jobs.length}`);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
      async completeMany(ids: string[]) {
        log.push(`completeMany ${ids.join(",")}`);
      },
    };
    return ledger;
  }
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  const context = (id: string) =>
    ({
      id,
      name: "pull_request",
      payload: { installation: { id: 77 } },
      log: quiet,
      repo: () => ({ owner: "acme", repo: "payments" }),
    }) as never;
  const job = (id: string, n = 1) =>
    newJob({ ref: { ...ref, number: n }, deliveryId: id, event: "pull_request.opened" });

  test("jobs known from the payload: one statement to claim and record them; completions leave in one batch", async () => {
    const ledger = countingLedger();
    const scheduled: EvaluationJob[] = [];
    const intake = new Intake({
      ledger,
      laterRetryMs: [],
      schedule: async (j) => void scheduled.push(j),
      log: () => undefined,
      completionBatch: { delayMs: 10_000, max: 100 },
    });
    for (const id of ["d-1", "d-2", "d-3"])
      await intake.take(
        context(id),
        () => [],
        knownJobs(() => [job(id)]),
      );
    await intake.take(
      context("d-2"),
      () => [],
      knownJobs(() => [job("d-2")]),
    );
    expect(intake.duplicates).toBe(1);
    expect(scheduled.map((j) => j.deliveryId)).toEqual(["d-1", "d-2", "d-3"]);
    await new Promise((r) => setImmediate(r));
    expect(ledger.log).toEqual([
      "claimPending d-1 1",
      "claimPending d-2 1",
      "claimPending d-3 1",
      "claimPending d-2 1",
    ]);
    await intake.flush();
    expect(ledger.log.slice(4)).toEqual(["completeMany d-1,d-2,d-3"]);
  });

  test("jobs that need a lookup: claimed first, so a repeat costs no lookup", async () => {
    const ledger = countingLedger();
    let lookups = 0;
    const intake = new Intake({ ledger, laterRetryMs: [], schedule: async () => {}, log: () => undefined });
    const locate = async () => {
      lookups++;
      return [job("d-9")];
    };
    await intake.take(context("d-9"), () => [], locate);
    await intake.take(context("d-9"), () => [], locate);
    expect(lookups).toBe(1);
    await intake.flush();
    expect(ledger.log).toEqual(["claim d-9", "pending d-9", "claim d-9", "completeMany d-9"]);
  });

  test("a delivery whose lookup failed (GitHub answered it 500) is forgotten: its redelivery is processed, not dropped as a repeat", async () => {
    const ledger = new MemoryDeliveryLedger();
    const scheduled: EvaluationJob[] = [];
    const intake = new Intake({
      ledger,
      laterRetryMs: [],
      schedule: async (j) => void scheduled.push(j),
      log: () => undefined,
    });
    let failing = true;
    const locate = async () => {
      if (failing) throw new Error("GitHub answered 502");
      return [job("d-7")];
    };
    await expect(intake.take(context("d-7"), () => [], locate)).rejects.toThrow(/502/);
    expect(await ledger.processed(["d-7"])).toEqual(new Set());
    failing = false;
    await intake.take(context("d-7"), () => [], locate);
    expect(scheduled.map((j) => j.deliveryId)).toEqual(["d-7"]);
    expect(intake.duplicates).toBe(0);
  });

  test("the store refusing the combined statement schedules nothing (fail closed, retried later)", async () => {
    const ledger = countingLedger();
    ledger.claimPending = async () => {
      throw new Error("database is locked");
    };
    const scheduled: EvaluationJob[] = [];
    const intake = new Intake({
      ledger,
      laterRetryMs: [],
      schedule: async (j) => void scheduled.push(j),
      log: () => undefined,
    });
    await intake.take(
      context("d-5"),
      () => [],
      knownJobs(() => [job("d-5")]),
    );
    expect(scheduled).toEqual([]);
  });
});

describe("merge_group deliveries in the ledger (issue 19)", () => {
  const facts = {
    action: "checks_requested" as const,
    reason: null,
    headSha: "9".repeat(40),
    headRef: `refs/heads/gh-readonly-queue/main/pr-1-${"b".repeat(40)}`,
    baseSha: "b".repeat(40),
    baseRef: "refs/heads/main",
  };

  test("a group job is written with its facts and resumes as a group job, not as an evaluation of its PR", async () => {
    const ledger = new MemoryDeliveryLedger();
    const first = new Intake({
      ledger,
      laterRetryMs: [],
      schedule: () => new Promise<void>(() => {}),
      log: () => undefined,
    });
    await first.dispatch("g-1", [
      newJob({ ref, deliveryId: "g-1", event: "merge_group.checks_requested", kind: "group", group: facts }),
    ]);
    expect(await ledger.unfinished()).toStrictEqual([
      {
        deliveryId: "g-1",
        jobs: [
          { ref, event: "merge_group.checks_requested", expectedHead: null, merge: false, group: facts },
        ],
      },
    ]);
    // The process dies before the group is judged; the next one resumes it.
    const scheduled: EvaluationJob[] = [];
    const next = new Intake({
      ledger,
      laterRetryMs: [],
      schedule: async (job) => void scheduled.push(job),
      log: () => undefined,
    });
    expect(await next.resume()).toBe(1);
    expect(scheduled).toStrictEqual([
      {
        ref,
        deliveryId: "g-1",
        event: "merge_group.checks_requested (resumed)",
        expectedHead: null,
        kind: "group",
        group: facts,
        attempt: 0,
      },
    ]);
  });

  test("jobKey: a group has its own key (repository, head, action), never its PR's", () => {
    const job = newJob({
      ref,
      deliveryId: "g",
      event: "merge_group.checks_requested",
      kind: "group",
      group: facts,
    });
    expect(jobKey(job)).toBe(`group:77:acme/payments@${"9".repeat(40)}:checks_requested`);
    expect(jobKey({ ...job, group: { ...facts, action: "destroyed" } })).not.toBe(jobKey(job));
    expect(jobKey(newJob({ ref, deliveryId: "p", event: "status" }))).toBe("77:acme/payments#1");
  });
});
