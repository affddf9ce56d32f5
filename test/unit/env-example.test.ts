/**
 * .env.example lists every variable changegate reads, and nothing it does not read: the names are
 * found in src/ as `env.X`, `env?.X`, `process.env.X`, `env["X"]`, or as a key of an environment
 * schema (an ALL_CAPS key of a `z.object({ … })` parsed from the environment: jira/env.ts,
 * github/cli-auth.ts). A variable another helper adds without listing it fails here, by name.
 */
import { describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

/** Set by the platform, not by an operator: read, but not settings to list. */
const NOT_SETTINGS: Record<string, string> = {
  GITHUB_ACTIONS: "set by GitHub Actions (config check prints annotations)",
  GITHUB_REPOSITORY: "set by GitHub Actions (config check finds the org file)",
  NODE_OPTIONS: "Node's own (heap.ts respects an operator's --heap-growing-percent)",
};
/** Listed, and read by Probot rather than by src/. */
const READ_BY_PROBOT: Record<string, string> = {
  PORT: "Probot's HTTP server port",
  HOST: "Probot's HTTP server interface",
};

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
    // Environment schemas: z.object({ NAME: … }) whose keys are variable names.
    for (const block of code.matchAll(/z\.(?:strict)?[oO]bject\(\{([\s\S]*?)\n\}\)/g)) {
      const keys = [...block[1]!.matchAll(/^\s{2}([A-Z][A-Z0-9_]+):/gm)].map((k) => k[1]!);
      for (const k of keys) add(k, file);
    }
  }
  return reads;
}

/** The names .env.example lists: `NAME=` or `# NAME=` at the start of a line. */
function listed(): Set<string> {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  return new Set([...text.matchAll(/^(?:#\s?)?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
}

describe(".env.example", () => {
  const reads = envReads();
  const names = listed();

  test("the scan finds the variables read every way src/ reads them", () => {
    for (const n of [
      "APP_ID",
      "DATABASE_URL",
      "AUDIT_SCAN_INTERVAL",
      "MAX_CONCURRENT_EVALUATIONS",
      "JIRA_TIMEOUT_MS",
      "GITHUB_API_URL",
      "LOG_MESSAGE_KEY",
    ])
      expect([n, reads.has(n)]).toEqual([n, true]);
  });

  test("lists every variable src/ reads", () => {
    const missing = [...reads]
      .filter(([n]) => !names.has(n) && !(n in NOT_SETTINGS))
      .map(([n, files]) => `${n} (read in ${files.join(", ")})`);
    if (missing.length > 0)
      throw new Error(
        `.env.example lacks ${missing.length} variable(s) changegate reads; add each with a comment saying what it does:\n  ${missing.join("\n  ")}`,
      );
  });

  test("lists nothing that is not read", () => {
    const unread = [...names].filter((n) => !reads.has(n) && !(n in READ_BY_PROBOT));
    expect(unread).toEqual([]);
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
