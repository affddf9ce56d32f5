/**
 * Hostile policy files: too big, nested too deep (flow, block, compact, mappings), too many anchors.
 * Each is an invalid policy naming the line, never a crash; the measurement never recurses.
 */
import { describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPolicy, type LoadResult } from "../../src/config/load.js";
import {
  MAX_POLICY_ANCHORS_AND_TAGS,
  MAX_POLICY_BYTES,
  MAX_POLICY_DEPTH,
  nestingDepth,
  policyTextProblem,
} from "../../src/config/limits.js";
import { CONFIG_PATH } from "../../src/contract.js";
import { ensureBuilt, ROOT } from "../sim/driver.js";

const DEEP = 5000;

async function load(text: string): Promise<LoadResult> {
  return loadPolicy(
    { repoFile: { repo: "acme/payments", path: CONFIG_PATH, text }, orgFile: null },
    async () => null,
  );
}

function problem(r: LoadResult): { file: string; path: string; message: string } {
  if (r.ok) throw new Error(`expected a problem, got ${JSON.stringify(r.policy.config)}`);
  expect(r.problem.issues).toHaveLength(1);
  return { file: r.problem.file, ...r.problem.issues[0]! };
}

/** Hostile files: each is a few KB and nests DEEP levels. */
const hostile: Record<string, { text: string; line: number }> = {
  "flow sequences": { text: `a: ${"[".repeat(DEEP)}${"]".repeat(DEEP)}\n`, line: 1 },
  "flow mappings": {
    text: `approvals:\n  required: 1\nb: ${"{a: ".repeat(DEEP)}1${"}".repeat(DEEP)}\n`,
    line: 3,
  },
  // The key and each line's bracket add a level: the limit is crossed on line 32.
  "flow, over several lines": {
    text: `a:\n${"  [\n".repeat(DEEP)}${"  ]\n".repeat(DEEP)}`,
    line: MAX_POLICY_DEPTH,
  },
  "compact block sequences": { text: `a:\n${"- ".repeat(DEEP)}x\n`, line: 2 },
  "explicit keys": { text: `${"? ".repeat(DEEP)}x\n`, line: 1 },
  "a sequence of mappings": { text: `${"- a: ".repeat(DEEP)}x\n`, line: 1 },
};

