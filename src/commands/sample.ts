/**
 * `changegate audit sample --from --to --size N --seed S [--repo] [--stratify] --out DIR`: a
 * reproducible random sample of `audit export`'s population (audit/population.ts, the export's and
 * the report's rows) drawn by
 * audit/sample.ts, written to DIR as manifest.json, manifest.csv and one evidence HTML file per
 * sampled change (report/sample-evidence-html.ts). `--verify --out DIR` checks an existing DIR:
 * the manifest's own hash, the CSV, every evidence file's SHA-256, every record's hash in the store
 * by chain position, and the draw itself (same population, same seed, same sample); exit 1 naming
 * every difference. Registered in src/cli.ts.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import type { AuditStore } from "../audit/database.js";
import { populationRows } from "../audit/population.js";
import { AuditReader, type AuditRow } from "../audit/reader.js";
import {
  drawSample,
  EVIDENCE_NAME,
  evidenceName,
  manifestCsv,
  manifestHash,
  MAX_SAMPLE_SIZE,
  populationDigest,
  SAMPLE_ALGORITHM,
  sha256Text,
  type SampleEntry,
  type SampleManifest,
} from "../audit/sample.js";
import { branchOfChange, enforcementAt, evidenceModel } from "../audit/sample-evidence.js";
import { branchesIn, enforcementRecords } from "../audit/enforcement.js";
import { changegateVersion } from "../audit/version.js";
import type { ExportRow } from "../audit/export.js";
import { renderEvidence } from "../report/sample-evidence-html.js";
import {
  checkRepo,
  CliError,
  databaseOption,
  EXIT,
  openForReading,
  parsePeriod,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";

export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
export const MAX_EVIDENCE_BYTES = 16 * 1024 * 1024;
const MAX_SEED_LENGTH = 200;

export interface SampleOpts {
  from?: string;
  to?: string;
  size?: string;
  seed?: string;
  repo?: string;
  stratify?: boolean;
  out: string;
  verify?: boolean;
  database?: string;
}

export function registerSample(audit: Command, io: CliIo, setExit: SetExit): void {
  audit
    .command("sample")
    .description(
      "draw a reproducible random sample of the period's changes (audit export's population) with one HTML evidence file each; --verify checks a drawn one",
    )
    .option("--from <date>", "start of the period (as for export), inclusive")
    .option("--to <date>", "end of the period (as for export), exclusive")
    .option(
      "--size <n>",
      `how many changes to draw (1 to ${MAX_SAMPLE_SIZE}); more than the population takes all`,
    )
    .option("--seed <text>", "the seed: the same seed gives the same sample from the same records")
    .option("--repo <owner/name>", "only this repository")
    .option("--stratify", "draw from each kind (merge, emergency, direct_push) in proportion")
    .requiredOption(
      "--out <dir>",
      "the directory to write (must not exist or be empty); with --verify, the directory to check",
    )
    .option(
      "--verify",
      "check an existing sample directory against the store instead of drawing; exit 1 naming every difference",
    )
    .addOption(databaseOption())
    .action(async (opts: SampleOpts) =>
      setExit(opts.verify ? await verifySampleCommand(io, opts) : await sampleCommand(io, opts)),
    );
}

function parseSize(arg: string): number {
  if (!/^\d{1,7}$/.test(arg.trim()))
    throw usage(`--size ${JSON.stringify(arg)}: expected a whole number from 1 to ${MAX_SAMPLE_SIZE}`);
  const n = Number(arg.trim());
  if (n < 1 || n > MAX_SAMPLE_SIZE)
    throw usage(`--size ${JSON.stringify(arg)}: expected a whole number from 1 to ${MAX_SAMPLE_SIZE}`);
  return n;
}

function parseSeed(arg: string): string {
  if (arg.length === 0 || arg.length > MAX_SEED_LENGTH || /[\p{Cc}]/u.test(arg)) {
    throw usage(`--seed: expected 1 to ${MAX_SEED_LENGTH} printable characters`);
  }
  return arg;
}

async function population(
  store: AuditStore,
  query: { from: string; to: string; repo: string | null },
): Promise<ExportRow[]> {
  const rows: ExportRow[] = [];
  for await (const row of populationRows(store, query)) rows.push(row);
  return rows;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

export async function sampleCommand(io: CliIo, opts: SampleOpts): Promise<number> {
  const missing = (["from", "to", "size", "seed"] as const).filter((k) => opts[k] === undefined);
  if (missing.length > 0)
    throw usage(
      `drawing a sample needs ${missing.map((k) => `--${k}`).join(", ")} (or --verify to check an existing one)`,
    );
  const period = parsePeriod(opts.from!, opts.to!);
  checkRepo(opts.repo);
  const size = parseSize(opts.size!);
  const seed = parseSeed(opts.seed!);
  const out = resolve(io.cwd, opts.out);
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory())
    throw usage(`--out ${opts.out}: the directory ${dirname(out)} does not exist`);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0))
    throw usage(
      `--out ${opts.out}: exists and is not an empty directory (a sample is never written over another)`,
    );

  const store = await openForReading(io, opts.database);
  try {
    const query = { from: period.from, to: period.to, repo: opts.repo ?? null };
    const rows = await population(store, query);
    const draw = drawSample(rows, { size, seed, stratify: opts.stratify ?? false });
    const reader = new AuditReader(store);
    const generatedAt = io.now().toISOString();

    // Branch enforcement at each change's moment, from the branch_enforcement records.
    const enfRecords = await enforcementRecords(store.db, opts.repo ? { repo: opts.repo } : {});
    const enfBooks = await branchesIn(store.db, opts.repo ? { repo: opts.repo } : {});
    const enforcementOf = (row: ExportRow, record: AuditRow, ev: AuditRow | null) => {
      const branch = branchOfChange(record, ev);
      if (!branch) return null;
      const last =
        enfBooks.find((b) => b.repo.toLowerCase() === row.repo.toLowerCase() && b.branch === branch) ?? null;
      return enforcementAt(enfRecords, last, row.repo, branch, row.merged_at, io.now());
    };
    const files = new Map<string, string>();
    const entries: SampleEntry[] = [];
    let index = 0;
    for (const p of draw.sample) {
      index++;
      const record = await reader.recordAt(p.chain, p.seq);
      if (!record || record.hash !== p.row.record_hash)
        throw new CliError(EXIT.failed, `record ${p.row.record} changed while the sample was drawn`);
      const ev = p.row.evaluation_record ? await recordOf(reader, p.row.evaluation_record) : null;
      const page = renderEvidence(
        evidenceModel(index, p, record, ev, generatedAt, enforcementOf(p.row, record, ev)),
      );
      const name = evidenceName(index, p);
      files.set(name, page);
      entries.push({
        index,
        repo: p.row.repo,
        pr: p.kind === "direct_push" ? null : p.row.pr,
        commit: p.row.head_sha,
        kind: p.kind,
        chain: p.chain,
        seq: p.seq,
        record: p.row.record,
        record_hash: p.row.record_hash,
        evidence: name,
        evidence_sha256: sha256Text(page),
      });
    }
    const csv = manifestCsv(entries);
    const body: Omit<SampleManifest, "manifestSha256"> = {
      kind: "changegate audit sample",
      changegateVersion: changegateVersion(),
      generatedAt,
      database: store.description,
      query: { ...query, fromArgument: opts.from!, toArgument: opts.to! },
      seed,
      size,
      stratify: opts.stratify ?? false,
      algorithm: SAMPLE_ALGORITHM,
      population: {
        total: draw.population.length,
        byKind: draw.counts,
        sha256: populationDigest(draw.population),
        definition:
          "audit export's rows for the same --from, --to and --repo: merged pull requests and direct pushes to gated branches",
      },
      allocation: draw.allocation,
      tookAll: draw.tookAll,
      entries,
      csvSha256: sha256Text(csv),
    };
    const manifest: SampleManifest = { ...body, manifestSha256: manifestHash(body) };

    // Written beside DIR and renamed into place only when complete.
    const temp = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
    await rm(temp, { recursive: true, force: true });
    try {
      await mkdir(join(temp, "evidence"), { recursive: true });
      for (const [name, page] of files) await writeFile(join(temp, name), page, { mode: 0o644 });
      await writeFile(join(temp, "manifest.csv"), csv, { mode: 0o644 });
      await writeFile(join(temp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
      if (existsSync(out)) await rmdir(out); // empty (checked above)
      await rename(temp, out);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    const kinds = Object.entries(draw.counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    io.stderr.write(
      `sampled ${entries.length} of ${draw.population.length} change${draw.population.length === 1 ? "" : "s"} (${kinds}) with seed ${JSON.stringify(seed)} into ${opts.out}${draw.tookAll ? ` (--size ${size} is not smaller than the population: every change is in the sample)` : ""}\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

async function recordOf(reader: AuditReader, id: string) {
  const at = id.lastIndexOf("@");
  return reader.recordAt(id.slice(0, at), Number(id.slice(at + 1)));
}

// ------------------------------------------------------------------ verify

const kind = z.enum(["merge", "emergency", "direct_push"]);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const counts = z
  .object({
    merge: z.number().int().min(0),
    emergency: z.number().int().min(0),
    direct_push: z.number().int().min(0),
  })
  .strict();
const manifestSchema = z
  .object({
    kind: z.literal("changegate audit sample"),
    changegateVersion: z.string().max(200),
    generatedAt: z.string().max(100),
    database: z.string().max(2000),
    query: z
      .object({
        from: z.string().max(100),
        to: z.string().max(100),
        fromArgument: z.string().max(200),
        toArgument: z.string().max(200),
        repo: z.string().max(300).nullable(),
      })
      .strict(),
    seed: z.string().min(1).max(MAX_SEED_LENGTH),
    size: z.number().int().min(1).max(MAX_SAMPLE_SIZE),
    stratify: z.boolean(),
    algorithm: z.string().max(2000),
    population: z
      .object({
        total: z.number().int().min(0),
        byKind: counts,
        sha256: hex64,
        definition: z.string().max(2000),
      })
      .strict(),
    allocation: counts.nullable(),
    tookAll: z.boolean(),
    entries: z
      .array(
        z
          .object({
            index: z.number().int().min(1),
            repo: z.string().max(300),
            pr: z.number().int().min(0).nullable(),
            commit: z.string().max(100),
            kind,
            chain: z.string().max(300),
            seq: z.number().int().min(1),
            record: z.string().max(400),
            record_hash: z.string().max(200),
            evidence: z.string().max(400),
            evidence_sha256: z.string().max(200),
          })
          .strict(),
      )
      .max(MAX_SAMPLE_SIZE),
    csvSha256: z.string().max(200),
    manifestSha256: z.string().max(200),
  })
  .strict();

/** DIR/manifest.json parsed and checked against its own hash; a string saying what is wrong otherwise. */
export async function readSampleManifest(dir: string, name: string): Promise<SampleManifest | string> {
  const r = await parseSampleManifest(dir, name);
  if (typeof r === "string") return r;
  return manifestHash(r) === r.manifestSha256
    ? r
    : "manifest.json: its content does not match its manifestSha256 (the manifest was edited)";
}

