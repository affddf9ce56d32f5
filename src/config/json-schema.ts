/**
 * The policy's JSON Schema, generated from the zod schema (schema.ts) so editors can validate and
 * complete `.github/changegate.yml`. `npm run schema` writes it to schema/changegate.schema.json;
 * a test fails when that file is not current. Pure.
 *
 * The JSON Schema describes the file's input form (before defaults and transforms). What it cannot
 * express (cross-key rules such as "tickets.required needs tickets.projects", glob syntax) is left
 * to `changegate config check`, which runs the app's own loader.
 */
import { z } from "zod";
import { defaultConfig, requiredCheck } from "./schema.js";
import { configSchema } from "./schema.js";
import { KEY_DESCRIPTIONS } from "./descriptions.js";
import { enforceSchema } from "./floors.js";

export type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

/** The two forms a ci.required entry may take, as JSON Schema (the zod side is a custom parser). */
const requiredCheckInput = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1),
    app: z.string().min(1).optional(),
    creator: z.string().min(1).optional(),
  }),
]);

export function policyJsonSchema(): JsonSchema {
  const entry = withoutDialect(z.toJSONSchema(requiredCheckInput) as JsonSchema);
  const objectForm = (entry.anyOf as JsonSchema[])[1]!;
  // Exactly one of app / creator when the mapping form is used.
  objectForm.oneOf = [{ required: ["app"] }, { required: ["creator"] }];
  const input = requiredCheck._zod.def.in;
  const toJson = (zodSchema: z.ZodType) =>
    z.toJSONSchema(zodSchema, {
      io: "input",
      unrepresentable: "any",
      override: (ctx) => {
        if (ctx.zodSchema === requiredCheck || ctx.zodSchema === input) {
          for (const k of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[k];
          Object.assign(ctx.jsonSchema, structuredClone(entry));
        }
      },
    }) as JsonSchema;
  const schema = toJson(configSchema);
  // enforce: the org file's floors (only the owner's .github repository's file may hold them;
  // `changegate config check` says so for any other file: a JSON Schema cannot know which file it is).
  const enforce = withoutDialect(toJson(enforceSchema));

  const out: JsonSchema = {
    $schema: schema.$schema,
    title: "changegate policy (.github/changegate.yml)",
    description:
      "The changegate policy. Validate a file with `changegate config check FILE`; docs/policy.md explains every key.",
    ...withoutDialect(schema),
  };
  out.properties = {
    _extends: { type: "string", minLength: 1 },
    ...out.properties,
    enforce: { description: ENFORCE_DESCRIPTION, ...enforce },
  };
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  for (const key of schemaKeys(out)) {
    const description = key.path.startsWith("enforce.")
      ? floorDescription(key.path.slice("enforce.".length))
      : KEY_DESCRIPTIONS[key.path];
    if (description !== undefined && key.node.description === undefined) key.node.description = description;
    if (key.leaf && key.node.default === undefined) {
      // Defaults zod applies after a transform do not show in the input form: take them from the parsed defaults.
      const value = valueAt(defaults, key.path);
      if (value !== undefined) key.node.default = value;
    }
  }
  return out;
}

/** The org floors section and its keys: where they may appear, and what a floor of each key means. */
const ENFORCE_DESCRIPTION =
  "Org floors: only in the owner's .github repository's .github/changegate.yml (an error in any other file). They apply to every repository of the installation, which may tighten a floor, never weaken it. Check the file with `changegate config check --org`.";

function floorDescription(key: string): string | undefined {
  const d = KEY_DESCRIPTIONS[key];
  return d === undefined
    ? undefined
    : `Org floor for ${key} (a repository may tighten it, never weaken it). ${d}`;
}

/** The schema as the committed file holds it. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}

export interface SchemaKey {
  /** Dotted key path, e.g. "approvals.required". */
  path: string;
  node: JsonSchema;
  /** Not a mapping of further keys (a scalar, a list, a mapping without named keys). */
  leaf: boolean;
}

/** Every key of the policy, depth first, in schema order (lists are not entered). */
export function schemaKeys(schema: JsonSchema, prefix = ""): SchemaKey[] {
  const out: SchemaKey[] = [];
  for (const [name, node] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const object = objectWithKeys(node);
    out.push({ path, node, leaf: object === null });
    if (object) out.push(...schemaKeys(object, path));
  }
  return out;
}

/** The node itself when it names keys, or the one branch of an anyOf/oneOf (e.g. an optional section) that does. */
function objectWithKeys(node: JsonSchema): JsonSchema | null {
  if (node.properties && Object.keys(node.properties).length > 0) return node;
  for (const k of ["anyOf", "oneOf", "allOf"] as const) {
    const branches =
      (node[k] as JsonSchema[] | undefined)?.filter(
        (b) => b.properties && Object.keys(b.properties).length > 0,
      ) ?? [];
    if (branches.length === 1) return branches[0]!;
  }
  return null;
}

function valueAt(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function withoutDialect(s: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = s;
  return rest;
}
