/**
 * Making and publishing a checkpoint (`changegate audit checkpoint` and the app's schedule): read
 * every chain head, sign the statement with the next sequence of the log it is published to, and
 * append it there. Where a log lives is a `CheckpointLog`: a file here (one JSON line each), stdout,
 * or a pinned GitHub issue (src/github/checkpoint-issue.ts).
 */
import { appendFile, readFile, stat } from "node:fs/promises";
import { AuditReader } from "./reader.js";
import type { AuditStore } from "./database.js";
import { checkpointStatement } from "./checkpoint-verify.js";
import {
  checkpointLine,
  MAX_CHECKPOINT_LOG_BYTES,
  parseCheckpointTexts,
  signatureValid,
  signCheckpoint,
  type ParsedLog,
  type SignedCheckpoint,
  type SigningKey,
} from "./checkpoint.js";
import { changegateVersion } from "./version.js";

export interface CheckpointLog {
  /** Where, for messages. */
  readonly description: string;
  /** Everything in the log, oldest first. */
  read(): Promise<ParsedLog>;
  /** Append one checkpoint; returns where it went (a URL, a path). */
  append(cp: SignedCheckpoint): Promise<string>;
}

export class FileCheckpointLog implements CheckpointLog {
  constructor(readonly path: string) {}

  get description(): string {
    return this.path;
  }

  async read(): Promise<ParsedLog> {
    let size: number;
    try {
      size = (await stat(this.path)).size;
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return { checkpoints: [], malformed: [] };
      throw err;
    }
    if (size > MAX_CHECKPOINT_LOG_BYTES)
      throw new Error(`${this.path} is larger than ${MAX_CHECKPOINT_LOG_BYTES} bytes: not a checkpoint log`);
    return parseCheckpointTexts([{ where: this.path, text: await readFile(this.path, "utf8") }]);
  }

  async append(cp: SignedCheckpoint): Promise<string> {
    await appendFile(this.path, checkpointLine(cp), { mode: 0o644 });
    return this.path;
  }
}

/** stdout: nothing to read back (the sequence is given), each checkpoint one JSON line. */
export class StreamCheckpointLog implements CheckpointLog {
  readonly description = "stdout";
  constructor(private readonly out: { write(s: string): unknown }) {}
  async read(): Promise<ParsedLog> {
    return { checkpoints: [], malformed: [] };
  }
  async append(cp: SignedCheckpoint): Promise<string> {
    this.out.write(checkpointLine(cp));
    return "stdout";
  }
}

export interface CheckpointOptions {
  key: SigningKey;
  /** The database's identity in statements (AUDIT_DATABASE_ID, else the store's description). */
  database: string;
  now: () => Date;
  /** Used when the log cannot tell the next sequence (stdout) or is new: default 1. */
  sequence?: number;
  /** Warnings about the log (entries that are not this key's checkpoints). */
  notes?: (s: string) => void;
  /** Only these chains (a policy's issue repository gets its own organisation's chains); absent: every chain. */
  chains?: (chain: string) => boolean;
}

/**
 * Sign and append the next checkpoint. The sequence continues from the last checkpoint this key
 * signed for this database: entries that do not parse or verify (anyone who may comment on the
 * issue can post one) neither set the sequence nor stop checkpointing; they are passed to `notes`
 * and `verify --checkpoints` reports them.
 */
export async function publishCheckpoint(
  store: AuditStore,
  log: CheckpointLog,
  opts: CheckpointOptions,
): Promise<{ checkpoint: SignedCheckpoint; where: string }> {
  const existing = await log.read();
  for (const m of existing.malformed)
    opts.notes?.(`${log.description}: ${m.where} is not a checkpoint (${m.message}); verify will report it`);
  const own = existing.checkpoints.filter(
    (cp) =>
      cp.statement.database === opts.database &&
      cp.statement.keyId === opts.key.keyId &&
      signatureValid(cp, opts.key.publicKey),
  );
  if (own.length < existing.checkpoints.length)
    opts.notes?.(
      `${log.description}: ${existing.checkpoints.length - own.length} entr${existing.checkpoints.length - own.length === 1 ? "y is" : "ies are"} not this key's checkpoints of ${opts.database}; verify will report them`,
    );
  const last = own.at(-1);
  const sequence = last ? last.statement.sequence + 1 : (opts.sequence ?? 1);
  const statement = await checkpointStatement(
    new AuditReader(store),
    {
      database: opts.database,
      sequence,
      at: opts.now().toISOString(),
      changegateVersion: changegateVersion(),
    },
    opts.chains,
  );
  const checkpoint = signCheckpoint(statement, opts.key);
  const where = await log.append(checkpoint);
  return { checkpoint, where };
}

/** AUDIT_DATABASE_ID, else the store's location without credentials. */
export function databaseIdentity(
  /** AUDIT_DATABASE_ID (settings.audit.databaseId). */
  configured: string | null,
  store: { description: string },
  override?: string,
): string {
  const id = (override ?? configured ?? "").trim();
  return id !== "" ? id : store.description;
}
