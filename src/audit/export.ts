/**
 * `changegate audit export`: the population of merged changes in a period, one row per merged PR,
 * with what an auditor samples from: who authored, who approved and when, what CI said, which
 * tickets and their states, who merged and when, emergency and bypass, and which audit record
 * says so. Sorted by merged_at, then repository, then PR number.
 *
 * Formats: CSV (RFC 4180: CRLF, quoted where needed; cells starting with = + - @ get a leading '
 * so a spreadsheet never runs them as formulas), JSON (one document: manifest, changes, row count),
 * NDJSON (a manifest line, one line per change, an end line with the row count). The completeness
 * facts (query, time, version, database, row count, chain heads) ride in the JSON header/trailer and
 * NDJSON first/last lines; for CSV they go to a sidecar FILE.manifest.json holding the CSV's sha256.
 * Files are written to a temporary name and renamed only when complete.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { AuditRow } from "./reader.js";
import type { ExportRow } from "./export-row.js";
import type { EvaluationPayload, MergePayload } from "./payload.js";
import { canonicalJson } from "./hash.js";
import { afterMergeColumns, transitionsText } from "./export-after-merge.js";
import { directPushExportRow } from "./export-direct-push.js";

export type ExportFormat = "csv" | "json" | "ndjson";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["csv", "json", "ndjson"];

export type { ExportRow } from "./export-row.js";

/** How each part read at scan time was judged as of the merge (payload.ts READ_AT_SCAN_TIME). */
const SCAN_TIME_WORDS: Record<string, string> = {
  approvals: "approvals: reviews submitted by the merge",
  ci: "ci: results created and completed by the merge (later ones not counted)",
  emergency: "emergency: label applied by the merge",
  tickets: "tickets: Jira state at scan time, not at the merge",
};

export const CSV_COLUMNS: readonly (keyof ExportRow)[] = [
  "repo",
  "pr",
  "title",
  "author",
  "approvers",
  "approved_at",
  "approvals_result",
  "ci_result",
  "ci_checks",
  "tickets",
  "tickets_result",
  "merged_by",
  "merged_at",
  "emergency",
  "bypass",
  "check_at_merge",
  "base",
  "head_sha",
  "merge_commit_sha",
  "url",
  "evaluated_at",
  "policy",
  "policy_hash",
  "record",
  "record_hash",
  "evaluation_record",
  "found_by",
  "as_of_merge",
  "emergency_declared_by",
  "emergency_declared_at",
  "retro_review",
  "retro_reviewed_by",
  "retro_reviewed_at",
  "ticket_transitions",
  "change_type",
  "gated",
  "retro_review_due_at",
  "evidence_read_at",
  "read_at_scan_time",
];

/** One export row from a merge record and the evaluation that stood for the merged head. */
export function exportRow(
  merge: AuditRow,
  standing: AuditRow | null,
  afterMerge: AuditRow[] = [],
): ExportRow {
  const m = JSON.parse(merge.payload) as MergePayload;
  // No verdict stood: what the scan read (at scan time, judged as of the merge), when it kept it.
  const scanned = !standing ? (m.asOfMerge?.evaluation ?? null) : null;
  const e = standing ? (JSON.parse(standing.payload) as EvaluationPayload) : scanned;
  const rule = <R extends "approvals" | "ci" | "tickets">(name: R) =>
    e?.verdict?.rules.find((r) => r.rule === name) ?? null;

  const approvals = approvedReviews(e);
  const tickets = ticketStates(e);
  return {
    repo: m.repo,
    pr: m.number,
    title: m.title,
    author: m.author,
    approvers: approvals.map((a) => a.login),
    approved_at: approvals.map((a) => a.at),
    approvals_result: rule("approvals")?.status ?? null,
    ci_result: rule("ci")?.status ?? null,
    ci_checks: (e?.evidence.checks ?? []).map((c) => ({ name: c.name, conclusion: ciConclusion(c) })),
    tickets,
    tickets_result: rule("tickets")?.status ?? null,
    merged_by: m.mergedBy,
    merged_at: merge.merged_at ?? m.mergedAt ?? m.at,
    emergency: m.emergency,
    bypass: m.bypass,
    check_at_merge: m.outcome,
    base: e?.base ?? null,
    head_sha: m.headSha,
    merge_commit_sha: m.mergeCommitSha,
    url: m.url,
    evaluated_at: standing?.recorded_at ?? null,
    policy: e?.policy?.source.location ?? null,
    policy_hash: e?.policy ? e.policy.source.contentHash || "(built-in defaults)" : null,
    record: `${merge.chain}@${merge.seq}`,
    record_hash: merge.hash,
    evaluation_record: standing ? `${standing.chain}@${standing.seq}` : null,
    found_by: m.foundBy ?? "webhook",
    as_of_merge: m.asOfMerge?.outcome ?? null,
    ...afterMergeColumns(m, e, afterMerge),
    change_type: "merge",
    gated: m.gated !== false,
    evidence_read_at: scanned ? (m.asOfMerge?.readAt ?? scanned.at) : null,
    read_at_scan_time: scanned ? (m.asOfMerge?.readAtScanTime ?? []).map((k) => SCAN_TIME_WORDS[k] ?? k) : [],
  };
}

