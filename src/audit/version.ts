/** changegate's own version (package.json), recorded with every audit record and export. */
import { readFileSync } from "node:fs";

let cached: string | null = null;

export function changegateVersion(): string {
  if (cached !== null) return cached;
  try {
    // src/audit/version.ts and lib/audit/version.js both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    cached = typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    cached = "unknown";
  }
  return cached;
}
