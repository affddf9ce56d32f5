/**
 * declared-on: the head an emergency declaration was made on (issue 20: a declaration covers only
 * the commit it was made on, like an approval). GitHub's read gives who applied the label and when
 * (the newest LabeledEvent) but not which commit was the head then (GraphQL has no push time), so:
 *   1. on record already: an earlier evaluation of this PR established it for the same LabeledEvent
 *      (its time), and recorded it (`emergencyDeclaredOn` in the evaluation record);
 *   2. otherwise from the `pull_request.labeled` deliveries this run serves: GitHub's signed
 *      statement of the PR's head at the moment of labelling, matched to the read's LabeledEvent
 *      (same label, same actor, not older: src/policy/emergency.ts declaredOnFromClaims);
 *   3. otherwise unknown (null): the declaration applies to no head until the label is applied again.
 * A delivery can only narrow: the read must show the label, by someone allowed, and the head must
 * be the one the delivery named; a head pushed after the labelling never matches it.
 */
import type { Recorder } from "../audit/recorder.js";
import { isGatedBranch, type Config } from "../config/schema.js";
import { declaredOnFromClaims, emergencyLabelEvent, isEmergency } from "../policy/emergency.js";
import type { Evidence } from "../policy/types.js";
import type { LabelClaim, PrRef } from "../refs.js";

/** The evidence with `declaredOn` when the PR carries the emergency label (the same object otherwise). */
export async function withDeclaredOn<E extends Pick<Evidence, "repo" | "pr" | "labelHistory" | "declaredOn">>(
  recorder: Pick<Recorder, "declaredOn">,
  ref: PrRef,
  c: Config | null,
  evidence: E,
  claims: LabelClaim[] = [],
): Promise<E> {
  if (!c || !isEmergency(c, evidence.pr.labels)) return evidence;
  if (!isGatedBranch(c, evidence.pr.baseRef, evidence.repo.defaultBranch)) return evidence;
  const ev = emergencyLabelEvent(c, evidence);
  if (!ev) return evidence;
  const recorded = recorder.declaredOn ? await recorder.declaredOn(ref, ev.at) : null;
  const headSha = recorded ?? declaredOnFromClaims(c, ev, claims);
  return { ...evidence, declaredOn: { at: ev.at, headSha } };
}
