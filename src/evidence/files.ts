/**
 * The PR's changed files as approvals.rules need them (whether: src/policy/needs.ts): the files past
 * the first 100 (GraphQL pages, github/rule-facts.ts), then the renamed files' old paths (REST,
 * only when one is RENAMED: github/renamed-files.ts).
 */
import { readMoreFiles } from "../github/rule-facts.js";
import type { GraphqlReader } from "../github/reader.js";
import { withPreviousPaths } from "../github/renamed-files.js";
import type { OctokitLike } from "../github/types.js";
import type { FilesNeed } from "../policy/needs.js";
import type { ChangedFiles } from "../policy/types.js";
import type { PrRef } from "../refs.js";

export async function completeFiles(
  reader: GraphqlReader,
  octokit: OctokitLike | null,
  ref: PrRef,
  files: ChangedFiles,
  need: FilesNeed,
): Promise<ChangedFiles> {
  const all = need.more
    ? await readMoreFiles(reader, need.more, files.paths, files.total, files.renamed ?? [])
    : files;
  return (all.renamed?.length ?? 0) > 0 ? withPreviousPaths(octokit, ref, all) : all;
}
