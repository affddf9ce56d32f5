/**
 * `changegate audit verify [--checkpoints FILE | --from-issue owner/name#N]`: walk every hash chain
 * (audit/verify.ts) and print the chain heads; exit 1 naming the first record of each chain that
 * does not match. With --checkpoints/--from-issue the store is also checked against the signed
 * checkpoints (src/commands/checkpoint.ts). Registered in src/cli.ts.
 */
import type { Command } from "commander";
import { AuditReader } from "../audit/reader.js";
import { verifyChains } from "../audit/verify.js";
import {
  checkpointVerifyOptions,
  verifyWithCheckpoints,
  wantsCheckpoints,
  type VerifyCheckpointOpts,
} from "./checkpoint.js";
import {
  databaseOption,
  EXIT,
  openForReading,
  progressBar,
  PROGRESS_THRESHOLD,
  type CliIo,
  type SetExit,
} from "./kit.js";

export function registerVerify(audit: Command, io: CliIo, setExit: SetExit): void {
  checkpointVerifyOptions(
    audit
      .command("verify")
      .description("walk every hash chain; exit 1 naming the first record of each chain that does not match")
      .addOption(databaseOption()),
  ).action(async (opts: VerifyCheckpointOpts) =>
    setExit(wantsCheckpoints(opts) ? await verifyWithCheckpoints(io, opts) : await verifyCommand(io, opts)),
  );
}

export async function verifyCommand(io: CliIo, opts: { database?: string }): Promise<number> {
  const store = await openForReading(io, opts.database);
  const reader = new AuditReader(store);
  try {
    const total = io.stderr.isTTY ? await reader.countRecords() : 0;
    const progress = total >= PROGRESS_THRESHOLD ? progressBar(io.stderr, "verifying") : null;
    progress?.add(total);
    let report;
    try {
      report = await verifyChains(reader, progress ? () => progress.increment() : undefined);
    } finally {
      progress?.stop();
    }
    for (const p of report.problems) io.stderr.write(`MISMATCH ${p.record}: ${p.message}\n`);
    if (!report.ok) {
      io.stderr.write(
        `audit trail verification FAILED: ${report.problems.length} of ${report.chains} chain${report.chains === 1 ? "" : "s"} broken (first: ${report.problems[0]!.record}); ${report.records} records read in ${store.description}\n`,
      );
      return EXIT.failed;
    }
    io.stdout.write(
      `audit trail OK: ${report.records} record${report.records === 1 ? "" : "s"} in ${report.chains} chain${report.chains === 1 ? "" : "s"} verified (${store.description})\n`,
    );
    if (report.heads.length > 0) {
      io.stdout.write("chain heads (keep them: a later verify must reach at least these):\n");
      for (const h of report.heads) io.stdout.write(`  ${h.chain}@${h.seq} ${h.hash}\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
