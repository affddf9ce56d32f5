/**
 * needs: what a policy needs to know about a PR beyond the one read (github/gather), decided from
 * the policy and that read alone. Pure: src/evidence/complete.ts asks for exactly this, and nothing
 * when nothing is needed (an ordinary PR costs one read):
 *   - declarer: who applied the emergency label — their write access (the default rule) or their
 *     membership of the allowed_declarers teams — only when the PR carries the label into a gated
 *     branch, the labeller is a known person, and the policy does not already name them;
 *   - declaredOn: which commit the label was applied on (on record, or the `labeled` deliveries
 *     this run serves), under the same conditions, whoever applied it;
 *   - files: the changed files past the first 100 and the renamed files' old paths, only when a rule
 *     has paths or codeowners;
 *   - teams: members of the teams a triggered rule names, only when someone eligible approved:
 *     which teams is known once the files are (`teamsToRead`);
 *   - tickets: the Jira lookup, when tickets are required; for a PR carrying the emergency label
 *     whose two settings differ (tickets.required, emergency.require_ticket) whether the declaration
 *     is accepted decides, known once the declarer is (`lookUpTickets`).
 */
import { isGatedBranch } from "../config/schema.js";
import type { ReviewRuleConfig } from "../config/rules-schema.js";
import {
  declaredOnFromClaims,
  declarerLogin,
  declarerTeams,
  emergencyDeclaration,
  emergencyLabelEvent,
  isEmergency,
} from "./emergency.js";
import { MAX_PR_FILES, needsFiles, teamsNeeded, type RuleSettings } from "./rules.js";
import type { LabelClaim } from "../refs.js";
import type { Config, Evidence } from "./types.js";

/** The one read's evidence (no tickets yet) and where its changed files continue past the first 100. */
export interface BaseEvidence {
  evidence: Omit<Evidence, "tickets">;
  filesNext?: { prId: string; after: string };
}

/** Ask GitHub about the emergency declarer. */
export interface DeclarerQuestion {
  login: string;
  /** allowed_declarers' `org/team` entries to ask for an active membership, in order until one says yes; null: ask for write access. */
  teams: string[] | null;
}

/** Which commit the emergency label's newest LabeledEvent was applied on. */
export interface DeclaredOnQuestion {
  /** The LabeledEvent's time (what the record is looked up by). */
  at: string;
  /** The head this run's `labeled` deliveries named for it (declaredOnFromClaims), when the record has none. */
  fromClaims: string | null;
}

export interface FilesNeed {
  /** Page the changed files from this cursor (null: the read has them all, or they are past GitHub's cap). */
  more: { prId: string; after: string } | null;
}

export interface TeamsNeed {
  rules: ReviewRuleConfig[];
  settings: RuleSettings;
}

export interface TicketsNeed {
  /** Look the keys up always, or only when the emergency declaration is accepted ("emergency") or is not ("normal"). */
  when: "always" | "emergency" | "normal";
}

export interface EvidenceNeeds {
  /** The policy's config the needs are of (ticket keys, and the emergency declaration once the declarer is known). */
  config: Config;
  declarer: DeclarerQuestion | null;
  declaredOn: DeclaredOnQuestion | null;
  files: FilesNeed | null;
  /** Team members may be needed (rules exist): which, once the files are known (`teamsToRead`). */
  teams: TeamsNeed | null;
  /** null: no lookup (the ticket keys are still listed). */
  tickets: TicketsNeed | null;
}

/** What `config` needs beyond `base`; `claims`: the `labeled` deliveries this run serves. */
export function evidenceNeeds(config: Config, base: BaseEvidence, claims: LabelClaim[] = []): EvidenceNeeds {
  const e = base.evidence;
  const gated = isGatedBranch(config, e.pr.baseRef, e.repo.defaultBranch);
  const labelled = isEmergency(config, e.pr.labels);
  const ev = labelled && gated ? emergencyLabelEvent(config, e) : null;
  return {
    config,
    declarer: ev ? declarerQuestion(config, ev) : null,
    declaredOn: ev ? { at: ev.at, fromClaims: declaredOnFromClaims(config, ev, claims) } : null,
    ...ruleNeeds(config, base),
    tickets: gated ? ticketsNeed(config, labelled) : null,
  };
}

function declarerQuestion(
  c: Config,
  ev: NonNullable<ReturnType<typeof emergencyLabelEvent>>,
): DeclarerQuestion | null {
  const login = declarerLogin(ev);
  // Unknown declarers and apps are decided without asking anyone.
  if (!login || !ev.actor || ev.actor.isBot) return null;
  const allowed = c.emergency.allowed_declarers;
  if (!allowed) return { login, teams: null };
  if (allowed.some((a) => a.toLowerCase() === login.toLowerCase())) return null;
  return { login, teams: declarerTeams(c) };
}

function ruleNeeds(c: Config, base: BaseEvidence): Pick<EvidenceNeeds, "files" | "teams"> {
  const rules = c.approvals.rules ?? [];
  if (rules.length === 0) return { files: null, teams: null };
  const files = base.evidence.files;
  const pages = files && !files.complete && base.filesNext && files.total <= MAX_PR_FILES;
  return {
    files: rules.some(needsFiles) && files ? { more: pages ? base.filesNext! : null } : null,
    teams: {
      rules,
      settings: {
        dismissStale: c.approvals.dismiss_stale,
        allowContributors: c.approvals.allow_contributors,
      },
    },
  };
}

function ticketsNeed(c: Config, labelled: boolean): TicketsNeed | null {
  const normal = c.tickets.required;
  // Without the label the declaration cannot be accepted: tickets.required decides now.
  if (!labelled) return normal ? { when: "always" } : null;
  const emergency = c.emergency.require_ticket;
  if (normal === emergency) return normal ? { when: "always" } : null;
  return { when: emergency ? "emergency" : "normal" };
}

/** The teams whose members `need` asks for, given the evidence with its files completed. */
export function teamsToRead(need: TeamsNeed, evidence: Omit<Evidence, "tickets">): string[] {
  return teamsNeeded(
    need.rules,
    { ...evidence, tickets: { refs: [], lookup: { kind: "not_needed" } } },
    need.settings,
  );
}

/** Look the tickets up? Given the evidence with the declarer's facts (and declaredOn) in. */
export function lookUpTickets(
  needs: Pick<EvidenceNeeds, "config" | "tickets">,
  evidence: Pick<Evidence, "pr" | "labelHistory" | "declarer" | "declaredOn">,
): boolean {
  const when = needs.tickets?.when;
  if (!when) return false;
  if (when === "always") return true;
  const accepted = emergencyDeclaration(needs.config, evidence).accepted;
  return when === "emergency" ? accepted : !accepted;
}
