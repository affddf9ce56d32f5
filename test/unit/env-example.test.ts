/**
 * .env.example and the settings schema (src/settings.ts) name the same variables, both ways: every
 * key of the schema is listed (but what the platform sets: NOT_SETTINGS), and every listed name is a
 * key of the schema (or read by Probot alone: READ_BY_PROBOT). And src/ reads no variable outside
 * the schema: names read as `env.X`, `env?.X`, `process.env.X` or `env["X"]` anywhere in src/ must
 * be keys of it. A variable another helper adds without listing it fails here, by name.
 */
import { describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsSchema } from "../../src/settings.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** Set by the platform, not by an operator: in the schema, but not settings to list. */
const NOT_SETTINGS: Record<string, string> = {
  GITHUB_ACTIONS: "set by GitHub Actions (config check prints annotations)",
  GITHUB_REPOSITORY: "set by GitHub Actions (config check finds the org file)",
  NODE_OPTIONS: "Node's own (heap.ts respects an operator's --heap-growing-percent)",
};
/** Listed, and read by Probot rather than by src/ (listed names the schema may leave out). */
const READ_BY_PROBOT: Record<string, string> = {
  PORT: "Probot's HTTP server port (the schema checks it: METRICS_PORT must differ)",
  HOST: "Probot's HTTP server interface",
};

/** The schema's keys: every variable changegate reads. */
const SCHEMA = new Set(Object.keys(settingsSchema.shape));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every environment variable src/ reads, with the files that read it. */
function envReads(): Map<string, string[]> {
  const reads = new Map<string, string[]>();
  const add = (name: string, file: string) =>
    reads.set(name, [...new Set([...(reads.get(name) ?? []), file.slice(ROOT.length + 1)])]);
  for (const file of sources(join(ROOT, "src"))) {
    // Comments name variables without reading them.
    const code = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(/\benv(?:\?)?\.([A-Z][A-Z0-9_]+)\b|\benv\[["']([A-Z][A-Z0-9_]+)["']\]/g))
      add(m[1] ?? m[2]!, file);
  }
  return reads;
}

/** The names .env.example lists: `NAME=` or `# NAME=` at the start of a line. */
function listed(): Set<string> {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  return new Set([...text.matchAll(/^(?:#\s?)?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
}

describe(".env.example and the settings schema", () => {
  const reads = envReads();
  const names = listed();

  test("the scan finds the variables read every way src/ reads them", () => {
    for (const n of ["APP_ID", "WEBHOOK_SECRET", "METRICS_PORT", "JIRA_EMAIL", "AUDIT_SIGNING_KEY"])
      expect([n, reads.has(n)]).toEqual([n, true]);
  });

  test("src/ reads only variables of the schema", () => {
    const outside = [...reads]
      .filter(([n]) => !SCHEMA.has(n))
      .map(([n, files]) => `${n} (read in ${files.join(", ")})`);
    if (outside.length > 0)
      throw new Error(
        `src/ reads ${outside.length} variable(s) that are not in src/settings.ts's schema; add each there (and to .env.example):\n  ${outside.join("\n  ")}`,
      );
  });

  test("lists every key of the schema", () => {
    const missing = [...SCHEMA].filter((n) => !names.has(n) && !(n in NOT_SETTINGS));
    if (missing.length > 0)
      throw new Error(
        `.env.example lacks ${missing.length} variable(s) changegate reads; add each with a comment saying what it does:\n  ${missing.join("\n  ")}`,
      );
  });

  test("lists nothing that is not a key of the schema (or Probot's own)", () => {
    const unread = [...names].filter((n) => !SCHEMA.has(n) && !(n in READ_BY_PROBOT));
    expect(unread).toEqual([]);
  });

  test("what the platform sets is in the schema but not listed", () => {
    for (const n of Object.keys(NOT_SETTINGS))
      expect([n, SCHEMA.has(n), names.has(n)]).toEqual([n, true, false]);
  });

  test("every listed variable has a comment above it", () => {
    const lines = readFileSync(join(ROOT, ".env.example"), "utf8").split("\n");
    const bare: string[] = [];
    lines.forEach((l, i) => {
      const m = /^(?:#\s?)?([A-Z][A-Z0-9_]+)=/.exec(l);
      if (!m) return;
      // A comment line (not itself a NAME= line) somewhere in the block right above.
      let j = i - 1;
      while (j >= 0 && /^(?:#\s?)?[A-Z][A-Z0-9_]+=/.test(lines[j]!)) j--;
      if (j < 0 || !lines[j]!.startsWith("#") || /^#\s*---/.test(lines[j]!)) bare.push(m[1]!);
    });
    expect(bare).toEqual([]);
  });
});
