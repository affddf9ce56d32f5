/**
 * The org floors in the digest: each key where the owner's `.github` policy overrode this
 * repository's policy, and why. Pure; every piece of file-derived text goes through escape.ts.
 */
import type { Policy } from "../policy/types.js";
import { code, md } from "./escape.js";

const MAX_NOTES = 20;

export function floorLines(policy: Policy): string[] {
  const f = policy.floors;
  if (!f || f.notes.length === 0) return [];
  const out = [
    `> [!IMPORTANT]\n> **Org floors applied** (from ${md(f.location, 200)}): a repository's policy can tighten them, not weaken them.`,
  ];
  for (const n of f.notes.slice(0, MAX_NOTES)) out.push(`> - ${code(n.key, 60)}: ${md(n.message, 400)}`);
  if (f.notes.length > MAX_NOTES) out.push(`> - … and ${f.notes.length - MAX_NOTES} more`);
  out.push("");
  return out;
}
