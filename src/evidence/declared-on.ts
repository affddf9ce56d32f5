/**
 * declared-on: the head an emergency declaration was made on (issue 20: a declaration covers only
 * the commit it was made on, like an approval). GitHub's read gives who applied the label and when
 * (the newest LabeledEvent) but not which commit was the head then (GraphQL has no push time), so:
 *   1. on record already: an earlier evaluation of this PR established it for the same LabeledEvent
 *      (its time), and recorded it (`emergencyDeclaredOn` in the evaluation record);
 *   2. otherwise from the `pull_request.labeled` deliveries this run serves: GitHub's signed
 *      statement of the PR's head at the moment of labelling, matched to the read's LabeledEvent
 *      (same label, same actor, not older: src/policy/emergency.ts declaredOnFromClaims, asked by
 *      src/policy/needs.ts);
 *   3. otherwise unknown (null): the declaration applies to no head until the label is applied again.
 * A delivery can only narrow: the read must show the label, by someone allowed, and the head must
 * be the one the delivery named; a head pushed after the labelling never matches it.
 */
import type { Recorder } from "../audit/recorder.js";
import type { DeclaredOnQuestion } from "../policy/needs.js";
import type { DeclaredOn } from "../policy/types.js";
import type { PrRef } from "../refs.js";

export async function declaredOn(
  recorder: Pick<Recorder, "declaredOn">,
  ref: PrRef,
  q: DeclaredOnQuestion,
): Promise<DeclaredOn> {
  const recorded = recorder.declaredOn ? await recorder.declaredOn(ref, q.at) : null;
  return { at: q.at, headSha: recorded ?? q.fromClaims };
}
