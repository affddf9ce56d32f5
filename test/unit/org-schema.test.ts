/**
 * The org file in the JSON Schema (schema/changegate.schema.json): the docs' own org example (the
 * yaml block under "Org floors", read from the docs here so they cannot drift) is valid against it,
 * an `enforce:` with a loosening value or a misspelt key is not, and the floors table documents
 * every key the schema allows under `enforce:`.
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { schemaKeys, type JsonSchema } from "../../src/config/json-schema.js";
import { docSection, orgExample, ROOT } from "../helpers/docs.js";
import { schemaProblems } from "../helpers/json-schema-check.js";

// The committed file: what editors load (policy-schema.test.ts keeps it current).
const schema = JSON.parse(readFileSync(join(ROOT, "schema", "changegate.schema.json"), "utf8")) as JsonSchema;
const floors = docSection("Org floors");

describe("the JSON Schema and the org file", () => {
  test('the docs\' org example (under "Org floors") is valid against it', () => {
    const doc = parse(orgExample()) as Record<string, unknown>;
    expect(Object.keys(doc)).toContain("enforce");
    expect(schemaProblems(schema, doc)).toEqual([]);
  });

  test("a loosening floor, a misspelt floor key or a key that cannot be a floor is flagged", () => {
    const doc = parse(orgExample()) as { enforce: Record<string, Record<string, unknown>> };
    doc.enforce.approvals!.dismiss_stale = false;
    doc.enforce.approvals!.requried = 2;
    doc.enforce.emergency!.label = "hotfix";
    expect(schemaProblems(schema, doc)).toEqual([
      "$.enforce: matches none of the 2 forms ($.enforce.approvals.dismiss_stale: must be true; $.enforce.approvals.requried: unknown key; $.enforce.emergency.label: unknown key | $.enforce: object where null expected)",
    ]);
  });

  test("the floors table names every key the schema allows under enforce:", () => {
    const allowed = schemaKeys(schema)
      .filter((k) => k.path.startsWith("enforce.") && k.leaf)
      .map((k) => k.path.slice("enforce.".length));
    expect(allowed.length).toBeGreaterThan(10);
    const missing = allowed.filter((k) => !floors.text.includes(`\`${k}`));
    expect(missing).toEqual([]);
  });

  test("the schema's enforce says where floors may appear", () => {
    expect(String((schema.properties!.enforce as JsonSchema).description)).toMatch(
      /only in the owner's \.github repository's \.github\/changegate\.yml/,
    );
  });
});
