/** A small JSON-schema check for OpenAPI 3.0 schemas (type, nullable, required, enums, composition): REST answers (test/e2e/sim.test.ts) and webhook payloads (sim-branches). */
export function conforms(schema: any, value: unknown, spec: any, path = "$"): string[] {
  if (!schema) return [];
  if (schema.$ref) return conforms(resolveRef(spec, schema.$ref), value, spec, path);
  if (value === null)
    return schema.nullable || schema.type === undefined
      ? []
      : [`${path}: null where ${schema.type} expected`];
  if (schema.allOf) return schema.allOf.flatMap((s: any) => conforms(s, value, spec, path));
  if (schema.anyOf || schema.oneOf) {
    const options = schema.anyOf ?? schema.oneOf;
    return options.some((s: any) => conforms(s, value, spec, path).length === 0)
      ? []
      : [`${path}: matches none of ${options.length} alternatives`];
  }
  const t = schema.type;
  const actual = Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (t && !(t === actual || (t === "number" && actual === "integer")))
    return [`${path}: ${actual} where ${t} expected`];
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value))
    out.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (t === "object" && value && typeof value === "object") {
    for (const k of schema.required ?? []) if (!(k in (value as object))) out.push(`${path}.${k}: missing`);
    for (const [k, s] of Object.entries(schema.properties ?? {}))
      if (k in (value as object)) out.push(...conforms(s, (value as any)[k], spec, `${path}.${k}`));
  }
  if (t === "array" && Array.isArray(value))
    value.forEach((v, i) => out.push(...conforms(schema.items, v, spec, `${path}[${i}]`)));
  return out;
}

function resolveRef(spec: any, ref: string): any {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((o, k) => o?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
}
