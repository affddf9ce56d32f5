/**
 * `changegate audit sample`, the pure parts: which kind a change is, the reproducible draw (a
 * seeded mulberry32 over the population sorted by chain and sequence), the manifest (JSON and CSV)
 * and its integrity hash. The population is `audit export`'s rows (export.ts), never a second
 * builder. docs/audit.md ("Drawing a sample for the auditor") describes the draw so an auditor can
 * re-derive it by hand.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./hash.js";
import { csvCell, type ExportRow } from "./export.js";

export type SampleKind = "merge" | "emergency" | "direct_push";
/** The strata, in the order they are drawn. */
export const SAMPLE_KINDS: readonly SampleKind[] = ["merge", "emergency", "direct_push"];

export const MAX_SAMPLE_SIZE = 100_000;
export const SAMPLE_ALGORITHM =
  "changegate-sample-v1: population sorted by (chain, seq) in code-point order; PRNG mulberry32 seeded with the first 4 bytes (big-endian) of SHA-256(UTF-8 seed); partial Fisher-Yates: for i = 0..k-1, j = i + floor(next() * (n - i)), swap(i, j), the first k drawn; stratified: strata merge, emergency, direct_push in that order, each stratum's share size*n_kind/N rounded down, the remainder given one at a time to the largest fractional parts (ties: stratum order), each stratum drawn in turn from the same PRNG; the sample listed in (chain, seq) order";

export function kindOf(row: ExportRow): SampleKind {
  if (row.change_type === "direct_push") return "direct_push";
  return row.emergency ? "emergency" : "merge";
}

