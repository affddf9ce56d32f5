/**
 * Checkpoints: a signed statement of every chain's length and head hash, published outside the
 * database (a pinned issue's comments, a file, stdout) so that whoever owns the database cannot
 * shorten or drop a chain and rewind `audit_chain` without `verify --checkpoints` noticing.
 *
 * A statement is canonical JSON (hash.ts) signed with Ed25519 (node:crypto). The key comes from the
 * environment (AUDIT_SIGNING_KEY: a PKCS#8 PEM, or its DER in base64); the public key the auditor
 * holds is SPKI (PEM or base64 DER). The key id is the first 16 hex digits of the SHA-256 of the
 * public key's DER. A log is a list of signed checkpoints, oldest first (one JSON object a line in a
 * file; one fenced json block per issue comment). Pure: no store, no network, no clock.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "./hash.js";

export const CHECKPOINT_KIND = "changegate-checkpoint";
/** A log bigger than this is refused before it is parsed (hostile input stays cheap). */
export const MAX_CHECKPOINT_LOG_BYTES = 64 * 1024 * 1024;
export const MAX_CHAINS_PER_CHECKPOINT = 100_000;

const HEX64 = /^[0-9a-f]{64}$/;

const chainHeadSchema = z.object({
  chain: z.string().min(1).max(300),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  hash: z.string().regex(HEX64, "a chain head's hash must be 64 lower-case hex digits"),
});

export const statementSchema = z.object({
  kind: z.literal(CHECKPOINT_KIND),
  format: z.literal(1),
  /** Which audit database this is about (AUDIT_DATABASE_ID, else the store's URL without credentials). */
  database: z.string().min(1).max(500),
  /** Grows by one with each checkpoint of a log. */
  sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  at: z.iso.datetime({ offset: false }),
  changegateVersion: z.string().max(100),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  chains: z.array(chainHeadSchema).max(MAX_CHAINS_PER_CHECKPOINT),
});

export type CheckpointStatement = z.infer<typeof statementSchema>;
export type ChainHead = z.infer<typeof chainHeadSchema>;

