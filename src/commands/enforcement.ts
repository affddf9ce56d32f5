/**
 * `changegate audit enforcement --from --to [--repo] [--json]`: was the gate in force? Per repository
 * and gated branch (every branch changegate observed), the periods in force and not in force, the
 * first and last observation, and the gaps in observation, from the `branch_enforcement` records
 * (audit/enforcement-timeline.ts). Exit 1 when a gated branch was not in force (or not observed) for
 * part of the period. Read-only. Registered in src/cli.ts.
 */
import type { Command } from "commander";
import type { AuditStore } from "../audit/database.js";
import { branchesIn, enforcementRecords } from "../audit/enforcement.js";
import { branchTimeline, type BranchTimeline } from "../audit/enforcement-timeline.js";
import {
  checkRepo,
  databaseOption,
  EXIT,
  openForReading,
  parsePeriod,
  periodOptions,
  type CliIo,
  type SetExit,
} from "./kit.js";

export interface EnforcementOpts {
  from: string;
  to: string;
  repo?: string;
  json?: boolean;
  database?: string;
}

export interface EnforcementReport {
  kind: "changegate-enforcement";
  from: string;
  to: string;
  generatedAt: string;
  inForce: boolean;
  branches: BranchTimeline[];
}

/** Every observed branch's timeline over the period (the CLI and the HTML report). */
export async function enforcementReport(
  store: AuditStore,
  period: { from: string; to: string },
  repo: string | null,
  now: Date,
): Promise<EnforcementReport> {
  // Every record, also those after the period: the first one after it says until when the state held.
  const records = await enforcementRecords(store.db, repo ? { repo } : {});
  const books = await branchesIn(store.db, repo ? { repo } : {});
  const keys = new Map<string, { repo: string; branch: string }>();
  for (const r of records)
    keys.set(`${r.chain}\u0000${r.payload.branch}`, { repo: r.payload.repo, branch: r.payload.branch });
  for (const b of books)
    keys.set(`${b.repo.toLowerCase()}\u0000${b.branch}`, { repo: b.repo, branch: b.branch });
  const branches = [...keys.entries()]
    .sort(([a], [b]) => Number(a > b) - Number(a < b))
    .map(([key, k]) => {
      const [chain] = key.split("\u0000") as [string];
      const mine = records.filter((r) => r.chain === chain && r.payload.branch === k.branch);
      const last = books.find((b) => b.repo.toLowerCase() === chain && b.branch === k.branch) ?? null;
      return branchTimeline(k.repo, k.branch, mine, last, period, now);
    });
  return {
    kind: "changegate-enforcement",
    from: period.from,
    to: period.to,
    generatedAt: now.toISOString(),
    inForce: branches.length > 0 && branches.every((b) => b.inForce),
    branches,
  };
}

const STATE_TEXT: Record<string, string> = {
  enforced: "in force",
  not_enforced: "NOT in force",
};

export function renderEnforcementText(r: EnforcementReport): string {
  const out: string[] = [`Branch enforcement ${r.from} .. ${r.to}`];
  if (r.branches.length === 0)
    out.push("No gated branch was ever observed: nothing shows the gate was in force.");
  for (const b of r.branches) {
    out.push(
      "",
      `${b.repo} ${b.branch}: ${b.inForce ? "IN FORCE for the whole period" : "NOT in force for part of the period"}`,
      `  first observation: ${b.firstObservation ?? "never"}; last observation: ${b.lastObservation ?? "never"}`,
    );
    for (const p of b.periods) {
      const what = STATE_TEXT[p.state] ?? "not observed (gap)";
      out.push(`  ${p.from} .. ${p.to}  ${what}${p.missing.length ? `: ${p.missing.join("; ")}` : ""}`);
    }
    if (b.gaps.length > 0) out.push(`  gaps in observation: ${b.gaps.length}`);
  }
  return out.join("\n") + "\n";
}

export async function enforcementCommand(io: CliIo, opts: EnforcementOpts): Promise<number> {
  const period = parsePeriod(opts.from, opts.to);
  checkRepo(opts.repo);
  const store = await openForReading(io, opts.database);
  try {
    const report = await enforcementReport(store, period, opts.repo ?? null, io.now());
    io.stdout.write(opts.json ? JSON.stringify(report) + "\n" : renderEnforcementText(report));
    return report.inForce ? EXIT.ok : EXIT.failed;
  } finally {
    await store.close();
  }
}

export function registerEnforcement(audit: Command, io: CliIo, setExit: SetExit): void {
  periodOptions(
    audit
      .command("enforcement")
      .description(
        "was the gate in force? per repository and gated branch: periods in force and not, observations, gaps; exit 1 when not in force for part of the period",
      ),
  )
    .option("--repo <owner/name>", "only this repository")
    .option("--json", "print the report as one JSON object")
    .addOption(databaseOption())
    .action(async (opts: EnforcementOpts) => setExit(await enforcementCommand(io, opts)));
}
