import { describe, expect, test } from "@jest/globals";
import { canonicalJson, recordHash, type HashedColumns } from "../../src/audit/hash.js";
import { parsePrArgument, clean } from "../../src/audit/show.js";

describe("canonicalJson", () => {
  test("the same value gives the same text whatever the key order", () => {
    const a = { b: 1, a: [true, null, "x"], c: { z: "é", y: -0.5 } };
    const b = { c: { y: -0.5, z: "é" }, a: [true, null, "x"], b: 1 };
    expect(canonicalJson(a)).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":-0.5,"z":"é"}}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  test("undefined properties are left out, undefined array items are null; strings are JSON-escaped", () => {
    expect(canonicalJson({ a: undefined, b: [undefined], c: 'q"\n' })).toBe('{"b":[null],"c":"q\\"\\n"}');
  });

  test("what JSON cannot say exactly is refused", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalJson(10n)).toThrow(/bigint/);
  });
});

describe("recordHash", () => {
  const row: HashedColumns = {
    chain: "acme/payments",
    seq: 1,
    kind: "evaluation",
    recorded_at: "2026-03-01T10:00:00.000Z",
    installation_id: 77,
    repo: "acme/payments",
    pr_number: 1,
    head_sha: "a".repeat(40),
    delivery_id: "d-1",
    outcome: "success",
    sequence: 1,
    merged_at: null,
    bypass: null,
    standing_seq: null,
    payload: "{}",
    prev_hash: "0".repeat(64),
  };

  test("covers every column: changing any one changes the hash", () => {
    const base = recordHash(row);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const changed: Partial<HashedColumns>[] = [
      { chain: "acme/other" },
      { seq: 2 },
      { kind: "merge" },
      { recorded_at: "2026-03-01T10:00:00.001Z" },
      { installation_id: 78 },
      { repo: "Acme/payments" },
      { pr_number: 2 },
      { head_sha: "b".repeat(40) },
      { delivery_id: "d-2" },
      { outcome: "failure" },
      { sequence: 2 },
      { merged_at: "2026-03-01T10:00:00.000Z" },
      { bypass: 0 },
      { standing_seq: 1 },
      { payload: "{ }" },
      { prev_hash: "1".repeat(64) },
    ];
    for (const c of changed)
      expect([Object.keys(c)[0], recordHash({ ...row, ...c })]).not.toEqual([Object.keys(c)[0], base]);
    expect(recordHash({ ...row })).toBe(base);
  });
});

describe("audit show helpers", () => {
  test("a PR is owner/name#N or its URL", () => {
    expect(parsePrArgument("acme/payments#12")).toEqual({ repo: "acme/payments", number: 12 });
    expect(parsePrArgument("https://github.com/acme/pay.ments/pull/3/")).toEqual({
      repo: "acme/pay.ments",
      number: 3,
    });
    expect(parsePrArgument("acme/payments#0")).toBeNull();
    expect(parsePrArgument("payments#1")).toBeNull();
    expect(parsePrArgument("acme/payments")).toBeNull();
  });

  test("terminal control characters in GitHub text are neutralised", () => {
    expect(clean("ok\u001b[31mred\u0007\u202etxt")).toBe("ok [31mred  txt");
  });
});
