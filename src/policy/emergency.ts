/**
 * emergency: does the emergency label on a PR switch it to the emergency rules? Only if whoever
 * applied it (the actor of the newest LabeledEvent of that label) may declare an emergency:
 *   - `emergency.allowed_declarers` set: a listed login, or an active member of a listed `org/team`;
 *     an unknown declarer is ignored (fail closed).
 *   - not set: anyone with write access to the repository, the PR author included (a 3 a.m. fix
 *     stays possible); an app is not accepted (an emergency is declared by a person); a declarer
 *     GitHub no longer knows (deleted account) is ignored (fail closed), and so is a label with no
 *     LabeledEvent at all in a complete timeline (which GitHub does not produce): nobody is known to
 *     have declared it, on no known commit. (Evidence with no timeline at all, from before changegate
 *     read one, is judged as it was then: accepted, the declarer unknown.)
 * Either way, a label whose LabeledEvent is older than the window changegate reads is ignored
 * (re-applying the label fixes that).
 * A declaration is tied to the head it was made on, like an approval: it applies only while the PR's
 * head is the commit it was made on (`declaredOn`, established from GitHub's signed `labeled`
 * delivery and kept on record: src/flows/declared-on.ts). After a new head it no longer applies
 * until someone allowed removes the label and applies it again; when changegate cannot tell which
 * commit it was made on, it applies to none (fail closed).
 * Pure: the facts come from src/github/declarer.ts and src/flows/declared-on.ts.
 */
import type { LabelClaim } from "../refs.js";
import type { Config, EmergencyDeclaration, Evidence, LabelEvent } from "./types.js";

type Facts = Pick<Evidence, "pr" | "labelHistory" | "declarer" | "declaredOn">;

/** Does the PR carry the emergency label (and is the emergency path enabled)? Says nothing about who applied it. */
export function isEmergency(c: Config, labels: string[]): boolean {
  return c.emergency.enabled && labels.some((l) => l.toLowerCase() === c.emergency.label.toLowerCase());
}

/** The newest LabeledEvent of the emergency label, if the timeline read has one. */
export function emergencyLabelEvent(c: Config, e: Pick<Evidence, "labelHistory">): LabelEvent | null {
  const name = c.emergency.label.toLowerCase();
  let newest: LabelEvent | null = null;
  for (const ev of e.labelHistory?.events ?? []) {
    if (ev.label.toLowerCase() !== name) continue;
    if (!newest || ev.at > newest.at) newest = ev;
  }
  return newest;
}

/** The login a declarer is known by in `allowed_declarers`: apps as `name[bot]`. */
export function declarerLogin(ev: LabelEvent | null): string | null {
  if (!ev?.actor) return null;
  return ev.actor.isBot && !ev.actor.login.endsWith("[bot]") ? `${ev.actor.login}[bot]` : ev.actor.login;
}

/** The `org/team` entries of allowed_declarers. */
export function declarerTeams(c: Config): string[] {
  return (c.emergency.allowed_declarers ?? []).filter((d) => d.includes("/"));
}

