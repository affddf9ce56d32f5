import { describe, expect, test } from "@jest/globals";
import { bound, clip } from "../../src/report/digest.js";
import { code, codeBlock, link, md } from "../../src/report/escape.js";
import { renderFailure } from "../../src/report/failure.js";
import { MAX_BODY } from "../../src/report/types.js";

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe("link(): the URL cannot break out of the link or the table", () => {
  test.each<[string, string]>([
    ["https://ci.example.com/a|b", "[label](https://ci.example.com/a%7Cb)"],
    ["https://ci.example.com/?q=a|b|c", "[label](https://ci.example.com/?q=a%7Cb%7Cc)"],
    ['https://ci.example.com/"x"', "[label](https://ci.example.com/%22x%22)"],
    ["https://ci.example.com/it's", "[label](https://ci.example.com/it%27s)"],
    ["https://ci.example.com/`code`", "[label](https://ci.example.com/%60code%60)"],
    ["https://ci.example.com/<b>", "[label](https://ci.example.com/%3Cb%3E)"],
    ["https://ci.example.com/a b", "[label](https://ci.example.com/a%20b)"],
    ["https://ci.example.com/run(1)", "[label](https://ci.example.com/run%281%29)"],
    [
      "https://ci.example.com/x) [evil](javascript:alert(1)",
      "[label](https://ci.example.com/x%29%20%5Bevil%5D%28javascript:alert%281%29)",
    ],
    ["https://ci.example.com/a\\b", "[label](https://ci.example.com/a%5Cb)"],
    ["https://ci.example.com/a\nb\tc\rd", "[label](https://ci.example.com/abcd)"],
    ["https://ci.example.com/a\u00a0b", "[label](https://ci.example.com/a%C2%A0b)"],
    ["https://ci.example.com/%7C/ok?x=1&y=2#frag", "[label](https://ci.example.com/%7C/ok?x=1&y=2#frag)"],
    ["https://ci.example.com/caf\u00e9", "[label](https://ci.example.com/caf\u00e9)"],
  ])("link(label, %j) = %j", (url, out) => {
    expect(link("label", url)).toBe(out);
  });

  test.each<[string]>([
    ["javascript:alert(1)"],
    ["https:evil.example"],
    ["https://"],
    ["https:// evil"],
    ["ftp://files.example/x"],
    ["mailto:a@b.example"],
    [" https://ci.example.com"],
    ["https://ci.example.com/\ud800"],
  ])("link(label, %j) is plain text", (url) => {
    expect(link("label", url)).toBe("label");
  });

  test("a | in a details URL keeps the CI table row at three cells", () => {
    const row = `| ${link("build", "https://ci.example.com/a|b|c")} | ✅ success | yes |`;
    // GFM splits cells on every | not escaped with a backslash
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(3);
  });
});

describe("truncation never leaves a lone surrogate", () => {
  const samples = [
    "😀".repeat(40),
    `a${"😀".repeat(40)}`,
    `ab${"🏳️‍🌈".repeat(20)}`,
    `${"x😀y".repeat(20)}`,
    `${"👨‍👩‍👧‍👦 ".repeat(15)}`,
  ];

  test.each(samples.map((s) => [s]))("md(%j, every max)", (s) => {
    for (let max = 1; max <= s.length + 1; max++)
      expect({ max, lone: LONE.test(md(s, max)) }).toEqual({ max, lone: false });
  });

  test.each(samples.map((s) => [s]))("code(%j, every max)", (s) => {
    for (let max = 1; max <= s.length + 1; max++)
      expect({ max, lone: LONE.test(code(s, max)) }).toEqual({ max, lone: false });
  });

  test.each(samples.map((s) => [s]))("clip(%j, every max)", (s) => {
    for (let max = 1; max <= s.length + 1; max++) {
      const c = clip(s, max);
      expect({ max, lone: LONE.test(c) }).toEqual({ max, lone: false });
      expect(c.length).toBeLessThanOrEqual(max);
    }
  });

  test("clip still clips plain text to max", () => {
    expect(clip("abcdef", 4)).toBe("abc…");
    expect(clip("ab😀", 3)).toBe("ab…");
    expect(clip("a😀b", 3)).toBe("a…");
  });

  test("md and code replace lone surrogates already in the input", () => {
    expect(md("a\ud800b")).toBe("a\ufffdb");
    expect(code("a\udc00b")).toBe("`a\ufffdb`");
  });

  test.each([0, 1, 2, 3])("bound with an emoji at offset %d of the cut", (k) => {
    const body = "x".repeat(k) + "😀".repeat(MAX_BODY);
    const b = bound(body);
    expect(LONE.test(b)).toBe(false);
    expect(b.length).toBeLessThanOrEqual(MAX_BODY);
  });

  test.each([0, 1])("the failure report's stack is cut without splitting an emoji (offset %d)", (k) => {
    const err = new Error("boom");
    err.stack = `Error: boom\n${"y".repeat(k)}${"😀".repeat(15_000)}`;
    const r = renderFailure({ stage: "gather", error: err, headSha: null, deliveryId: "d" });
    expect(LONE.test(r.comment)).toBe(false);
    expect(LONE.test(r.check.summary)).toBe(false);
  });

  test.each([0, 1])("the failure title is clipped without splitting an emoji (offset %d)", (k) => {
    const err = new Error(`${"z".repeat(k)}${"😀".repeat(2000)}`);
    const r = renderFailure({ stage: "gather", error: err, headSha: null, deliveryId: "d" });
    expect(LONE.test(r.check.title)).toBe(false);
  });
});

describe("no lone surrogate reaches GitHub", () => {
  test("codeBlock replaces lone surrogates", () => {
    expect(codeBlock("a\ud83db")).toBe("```text\na\ufffdb\n```");
  });

  test("a failure whose message and stack hold a lone surrogate", () => {
    const err = new Error("bad \udead text");
    const r = renderFailure({ stage: "gather", error: err, headSha: null, deliveryId: "d" });
    for (const t of [r.comment, r.check.title, r.check.summary]) expect(LONE.test(t)).toBe(false);
  });
});
