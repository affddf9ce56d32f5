/**
 * docs/architecture.md is true by construction: the rooms' import rules (.dependency-cruiser.cjs)
 * hold over src/ (dependency-cruiser's API, the rules `npm run lint` validates), the same rules catch
 * a bad import in a small tree of their own, and every folder of src/ has a row in the page's room
 * table.
 */
import { describe, expect, test } from "@jest/globals";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ICruiseResult, IConfiguration } from "dependency-cruiser";

const ROOT = join(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);
const config = require(join(ROOT, ".dependency-cruiser.cjs")) as IConfiguration;

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  const { cruise } = await import("dependency-cruiser");
  const { default: extractTSConfig } = await import("dependency-cruiser/config-utl/extract-ts-config");
  const tsConfig = extractTSConfig(join(ROOT, "tsconfig.json"));
  const result = await cruise(
    ["src"],
    { ...config.options, baseDir, ruleSet: { forbidden: config.forbidden }, validate: true },
    undefined,
    { tsConfig },
  );
  return result.output as ICruiseResult;
}

function violations(r: ICruiseResult): string[] {
  return r.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe("the rooms' import rules", () => {
  test("src/ breaks none of them", async () => {
    const r = await cruiseTree(ROOT);
    expect(r.summary.totalCruised).toBeGreaterThan(100);
    expect(violations(r)).toEqual([]);
  }, 120_000);

  test("they catch an I/O import in policy/, a circle and an event entering outside handlers/", async () => {
    const dir = mkdtempSync(join(tmpdir(), "changegate-arch-"));
    try {
      const files: Record<string, string> = {
        "src/main.ts": 'import "./handlers/pr.js";\nimport "./policy/rule.js";\nimport "./flows/a.js";\n',
        "src/handlers/pr.ts": "export const pr = 1;\n",
        "src/github/read.ts": "export const read = 1;\n",
        "src/policy/rule.ts":
          'import { read } from "../github/read.js";\nimport "node:fs";\nexport const r = read;\n',
        "src/flows/a.ts":
          'import { b } from "./b.js";\nimport { pr } from "../handlers/pr.js";\nexport const a = b + pr;\n',
        "src/flows/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const found = violations(await cruiseTree(dir)).map((v) => v.split(":")[0]);
      expect(new Set(found)).toEqual(
        new Set([
          "pure-rooms-no-io",
          "pure-rooms-no-io-builtins",
          "no-circular",
          "events-enter-through-handlers",
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

test("every folder of src/ has a row in docs/architecture.md's room table", () => {
  const page = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
  const section = page.split("## The rooms, and what each may import")[1]?.split("\n## ")[0] ?? "";
  const rooms = new Set(
    section
      .split("\n")
      .filter((line) => line.startsWith("| `src/"))
      .flatMap((line) => [...line.split("|")[1]!.matchAll(/`src\/([\w-]+)\/`/g)].map((m) => m[1]!)),
  );
  const folders = readdirSync(join(ROOT, "src"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(folders.length).toBeGreaterThan(5);
  expect(folders.filter((f) => !rooms.has(f))).toEqual([]);
});