async function parseSampleManifest(dir: string, name: string): Promise<SampleManifest | string> {
  const mpath = join(dir, "manifest.json");
  if (!existsSync(mpath) || !lstatSync(mpath).isFile())
    throw usage(`${name}: no manifest.json (not a sample directory)`);
  if (statSync(mpath).size > MAX_MANIFEST_BYTES)
    throw usage(`${name}/manifest.json: larger than ${MAX_MANIFEST_BYTES} bytes, refused`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(mpath, "utf8"));
  } catch {
    return "manifest.json: not JSON";
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return `manifest.json: not a changegate sample manifest (${i.path.join(".") || "(file)"}: ${i.message})`;
  }
  return parsed.data as SampleManifest;
}

/** Every difference between DIR and the store (empty: the sample stands). */
export async function verifySample(
  io: CliIo,
  opts: SampleOpts,
): Promise<{ problems: string[]; entries: number }> {
  const dir = resolve(io.cwd, opts.out);
  const m = await parseSampleManifest(dir, `--out ${opts.out}`);
  if (typeof m === "string") return { problems: [m], entries: 0 };
  const problems: string[] = [];
  if (manifestHash(m) !== m.manifestSha256)
    problems.push("manifest.json: its content does not match its manifestSha256 (the manifest was edited)");
  const csvPath = join(dir, "manifest.csv");
  if (!existsSync(csvPath)) problems.push("manifest.csv: missing");
  else if (!lstatSync(csvPath).isFile() || lstatSync(csvPath).size > MAX_MANIFEST_BYTES)
    problems.push("manifest.csv: not a regular file of at most the manifest's size limit (refused)");
  else {
    const csv = await readFile(csvPath);
    if (sha256(csv) !== m.csvSha256)
      problems.push("manifest.csv: its SHA-256 is not the manifest's csvSha256 (the CSV was edited)");
    if (csv.toString("utf8") !== manifestCsv(m.entries))
      problems.push("manifest.csv: does not list the manifest's entries");
  }

  const store = await openForReading(io, opts.database);
  try {
    const reader = new AuditReader(store);
    for (const e of m.entries) {
      const who = `entry ${e.index} (${e.record})`;
      if (e.record !== `${e.chain}@${e.seq}`)
        problems.push(`${who}: record does not name chain ${JSON.stringify(e.chain)} position ${e.seq}`);
      const rec = await reader.recordAt(e.chain, e.seq);
      if (!rec) problems.push(`${who}: no record at ${e.chain}@${e.seq} in the store`);
      else {
        if (rec.hash !== e.record_hash)
          problems.push(`${who}: record hash ${e.record_hash} in the manifest, ${rec.hash} in the store`);
        if (rec.head_sha !== e.commit)
          problems.push(`${who}: commit ${e.commit} in the manifest, ${rec.head_sha} in the store`);
        if ((e.kind === "direct_push") !== (rec.kind === "direct_push"))
          problems.push(`${who}: kind ${e.kind} in the manifest, ${rec.kind} in the store`);
      }
      if (!EVIDENCE_NAME.test(e.evidence)) {
        problems.push(
          `${who}: evidence path ${JSON.stringify(e.evidence)} is not a file in DIR/evidence (refused)`,
        );
        continue;
      }
      const epath = join(dir, e.evidence);
      const st = existsSync(epath) ? lstatSync(epath) : null;
      if (!st) problems.push(`${who}: evidence file ${e.evidence} is missing`);
      // Only a regular file of a sane size is read (not a symlink, a FIFO or a device).
      else if (!st.isFile())
        problems.push(`${who}: evidence file ${e.evidence} is not a regular file (refused)`);
      else if (st.size > MAX_EVIDENCE_BYTES)
        problems.push(
          `${who}: evidence file ${e.evidence} is larger than ${MAX_EVIDENCE_BYTES} bytes (refused)`,
        );
      else if (sha256(await readFile(epath)) !== e.evidence_sha256)
        problems.push(`${who}: evidence file ${e.evidence} does not match its SHA-256 (edited)`);
    }

    // The draw itself: the same population and seed give the same sample.
    const rows = await population(store, { from: m.query.from, to: m.query.to, repo: m.query.repo });
    const draw = drawSample(rows, { size: m.size, seed: m.seed, stratify: m.stratify });
    const digest = populationDigest(draw.population);
    if (digest !== m.population.sha256 || draw.population.length !== m.population.total) {
      problems.push(
        `population: ${draw.population.length} changes in the store for the period now (sha256 ${digest}), ${m.population.total} in the manifest (sha256 ${m.population.sha256})`,
      );
    }
    const drawn = draw.sample.map((p) => p.row.record).join(" ");
    const listed = m.entries.map((e) => e.record).join(" ");
    if (drawn !== listed)
      problems.push(
        `sample: redrawing with seed ${JSON.stringify(m.seed)} gives ${drawn || "(none)"}, the manifest lists ${listed || "(none)"}`,
      );
    return { problems, entries: m.entries.length };
  } finally {
    await store.close();
  }
}

export async function verifySampleCommand(io: CliIo, opts: SampleOpts): Promise<number> {
  const given = (["from", "to", "size", "seed", "repo"] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 0 || opts.stratify)
    throw usage(
      `--verify reads the period, size and seed from DIR/manifest.json: drop ${[...given.map((k) => `--${k}`), ...(opts.stratify ? ["--stratify"] : [])].join(", ")}`,
    );
  const { problems, entries } = await verifySample(io, opts);
  if (problems.length > 0) {
    for (const p of problems) io.stderr.write(`sample ${opts.out}: ${p}\n`);
    io.stderr.write(
      `sample ${opts.out}: ${problems.length} difference${problems.length === 1 ? "" : "s"}: the sample does NOT match the store\n`,
    );
    return EXIT.failed;
  }
  io.stdout.write(
    `sample ${opts.out}: ${entries} entr${entries === 1 ? "y" : "ies"} match the store (manifest, CSV, evidence files, record hashes, and the draw)\n`,
  );
  return EXIT.ok;
}