/** GitHub's word; a result judged as of a merge that was not in that state at the merge says so. */
function ciConclusion(c: EvaluationPayload["evidence"]["checks"][number]): string {
  const word = c.raw || c.state;
  if (!c.afterMerge) return word;
  const why = {
    created_after_merge: "created after the merge",
    completed_after_merge: "completed after the merge",
    time_unknown: "time unknown",
  }[c.afterMerge];
  return `${word} (${why}: not counted)`;
}

/** Each reviewer's latest opinion; those that are APPROVED, in approval order. */
function approvedReviews(e: EvaluationPayload | null): { login: string; at: string | null }[] {
  if (!e) return [];
  const sorted = [...e.evidence.reviews].sort((a, b) =>
    (a.submittedAt ?? "").localeCompare(b.submittedAt ?? ""),
  );
  const latest = new Map<string, { login: string; state: string; at: string | null }>();
  for (const r of sorted) {
    if (!r.login || r.state === "COMMENTED" || r.state === "PENDING") continue;
    latest.set(r.login.toLowerCase(), { login: r.login, state: r.state, at: r.submittedAt });
  }
  return [...latest.values()].filter((r) => r.state === "APPROVED").map(({ login, at }) => ({ login, at }));
}

function ticketStates(e: EvaluationPayload | null): { key: string; state: string }[] {
  if (!e) return [];
  const lines = e.verdict?.rules.find((r) => r.rule === "tickets");
  if (lines && lines.rule === "tickets" && lines.tickets.length > 0) {
    return lines.tickets.map((t) => ({
      key: t.key,
      state:
        t.outcome === "unknown"
          ? "not found in Jira"
          : t.outcome === "unverified"
            ? "unverified (Jira lookup failed)"
            : (t.status ?? t.outcome),
    }));
  }
  const lookup = e.evidence.tickets.lookup;
  return e.evidence.tickets.refs.map((r) => {
    if (lookup.kind === "ok") {
      const found = lookup.found.find((f) => f.key.toUpperCase() === r.key.toUpperCase());
      return {
        key: r.key,
        state: found ? found.status : lookup.unknown.includes(r.key) ? "not found in Jira" : "not looked up",
      };
    }
    return {
      key: r.key,
      state:
        lookup.kind === "not_needed" || lookup.kind === "not_configured"
          ? "not looked up"
          : `unverified (${lookup.kind})`,
    };
  });
}

// ------------------------------------------------------------------ CSV

