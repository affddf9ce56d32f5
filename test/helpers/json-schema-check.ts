/**
 * A JSON Schema check for the keywords our generated policy schema uses (draft 2020-12 subset).
 * A keyword it does not know is an error, never ignored: a schema that grew one fails loudly here
 * instead of passing a document unchecked.
 */
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["$schema", "title", "description", "default", "examples"]);
const KNOWN = new Set([
  "type",
  "properties",
  "additionalProperties",
  "required",
  "items",
  "anyOf",
  "oneOf",
  "allOf",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Problems of `value` against `schema`, each with its JSON path; [] when it conforms. */
export function schemaProblems(schema: Schema | boolean, value: unknown, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: not allowed here`];
  for (const k of Object.keys(schema))
    if (!KNOWN.has(k) && !ANNOTATIONS.has(k))
      throw new Error(`json-schema-check: unknown keyword "${k}" at ${path}`);
  const out: string[] = [];
  const t = schema.type as string | string[] | undefined;
  if (t !== undefined) {
    const types = Array.isArray(t) ? t : [t];
    const actual = typeOf(value);
    if (!types.some((x) => x === actual || (x === "number" && actual === "integer")))
      return [`${path}: ${actual} where ${types.join("|")} expected`];
  }
  if (schema.enum && !(schema.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(value)))
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value))
    out.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum)
      out.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum)
      out.push(`${path}: above ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum)
      out.push(`${path}: not above ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum)
      out.push(`${path}: not below ${schema.exclusiveMaximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength)
      out.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength)
      out.push(`${path}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      out.push(`${path}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems)
      out.push(`${path}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems)
      out.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined)
      value.forEach((v, i) => out.push(...schemaProblems(schema.items as Schema, v, `${path}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const k of (schema.required ?? []) as string[]) if (!(k in obj)) out.push(`${path}.${k}: missing`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) out.push(...schemaProblems(props[k]!, v, `${path}.${k}`));
      else if (schema.additionalProperties !== undefined)
        out.push(
          ...schemaProblems(schema.additionalProperties as Schema | boolean, v, `${path}.${k}`).map((p) =>
            schema.additionalProperties === false ? `${path}.${k}: unknown key` : p,
          ),
        );
    }
  }
  for (const sub of (schema.allOf ?? []) as Schema[]) out.push(...schemaProblems(sub, value, path));
  if (schema.anyOf && !(schema.anyOf as Schema[]).some((s) => schemaProblems(s, value, path).length === 0)) {
    out.push(
      `${path}: matches none of the ${(schema.anyOf as Schema[]).length} forms (${(schema.anyOf as Schema[]).map((s) => schemaProblems(s, value, path).join("; ")).join(" | ")})`,
    );
  }
  if (schema.oneOf) {
    const n = (schema.oneOf as Schema[]).filter((s) => schemaProblems(s, value, path).length === 0).length;
    if (n !== 1) out.push(`${path}: matches ${n} of the oneOf forms (exactly one expected)`);
  }
  return out;
}
