/** Identifiers shared by the GitHub-facing stages. */
import type { PrRef } from "../refs.js";
export { prKey, type PrRef } from "../refs.js";

export function prLabel(ref: Pick<PrRef, "owner" | "repo" | "number">): string {
  return `${ref.owner}/${ref.repo}#${ref.number}`;
}
