/**
 * push-gate: is a branch gated for a push (or for the scan's window)? A push can change the policy
 * file itself, so the policy read after it cannot be the only judge: a direct push to main that
 * rewrites `.github/changegate.yml` to `branches: [release]` would ungate the very push that did
 * it. A branch is gated when the policy now (after the push) OR the earlier one (before the push;
 * the scan: at the start of its window) gates it — the stricter of the two. A policy that is
 * invalid or unknown (null config) gates every branch (fail closed). Pure.
 */
import { isGatedBranch, type Config } from "../config/schema.js";

/** One policy as read at one point: its config (null: invalid or unknown, gates every branch) and where it came from. */
export interface PolicyPoint {
  config: Config | null;
  /** "owner/name:.github/changegate.yml", "defaults", "invalid policy (…): every branch gated", … */
  source: string;
}

export interface PushGate {
  gated: boolean;
  /** The policy that gated it (the one after the push when both do), or the one after when none does. */
  policySource: string;
  /** Which point gated it: "now" (after the push), "earlier" (before the push or at the window's start), null: not gated. */
  by: "now" | "earlier" | null;
}

function gates(p: PolicyPoint, branch: string, defaultBranch: string): boolean {
  return p.config === null || isGatedBranch(p.config, branch, defaultBranch);
}

export function pushGate(
  branch: string,
  defaultBranch: string,
  now: PolicyPoint,
  earlier: PolicyPoint | null,
): PushGate {
  if (gates(now, branch, defaultBranch)) return { gated: true, policySource: now.source, by: "now" };
  if (earlier && gates(earlier, branch, defaultBranch))
    return { gated: true, policySource: earlier.source, by: "earlier" };
  return { gated: false, policySource: now.source, by: null };
}

const GLOB = /[*?[\]{}!()+@]/;

/**
 * The branches the scan reads: the default branch and every literal (glob-free) name in either
 * policy's `branches`; a glob matches no list of refs here. Then only those gated by either policy.
 */
export function scannableBranches(
  defaultBranch: string,
  now: PolicyPoint,
  earlier: PolicyPoint | null,
): { branch: string; gate: PushGate }[] {
  const names = new Set([defaultBranch]);
  for (const p of [now, earlier]) for (const b of p?.config?.branches ?? []) if (!GLOB.test(b)) names.add(b);
  return [...names]
    .map((branch) => ({ branch, gate: pushGate(branch, defaultBranch, now, earlier) }))
    .filter((b) => b.gate.gated);
}