describe("nesting depth", () => {
  for (const [name, { text, line }] of Object.entries(hostile)) {
    test(`${DEEP} levels of ${name}: an invalid policy naming line ${line}, not a crash`, async () => {
      expect(Buffer.byteLength(text)).toBeLessThan(MAX_POLICY_BYTES);
      const p = problem(await load(text));
      expect(p.file).toBe(`acme/payments:${CONFIG_PATH}`);
      expect(p.path).toBe("");
      expect(p.message).toContain(`nested more than ${MAX_POLICY_DEPTH} levels deep at line ${line}`);
    });
  }

  test("block mappings indented one more level per line: refused at the line that goes too deep", async () => {
    const text = Array.from({ length: 200 }, (_, i) => `${" ".repeat(i)}k${i}:\n`).join("");
    expect(problem(await load(text)).message).toContain(
      `nested more than ${MAX_POLICY_DEPTH} levels deep at line ${MAX_POLICY_DEPTH + 1}`,
    );
  });

  test("5,000 levels of indented block nesting is over the size cap first (it needs megabytes)", async () => {
    const text = Array.from({ length: DEEP }, (_, i) => `${" ".repeat(i)}-\n`).join("");
    expect(problem(await load(text)).message).toMatch(
      /^the file is \d+ bytes; a policy file may have at most 65536 bytes/,
    );
  });

  test("a policy as deep as real ones get is fine, and nesting just under the limit still parses", async () => {
    const real = [
      "branches: [main, 'release/*']",
      "approvals:",
      "  required: 2",
      "  dismiss_stale: true",
      "ci:",
      "  required: [build, test]",
      "tickets:",
      "  required: true",
      "  projects: [OPS]",
      "  sources: [title, branch]",
      "emergency:",
      "  label: emergency",
      "  require_ticket: true",
      "",
    ].join("\n");
    expect((await load(real)).ok).toBe(true);
    expect(nestingDepth(real).max).toBeLessThanOrEqual(4);
    // Unknown keys are refused by the schema, not by the depth limit.
    const near = `x: ${"[".repeat(MAX_POLICY_DEPTH - 2)}${"]".repeat(MAX_POLICY_DEPTH - 2)}\n`;
    expect(policyTextProblem(near)).toBeNull();
    expect(problem(await load(near)).message).toContain("unknown key");
  });

  test("brackets, dashes and colons inside quotes, comments and block scalars do not count", () => {
    const text = [
      `a: "${"[".repeat(100)}"`,
      `b: '${"{".repeat(100)}'`,
      `# ${"[".repeat(100)} ${"- ".repeat(100)}`,
      "c: |",
      `  ${"[".repeat(100)}`,
      `  ${"- ".repeat(100)}`,
      "d: >",
      `  ${"? ".repeat(100)}`,
      `e: plain ${"[".repeat(100)}`,
      "",
    ].join("\n");
    expect(nestingDepth(text).max).toBeLessThanOrEqual(2);
    expect(policyTextProblem(text)).toBeNull();
  });

  test("the depth scan is linear: 64 KB of the most token-dense input measures fast", () => {
    const text = `a: [${"1, ".repeat(Math.floor((MAX_POLICY_BYTES - 10) / 3))}]`;
    const t0 = Date.now();
    expect(policyTextProblem(text)).toBeNull();
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe("size and anchors", () => {
  test(`a file over ${MAX_POLICY_BYTES} bytes is refused before parsing (multi-byte characters counted as bytes)`, async () => {
    const big = `approvals:\n  required: 1\n# ${"x".repeat(MAX_POLICY_BYTES)}\n`;
    expect(problem(await load(big)).message).toBe(
      `the file is ${Buffer.byteLength(big)} bytes; a policy file may have at most ${MAX_POLICY_BYTES} bytes (64 KB)`,
    );
    const wide = `# ${"é".repeat(MAX_POLICY_BYTES / 2)}\n`; // fewer characters than the cap, more bytes
    expect(wide.length).toBeLessThan(MAX_POLICY_BYTES);
    expect(problem(await load(wide)).message).toMatch(/^the file is \d+ bytes/);
    const justUnder = `approvals:\n  required: 1\n# ${"x".repeat(MAX_POLICY_BYTES - 40)}\n`;
    expect((await load(justUnder)).ok).toBe(true);
  });

  test("thousands of anchors or tags on one node are refused before yaml spends seconds on them", async () => {
    const anchors = `a: ${"&a ".repeat(20_000)}x\n`;
    const t0 = Date.now();
    expect(problem(await load(anchors)).message).toContain(
      `more than ${MAX_POLICY_ANCHORS_AND_TAGS} anchors (&name) and tags (!tag) at line 1`,
    );
    const tags = `a: x\nb: ${"!t ".repeat(20_000)}x\n`;
    expect(problem(await load(tags)).message).toContain("at line 2");
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test("anchors and aliases: a few are fine; a chain of aliases through deep anchors stays a problem or a value, never a crash", async () => {
    const ok = await load("approvals:\n  required: &n 2\nemergency:\n  approvals_required: *n\n");
    expect(ok.ok).toBe(true);
    // 100 anchors, each 30 levels deep around the previous one: the value is 3,000 deep through shared references.
    const lines = ["a0: &a0 x"];
    for (let i = 1; i < MAX_POLICY_ANCHORS_AND_TAGS; i++)
      lines.push(`a${i}: &a${i} ${"[".repeat(29)}*a${i - 1}${"]".repeat(29)}`);
    const chain = `${lines.join("\n")}\n`;
    expect(policyTextProblem(chain)).toBeNull();
    const r = await load(chain);
    expect(r.ok).toBe(false); // unknown keys (a0…), or yaml's alias-count guard; either way no crash
    // An alias bomb is still caught by yaml's alias count.
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "",
    ].join("\n");
    expect(problem(await load(bomb)).message).toMatch(/alias/i);
  });
});

describe("in a fresh process", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const register = fileURLToPath(new URL("../support/register-ts.mjs", import.meta.url));
  const child = fileURLToPath(new URL("./fixtures/load-policy-twice.ts", import.meta.url));

  for (const name of ["flow sequences", "compact block sequences"]) {
    test(`loading the ${DEEP}-deep file (${name}) twice exits cleanly with the problem (it used to abort with exit 134)`, () => {
      const dir = mkdtempSync(join(tmpdir(), "changegate-policy-"));
      try {
        const file = join(dir, "changegate.yml");
        writeFileSync(file, hostile[name]!.text);
        const r = spawnSync(process.execPath, ["--import", register, child, file], {
          cwd: root,
          encoding: "utf8",
          timeout: 60_000,
          // As the app runs: none of the test runner's environment.
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        });
        expect({ status: r.status, signal: r.signal, stderr: r.stderr.slice(0, 2000) }).toEqual({
          status: 0,
          signal: null,
          stderr: "",
        });
        const results = r.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { issues: { message: string }[] });
        expect(results).toHaveLength(2);
        for (const res of results)
          expect(res.issues[0]!.message).toContain(
            `nested more than ${MAX_POLICY_DEPTH} levels deep at line ${hostile[name]!.line}`,
          );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test(`lib/cli.js config check on the ${DEEP}-deep file: prints the problem and exits 1`, async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "changegate-policy-"));
    try {
      writeFileSync(join(dir, "deep.yml"), hostile["flow mappings"]!.text);
      const r = spawnSync(process.execPath, [join(ROOT, "lib", "cli.js"), "config", "check", "deep.yml"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      });
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
      expect(r.stderr).toBe(
        `deep.yml: not a valid changegate policy (1 problem)\n  line 3: (file): nested more than ${MAX_POLICY_DEPTH} levels deep at line 3 (collections inside collections); a policy needs only a few levels\n`,
      );
      expect(r.stdout).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
