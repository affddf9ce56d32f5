/**
 * `changegate audit checkpoint` and `changegate audit verify --checkpoints FILE | --from-issue
 * owner/name#N`. Registered in src/cli.ts; the work is in src/audit/checkpoint*.ts.
 */
import { loadSettings } from "../settings.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { AuditReader } from "../audit/reader.js";
import { verifyChains } from "../audit/verify.js";
import {
  checkLog,
  CheckpointKeyError,
  loadPublicKey,
  loadSigningKey,
  MAX_CHECKPOINT_LOG_BYTES,
  publicKeyPem,
  trustedCheckpoints,
  type ParsedLog,
} from "../audit/checkpoint.js";
import {
  databaseIdentity,
  FileCheckpointLog,
  publishCheckpoint,
  StreamCheckpointLog,
  type CheckpointLog,
} from "../audit/checkpoint-publish.js";
import { verifyAgainstCheckpoints } from "../audit/checkpoint-verify.js";
import { IssueCheckpointLog, parseIssueArgument } from "../github/checkpoint-issue.js";
import {
  CliError,
  databaseOption,
  EXIT,
  githubFor,
  openForReading,
  usage,
  type CliIo,
  type SetExit,
} from "./kit.js";

function keyOrUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CheckpointKeyError) throw usage(err.message);
    throw err;
  }
}

// ------------------------------------------------------------------ checkpoint

export interface CheckpointOpts {
  out?: string;
  issueRepo?: string;
  sequence?: string;
  databaseId?: string;
  printPublicKey?: boolean;
  database?: string;
}

export function registerCheckpoint(audit: Command, io: CliIo, setExit: SetExit): void {
  audit
    .command("checkpoint")
    .description(
      "sign (Ed25519, AUDIT_SIGNING_KEY) every chain's length and head hash and publish it outside the database",
    )
    .option(
      "--out <file>",
      "append the checkpoint to this file (one JSON line each), or - for stdout; default: a comment on the pinned checkpoint issue",
    )
    .option(
      "--issue-repo <owner/name>",
      "the repository of the checkpoint issue (default: $AUDIT_ISSUE_REPO)",
    )
    .option(
      "--sequence <n>",
      "the sequence number when the log cannot tell (stdout, or a new log): default 1",
    )
    .option(
      "--database-id <id>",
      "the database's name in the statement (default: $AUDIT_DATABASE_ID, else its URL without credentials)",
    )
    .option(
      "--print-public-key",
      "print the public key (PEM) and key id of AUDIT_SIGNING_KEY, for auditors, and exit",
    )
    .addOption(databaseOption())
    .action(async (opts: CheckpointOpts) => setExit(await checkpointCommand(io, opts)));
}