/** One CSV cell: formula guard, then RFC 4180 quoting. */
export function csvCell(value: string): string {
  let s = value;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

function cellText(row: ExportRow, column: keyof ExportRow): string {
  switch (column) {
    case "ci_checks":
      return row.ci_checks.map((c) => `${c.name}: ${c.conclusion}`).join("; ");
    case "tickets":
      return row.tickets.map((t) => `${t.key}: ${t.state}`).join("; ");
    case "approved_at":
      return row.approved_at.map((a) => a ?? "unknown").join("; ");
    case "ticket_transitions":
      return transitionsText(row.ticket_transitions);
    default: {
      const v = row[column];
      if (v === null || v === undefined) return "";
      if (Array.isArray(v)) return v.join("; ");
      if (typeof v === "boolean") return v ? "true" : "false";
      return String(v);
    }
  }
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(",")}\r\n`;
}

export function csvLine(row: ExportRow): string {
  return `${CSV_COLUMNS.map((c) => csvCell(cellText(row, c))).join(",")}\r\n`;
}

// ------------------------------------------------------------------ writing

export interface ExportManifest {
  kind: "changegate audit export";
  changegateVersion: string;
  generatedAt: string;
  database: string;
  query: {
    from: string;
    to: string;
    fromArgument: string;
    toArgument: string;
    repo: string | null;
    format: ExportFormat;
  };
  population: string;
  sort: string;
  columns: readonly string[];
  /** Every chain's last record when the export started: compare later to prove nothing was cut off. */
  chainHeads: { chain: string; seq: number; hash: string }[];
}

export interface Progress {
  increment(): void;
  stop(): void;
}

export interface WriteOptions {
  format: ExportFormat;
  /** A file path, or null for `stdout`. */
  out: string | null;
  stdout: { write(s: string): unknown };
  progress?: Progress | null;
  /** Start the CSV with a UTF-8 byte order mark (Excel then reads non-ASCII text right). */
  bom?: boolean;
}

export interface ExportResult {
  rows: number;
  /** Files written (data first, then the CSV's manifest); empty for stdout. */
  files: string[];
  /** sha256 of the data written. */
  sha256: string;
  manifest: ExportManifest;
}

interface Sink {
  write(s: string): Promise<void>;
}

/** Write `rows` in `format` to a file (atomically) or stdout. Nothing is left at `out` unless complete. */
export async function writeExport(
  rows: AsyncIterable<ExportRow>,
  manifest: ExportManifest,
  options: WriteOptions,
): Promise<ExportResult> {
  const hash = createHash("sha256");
  if (options.out === null) {
    const stdout = options.stdout as {
      write(s: string): unknown;
      once?: (event: "drain", fn: () => void) => unknown;
    };
    const sink: Sink = {
      async write(s) {
        hash.update(s);
        // Respect back-pressure: a large export to a slow pipe is not buffered in memory.
        if (stdout.write(s) === false && typeof stdout.once === "function")
          await new Promise<void>((r) => stdout.once!("drain", r));
      },
    };
    const n = await writeFormatted(rows, manifest, options, sink);
    return { rows: n, files: [], sha256: hash.digest("hex"), manifest };
  }

  const out = options.out;
  const temps: string[] = [];
  const tempFor = (path: string) => {
    const t = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.partial`,
    );
    temps.push(t);
    return t;
  };
  try {
    const dataTemp = tempFor(out);
    const n = await withFile(dataTemp, async (sink) =>
      writeFormatted(rows, manifest, options, { write: async (s) => (hash.update(s), sink.write(s)) }),
    );
    const sha256 = hash.digest("hex");
    const files = [out];
    let manifestTemp: string | null = null;
    const manifestPath = `${out}.manifest.json`;
    if (options.format === "csv") {
      manifestTemp = tempFor(manifestPath);
      const sidecar = { ...manifest, rows: n, complete: true, file: basename(out), sha256 };
      await withFile(manifestTemp, async (sink) => sink.write(`${JSON.stringify(sidecar, null, 2)}\n`));
    }
    await rename(dataTemp, out);
    if (manifestTemp) {
      await rename(manifestTemp, manifestPath);
      files.push(manifestPath);
    }
    return { rows: n, files, sha256, manifest };
  } finally {
    // After success both temps were renamed away; after a failure, nothing partial stays behind.
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}

async function withFile<T>(path: string, fn: (sink: Sink) => Promise<T>): Promise<T> {
  const fh = await open(path, "wx", 0o644);
  let buffer = "";
  const flush = async () => {
    if (buffer.length === 0) return;
    const b = buffer;
    buffer = "";
    await fh.write(b);
  };
  try {
    const result = await fn({
      async write(s) {
        buffer += s;
        if (buffer.length >= 1 << 16) await flush();
      },
    });
    await flush();
    await fh.sync();
    return result;
  } finally {
    await fh.close();
  }
}

async function writeFormatted(
  rows: AsyncIterable<ExportRow>,
  manifest: ExportManifest,
  options: WriteOptions,
  sink: Sink,
): Promise<number> {
  let n = 0;
  const tick = () => {
    n++;
    options.progress?.increment();
  };
  try {
    switch (options.format) {
      case "csv":
        await sink.write(`${options.bom ? "\ufeff" : ""}${csvHeader()}`);
        for await (const row of rows) {
          await sink.write(csvLine(row));
          tick();
        }
        break;
      case "json":
        await sink.write(`{"manifest":${JSON.stringify(manifest)},\n"changes":[`);
        for await (const row of rows) {
          await sink.write(`${n === 0 ? "\n" : ",\n"}${JSON.stringify(row)}`);
          tick();
        }
        await sink.write(`\n],\n"rows":${n},\n"complete":true}\n`);
        break;
      case "ndjson":
        await sink.write(`${JSON.stringify({ type: "manifest", ...manifest })}\n`);
        for await (const row of rows) {
          await sink.write(`${JSON.stringify({ type: "change", ...row })}\n`);
          tick();
        }
        await sink.write(`${JSON.stringify({ type: "end", rows: n, complete: true })}\n`);
        break;
    }
  } finally {
    options.progress?.stop();
  }
  return n;
}

/** Export rows from the store's merge records, one per merged PR (a repeated merge record is skipped). */
export async function* exportRows(
  merges: AsyncIterable<{ merge: AuditRow; standing: AuditRow | null }>,
  afterMerge?: (merge: AuditRow) => Promise<AuditRow[]>,
): AsyncGenerator<ExportRow> {
  const seen = new Set<string>();
  for await (const { merge, standing } of merges) {
    const id = canonicalJson([merge.chain, merge.installation_id, merge.pr_number, merge.head_sha]);
    if (seen.has(id)) continue;
    seen.add(id);
    if (merge.kind === "direct_push") {
      yield directPushExportRow(merge);
      continue;
    }
    yield exportRow(merge, standing, afterMerge ? await afterMerge(merge) : []);
  }
}
