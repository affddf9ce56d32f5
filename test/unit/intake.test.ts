/** The delivery ledger boundary: jobs go in as PendingJob rows and come back as EvaluationJobs. */
import { expect, test } from "@jest/globals";
import { MemoryDeliveryLedger } from "../../src/runtime/dedupe.js";
import { Intake } from "../../src/runtime/intake.js";
import { newJob, type EvaluationJob } from "../../src/runtime/job.js";

const ref = { installationId: 77, owner: "acme", repo: "payments", number: 1 };

test("a stored row with merge: true (written before `kind`) resumes as a merge; others as evaluations", async () => {
  const ledger = new MemoryDeliveryLedger();
  await ledger.pending("old", [
    { ref, event: "pull_request.closed", expectedHead: "a".repeat(40), merge: true },
    { ref: { ...ref, number: 2 }, event: "status", expectedHead: null, merge: false },
  ]);
  const scheduled: EvaluationJob[] = [];
  const intake = new Intake({ ledger, laterRetryMs: [], schedule: async (job) => void scheduled.push(job), log: () => undefined });
  expect(await intake.resume()).toBe(1);
  expect(scheduled).toStrictEqual([
    { ref, deliveryId: "old", event: "pull_request.closed (resumed)", expectedHead: "a".repeat(40), kind: "merge", attempt: 0 },
    { ref: { ...ref, number: 2 }, deliveryId: "old", event: "status (resumed)", expectedHead: null, kind: "evaluate", attempt: 0 },
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
  await intake.dispatch("d-1", [newJob({ ref, deliveryId: "d-1", event: "pull_request.closed", kind: "merge" })]);
  expect(written).toStrictEqual([{ ref, event: "pull_request.closed", expectedHead: null, merge: true }]);
  await new Promise((r) => setImmediate(r));
  expect(await ledger.unfinished()).toStrictEqual([]);
});
