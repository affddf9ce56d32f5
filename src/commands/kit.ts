/**
 * The command line's plumbing, once, for src/cli.ts and every module in src/commands/: the io a
 * command runs with (`CliIo`), the error a command throws with its exit code (`CliError`, `EXIT`),
 * the period arguments (`parsePeriod`, `periodOptions`), `--database` and opening the store for
 * reading (`databaseOption`, `openForReading`), and the progress bar (`progressBar`).
 *
 * It imports no command and not src/cli.ts: commands import it, cli.ts imports the commands.
 */
import { loadSettings } from "../settings.js";
import cliProgress from "cli-progress";
import { Option, type Command } from "commander";
import { AuditStore } from "../audit/database.js";
import { githubClientFor } from "../github/cli-auth.js";
import type { OctokitLike } from "../github/types.js";

/** What a command reads and writes: the process's (src/cli.ts `processIo`) or a test's. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  now: () => Date;
  /** Tests inject a GitHub client; otherwise one is made from the environment (github/cli-auth.ts). */
  github?: (repo: string) => Promise<OctokitLike>;
}

/** A command's action reports its exit code through this (src/cli.ts `main` returns it). */
export type SetExit = (code: number) => void;

/**
 * The exit codes, as src/cli.ts's header documents them: 0 ok; 1 the thing checked is bad (policy
 * invalid, chain broken, PR unknown) or the command failed; 2 bad arguments; 3 the database cannot
 * be reached or holds no audit trail; 4 GitHub or Jira failed (`check`, `rehearse`).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, database: 3, github: 4 } as const;

/** An error a command throws with the exit code it means; src/cli.ts prints its message and exits with it. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A usage problem (exit 2). */
export const usage = (message: string): CliError => new CliError(EXIT.usage, message);

/** A GitHub client for one repository: the test's (io.github), else from the environment (github/cli-auth.ts). */
export function githubFor(io: CliIo, repo: string): Promise<OctokitLike> {
  return io.github ? io.github(repo) : githubClientFor(repo, io.env);
}

// ------------------------------------------------------------------ the period

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * --from/--to (and --since/--until): a day (YYYY-MM-DD, UTC; the end day counts whole) or an
 * instant with a zone. Returns the half-open period [from, to) as ISO instants.
 */
export function parsePeriod(fromArg: string, toArg: string): { from: string; to: string } {
  const from = parseDateArg(fromArg, "--from", false);
  const to = parseDateArg(toArg, "--to", true);
  if (from >= to) throw usage(`--from ${fromArg} is not before --to ${toArg}: the period is empty`);
  return { from, to };
}

function parseDateArg(arg: string, name: string, endOfDay: boolean): string {
  const a = arg.trim();
  const day = DAY.exec(a);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const t = new Date(Date.UTC(y, m - 1, d));
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) {
      throw usage(`${name} ${arg}: no such day`);
    }
    if (endOfDay) t.setUTCDate(t.getUTCDate() + 1);
    return t.toISOString();
  }
  if (INSTANT.test(a)) {
    const t = new Date(a);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  throw usage(
    `${name} ${JSON.stringify(arg)}: expected a day (2026-01-31) or a time with a zone (2026-01-31T12:00:00Z)`,
  );
}

/** The required --from/--to of `audit export` and `audit completeness` (parsed with `parsePeriod`). */
export function periodOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      "--from <date>",
      "start of the period: YYYY-MM-DD (00:00 UTC) or an ISO time with zone, inclusive",
    )
    .requiredOption(
      "--to <date>",
      "end of the period: YYYY-MM-DD (that whole day, UTC) or an ISO time with zone, exclusive",
    );
}

const REPO = /^[\w.-]+\/[\w.-]+$/;

/** `--repo owner/name` (when given): a usage error otherwise. */
export function checkRepo(repo: string | undefined, flag = "--repo"): void {
  if (repo !== undefined && !REPO.test(repo))
    throw usage(`${flag} ${JSON.stringify(repo)}: expected owner/name`);
}

// ------------------------------------------------------------------ the store

/** `--database <url>`, the same on every command that opens the store. */
export function databaseOption(): Option {
  return new Option(
    "--database <url>",
    "audit store: sqlite:PATH, postgres://… (default: $DATABASE_URL, else sqlite:./data/changegate.db)",
  );
}

/**
 * The audit store for a read command: --database, else DATABASE_URL, else the default SQLite file
 * (relative to io.cwd); never migrated, never created (a StoreError otherwise: exit 2 or 3).
 */
export function openForReading(io: CliIo, database: string | undefined): Promise<AuditStore> {
  return AuditStore.open(database ?? loadSettings(io.env, ["store"]).store.databaseUrl, {
    migrate: false,
    mustExist: true,
    cwd: io.cwd,
    connectTimeoutMs: 10_000,
    poolSize: 2,
    lockPoolSize: 1,
  });
}

// ------------------------------------------------------------------ progress

/** `audit export` and `audit verify` show a bar from this many rows or records (on a terminal). */
export const PROGRESS_THRESHOLD = 2000;

/** A progress bar whose total may grow as work is found (`add`); `stop` may be called more than once. */
export interface ProgressBar {
  add(n: number): void;
  increment(): void;
  stop(): void;
}

/**
 * A cli-progress bar on `stream` (stderr) when it is a terminal, else null. It starts at the first
 * `add`; a command with a known total adds it once.
 */
export function progressBar(
  stream: { write(s: string): unknown; isTTY?: boolean },
  what: string,
): ProgressBar | null {
  if (!stream.isTTY) return null;
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: `${what} [{bar}] {percentage}% {value}/{total}`,
      etaBuffer: 100,
      clearOnComplete: false,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let started = false;
  let stopped = false;
  return {
    add(n) {
      total += n;
      if (!started) {
        bar.start(total, 0);
        started = true;
      } else bar.setTotal(total);
    },
    increment: () => {
      if (started && !stopped) bar.increment();
    },
    stop: () => {
      if (!started || stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
