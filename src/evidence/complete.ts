/**
 * completeEvidence: the one read's evidence completed with what the policy needs beyond it
 * (src/policy/needs.ts), and nothing else. Two independent strands run at once:
 *   - the emergency declaration (the declarer's facts from GitHub, and the commit it was made on
 *     from the record), then the tickets, whose lookup may hang on whether it is accepted;
 *   - approvals.rules' changed files (pages past 100, renamed files' old paths), then the members
 *     of the teams a triggered rule needs.
 * Returns the completed evidence as a value. A failure waits for the other strand (no request is
 * left running) and throws a StageError naming its stage ("gather", or "tickets" for the lookup)
 * and carrying the evidence as far as it was completed: the failure is recorded with it.
 */
import type { Recorder } from "../audit/recorder.js";
import type { GraphqlReader } from "../github/reader.js";
import type { TeamCache } from "../github/team-cache.js";
import type { OctokitLike } from "../github/types.js";
import type { TicketLookupService } from "../jira/tickets.js";
import { lookUpTickets, teamsToRead, type BaseEvidence, type EvidenceNeeds } from "../policy/needs.js";
import type { Evidence, TicketEvidence } from "../policy/types.js";
import type { PrRef } from "../refs.js";
import { stage, StageError } from "../stage.js";
import { declaredOn } from "./declared-on.js";
import { askDeclarer } from "./declarer.js";
import { completeFiles } from "./files.js";
import { teamMembers } from "./teams.js";
import { ticketEvidence } from "./tickets.js";

/** Where the evidence beyond the one read comes from. */
export interface EvidenceSources {
  ref: PrRef;
  /** GraphQL: files pages, team members. */
  reader: GraphqlReader;
  /** REST: the declarer's permission or memberships, renamed files' old paths (null: not asked; renamed paths fail closed). */
  octokit: OctokitLike | null;
  /** Team members cached per installation (null: read every time). */
  teams: TeamCache | null;
  /** Which commit an emergency declaration was made on, as recorded (no `declaredOn`: nothing on record). */
  declarations: Pick<Recorder, "declaredOn">;
  tickets: TicketLookupService | null;
}

type Base = Omit<Evidence, "tickets">;
type Declaration = Pick<Evidence, "declarer" | "declaredOn">;
type RuleFacts = Pick<Evidence, "files" | "teams">;

/** No lookup made: the failure path records tickets as not needed. */
export const NO_TICKETS: TicketEvidence = { refs: [], lookup: { kind: "not_needed" } };

export async function completeEvidence(
  base: BaseEvidence,
  needs: EvidenceNeeds,
  sources: EvidenceSources,
): Promise<Evidence> {
  const e = base.evidence;
  const declaration = stage("gather", () => completeDeclaration(e, needs, sources));
  const tickets = declaration.then((d) =>
    stage("tickets", () =>
      ticketEvidence(needs.config, e.pr, e.commits, sources.tickets, lookUpTickets(needs, { ...e, ...d })),
    ),
  );
  const rules = stage("gather", () => completeRuleFacts(base, needs, sources));
  const [d, r, t] = await Promise.allSettled([declaration, rules, tickets]);
  const known: Base = { ...e, ...settled(d), ...settled(r) };
  const failed = [d, r, t].find((s) => s.status === "rejected");
  if (failed) {
    const err = (failed as PromiseRejectedResult).reason as StageError;
    throw err.knowing({ evidence: { ...known, tickets: settled(t) ?? NO_TICKETS } });
  }
  return { ...known, tickets: (t as PromiseFulfilledResult<TicketEvidence>).value };
}

/** The declarer's facts and the commit the emergency was declared on, when the policy needs them. */
export async function completeDeclaration(
  e: Base,
  needs: Pick<EvidenceNeeds, "declarer" | "declaredOn">,
  sources: Pick<EvidenceSources, "ref" | "octokit" | "declarations">,
): Promise<Declaration> {
  const { declarer: who, declaredOn: on } = needs;
  const { ref, octokit } = sources;
  if (who && !octokit) throw new Error("no GitHub client to ask about the emergency declarer");
  const [f, o] = await Promise.allSettled([
    who ? askDeclarer(octokit!, ref, who) : null,
    on ? declaredOn(sources.declarations, ref, on) : null,
  ]);
  if (f.status === "rejected") throw f.reason;
  if (o.status === "rejected") throw o.reason;
  const [facts, declared] = [f.value, o.value];
  return { ...(facts ? { declarer: facts } : {}), ...(declared ? { declaredOn: declared } : {}) };
}

async function completeRuleFacts(
  base: BaseEvidence,
  needs: Pick<EvidenceNeeds, "files" | "teams">,
  sources: EvidenceSources,
): Promise<RuleFacts> {
  const e = base.evidence;
  const files =
    needs.files && e.files
      ? await completeFiles(sources.reader, sources.octokit, sources.ref, e.files, needs.files)
      : e.files;
  if (!needs.teams) return files === e.files ? {} : { files };
  const wanted = teamsToRead(needs.teams, { ...e, files });
  const teams = await teamMembers(sources.reader, sources.teams, sources.ref, wanted);
  return {
    ...(files === e.files ? {} : { files }),
    ...(wanted.length > 0 ? { teams } : {}),
  };
}

function settled<T>(s: PromiseSettledResult<T>): T | undefined {
  return s.status === "fulfilled" ? s.value : undefined;
}
