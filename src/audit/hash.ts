/**
 * The hash chain's arithmetic: a canonical serialisation (JSON with object keys sorted by UTF-16
 * code units, no whitespace, no undefined) and SHA-256 over it. A record's hash covers every stored
 * column but the hash itself, including its chain, its position and the previous record's hash, so
 * changing, inserting, moving or removing a row breaks the chain at that row.
 */
import { createHash } from "node:crypto";
import { AUDIT_RECORD_COLUMN_NAMES, type AuditRecordTable } from "./migrations.js";

/** prev_hash of the first record of every chain. */
export const GENESIS_HASH = "0".repeat(64);

/** Canonical JSON: same value, same bytes, whatever order the keys were built in. */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot serialise the number ${value}`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `cannot serialise a ${(value as object).constructor?.name ?? "non-plain object"}: convert it to plain data first`,
        );
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`cannot serialise a value of type ${typeof value}`);
  }
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The stored columns of an audit record, as hashed: every column of audit_record but `hash`,
 * derived from AUDIT_RECORD_COLUMNS (migrations.ts), so a new column is hashed without anyone
 * remembering to list it here. (Key order does not matter: canonicalJson sorts keys.)
 */
export type HashedColumns = Omit<AuditRecordTable, "hash">;

export const HASHED_COLUMNS: readonly (keyof HashedColumns)[] = AUDIT_RECORD_COLUMN_NAMES.filter(
  (c): c is keyof HashedColumns => c !== "hash",
);

/** The record's own hash: SHA-256 of the canonical JSON of its hashed columns. */
export function recordHash(row: HashedColumns): string {
  const body: Record<string, unknown> = {};
  for (const c of HASHED_COLUMNS) body[c] = row[c];
  return sha256Hex(canonicalJson(body));
}

/** A 64-bit advisory-lock key (as a decimal string for a ::bigint parameter) for a name in a namespace. */
export function lockKey(namespace: string, name: string): string {
  return createHash("sha256").update(`changegate:${namespace}:${name}`).digest().readBigInt64BE(0).toString();
}
