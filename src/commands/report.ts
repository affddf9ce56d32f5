/**
 * `changegate audit report --from --to --out report.html [--completeness FILE] [--checkpoints FILE]`:
 * the export's rows for the window (src/audit/export.ts, reader.ts), the completeness result that
 * `audit completeness --out` wrote (parsed here with zod), and the checkpoint status, rendered by
 * src/report/audit-report-*.ts into one self-contained HTML file. Registered in src/cli.ts.
 */
import { loadSettings } from "../settings.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { Option, type Command } from "commander";
import { z } from "zod";
import type { ExportRow } from "../audit/export.js";
import { populationRows } from "../audit/population.js";
import { AuditReader } from "../audit/reader.js";
import {
  checkLog,
  CheckpointKeyError,
  loadPublicKey,
  trustedCheckpoints,
  type ParsedLog,
} from "../audit/checkpoint.js";
import { databaseIdentity, FileCheckpointLog } from "../audit/checkpoint-publish.js";
import { verifyAgainstCheckpoints } from "../audit/checkpoint-verify.js";
import { IssueCheckpointLog, parseIssueArgument } from "../github/checkpoint-issue.js";
import {
  buildReportModel,
  type CheckpointStatus,
  type CompletenessInput,
  type SampleLink,
} from "../report/audit-report-model.js";
import { publicKeyText } from "./checkpoint.js";
import { readSampleManifest } from "./sample.js";
import {
  checkRepo,
  databaseOption,
  EXIT,
  githubFor,
  openForReading,
  parsePeriod,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";
import { enforcementReport } from "./enforcement.js";

export const MAX_COMPLETENESS_BYTES = 32 * 1024 * 1024;

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "expected an ISO time");
const completenessSchema = z.object({
  kind: z.literal("changegate-completeness"),
  from: iso,
  to: iso,
  generatedAt: iso,
  complete: z.boolean(),
  repositories: z
    .array(
      z.object({
        repo: z.string().max(300),
        githubMerges: z.number().int().min(0),
        records: z.number().int().min(0),
        missing: z
          .array(
            z.object({ number: z.number().int(), mergedAt: z.string().max(100), url: z.string().max(2000) }),
          )
          .max(1_000_000),
        extra: z.array(z.object({ number: z.number().int(), mergedAt: z.string().max(100) })).max(1_000_000),
      }),
    )
    .max(100_000),
});

/** The completeness file, checked at the edge; a message naming what is wrong otherwise. */
export function parseCompleteness(text: string, name: string): CompletenessInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw usage(`--completeness ${name}: not JSON`);
  }
  const r = completenessSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw usage(
      `--completeness ${name}: not an \`audit completeness\` result (${i.path.join(".") || "(file)"}: ${i.message})`,
    );
  }
  // Fail closed: a result that says complete but lists differences is not complete.
  const anyDiff = r.data.repositories.some(
    (x) => x.missing.length > 0 || x.extra.length > 0 || x.githubMerges !== x.records,
  );
  return { ...r.data, complete: r.data.complete && !anyDiff };
}

export interface ReportOpts {
  from: string;
  to: string;
  out: string;
  repo?: string;
  completeness?: string;
  checkpoints?: string;
  fromIssue?: string;
  publicKey?: string;
  databaseId?: string;
  /** No longer used (the recorded due time is): refused with a message saying so. */
  retroWindowDays?: string;
  sample?: string;
  database?: string;
}

export function registerReport(audit: Command, io: CliIo, setExit: SetExit): void {
  audit
    .command("report")
    .description(
      "one self-contained HTML file for auditors: changes per week, shares, emergencies, approvals, completeness, checkpoints",
    )
    .requiredOption("--from <date>", "start of the period (as for export), inclusive")
    .requiredOption("--to <date>", "end of the period (as for export), exclusive")
    .requiredOption("--out <file>", "the HTML file to write")
    .option("--repo <owner/name>", "only this repository")
    .option(
      "--completeness <file>",
      "the JSON that `changegate audit completeness --out` wrote for this window",
    )
    .option("--checkpoints <file>", "show the store checked against these signed checkpoints")
    .option("--from-issue <owner/name#N>", "show the store checked against the checkpoints in this issue")
    .option(
      "--public-key <pem-file|base64>",
      "the checkpoint signer's public key (default: $AUDIT_VERIFY_KEY)",
    )
    .option(
      "--database-id <id>",
      "the database the checkpoints must be about (default: $AUDIT_DATABASE_ID, else the store's URL)",
    )
    .option(
      "--sample <dir>",
      "link to the sample `changegate audit sample` drew for this same period into DIR",
    )
    .addOption(new Option("--retro-window-days <n>", "no longer used: the recorded due time is").hideHelp())
    .addOption(databaseOption())
    .action(async (opts: ReportOpts) => setExit(await reportCommand(io, opts)));
}

