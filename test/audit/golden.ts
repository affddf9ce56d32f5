/** The fixed records behind the export tests (golden CSV, formats, filters). */
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { AuditStore } from "../../src/audit/database.js";
import { evaluation, merge } from "./records.js";

export const needsTickets = { tickets: { required: true, projects: ["OPS"], allowed_states: ["Approved"] } };

export async function goldenStore(url: string): Promise<AuditStore> {
  const store = await AuditStore.open(url);
  const rec = new ChainWriter(store);
  // #1: compliant, one approval, CI green, ticket approved; merged 2026-03-02T10:00Z.
  await rec.recordEvaluation(
    evaluation({
      number: 1,
      at: "2026-03-01T10:00:00Z",
      approvers: [{ login: "alice", at: "2026-03-01T09:30:00Z" }],
      checks: [
        { name: "build", state: "success" },
        { name: "lint", state: "success", raw: "neutral" },
      ],
      tickets: [{ key: "OPS-1", status: "Approved" }],
      title: "OPS-1 Speed up settlement",
      policy: needsTickets,
    }),
  );
  await rec.recordMerge(
    merge({
      number: 1,
      mergedAt: "2026-03-02T10:00:00Z",
      mergedBy: "carol",
      title: "OPS-1 Speed up settlement",
    }),
  );
  // #2: no approval, CI failing, a title built to run as a formula; merged anyway (bypass).
  const evil = '=HYPERLINK("http://evil.example","click"), really';
  await rec.recordEvaluation(
    evaluation({
      number: 2,
      at: "2026-03-01T07:00:00Z",
      author: "mallory",
      title: evil,
      checks: [{ name: "build", state: "failure" }],
    }),
  );
  await rec.recordMerge(
    merge({
      number: 2,
      mergedAt: "2026-03-01T08:00:00Z",
      mergedBy: "mallory",
      author: "mallory",
      title: evil,
      outcome: "failure",
    }),
  );
  // #3 in another repository: emergency, merged at the same time as #1 (sorts before it by repository).
  await rec.recordEvaluation(
    evaluation({
      number: 3,
      repo: "ledger",
      at: "2026-03-02T09:00:00Z",
      labels: ["emergency"],
      tickets: [{ key: "OPS-9" }],
      policy: needsTickets,
    }),
  );
  await rec.recordMerge(
    merge({
      number: 3,
      repo: "ledger",
      mergedAt: "2026-03-02T10:00:00Z",
      mergedBy: "oncall",
      emergency: true,
    }),
  );
  // #4: merged after the period; #5: merged at the very start of it, with no evaluation on record.
  await rec.recordMerge(merge({ number: 4, mergedAt: "2026-04-01T00:00:00Z" }));
  await rec.recordMerge(merge({ number: 5, mergedAt: "2026-03-01T00:00:00Z", outcome: "none" }));
  return store;
}