export function emergencyDeclaration(c: Config, e: Facts): EmergencyDeclaration {
  if (!isEmergency(c, e.pr.labels))
    return { labelled: false, declarer: null, at: null, accepted: false, reason: "" };
  const ev = emergencyLabelEvent(c, e);
  const login = declarerLogin(ev);
  const at = ev?.at ?? null;
  const allowed = c.emergency.allowed_declarers;
  const normal = "judged by the normal rules";
  // The head the declaration was made on: only for the newest LabeledEvent, whose time it names.
  const declaredOn = ev
    ? e.declaredOn && e.declaredOn.at === ev.at
      ? e.declaredOn.headSha
      : null
    : undefined;
  const on = declaredOn === undefined ? {} : { declaredOn };
  const ignore = (reason: string): EmergencyDeclaration => ({
    labelled: true,
    declarer: login,
    at,
    ...on,
    accepted: false,
    reason,
  });
  const accept = (reason: string): EmergencyDeclaration => {
    if (declaredOn === undefined) return { labelled: true, declarer: login, at, accepted: true, reason };
    if (declaredOn === null) {
      return ignore(
        `changegate cannot tell which commit the emergency label was applied on (it has no record of GitHub's labeled event for it), so the declaration applies to no commit: ${normal} (remove the label and apply it again)`,
      );
    }
    if (declaredOn !== e.pr.headSha) {
      return ignore(
        `the emergency was declared on commit ${declaredOn.slice(0, 7)} (${reason}), and the head is now ${e.pr.headSha.slice(0, 7)}, pushed since: a declaration covers only the commit it was made on, so ${normal} (someone allowed to declare can remove the label and apply it again)`,
      );
    }
    return { labelled: true, declarer: login, at, declaredOn, accepted: true, reason };
  };

  if (!ev && e.labelHistory?.truncated) {
    return ignore(
      `the emergency label was applied before the last 100 label events on this PR, so changegate cannot tell who applied it: ${normal} (remove the label and apply it again)`,
    );
  }
  if (allowed) {
    const list = allowed.join(", ");
    if (!login) {
      return ignore(
        `the emergency label was applied by an unknown user (${ev ? "the account no longer exists" : "no label event found"}), and emergency.allowed_declarers is set (allowed: ${list}): ${normal}`,
      );
    }
    if (allowed.some((a) => a.toLowerCase() === login.toLowerCase()))
      return accept(`declared by @${login}, an allowed declarer`);
    const facts = e.declarer && e.declarer.login.toLowerCase() === login.toLowerCase() ? e.declarer : null;
    const team = facts?.teams.find((t) => declarerTeams(c).some((d) => d.toLowerCase() === t.toLowerCase()));
    if (team) return accept(`declared by @${login}, a member of ${team} (an allowed declarer)`);
    if (!facts && declarerTeams(c).length > 0 && !ev!.actor!.isBot) {
      return ignore(
        `the emergency label was applied by @${login}, whose team membership changegate could not check: ${normal}`,
      );
    }
    return ignore(
      `the emergency label was applied by @${login}, who is not an allowed declarer (allowed: ${list}): ${normal}`,
    );
  }
  // GitHub records a LabeledEvent for every label applied, so a complete timeline without one is
  // data changegate cannot vouch for: who applied it and on which commit are unknown (fail closed).
  // Evidence with no timeline at all (a record from before changegate read timelines): as before,
  // accepted and recorded as unknown.
  if (!ev && !e.labelHistory)
    return accept("declared by an unknown user (the evidence carries no label events)");
  if (!ev)
    return ignore(
      `changegate found no record of who applied the emergency label or on which commit (GitHub's timeline has no label event for it): ${normal} (remove the label and apply it again)`,
    );
  // A deleted account's write access cannot be checked: it must not be a way in (fail closed).
  if (!login)
    return ignore(
      `the emergency label was applied by an account that no longer exists, so changegate cannot check its write access: ${normal} (apply the label again)`,
    );
  if (ev.actor!.isBot) {
    return ignore(
      `the emergency label was applied by the app @${login}, and only a person with write access may declare an emergency (list ${login} in emergency.allowed_declarers to allow it): ${normal}`,
    );
  }
  const facts = e.declarer && e.declarer.login.toLowerCase() === login.toLowerCase() ? e.declarer : null;
  if (facts?.canWrite === true) return accept(`declared by @${login}, who has write access`);
  if (facts?.canWrite === false)
    return ignore(
      `the emergency label was applied by @${login}, who has no write access to the repository: ${normal}`,
    );
  return ignore(
    `the emergency label was applied by @${login}, whose write access changegate could not check: ${normal}`,
  );
}

/** How far (ms) a `labeled` delivery's updated_at may precede the LabeledEvent's createdAt and still be that event's. */
export const CLAIM_SLACK_MS = 2_000;

/**
 * The head the newest emergency LabeledEvent `ev` was applied on, from the `labeled` deliveries
 * this run serves: those for the same label, by the event's actor, and not older than the event
 * (an earlier labelling's delivery says nothing about this one). One head named by all of them:
 * that head; none, or deliveries naming different heads: null (unknown, the declaration applies
 * to no head).
 */
export function declaredOnFromClaims(c: Config, ev: LabelEvent, claims: LabelClaim[]): string | null {
  const login = declarerLogin(ev)?.toLowerCase();
  if (!login) return null;
  const name = c.emergency.label.toLowerCase();
  const at = Date.parse(ev.at);
  if (Number.isNaN(at)) return null;
  const heads = new Set(
    claims
      .filter(
        (k) =>
          k.label.toLowerCase() === name &&
          k.sender.toLowerCase() === login &&
          Date.parse(k.at) >= at - CLAIM_SLACK_MS,
      )
      .map((k) => k.headSha.toLowerCase()),
  );
  return heads.size === 1 ? [...heads][0]! : null;
}
