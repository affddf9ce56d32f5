/**
 * `changegate audit show owner/name#N [--json]`: every audit record of one pull request, oldest
 * first (rendered by audit/show.ts). Exit 1 when the store holds none. Registered in src/cli.ts.
 */
import type { Command } from "commander";
import { AuditReader } from "../audit/reader.js";
import { parsePrArgument, renderPrRecords } from "../audit/show.js";
import { databaseOption, EXIT, openForReading, usage, type CliIo, type SetExit } from "./kit.js";

export interface ShowOpts {
  json?: boolean;
  database?: string;
}

export function registerShow(audit: Command, io: CliIo, setExit: SetExit): void {
  audit
    .command("show")
    .description("every audit record of one pull request, oldest first")
    .argument("<pr>", "owner/name#N (or the PR's URL)")
    .option("--json", "print the records as JSON lines (the stored content) instead of text")
    .addOption(databaseOption())
    .action(async (pr: string, opts: ShowOpts) => setExit(await showCommand(io, pr, opts)));
}

export async function showCommand(io: CliIo, arg: string, opts: ShowOpts): Promise<number> {
  const pr = parsePrArgument(arg);
  if (!pr) throw usage(`${JSON.stringify(arg)}: expected owner/name#N, e.g. acme/payments#12`);
  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const rows = await reader.prRecords(pr.repo, pr.number);
    if (rows.length === 0) {
      io.stderr.write(`no audit records for ${pr.repo}#${pr.number} in ${store.description}\n`);
      return EXIT.failed;
    }
    if (opts.json) {
      for (const r of rows) {
        io.stdout.write(
          `${JSON.stringify({ record: `${r.chain}@${r.seq}`, hash: r.hash, prev_hash: r.prev_hash, ...JSON.parse(r.payload) })}\n`,
        );
      }
    } else {
      io.stdout.write(renderPrRecords(pr.repo, pr.number, rows));
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