export const signedCheckpointSchema = z.object({
  statement: statementSchema,
  /** Ed25519 over canonicalJson(statement), base64. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "an Ed25519 signature is 64 bytes in base64"),
});
export type SignedCheckpoint = z.infer<typeof signedCheckpointSchema>;

export class CheckpointKeyError extends Error {}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/** AUDIT_SIGNING_KEY: PKCS#8 PEM or base64 DER of an Ed25519 private key. The value is never echoed. */
export function loadSigningKey(text: string | undefined): SigningKey {
  const t = (text ?? "").trim();
  if (t === "")
    throw new CheckpointKeyError(
      "no signing key: set AUDIT_SIGNING_KEY to an Ed25519 private key (PKCS#8 PEM or base64 DER)",
    );
  let privateKey: KeyObject;
  try {
    privateKey = t.includes("-----BEGIN")
      ? createPrivateKey(t)
      : createPrivateKey({ key: Buffer.from(t, "base64"), format: "der", type: "pkcs8" });
  } catch {
    throw new CheckpointKeyError("AUDIT_SIGNING_KEY is not a PKCS#8 private key (PEM or base64 DER)");
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new CheckpointKeyError(`AUDIT_SIGNING_KEY is a ${privateKey.asymmetricKeyType} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** A public key: SPKI PEM or base64 DER of an Ed25519 key. */
export function loadPublicKey(text: string | undefined): { publicKey: KeyObject; keyId: string } {
  const t = (text ?? "").trim();
  if (t === "")
    throw new CheckpointKeyError(
      "no public key: pass --public-key or set AUDIT_VERIFY_KEY (Ed25519, SPKI PEM or base64 DER)",
    );
  let publicKey: KeyObject;
  try {
    publicKey = t.includes("-----BEGIN")
      ? createPublicKey(t)
      : createPublicKey({ key: Buffer.from(t, "base64"), format: "der", type: "spki" });
  } catch {
    throw new CheckpointKeyError("the public key is not an SPKI public key (PEM or base64 DER)");
  }
  if (publicKey.asymmetricKeyType !== "ed25519")
    throw new CheckpointKeyError(`the public key is a ${publicKey.asymmetricKeyType} key, not Ed25519`);
  return { publicKey, keyId: keyIdOf(publicKey) };
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ format: "der", type: "spki" }))
    .digest("hex")
    .slice(0, 16);
}

export function publicKeyPem(key: SigningKey): string {
  return key.publicKey.export({ format: "pem", type: "spki" }).toString();
}

export function signCheckpoint(
  statement: Omit<CheckpointStatement, "kind" | "format" | "keyId">,
  key: SigningKey,
): SignedCheckpoint {
  const full: CheckpointStatement = { kind: CHECKPOINT_KIND, format: 1, ...statement, keyId: key.keyId };
  const signature = sign(null, Buffer.from(canonicalJson(full)), key.privateKey).toString("base64");
  return { statement: full, signature };
}

export function signatureValid(cp: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(
      null,
      Buffer.from(canonicalJson(cp.statement)),
      publicKey,
      Buffer.from(cp.signature, "base64"),
    );
  } catch {
    return false;
  }
}

/** One checkpoint as a line of a log file. */
export function checkpointLine(cp: SignedCheckpoint): string {
  return `${JSON.stringify(cp)}\n`;
}

/** One checkpoint as an issue comment: a line a person reads, then the signed JSON. */
export function checkpointComment(cp: SignedCheckpoint): string {
  const s = cp.statement;
  const records = s.chains.reduce((n, c) => n + c.seq, 0);
  return [
    `changegate audit checkpoint #${s.sequence} at ${s.at}: ${s.chains.length} chain${s.chains.length === 1 ? "" : "s"}, ${records} record${records === 1 ? "" : "s"} (key ${s.keyId}).`,
    "Check it with `changegate audit verify --checkpoints`. Do not edit this comment.",
    "",
    "```json",
    JSON.stringify(cp),
    "```",
    "",
  ].join("\n");
}

export interface ParsedLog {
  checkpoints: SignedCheckpoint[];
  /** Entries that look like checkpoints but do not parse: reported, never trusted. */
  malformed: { where: string; message: string }[];
}

/**
 * Checkpoints from texts (lines of a file, or issue comments), oldest first. A text holding a
 * fenced ```json block is read from the block; otherwise each line starting with "{" is an entry.
 */
export function parseCheckpointTexts(texts: { where: string; text: string }[]): ParsedLog {
  const checkpoints: SignedCheckpoint[] = [];
  const malformed: ParsedLog["malformed"] = [];
  let bytes = 0;
  for (const { where, text } of texts) {
    bytes += text.length;
    if (bytes > MAX_CHECKPOINT_LOG_BYTES)
      throw new CheckpointKeyError(
        `the checkpoint log is larger than ${MAX_CHECKPOINT_LOG_BYTES} bytes: refused`,
      );
    const fenced = [...text.matchAll(/```json\s*\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    const entries =
      fenced.length > 0
        ? fenced.map((e, i) => ({ where, e, i }))
        : text.split("\n").map((e, i) => ({ where: `${where}:${i + 1}`, e, i }));
    for (const { where: w, e } of entries) {
      const line = e.trim();
      if (line === "" || (fenced.length === 0 && !line.startsWith("{"))) continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        malformed.push({ where: w, message: "not JSON" });
        continue;
      }
      if (
        (json as { statement?: { kind?: unknown } } | null)?.statement?.kind !== CHECKPOINT_KIND &&
        fenced.length === 0
      )
        continue;
      const r = signedCheckpointSchema.safeParse(json);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        malformed.push({ where: w, message: `${issue.path.join(".") || "(entry)"}: ${issue.message}` });
        continue;
      }
      checkpoints.push(r.data);
    }
  }
  return { checkpoints, malformed };
}

export interface LogProblem {
  /** Which checkpoint (its sequence, or the entry's place when unparsed). */
  checkpoint: string;
  message: string;
}

export interface LogCheckOptions {
  publicKey: KeyObject;
  keyId: string;
  /** The database this log must be about. */
  database: string;
  /** The newest sequence the auditor saw before: a newest checkpoint below it is a replay. */
  minSequence?: number;
}

/**
 * The log on its own: every signature valid with the auditor's key, every statement about this
 * database, sequences growing by one and times not going back, each checkpoint extending the one
 * before it (no chain shrinks or disappears), and the newest at least `minSequence`.
 */
export function checkLog(log: ParsedLog, opts: LogCheckOptions): LogProblem[] {
  const problems: LogProblem[] = log.malformed.map((m) => ({
    checkpoint: m.where,
    message: `malformed checkpoint: ${m.message}`,
  }));
  if (log.checkpoints.length === 0)
    problems.push({ checkpoint: "(log)", message: "the log holds no checkpoint" });
  let prev: CheckpointStatement | null = null;
  for (const cp of log.checkpoints) {
    const s = cp.statement;
    const name = `#${s.sequence} (${s.at})`;
    if (s.keyId !== opts.keyId || !signatureValid(cp, opts.publicKey)) {
      problems.push({
        checkpoint: name,
        message: `forged: the signature does not verify with key ${opts.keyId}${s.keyId !== opts.keyId ? ` (it names key ${s.keyId})` : ""}`,
      });
      continue; // nothing an unverified statement says is used
    }
    if (s.database !== opts.database) {
      // Most often a restored backup or a copy: the default name is the store's URL, which a copy does not share.
      problems.push({
        checkpoint: name,
        message:
          `for another database: it is about ${JSON.stringify(s.database)}, not ${JSON.stringify(opts.database)}. ` +
          `If this store is that database (a restored backup, a copy, a new host), verify with --database-id ${JSON.stringify(s.database)} (or AUDIT_DATABASE_ID); ` +
          `set AUDIT_DATABASE_ID on the app so its checkpoints name the database rather than its URL`,
      });
      continue;
    }
    if (prev) {
      if (s.sequence !== prev.sequence + 1) {
        problems.push({
          checkpoint: name,
          message:
            s.sequence <= prev.sequence
              ? `replayed or out of order: sequence ${s.sequence} comes after ${prev.sequence}`
              : `checkpoints ${prev.sequence + 1}–${s.sequence - 1} are missing from the log`,
        });
      }
      if (s.at < prev.at)
        problems.push({
          checkpoint: name,
          message: `replayed or out of order: made at ${s.at}, before the previous checkpoint (${prev.at})`,
        });
      const now = new Map(s.chains.map((c) => [c.chain, c]));
      for (const c of prev.chains) {
        const n = now.get(c.chain);
        if (!n)
          problems.push({
            checkpoint: name,
            message: `chain ${c.chain} (${c.seq} records at #${prev.sequence}) is absent: it was deleted between checkpoints`,
          });
        else if (n.seq < c.seq)
          problems.push({
            checkpoint: name,
            message: `chain ${c.chain} shrank from ${c.seq} to ${n.seq} records since #${prev.sequence}`,
          });
        else if (n.seq === c.seq && n.hash !== c.hash)
          problems.push({
            checkpoint: name,
            message: `chain ${c.chain}'s record ${c.seq} changed hash since #${prev.sequence}`,
          });
      }
    }
    prev = s;
  }
  if (prev && opts.minSequence !== undefined && prev.sequence < opts.minSequence) {
    problems.push({
      checkpoint: `#${prev.sequence}`,
      message: `replayed: the newest checkpoint is #${prev.sequence}, but #${opts.minSequence} was seen before (--min-sequence): newer checkpoints were removed`,
    });
  }
  return problems;
}

/** The checkpoints whose signature and database check out (checkLog reports the others). */
export function trustedCheckpoints(log: ParsedLog, opts: LogCheckOptions): SignedCheckpoint[] {
  return log.checkpoints.filter(
    (cp) =>
      cp.statement.keyId === opts.keyId &&
      cp.statement.database === opts.database &&
      signatureValid(cp, opts.publicKey),
  );
}
