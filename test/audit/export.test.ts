import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  csvCell,
  csvLine,
  exportRow,
  exportRows,
  writeExport,
  type ExportManifest,
  type ExportRow,
} from "../../src/audit/export.js";
import { mergePayload } from "../../src/audit/payload.js";
import type { AuditStore } from "../../src/audit/database.js";
import { AuditReader } from "../../src/audit/reader.js";
import { goldenStore } from "./golden.js";
import { evaluation, merge, tempDir } from "./records.js";
import type { AuditRow } from "../../src/audit/reader.js";

const tmp = tempDir();
let store: AuditStore;
beforeAll(async () => {
  store = await goldenStore(`sqlite:${join(tmp.dir, "golden.db")}`);
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

const MARCH = { from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" };

const manifest: ExportManifest = {
  kind: "changegate audit export",
  changegateVersion: "test",
  generatedAt: "2026-04-02T00:00:00.000Z",
  database: "sqlite:golden.db",
  query: { ...MARCH, fromArgument: "2026-03-01", toArgument: "2026-03-31", repo: null, format: "csv" },
  population: "test",
  sort: "test",
  columns: [],
  chainHeads: [],
};

async function exportText(
  format: "csv" | "json" | "ndjson",
  q: { from: string; to: string; repo?: string | null } = MARCH,
): Promise<string> {
  let out = "";
  await writeExport(
    exportRows(new AuditReader(store).merges(q)),
    { ...manifest, query: { ...manifest.query, format } },
    { format, out: null, stdout: { write: (s) => (out += s) } },
  );
  return out;
}

async function hashOf(chain: string, seq: number): Promise<string> {
  for await (const r of new AuditReader(store).chainRecords(chain)) if (r.seq === seq) return r.hash;
  throw new Error(`no record ${chain}@${seq}`);
}

describe("CSV", () => {
  test("golden: one row per merged PR of the period, sorted, RFC 4180, formula-safe", async () => {
    const [h6, h4, l2, h2] = await Promise.all([
      hashOf("acme/payments", 6),
      hashOf("acme/payments", 4),
      hashOf("acme/ledger", 2),
      hashOf("acme/payments", 2),
    ]);
    const a40 = "a".repeat(40);
    const c40 = "c".repeat(40);
    const f64 = "f".repeat(64);
    const expected = [
      "repo,pr,title,author,approvers,approved_at,approvals_result,ci_result,ci_checks,tickets,tickets_result,merged_by,merged_at,emergency,bypass,check_at_merge,base,head_sha,merge_commit_sha,url,evaluated_at,policy,policy_hash,record,record_hash,evaluation_record,found_by,as_of_merge,emergency_declared_by,emergency_declared_at,retro_review,retro_reviewed_by,retro_reviewed_at,ticket_transitions,change_type,gated,retro_review_due_at,evidence_read_at,read_at_scan_time",
      `acme/payments,5,Make payments faster,dev,,,,,,,,merger,2026-03-01T00:00:00.000Z,false,true,none,,${a40},${c40},https://github.com/acme/payments/pull/5,,,,acme/payments@6,${h6},,webhook,,,,,,,,merge,true,,,`,
      `acme/payments,2,"'=HYPERLINK(""http://evil.example"",""click""), really",mallory,,,fail,fail,build: failure,,skipped,mallory,2026-03-01T08:00:00.000Z,false,true,failure,main,${a40},${c40},https://github.com/acme/payments/pull/2,2026-03-01T07:00:00.000Z,acme/payments:.github/changegate.yml,${f64},acme/payments@4,${h4},acme/payments@3,webhook,,,,,,,,merge,true,,,`,
      `acme/ledger,3,Make payments faster,dev,,,pass,skipped,build: success,OPS-9: not found in Jira,skipped,oncall,2026-03-02T10:00:00.000Z,true,false,success,main,${a40},${c40},https://github.com/acme/ledger/pull/3,2026-03-02T09:00:00.000Z,acme/ledger:.github/changegate.yml,${f64},acme/ledger@2,${l2},acme/ledger@1,webhook,,,,,,,,merge,true,,,`,
      `acme/payments,1,OPS-1 Speed up settlement,dev,alice,2026-03-01T09:30:00Z,pass,pass,build: success; lint: neutral,OPS-1: Approved,pass,carol,2026-03-02T10:00:00.000Z,false,false,success,main,${a40},${c40},https://github.com/acme/payments/pull/1,2026-03-01T10:00:00.000Z,acme/payments:.github/changegate.yml,${f64},acme/payments@2,${h2},acme/payments@1,webhook,,,,,,,,merge,true,,,`,
      "",
    ].join("\r\n");
    expect(await exportText("csv")).toBe(expected);
  });

  test("cells: formulas are defused, separators and quotes quoted, plain text left alone", () => {
    expect(csvCell("=1+2")).toBe("'=1+2");
    expect(csvCell("+SUM(A1)")).toBe("'+SUM(A1)");
    expect(csvCell("-2")).toBe("'-2");
    expect(csvCell("@cmd")).toBe("'@cmd");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell('say "hi", ok')).toBe('"say ""hi"", ok"');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell("a=b")).toBe("a=b");
    expect(csvCell("")).toBe("");
  });
});

describe("JSON and NDJSON", () => {
  test("JSON: the manifest first, the changes, then the row count and complete: true", async () => {
    const doc = JSON.parse(await exportText("json")) as {
      manifest: ExportManifest;
      changes: ExportRow[];
      rows: number;
      complete: boolean;
    };
    expect(Object.keys(doc)).toEqual(["manifest", "changes", "rows", "complete"]);
    expect(doc.manifest).toMatchObject({
      kind: "changegate audit export",
      query: { from: MARCH.from, to: MARCH.to, format: "json" },
    });
    expect(doc.rows).toBe(4);
    expect(doc.complete).toBe(true);
    expect(doc.changes.map((c) => `${c.repo}#${c.pr}`)).toEqual([
      "acme/payments#5",
      "acme/payments#2",
      "acme/ledger#3",
      "acme/payments#1",
    ]);
    expect(doc.changes[3]).toMatchObject({
      approvers: ["alice"],
      approved_at: ["2026-03-01T09:30:00Z"],
      ci_checks: [
        { name: "build", conclusion: "success" },
        { name: "lint", conclusion: "neutral" },
      ],
      tickets: [{ key: "OPS-1", state: "Approved" }],
      emergency: false,
      bypass: false,
      merged_by: "carol",
    });
    // JSON keeps the title as it is: the formula guard is for spreadsheets only.
    expect(doc.changes[1]!.title).toBe('=HYPERLINK("http://evil.example","click"), really');
  });

  test("NDJSON: a manifest line, one line per change, an end line with the count", async () => {
    const lines = (await exportText("ndjson"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; rows?: number; pr?: number });
    expect(lines.map((l) => l.type)).toEqual(["manifest", "change", "change", "change", "change", "end"]);
    expect(lines[5]).toEqual({ type: "end", rows: 4, complete: true });
    expect(lines.slice(1, 5).map((l) => l.pr)).toEqual([5, 2, 3, 1]);
  });
});

describe("the period and the repository", () => {
  const prs = async (q: { from: string; to: string; repo?: string | null }) => {
    const out: string[] = [];
    for await (const row of exportRows(new AuditReader(store).merges(q))) out.push(`${row.repo}#${row.pr}`);
    return out;
  };

  test("from is inclusive, to exclusive, to the millisecond", async () => {
    expect(await prs({ from: "2026-03-01T00:00:00.000Z", to: "2026-03-01T08:00:00.000Z" })).toEqual([
      "acme/payments#5",
    ]);
    expect(await prs({ from: "2026-03-01T00:00:00.001Z", to: "2026-03-01T08:00:00.001Z" })).toEqual([
      "acme/payments#2",
    ]);
    expect(await prs({ from: "2026-04-01T00:00:00.000Z", to: "2026-05-01T00:00:00.000Z" })).toEqual([
      "acme/payments#4",
    ]);
    expect(await prs({ from: "2025-01-01T00:00:00.000Z", to: "2026-01-01T00:00:00.000Z" })).toEqual([]);
    expect(await new AuditReader(store).countMerges(MARCH)).toBe(4);
  });

  test("--repo keeps one repository, whatever its case", async () => {
    expect(await prs({ ...MARCH, repo: "ACME/Ledger" })).toEqual(["acme/ledger#3"]);
    expect(await prs({ ...MARCH, repo: "acme/payments" })).toEqual([
      "acme/payments#5",
      "acme/payments#2",
      "acme/payments#1",
    ]);
    expect(await prs({ ...MARCH, repo: "acme/none" })).toEqual([]);
  });

  test("paging through many merges keeps the order, ties included", async () => {
    const all: string[] = [];
    for await (const { merge } of new AuditReader(store).merges(
      { from: "2000-01-01T00:00:00.000Z", to: "2100-01-01T00:00:00.000Z" },
      2,
    ))
      all.push(`${merge.chain}@${merge.seq}`);
    expect(all).toEqual([
      "acme/payments@6",
      "acme/payments@4",
      "acme/ledger@2",
      "acme/payments@2",
      "acme/payments@5",
    ]);
  });
});

describe("files", () => {
  test("a CSV file and its manifest appear together, complete, with the CSV's sha256", async () => {
    const out = join(tmp.dir, "march.csv");
    const result = await writeExport(exportRows(new AuditReader(store).merges(MARCH)), manifest, {
      format: "csv",
      out,
      stdout: { write: () => {} },
    });
    expect(result.files).toEqual([out, `${out}.manifest.json`]);
    const side = JSON.parse(readFileSync(`${out}.manifest.json`, "utf8")) as Record<string, unknown>;
    expect(side).toMatchObject({
      kind: "changegate audit export",
      rows: 4,
      complete: true,
      file: "march.csv",
      sha256: result.sha256,
    });
    expect(readFileSync(out, "utf8").split("\r\n")).toHaveLength(6);
  });

  test("a failure half-way leaves no file behind, not even a temporary one", async () => {
    const dir = join(tmp.dir, "failing");
    mkdirSync(dir);
    async function* breaking(): AsyncGenerator<ExportRow> {
      let n = 0;
      for await (const row of exportRows(new AuditReader(store).merges(MARCH))) {
        if (++n === 3) throw new Error("the database went away");
        yield row;
      }
    }
    for (const format of ["csv", "json", "ndjson"] as const) {
      const out = join(dir, `march.${format}`);
      await expect(
        writeExport(breaking(), manifest, { format, out, stdout: { write: () => {} } }),
      ).rejects.toThrow("the database went away");
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  test("the progress bar advances once per row and is stopped, also on failure", async () => {
    const calls: string[] = [];
    const progress = { increment: () => calls.push("+"), stop: () => calls.push("stop") };
    await writeExport(exportRows(new AuditReader(store).merges(MARCH)), manifest, {
      format: "ndjson",
      out: null,
      stdout: { write: () => {} },
      progress,
    });
    expect(calls).toEqual(["+", "+", "+", "+", "stop"]);
    calls.length = 0;
    async function* failing(): AsyncGenerator<ExportRow> {
      yield* exportRows(new AuditReader(store).merges({ ...MARCH, repo: "acme/ledger" }));
      throw new Error("lost");
    }
    await expect(
      writeExport(failing(), manifest, { format: "csv", out: null, stdout: { write: () => {} }, progress }),
    ).rejects.toThrow("lost");
    expect(calls).toEqual(["+", "stop"]);
  });
});

describe("a merge found by the scan (no verdict stood)", () => {
  const row = (payload: object) =>
    ({
      chain: "acme/payments",
      seq: 9,
      hash: "9".repeat(64),
      kind: "merge",
      payload: JSON.stringify(payload),
      recorded_at: "2026-03-05T00:00:01.000Z",
      merged_at: "2026-03-02T10:00:00.000Z",
      head_sha: "a".repeat(40),
      installation_id: 1,
      pr_number: 7,
    }) as unknown as AuditRow;

  test("exports what the scan read (approvals, CI, tickets, policy), marked as read at scan time; CI after the merge says so", () => {
    const read = evaluation({
      number: 7,
      approvers: [{ login: "alice", at: "2026-03-01T09:00:00Z" }],
      tickets: [{ key: "OPS-1", status: "Done" }],
      policy: { tickets: { required: true, projects: ["OPS"] } },
      state: "MERGED",
    });
    const evidence = {
      ...read.evidence,
      checks: read.evidence.checks.map((c) => ({
        ...c,
        state: "pending" as const,
        afterMerge: "completed_after_merge" as const,
      })),
    };
    const rec = {
      ...merge({ number: 7, outcome: "pending" }),
      foundBy: "scan" as const,
      asOfMerge: {
        outcome: "pending" as const,
        title: "waiting for build",
        read: { at: "2026-03-05T00:00:00.000Z", evidence, policy: read.policy, verdict: read.verdict },
      },
    };
    const payload = mergePayload(rec, true, null, "test");
    expect(payload.asOfMerge).toMatchObject({
      outcome: "pending",
      readAt: "2026-03-05T00:00:00.000Z",
      readAtScanTime: ["approvals", "ci", "emergency", "tickets"],
      evaluation: { event: "audit scan", at: "2026-03-05T00:00:00.000Z" },
    });
    const r = exportRow(row(payload), null);
    expect(r).toMatchObject({
      found_by: "scan",
      approvers: ["alice"],
      approved_at: ["2026-03-01T09:00:00Z"],
      approvals_result: "pass",
      tickets: [{ key: "OPS-1", state: "Done" }],
      ci_checks: [{ name: "build", conclusion: "success (completed after the merge: not counted)" }],
      policy: "acme/payments:.github/changegate.yml",
      evaluated_at: null,
      evaluation_record: null,
      evidence_read_at: "2026-03-05T00:00:00.000Z",
      read_at_scan_time: [
        "approvals: reviews submitted by the merge",
        "ci: results created and completed by the merge (later ones not counted)",
        "emergency: label applied by the merge",
        "tickets: Jira state at scan time, not at the merge",
      ],
    });
    expect(csvLine(r)).toContain(
      `2026-03-05T00:00:00.000Z,"approvals: reviews submitted by the merge; ci: results created`,
    );
  });

  test("a record from before the scan kept its read: nothing invented, nothing marked", () => {
    const payload = mergePayload(
      {
        ...merge({ number: 7, outcome: "failure" }),
        foundBy: "scan",
        asOfMerge: { outcome: "failure", title: "0 of 1 approvals" },
      },
      true,
      null,
      "test",
    );
    expect(payload.asOfMerge).toEqual({ outcome: "failure", title: "0 of 1 approvals" });
    expect(exportRow(row(payload), null)).toMatchObject({
      approvers: [],
      ci_checks: [],
      tickets: [],
      evidence_read_at: null,
      read_at_scan_time: [],
    });
  });
});
