/**
 * `changegate audit export --from --to [--repo] [--format csv|json|ndjson] [--out FILE] [--bom]`:
 * the population of merged changes in a period (audit/population.ts), written by audit/export.ts
 * with its completeness facts (a manifest). Registered in src/cli.ts.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Option, type Command } from "commander";
import {
  CSV_COLUMNS,
  EXPORT_FORMATS,
  writeExport,
  type ExportFormat,
  type ExportManifest,
} from "../audit/export.js";
import { populationRows } from "../audit/population.js";
import { AuditReader } from "../audit/reader.js";
import { changegateVersion } from "../audit/version.js";
import {
  checkRepo,
  databaseOption,
  EXIT,
  openForReading,
  parsePeriod,
  periodOptions,
  progressBar,
  PROGRESS_THRESHOLD,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";

export interface ExportOpts {
  from: string;
  to: string;
  repo?: string;
  format: ExportFormat;
  out?: string;
  bom?: boolean;
  database?: string;
}

export function registerExport(audit: Command, io: CliIo, setExit: SetExit): void {
  periodOptions(
    audit
      .command("export")
      .description(
        "export every merged pull request of a period, one row per change, sorted by merged_at, repository, PR",
      ),
  )
    .option("--repo <owner/name>", "only this repository")
    .addOption(new Option("--format <format>", "output format").choices([...EXPORT_FORMATS]).default("csv"))
    .option(
      "--out <file>",
      "write here (atomically: a temporary file renamed when complete); default: stdout",
    )
    .option("--bom", "start a CSV with a UTF-8 byte order mark (for Excel)")
    .addOption(databaseOption())
    .addHelpText(
      "after",
      [
        "",
        "Completeness facts (query, generation time, changegate version, database, row count, chain heads):",
        "  json   - a manifest first, the row count and complete:true last",
        "  ndjson - a manifest line first, an end line with the row count last",
        "  csv    - a sidecar FILE.manifest.json with the CSV's sha256 (with --out); on stderr otherwise",
        `CSV columns: ${CSV_COLUMNS.join(", ")}`,
      ].join("\n"),
    )
    .action(async (opts: ExportOpts) => setExit(await exportCommand(io, opts)));
}

export async function exportCommand(io: CliIo, opts: ExportOpts): Promise<number> {
  const period = parsePeriod(opts.from, opts.to);
  checkRepo(opts.repo);
  let out: string | null = null;
  if (opts.out !== undefined) {
    out = resolve(io.cwd, opts.out);
    const dir = dirname(out);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw usage(`--out ${opts.out}: the directory ${dir} does not exist`);
    if (existsSync(out) && statSync(out).isDirectory()) throw usage(`--out ${opts.out} is a directory`);
  }

  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const query = { from: period.from, to: period.to, repo: opts.repo ?? null };
    const total = await reader.countMerges(query);
    const manifest: ExportManifest = {
      kind: "changegate audit export",
      changegateVersion: changegateVersion(),
      generatedAt: io.now().toISOString(),
      database: store.description,
      query: { ...query, fromArgument: opts.from, toArgument: opts.to, format: opts.format },
      population: `every pull request merged with merged_at >= ${period.from} and < ${period.to}${opts.repo ? ` in ${opts.repo}` : ""}, as recorded by changegate, one row per merged pull request, and one per direct push to a gated branch (change_type direct_push)`,
      sort: "merged_at, then repository, then pull request number",
      columns: CSV_COLUMNS,
      chainHeads: await reader.chainHeads(),
    };
    const progress = total >= PROGRESS_THRESHOLD ? progressBar(io.stderr, "exporting") : null;
    progress?.add(total);
    const result = await writeExport(populationRows(store, query), manifest, {
      format: opts.format,
      out,
      stdout: io.stdout,
      progress,
      bom: opts.bom ?? false,
    });
    if (out) {
      io.stderr.write(
        `exported ${result.rows} merged change${result.rows === 1 ? "" : "s"} to ${result.files.join(" and ")} (sha256 ${result.sha256})\n`,
      );
    } else if (opts.format === "csv") {
      io.stderr.write(
        `${JSON.stringify({ ...manifest, rows: result.rows, complete: true, sha256: result.sha256 })}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