export async function checkpointCommand(io: CliIo, opts: CheckpointOpts): Promise<number> {
  const key = keyOrUsage(
    () => loadSettings(io.env, ["checkpoints"]).checkpoints.signingKey ?? loadSigningKey(undefined),
  );
  if (opts.printPublicKey) {
    io.stdout.write(`${publicKeyPem(key)}key id ${key.keyId}\n`);
    return EXIT.ok;
  }
  let sequence: number | undefined;
  if (opts.sequence !== undefined) {
    sequence = Number(opts.sequence);
    if (!Number.isSafeInteger(sequence) || sequence < 1)
      throw usage(`--sequence ${JSON.stringify(opts.sequence)}: expected a whole number from 1`);
  }
  let log: CheckpointLog;
  if (opts.out === "-") log = new StreamCheckpointLog(io.stdout);
  else if (opts.out !== undefined) {
    const path = resolve(io.cwd, opts.out);
    if (!existsSync(dirname(path)))
      throw usage(`--out ${opts.out}: the directory ${dirname(path)} does not exist`);
    if (existsSync(path) && statSync(path).isDirectory()) throw usage(`--out ${opts.out} is a directory`);
    log = new FileCheckpointLog(path);
  } else {
    const repo = (opts.issueRepo ?? loadSettings(io.env, ["checkpoints"]).checkpoints.issueRepo ?? "").trim();
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
      throw usage(
        repo === ""
          ? "where to publish? --out FILE, --out - (stdout), or --issue-repo owner/name (or $AUDIT_ISSUE_REPO)"
          : `--issue-repo ${JSON.stringify(repo)}: expected owner/name`,
      );
    }
    log = new IssueCheckpointLog(await githubFor(io, repo), repo, null, (s) =>
      io.stderr.write(`note: ${s}\n`),
    );
  }
  const store = await openForReading(io, opts.database);
  try {
    const database = databaseIdentity(
      loadSettings(io.env, ["audit"]).audit.databaseId,
      store,
      opts.databaseId,
    );
    const { checkpoint, where } = await publishCheckpoint(store, log, {
      key,
      database,
      now: io.now,
      notes: (n) => io.stderr.write(`note: ${n}\n`),
      ...(sequence !== undefined ? { sequence } : {}),
    });
    const s = checkpoint.statement;
    io.stderr.write(
      `checkpoint #${s.sequence} of ${s.chains.length} chain${s.chains.length === 1 ? "" : "s"} (${database}, key ${s.keyId}) published to ${where}\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

// ------------------------------------------------------------------ verify --checkpoints

export interface VerifyCheckpointOpts {
  database?: string;
  checkpoints?: string;
  fromIssue?: string;
  publicKey?: string;
  databaseId?: string;
  minSequence?: string;
}

/** The options `audit verify` gains (added to the command in verify.ts). */
export function checkpointVerifyOptions(cmd: Command): Command {
  return cmd
    .option("--checkpoints <file>", "also check the store against the signed checkpoints in this file")
    .option(
      "--from-issue <owner/name#N>",
      "also check the store against the signed checkpoints in this issue's comments",
    )
    .option(
      "--public-key <pem-file|base64>",
      "the checkpoint signer's Ed25519 public key (default: $AUDIT_VERIFY_KEY)",
    )
    .option(
      "--database-id <id>",
      "the database the checkpoints must be about (default: $AUDIT_DATABASE_ID, else the store's URL without credentials)",
    )
    .option(
      "--min-sequence <n>",
      "the newest checkpoint sequence you saw before: an older newest one is a replay",
    );
}

export function wantsCheckpoints(opts: VerifyCheckpointOpts): boolean {
  return opts.checkpoints !== undefined || opts.fromIssue !== undefined;
}

/** --public-key (a PEM, base64, or a file) or AUDIT_VERIFY_KEY: the key's text, or undefined. */
export function publicKeyText(io: CliIo, arg: string | undefined): string | undefined {
  const a = arg ?? loadSettings(io.env, ["audit"]).audit.verifyKey ?? undefined;
  if (a === undefined) return undefined;
  const t = a.trim();
  if (t.includes("-----BEGIN") || (/^[A-Za-z0-9+/=\s]+$/.test(t) && t.length > 40)) return t;
  const path = resolve(io.cwd, t);
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw usage(`--public-key ${JSON.stringify(arg)}: not a key and no such file`);
  }
}

export async function verifyWithCheckpoints(io: CliIo, opts: VerifyCheckpointOpts): Promise<number> {
  if (opts.checkpoints !== undefined && opts.fromIssue !== undefined)
    throw usage("give --checkpoints or --from-issue, not both");
  const { publicKey, keyId } = keyOrUsage(() => loadPublicKey(publicKeyText(io, opts.publicKey)));
  let minSequence: number | undefined;
  if (opts.minSequence !== undefined) {
    minSequence = Number(opts.minSequence);
    if (!Number.isSafeInteger(minSequence) || minSequence < 1)
      throw usage(`--min-sequence ${JSON.stringify(opts.minSequence)}: expected a whole number from 1`);
  }
  let log: ParsedLog;
  let source: string;
  if (opts.checkpoints !== undefined) {
    const path = resolve(io.cwd, opts.checkpoints);
    if (!existsSync(path) || statSync(path).isDirectory())
      throw usage(`--checkpoints ${opts.checkpoints}: no such file`);
    if (statSync(path).size > MAX_CHECKPOINT_LOG_BYTES)
      throw new CliError(
        EXIT.failed,
        `--checkpoints ${opts.checkpoints}: larger than ${MAX_CHECKPOINT_LOG_BYTES} bytes, refused`,
      );
    log = await new FileCheckpointLog(path).read();
    source = opts.checkpoints;
  } else {
    const issue = parseIssueArgument(opts.fromIssue!);
    if (!issue) throw usage(`--from-issue ${JSON.stringify(opts.fromIssue)}: expected owner/name#N`);
    log = await new IssueCheckpointLog(await githubFor(io, issue.repo), issue.repo, issue.number).read();
    source = `${issue.repo}#${issue.number}`;
  }

  const store = await openForReading(io, opts.database);
  try {
    const reader = new AuditReader(store);
    const database = databaseIdentity(
      loadSettings(io.env, ["audit"]).audit.databaseId,
      store,
      opts.databaseId,
    );
    const logOpts = { publicKey, keyId, database, ...(minSequence !== undefined ? { minSequence } : {}) };
    const logProblems = checkLog(log, logOpts);
    const trusted = trustedCheckpoints(log, logOpts);
    const chains = await verifyChains(reader);
    const { findings, heads } = await verifyAgainstCheckpoints(reader, trusted);

    for (const p of chains.problems) io.stderr.write(`MISMATCH ${p.record}: ${p.message}\n`);
    for (const p of logProblems) io.stderr.write(`CHECKPOINT ${p.checkpoint}: ${p.message}\n`);
    for (const f of findings)
      io.stderr.write(`${f.kind.toUpperCase()} ${f.chain}@${f.position}: ${f.message}\n`);
    const newest = trusted.at(-1)?.statement;
    if (!chains.ok || logProblems.length > 0 || findings.length > 0) {
      io.stderr.write(
        `audit trail verification against checkpoints FAILED: ${chains.problems.length} broken chain(s), ${logProblems.length} checkpoint problem(s), ${findings.length} chain(s) not extending their checkpointed head (${source}, ${store.description})\n`,
      );
      return EXIT.failed;
    }
    io.stdout.write(
      `audit trail OK against ${trusted.length} checkpoint${trusted.length === 1 ? "" : "s"} from ${source} (newest #${newest!.sequence} at ${newest!.at}, key ${keyId}): every one of ${heads} checkpointed chain head${heads === 1 ? "" : "s"} is still in the store, ${chains.records} records in ${chains.chains} chains verified\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
