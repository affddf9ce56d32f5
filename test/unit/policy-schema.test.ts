/**
 * The policy's JSON Schema and its reference in docs/policy.md cannot drift from the zod schema:
 *   - schema/changegate.schema.json is what `npm run schema` writes today;
 *   - every key of the schema has a row in the policy table of docs/policy.md, every row names a key of
 *     the schema, and the Default column agrees with the schema's defaults;
 *   - the descriptions name only keys that exist.
 * Each failure message says exactly what to add or change.
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { KEY_DESCRIPTIONS } from "../../src/config/descriptions.js";
import {
  policyJsonSchema,
  policyJsonSchemaText,
  schemaKeys,
  type JsonSchema,
} from "../../src/config/json-schema.js";
import { configSchema } from "../../src/config/schema.js";

const ROOT = join(import.meta.dirname, "..", "..");
const POLICY_DOC = readFileSync(join(ROOT, "docs", "policy.md"), "utf8");
const POLICY_HEADING = "## The policy: `.github/changegate.yml`";

interface Row {
  key: string;
  type: string;
  default: string;
}

/** The policy reference's rows: every `| \`key\` | type | default | meaning |` line of the policy section. */
function policyTableRows(doc: string): Row[] {
  const start = doc.indexOf(POLICY_HEADING);
  if (start < 0) throw new Error(`docs/policy.md has no "${POLICY_HEADING}" section`);
  // The reference table is the section's own text, before its first subsection (### …) or the next
  // section: subsections explain features with tables of their own (the org floors, say).
  const ends = ["\n## ", "\n### "]
    .map((h) => doc.indexOf(h, start + POLICY_HEADING.length))
    .filter((i) => i >= 0);
  const section = doc.slice(start, ends.length > 0 ? Math.min(...ends) : undefined);
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([A-Za-z_][\w.]*)`\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (m) rows.push({ key: m[1]!, type: m[2]!.trim(), default: m[3]!.trim() });
  }
  return rows;
}

/** The default a reference cell states: a single `literal` (read as YAML), or none (words such as "not set"). */
function stated(cell: string): { literal: true; value: unknown } | { literal: false } {
  const m = /^`([^`]+)`$/.exec(cell);
  return m ? { literal: true, value: parse(m[1]!) } : { literal: false };
}

const schema = policyJsonSchema();
// Keys starting with _ (_extends) are loader directives, documented in prose; enforce.* (the org
// floors) has a table of its own, checked by test/unit/org-schema.test.ts.
const keys = schemaKeys(schema).filter(
  (k) => !k.path.startsWith("_") && k.path !== "enforce" && !k.path.startsWith("enforce."),
);
const rows = policyTableRows(POLICY_DOC);

describe("the committed JSON Schema", () => {
  test("schema/changegate.schema.json is current (run `npm run schema` and commit it)", () => {
    let committed = "";
    try {
      committed = readFileSync(join(ROOT, "schema", "changegate.schema.json"), "utf8");
    } catch {
      // missing: the comparison below says what to do
    }
    if (committed !== policyJsonSchemaText()) {
      throw new Error(
        "schema/changegate.schema.json is not what the zod schema gives today: run `npm run schema` and commit schema/changegate.schema.json",
      );
    }
  });

  test("it names every key of the zod schema, with its defaults, and refuses unknown keys", () => {
    expect(keys.map((k) => k.path)).toEqual(
      expect.arrayContaining([
        "approvals.required",
        "ci.required",
        "tickets.sources",
        "emergency.allowed_declarers",
        "audit.issue_repo",
      ]),
    );
    const byPath = new Map(keys.map((k) => [k.path, k.node]));
    expect(byPath.get("approvals.required")!.default).toBe(1);
    expect(byPath.get("ci.required")!.default).toEqual([]);
    expect(byPath.get("tickets.sources")!.default).toEqual(["title", "branch", "body", "commits"]);
    expect(byPath.get("branches")!.default).toBeUndefined();
    expect(schema.additionalProperties).toBe(false);
    expect((schema.properties!._extends as JsonSchema).type).toBe("string");
    // ci.required entries: a name, or a mapping pinning it to one source.
    const entry = (byPath.get("ci.required")!.items as JsonSchema).anyOf as JsonSchema[];
    expect(entry.map((e) => e.type)).toEqual(["string", "object"]);
    expect(entry[1]!.oneOf).toEqual([{ required: ["app"] }, { required: ["creator"] }]);
  });

  test("every leaf default in the JSON Schema is what zod fills in", () => {
    const defaults: unknown = configSchema.parse({});
    const wrong: string[] = [];
    for (const k of keys.filter((x) => x.leaf && x.node.default !== undefined)) {
      const actual = k.path
        .split(".")
        .reduce<unknown>(
          (v, seg) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[seg] : undefined),
          defaults,
        );
      if (JSON.stringify(actual) !== JSON.stringify(k.node.default))
        wrong.push(`${k.path}: schema ${JSON.stringify(k.node.default)}, zod ${JSON.stringify(actual)}`);
    }
    expect(wrong).toEqual([]);
  });

  test("the descriptions name only keys that exist", () => {
    const all = new Set(schemaKeys(schema).map((k) => k.path));
    const stale = Object.keys(KEY_DESCRIPTIONS).filter((k) => !all.has(k));
    if (stale.length > 0)
      throw new Error(
        `src/config/descriptions.ts describes keys the schema does not have: ${stale.join(", ")} (rename or remove them)`,
      );
  });

  test("z.toJSONSchema still represents the schema (no key falls back to an empty schema)", () => {
    const empty = keys
      .filter((k) => Object.keys(k.node).filter((p) => p !== "description" && p !== "default").length === 0)
      .map((k) => k.path);
    if (empty.length > 0) {
      throw new Error(
        `these keys have no JSON Schema (a z.custom without an override in src/config/json-schema.ts?): ${empty.join(", ")}`,
      );
    }
    expect(z.toJSONSchema).toBeDefined();
  });
});

describe("the policy reference (docs/policy.md)", () => {
  test("the table was found", () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  test("every schema key has a row (a key that holds only other keys may go without one)", () => {
    const documented = new Set(rows.map((r) => r.key));
    const missing = keys.filter((k) => k.leaf && !documented.has(k.path));
    if (missing.length > 0) {
      const lines = missing.map((k) => {
        const d = k.node.default;
        const def = d === undefined ? "not set" : `\`${JSON.stringify(d).replace(/"/g, "")}\``;
        return `| \`${k.path}\` | ${describeType(k.node)} | ${def} | ${typeof k.node.description === "string" ? k.node.description : "…"} |`;
      });
      throw new Error(
        `docs/policy.md's policy table ("${POLICY_HEADING}") lacks ${missing.length} key(s) of the schema. Add these rows (and say what each means):\n${lines.join("\n")}`,
      );
    }
  });

  test("every row names a key of the schema", () => {
    const known = new Set(schemaKeys(schema).map((k) => k.path));
    const unknown = rows.filter((r) => !known.has(r.key)).map((r) => r.key);
    if (unknown.length > 0)
      throw new Error(
        `docs/policy.md's policy table documents keys the schema does not have: ${unknown.join(", ")} (remove the rows, or add the keys to src/config/schema.ts)`,
      );
  });

  test("every row's Default agrees with the schema", () => {
    const byPath = new Map(schemaKeys(schema).map((k) => [k.path, k.node]));
    const wrong: string[] = [];
    for (const r of rows) {
      const node = byPath.get(r.key);
      if (!node) continue;
      const s = stated(r.default);
      const d = node.default;
      if (s.literal && JSON.stringify(s.value) !== JSON.stringify(d)) {
        wrong.push(
          `${r.key}: docs/policy.md says ${r.default}, the schema's default is ${d === undefined ? 'none (write e.g. "not set")' : `\`${JSON.stringify(d)}\``}`,
        );
      } else if (
        !s.literal &&
        d !== undefined &&
        !(typeof d === "object" && d !== null && !Array.isArray(d))
      ) {
        wrong.push(
          `${r.key}: docs/policy.md says "${r.default}", the schema's default is \`${JSON.stringify(d)}\` (write it as \`${JSON.stringify(d).replace(/"/g, "")}\`)`,
        );
      }
    }
    if (wrong.length > 0)
      throw new Error(
        `docs/policy.md's policy table disagrees with the schema's defaults:\n${wrong.join("\n")}`,
      );
  });

  test("the drift checks can fail: a reference without a key, with an unknown key, or with a wrong default", () => {
    const without = policyTableRows(POLICY_DOC.replace(/^\| `approvals\.required` .*\n/m, ""));
    expect(without.some((r) => r.key === "approvals.required")).toBe(false);
    expect(stated("`2`")).toEqual({ literal: true, value: 2 });
    expect(stated("the default branch")).toEqual({ literal: false });
    expect(policyTableRows(`${POLICY_HEADING}\n| \`approvals.requried\` | x | \`1\` | y |\n`)).toEqual([
      { key: "approvals.requried", type: "x", default: "`1`" },
    ]);
  });
});

function describeType(node: JsonSchema): string {
  if (node.type === "array") return "list";
  if (typeof node.type === "string") return node.type;
  return "see the schema";
}
