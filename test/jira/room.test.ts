/**
 * docs/architecture.md: src/jira/ may import policy/, report/ and refs, nothing else of changegate
 * (not github/, config/, audit/ or the process rooms): Jira I/O stays usable without them.
 */
import { expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOM = join(process.cwd(), "src/jira");
const ALLOWED = [
  /^\.\/[a-z-]+\.js$/,
  /^\.\.\/policy\/[a-z-]+\.js$/,
  /^\.\.\/report\/[a-z-]+\.js$/,
  /^\.\.\/refs\.js$/,
];

test("src/jira/ imports only itself, policy/, report/ and refs", () => {
  const files = readdirSync(ROOM).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(5);
  const outside: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(ROOM, f), "utf8");
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) continue; // packages and node: built-ins
      if (!ALLOWED.some((r) => r.test(spec))) outside.push(`${f}: ${spec}`);
    }
  }
  expect(outside).toStrictEqual([]);
});