/** "owner/name@12" → chain and seq. */
export function parseRecordId(record: string): { chain: string; seq: number } | null {
  const at = record.lastIndexOf("@");
  if (at <= 0) return null;
  const seq = Number(record.slice(at + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return null;
  return { chain: record.slice(0, at), seq };
}

/** mulberry32: a small, well-known 32-bit PRNG; next() in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG's 32-bit seed: the first 4 bytes of SHA-256 of the seed string, big-endian. */
export function seedNumber(seed: string): number {
  return createHash("sha256").update(seed, "utf8").digest().readUInt32BE(0);
}

const byPosition = (a: { chain: string; seq: number }, b: { chain: string; seq: number }) =>
  a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.seq - b.seq;

export interface Positioned {
  row: ExportRow;
  kind: SampleKind;
  chain: string;
  seq: number;
}

/** The population in its stable order (chain, then seq); rows without a record position are refused. */
export function positioned(rows: readonly ExportRow[]): Positioned[] {
  return rows
    .map((row) => {
      const p = parseRecordId(row.record);
      if (!p) throw new Error(`export row ${JSON.stringify(row.record)}: not a chain position`);
      return { row, kind: kindOf(row), ...p };
    })
    .sort(byPosition);
}

/** Proportional allocation with largest remainders (ties: stratum order); never more than a stratum holds. */
export function allocate(size: number, counts: Record<SampleKind, number>): Record<SampleKind, number> {
  const total = SAMPLE_KINDS.reduce((s, k) => s + counts[k], 0);
  const out: Record<SampleKind, number> = { merge: 0, emergency: 0, direct_push: 0 };
  if (total === 0) return out;
  const k = Math.min(size, total);
  const rest: { kind: SampleKind; frac: number; order: number }[] = [];
  let given = 0;
  SAMPLE_KINDS.forEach((kind, order) => {
    // Exact integer arithmetic: floor(k*n/N) and the remainder k*n mod N (compared instead of fractions).
    const q = Math.floor((k * counts[kind]) / total);
    out[kind] = q;
    given += q;
    rest.push({ kind, frac: (k * counts[kind]) % total, order });
  });
  rest.sort((a, b) => b.frac - a.frac || a.order - b.order);
  for (const r of rest) {
    if (given >= k) break;
    if (out[r.kind] < counts[r.kind]) {
      out[r.kind]++;
      given++;
    }
  }
  return out;
}

function fisherYates<T>(items: T[], k: number, next: () => number): T[] {
  const a = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(next() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

export interface DrawOptions {
  size: number;
  seed: string;
  stratify: boolean;
}

export interface Draw {
  population: Positioned[];
  counts: Record<SampleKind, number>;
  /** Per stratum when stratified; null otherwise. */
  allocation: Record<SampleKind, number> | null;
  sample: Positioned[];
  /** The population was no larger than the size asked: every change is in the sample. */
  tookAll: boolean;
}

/** The reproducible draw: the same rows, size, seed and stratify give the same sample. */
export function drawSample(rows: readonly ExportRow[], o: DrawOptions): Draw {
  const population = positioned(rows);
  const counts: Record<SampleKind, number> = { merge: 0, emergency: 0, direct_push: 0 };
  for (const p of population) counts[p.kind]++;
  const next = mulberry32(seedNumber(o.seed));
  const tookAll = o.size >= population.length;
  let sample: Positioned[];
  let allocation: Record<SampleKind, number> | null = null;
  if (o.stratify) {
    allocation = allocate(o.size, counts);
    sample = SAMPLE_KINDS.flatMap((kind) =>
      fisherYates(
        population.filter((p) => p.kind === kind),
        allocation![kind],
        next,
      ),
    );
  } else {
    sample = fisherYates(population, Math.min(o.size, population.length), next);
  }
  return { population, counts, allocation, sample: sample.sort(byPosition), tookAll };
}

/** SHA-256 over the population's positions and record hashes, one "chain@seq hash\n" line each, in order. */
export function populationDigest(population: readonly Positioned[]): string {
  const h = createHash("sha256");
  for (const p of population) h.update(`${p.chain}@${p.seq} ${p.row.record_hash}\n`, "utf8");
  return h.digest("hex");
}

// ------------------------------------------------------------------ manifest

export interface SampleEntry {
  index: number;
  repo: string;
  /** The PR's number; null for a direct push (commit names it). */
  pr: number | null;
  commit: string;
  kind: SampleKind;
  chain: string;
  seq: number;
  record: string;
  record_hash: string;
  evidence: string;
  evidence_sha256: string;
}

export interface SampleManifest {
  kind: "changegate audit sample";
  changegateVersion: string;
  generatedAt: string;
  database: string;
  query: { from: string; to: string; fromArgument: string; toArgument: string; repo: string | null };
  seed: string;
  size: number;
  stratify: boolean;
  algorithm: string;
  population: { total: number; byKind: Record<SampleKind, number>; sha256: string; definition: string };
  allocation: Record<SampleKind, number> | null;
  tookAll: boolean;
  entries: SampleEntry[];
  /** SHA-256 of manifest.csv's bytes. */
  csvSha256: string;
  /** SHA-256 of the canonical JSON of this manifest without this field. */
  manifestSha256: string;
}

export const SAMPLE_CSV_COLUMNS: readonly (keyof SampleEntry)[] = [
  "index",
  "repo",
  "pr",
  "commit",
  "kind",
  "chain",
  "seq",
  "record",
  "record_hash",
  "evidence",
  "evidence_sha256",
];

export function manifestCsv(entries: readonly SampleEntry[]): string {
  const lines = [SAMPLE_CSV_COLUMNS.join(",")];
  for (const e of entries)
    lines.push(SAMPLE_CSV_COLUMNS.map((c) => csvCell(e[c] === null ? "" : String(e[c]))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export function sha256Text(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

export function manifestHash(
  m: Omit<SampleManifest, "manifestSha256"> & { manifestSha256?: string },
): string {
  const { manifestSha256: _omit, ...rest } = m;
  return sha256Text(canonicalJson(rest));
}

/** The evidence file's name inside DIR: a fixed shape (verify refuses any other). */
export function evidenceName(index: number, p: Positioned): string {
  const safe = p.row.repo.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_");
  const what =
    p.kind === "direct_push"
      ? `push-${p.row.head_sha.slice(0, 12).replace(/[^0-9a-f]/gi, "")}`
      : `pr-${p.row.pr}`;
  return `evidence/${String(index).padStart(4, "0")}-${safe}-${what}.html`;
}
export const EVIDENCE_NAME = /^evidence\/\d{4,6}-[A-Za-z0-9._-]+\.html$/;
