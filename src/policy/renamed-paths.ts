/**
 * Renamed files and approvals.rules. GitHub's GraphQL files list names only a renamed file's NEW
 * path, so a PR moving `infra/main.tf` to `docs/main.tf` would otherwise never touch `infra/**` nor
 * infra's CODEOWNERS. A rename changes both places: both the old and the new path count for matching
 * (paths and CODEOWNERS). The old paths are read by src/github/renamed-files.ts; when they could not
 * be read, a rule needing files fails closed (src/policy/rules.ts). Pure.
 */
import type { ChangedFiles } from "./types.js";

/** The paths a rule matches against: every changed path, then the renamed files' previous paths. */
export function pathsToMatch(files: ChangedFiles): string[] {
  const previous = files.previous?.paths ?? [];
  if (previous.length === 0) return files.paths;
  const seen = new Set(files.paths);
  return [...files.paths, ...previous.filter((p) => !seen.has(p) && (seen.add(p), true))];
}

/** Why the renamed files' previous paths are not all known; null when there is no rename or they are. */
export function renamesUnseen(files: ChangedFiles): string | null {
  const renamed = files.renamed?.length ?? 0;
  if (renamed === 0) return null;
  const what = renamed === 1 ? "a renamed file" : `${renamed} renamed files`;
  if (!files.previous)
    return `the previous path of ${what} could not be read, so changegate cannot see what the rename moved out of`;
  if (!files.previous.complete) {
    return `the previous path of ${what} could not be read (${files.previous.problem ?? "incomplete answer"}), so changegate cannot see what the rename moved out of`;
  }
  return null;
}
