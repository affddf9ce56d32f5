/**
 * Log lines stay small whatever a request carries. @octokit/webhooks logs a delivery that fails its
 * signature check as an error whose `event.payload` is the whole body: one unsigned 24 MB POST
 * became a 24 MB log line, ~25 s of CPU in the secret scrubber and formatter, and ~500 MB of RSS.
 * Anyone can send that, so:
 *   - the `err` serializer replaces every (nested) `event.payload` by its size;
 *   - any line still over MAX_LOG_LINE_BYTES is replaced, before it is scrubbed or formatted, by a
 *     short warning that says how big it was and keeps its start (scrubbed by the caller like any line).
 */
import { pino } from "pino";

/** A log line above this is replaced by a short notice (real lines are a few kilobytes). */
export const MAX_LOG_LINE_BYTES = 256 * 1024;

type Serialized = Record<string, unknown>;

/** pino's standard error serializer, minus webhook payloads (anywhere in the error, aggregates included). */
export function boundedErrSerializer(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  return dropPayloads(out, 0);
}

function dropPayloads(value: unknown, depth: number): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => dropPayloads(v, depth + 1));
  const obj = value as Serialized;
  const copy: Serialized = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "event" && v && typeof v === "object" && "payload" in (v as Serialized)) {
      const { payload, ...rest } = v as Serialized;
      const size = typeof payload === "string" ? Buffer.byteLength(payload) : undefined;
      copy[k] = {
        ...rest,
        payload: size === undefined ? "[payload omitted]" : `[payload of ${size} bytes omitted]`,
      };
    } else {
      copy[k] = dropPayloads(v, depth + 1);
    }
  }
  return copy;
}

/**
 * `line` (one pino JSON line) as it may be written: unchanged when small, otherwise a warning line
 * at the same level with its size and first characters.
 */
export function boundLogLine(line: string): string {
  if (line.length <= MAX_LOG_LINE_BYTES / 2 || Buffer.byteLength(line) <= MAX_LOG_LINE_BYTES) return line;
  const level = /^\{"level":(\d+)/.exec(line)?.[1];
  const notice = {
    level: level ? Number(level) : 40,
    time: Date.now(),
    name: "changegate",
    msg: `a log line of ${Buffer.byteLength(line)} bytes was cut to its start (over the ${MAX_LOG_LINE_BYTES}-byte limit)`,
    start: line.slice(0, 1000),
  };
  return `${JSON.stringify(notice)}\n`;
}
