/**
 * GitHub's example webhook payloads (@octokit/webhooks-examples): templates for the payloads and
 * REST objects the simulator produces, and the corpus of the robustness sweep.
 */
import { createRequire } from "node:module";

export interface ExampleGroup {
  name: string;
  actions: string[];
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
let loaded: ExampleGroup[] | null = null;

export function allExamples(): ExampleGroup[] {
  loaded ??= require("@octokit/webhooks-examples/api.github.com/index.json") as ExampleGroup[];
  return loaded;
}

/** A deep copy of the first example of `name` (with `action`, if given). */
export function example(name: string, action?: string | null): Record<string, unknown> {
  const group = allExamples().find((g) => g.name === name);
  if (!group) throw new Error(`no webhook example for ${name}`);
  const ex = action ? group.examples.find((e) => e.action === action) : group.examples[0];
  if (!ex) throw new Error(`no webhook example for ${name}.${action}`);
  return structuredClone(ex);
}

export function hasExample(name: string, action?: string | null): boolean {
  const group = allExamples().find((g) => g.name === name);
  return !!group && (action ? group.examples.some((e) => e.action === action) : group.examples.length > 0);
}

/** Replace substrings in every string of a JSON value (URLs and names of the example's repository). */
export function rewrite<T>(value: T, pairs: [string, string][]): T {
  if (typeof value === "string") {
    let s: string = value;
    for (const [from, to] of pairs) s = s.split(from).join(to);
    return s as T;
  }
  if (Array.isArray(value)) return value.map((v) => rewrite(v, pairs)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rewrite(v, pairs);
    return out as T;
  }
  return value;
}