export async function reportCommand(io: CliIo, opts: ReportOpts): Promise<number> {
  const period = parsePeriod(opts.from, opts.to);
  checkRepo(opts.repo);
  if (opts.retroWindowDays !== undefined) {
    throw usage(
      "--retro-window-days is no longer used: each emergency change's retro-review is due when its merge record says (the policy's emergency.review_within_hours at the merge; `audit export` column retro_review_due_at)",
    );
  }
  const out = resolve(io.cwd, opts.out);
  if (!existsSync(dirname(out)))
    throw usage(`--out ${opts.out}: the directory ${dirname(out)} does not exist`);
  if (opts.checkpoints !== undefined && opts.fromIssue !== undefined)
    throw usage("give --checkpoints or --from-issue, not both");

  let completeness: CompletenessInput | null = null;
  if (opts.completeness !== undefined) {
    const path = resolve(io.cwd, opts.completeness);
    if (!existsSync(path) || statSync(path).isDirectory())
      throw usage(`--completeness ${opts.completeness}: no such file`);
    if (statSync(path).size > MAX_COMPLETENESS_BYTES)
      throw usage(
        `--completeness ${opts.completeness}: larger than ${MAX_COMPLETENESS_BYTES} bytes, refused`,
      );
    completeness = parseCompleteness(readFileSync(path, "utf8"), opts.completeness);
  }

  const sample =
    opts.sample === undefined
      ? null
      : await sampleLink(io, opts.sample, out, { from: period.from, to: period.to, repo: opts.repo ?? null });

  let log: ParsedLog | null = null;
  let keyOpts: { publicKey: ReturnType<typeof loadPublicKey>["publicKey"]; keyId: string } | null = null;
  if (opts.checkpoints !== undefined || opts.fromIssue !== undefined) {
    try {
      keyOpts = loadPublicKey(publicKeyText(io, opts.publicKey));
    } catch (err) {
      if (err instanceof CheckpointKeyError) throw usage(err.message);
      throw err;
    }
    if (opts.checkpoints !== undefined) {
      const path = resolve(io.cwd, opts.checkpoints);
      if (!existsSync(path)) throw usage(`--checkpoints ${opts.checkpoints}: no such file`);
      log = await new FileCheckpointLog(path).read();
    } else {
      const issue = parseIssueArgument(opts.fromIssue!);
      if (!issue) throw usage(`--from-issue ${JSON.stringify(opts.fromIssue)}: expected owner/name#N`);
      const gh = await githubFor(io, issue.repo);
      log = await new IssueCheckpointLog(gh, issue.repo, issue.number).read();
    }
  }

  const store = await openForReading(io, opts.database);
  try {
    const reader = new AuditReader(store);
    // The export's rows, by the export's own code: the report counts exactly what `audit export` lists.
    const rows: ExportRow[] = [];
    for await (const row of populationRows(store, {
      from: period.from,
      to: period.to,
      repo: opts.repo ?? null,
    }))
      rows.push(row);

    let checkpoints: CheckpointStatus = { kind: "not checked" };
    if (log && keyOpts) {
      const lo = {
        ...keyOpts,
        database: databaseIdentity(loadSettings(io.env, ["audit"]).audit.databaseId, store, opts.databaseId),
      };
      const problems = checkLog(log, lo).map((p) => `checkpoint ${p.checkpoint}: ${p.message}`);
      const trusted = trustedCheckpoints(log, lo);
      const { findings } = await verifyAgainstCheckpoints(reader, trusted);
      problems.push(...findings.map((f) => f.message));
      const newest = trusted.at(-1)?.statement;
      checkpoints =
        problems.length > 0 || !newest
          ? { kind: "failed", problems: problems.length > 0 ? problems : ["no trusted checkpoint"] }
          : {
              kind: "ok",
              checkpoints: trusted.length,
              newestSequence: newest.sequence,
              newestAt: newest.at,
              keyId: keyOpts.keyId,
            };
    }

    // Each gated branch's enforcement over the period, as `audit enforcement` gives it.
    const enforcement = await enforcementReport(store, period, opts.repo ?? null, io.now());
    const model = buildReportModel({
      from: period.from,
      to: period.to,
      repo: opts.repo ?? null,
      generatedAt: io.now().toISOString(),
      rows,
      completeness,
      checkpoints,
      sample,
      enforcement: enforcement.branches,
    });
    // echarts (about 0.7 s to load) only for this command, not for every `changegate` invocation.
    const { renderAuditReport } = await import("../report/audit-report-html.js");
    const page = renderAuditReport(model);
    const temp = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
    try {
      await writeFile(temp, page, { mode: 0o644 });
      await rename(temp, out);
    } finally {
      await rm(temp, { force: true });
    }
    io.stderr.write(
      `report of ${rows.length} change${rows.length === 1 ? "" : "s"} written to ${opts.out} (completeness: ${completeness ? (completeness.complete ? "complete" : "INCOMPLETE") : "not checked"}; checkpoints: ${checkpoints.kind})\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `--sample DIR`: a sample manifest (intact) of this same period and repository, linked relative to the report. */
async function sampleLink(
  io: CliIo,
  dirArg: string,
  out: string,
  query: { from: string; to: string; repo: string | null },
): Promise<SampleLink> {
  const dir = resolve(io.cwd, dirArg);
  const r = await readSampleManifest(dir, `--sample ${dirArg}`);
  if (typeof r === "string") throw usage(`--sample ${dirArg}: ${r}`);
  const q = r.query;
  if (q.from !== query.from || q.to !== query.to || (q.repo ?? null) !== query.repo) {
    throw usage(
      `--sample ${dirArg}: drawn for ${q.from} to ${q.to}${q.repo ? ` in ${q.repo}` : ""}, not for this report's period ${query.from} to ${query.to}${query.repo ? ` in ${query.repo}` : ""}`,
    );
  }
  const rel = relative(dirname(out), join(dir, "manifest.json")).split(sep).map(encodeURIComponent).join("/");
  return {
    href: rel,
    seed: r.seed,
    entries: r.entries.length,
    population: r.population.total,
    stratify: r.stratify,
  };
}
