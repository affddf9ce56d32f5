import { describe, expect, test } from "@jest/globals";
import { boundedErrSerializer, boundLogLine, MAX_LOG_LINE_BYTES } from "../../src/ops/log-bounds.js";

/** The error @octokit/webhooks logs for a delivery whose signature does not match. */
function signatureFailure(payload: string): AggregateError {
  const inner = new Error(
    "[@octokit/webhooks] signature does not match event payload and secret",
  ) as Error & { event: object; status: number };
  inner.event = { id: "d1", name: "pull_request", payload, signature: "sha256=00" };
  inner.status = 400;
  return new AggregateError([inner], inner.message);
}

describe("boundedErrSerializer", () => {
  test("a webhook payload inside an aggregate error is replaced by its size; the rest of the error stays", () => {
    const out = JSON.stringify(boundedErrSerializer(signatureFailure("{".repeat(5_000_000))));
    expect(out.length).toBeLessThan(5_000);
    expect(out).toContain("[payload of 5000000 bytes omitted]");
    expect(out).toContain("signature does not match event payload and secret");
    expect(out).toContain('"id":"d1"');
  });

  test("an ordinary error is serialized as pino's standard serializer does", () => {
    const err = Object.assign(new Error("boom"), { status: 502 });
    expect(boundedErrSerializer(err)).toMatchObject({ type: "Error", message: "boom", status: 502 });
  });
});

describe("boundLogLine", () => {
  test("lines within the limit pass unchanged", () => {
    const line = `${JSON.stringify({ level: 30, msg: "x".repeat(1000) })}\n`;
    expect(boundLogLine(line)).toBe(line);
  });

  test("a line over the limit becomes a short notice at the same level, with its size and start", () => {
    const line = `${JSON.stringify({ level: 50, msg: "y".repeat(MAX_LOG_LINE_BYTES) })}\n`;
    const out = boundLogLine(line);
    expect(out.length).toBeLessThan(2_000);
    const parsed = JSON.parse(out) as { level: number; msg: string; start: string };
    expect(parsed.level).toBe(50);
    expect(parsed.msg).toContain(`a log line of ${Buffer.byteLength(line)} bytes was cut`);
    expect(parsed.start.startsWith('{"level":50')).toBe(true);
  });
});
