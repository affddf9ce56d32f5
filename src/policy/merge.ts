/**
 * merge: how a merge is judged. Pure: the caller reads the PR (GitHub's read, never the webhook
 * payload) and the PR's own verdict for the merged head as recorded before the merge, and hands
 * them in as data. Not the check run, which a commit shares with every PR whose head it is.
 */
import { isGatedBranch } from "../config/schema.js";
import { emergencyDeclaration, isEmergency } from "./emergency.js";
import type { Config, Evidence } from "./types.js";

/** The merged PR's own recorded verdict at the merged head (the shape the recorder returns). */
export interface RecordedVerdict {
  /** The base branch it was judged against. */
  base: string;
  outcome: "success" | "failure" | "pending";
  emergency: boolean;
}

export type MergeOutcome = RecordedVerdict["outcome"] | "none";

export interface MergeJudgement {
  /** The standing verdict's outcome; "none" when changegate never judged this head into this base. */
  outcome: MergeOutcome;
  gated: boolean;
  emergency: boolean;
  /** A merge into a gated branch while the standing verdict was anything but success. */
  bypass: boolean;
}

/**
 * A bypass: a merge into a gated branch while the merged PR's own verdict on the merged head was
 * anything but success (failure, pending, or never judged). Absent `gated` counts as gated.
 */
export function isBypass(merge: { outcome: MergeOutcome; gated?: boolean }): boolean {
  return (merge.gated ?? true) && merge.outcome !== "success";
}

/** The recorded verdict that stands for this merge: judged into another base (retargeted since), it is none. */
export function standingVerdict<V extends RecordedVerdict>(
  own: V | null | undefined,
  baseRef: string,
): V | null {
  return own && own.base === baseRef ? own : null;
}

/**
 * Must the emergency label's declarer be looked up (a GitHub read) before judging? Only with no
 * standing verdict, a valid policy, and the emergency label on the PR.
 */
export function mergeNeedsDeclarer(
  config: Config | null,
  labels: string[],
  standing: RecordedVerdict | null,
): boolean {
  return !standing && config !== null && isEmergency(config, labels);
}

/**
 * Judge a merge. `config` is null for an invalid policy (everything is gated: fail closed).
 * An emergency only if the declaration was accepted: as the standing verdict judged it, or, with
 * none, as judged now from `evidence` (with the declarer's facts; a label applied by someone not
 * allowed is not one).
 */
export function judgeMerge(
  config: Config | null,
  evidence: Pick<Evidence, "pr" | "labelHistory" | "declarer">,
  own: RecordedVerdict | null | undefined,
  defaultBranch: string,
): MergeJudgement {
  const pr = evidence.pr;
  const gated = config ? isGatedBranch(config, pr.baseRef, defaultBranch) : true;
  const standing = standingVerdict(own, pr.baseRef);
  const outcome: MergeOutcome = standing?.outcome ?? "none";
  const emergency = standing
    ? standing.emergency
    : config !== null && isEmergency(config, pr.labels) && emergencyDeclaration(config, evidence).accepted;
  return { outcome, gated, emergency, bypass: isBypass({ outcome, gated }) };
}
