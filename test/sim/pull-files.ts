/** A PR's changed file as GitHub's REST files list shows it (`GET /repos/{o}/{r}/pulls/{n}/files`, diff-entry). */
import type { SimPull } from "./model.js";

export function pullFileJson(
  apiBase: string,
  pr: Pick<SimPull, "repo" | "renames">,
  filename: string,
): Record<string, unknown> {
  const previous = pr.renames && Object.hasOwn(pr.renames, filename) ? pr.renames[filename] : undefined;
  const sha = "0".repeat(40);
  const web = apiBase.replace(/\/api\/v3$/, "");
  return {
    sha,
    filename,
    status: previous !== undefined ? "renamed" : "modified",
    additions: previous !== undefined ? 0 : 1,
    deletions: 0,
    changes: previous !== undefined ? 0 : 1,
    blob_url: `${web}/${pr.repo}/blob/${sha}/${encodeURI(filename)}`,
    raw_url: `${web}/${pr.repo}/raw/${sha}/${encodeURI(filename)}`,
    contents_url: `${apiBase}/repos/${pr.repo}/contents/${encodeURI(filename)}?ref=${sha}`,
    ...(previous !== undefined ? { previous_filename: previous } : {}),
  };
}
