/**
 * The previous paths of a PR's renamed files, for approvals.rules. GraphQL's PullRequestChangedFile
 * has `changeType` (RENAMED) but no previous path (checked against @octokit/graphql-schema), so they
 * come from REST `GET /repos/{owner}/{repo}/pulls/{pull_number}/files` (`previous_filename`):
 * per_page 100, at most 3,000 files in all (GitHub's cap), paged only until every renamed file is
 * found. Read only when a rule has paths or codeowners AND the evidence names a RENAMED file, and the
 * files are complete (past 3,000 the rule fails closed anyway). Never throws: a failed or incomplete
 * read is recorded in `files.previous`, and the rules needing files fail closed
 * (src/policy/renamed-paths.ts), with a message naming no secret and no file.
 */
import { z } from "zod";
import type { ChangedFiles } from "../policy/types.js";
import type { PrRef } from "../refs.js";
import type { OctokitLike } from "./types.js";

/** GitHub's REST page size bound, and its cap on the files list. */
export const FILES_PER_PAGE = 100;
export const MAX_LISTED_FILES = 3000;

const restFile = z.object({
  filename: z.string(),
  status: z.string(),
  previous_filename: z.string().optional(),
});
const restPage = z.array(restFile).max(FILES_PER_PAGE);

/** `files` with `previous` filled in when it has renamed files (the same object otherwise). */
export async function withPreviousPaths(
  octokit: OctokitLike | null,
  ref: Pick<PrRef, "owner" | "repo" | "number">,
  files: ChangedFiles,
): Promise<ChangedFiles> {
  const renamed = files.renamed ?? [];
  if (renamed.length === 0 || !files.complete || files.previous) return files;
  if (!octokit)
    return { ...files, previous: { paths: [], complete: false, problem: "no REST client to read them" } };
  const wanted = new Set(renamed);
  const previous: string[] = [];
  try {
    for (let page = 1; wanted.size > 0 && page <= MAX_LISTED_FILES / FILES_PER_PAGE; page++) {
      const answer = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", {
        owner: ref.owner,
        repo: ref.repo,
        pull_number: ref.number,
        per_page: FILES_PER_PAGE,
        page,
      });
      const parsed = restPage.safeParse(answer.data);
      if (!parsed.success)
        return {
          ...files,
          previous: { paths: previous, complete: false, problem: "GitHub's files list was malformed" },
        };
      for (const f of parsed.data) {
        if (f.status !== "renamed" || !wanted.has(f.filename)) continue;
        wanted.delete(f.filename);
        if (f.previous_filename) previous.push(f.previous_filename);
        else
          return {
            ...files,
            previous: {
              paths: previous,
              complete: false,
              problem: "GitHub's files list gave a renamed file without its previous path",
            },
          };
      }
      if (parsed.data.length < FILES_PER_PAGE) break;
    }
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    const why = typeof status === "number" ? `GitHub answered ${status}` : "the request failed";
    return { ...files, previous: { paths: previous, complete: false, problem: why } };
  }
  if (wanted.size > 0) {
    return {
      ...files,
      previous: {
        paths: previous,
        complete: false,
        problem: `GitHub's files list did not name ${wanted.size === 1 ? "it" : `${wanted.size} of them`}`,
      },
    };
  }
  return { ...files, previous: { paths: previous, complete: true } };
}
