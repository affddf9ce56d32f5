/**
 * `membership` and `team` webhooks (approvals.rules): a team's members changed, or the team itself
 * did. Its cached members are forgotten, and every PR last judged with that team is evaluated
 * again (GitHub's read decides; the payload only says which team).
 */
import type { Probot } from "probot";
import type { TeamCache } from "../github/team-cache.js";
import { newJob } from "../intake/job.js";
import type { Intake } from "../intake/intake.js";

export interface TeamEventDeps {
  intake: Intake;
  teams: TeamCache;
}

interface TeamPayload {
  installation?: { id?: number };
  organization?: { login?: string };
  team?: { slug?: string };
}

export function onTeam(app: Probot, { intake, teams }: TeamEventDeps): void {
  app.on(["membership", "team"], async (context) => {
    const p = context.payload as TeamPayload;
    const installationId = p.installation?.id;
    const org = p.organization?.login;
    if (!installationId || !org) return;
    // A `team` event may rename the team (the payload has the new slug): forget the whole organisation's teams.
    const slug = context.name === "membership" && typeof p.team?.slug === "string" ? p.team.slug : null;
    const refs = teams.invalidate(installationId, org, slug);
    await intake.take(
      context,
      () => [],
      () =>
        refs.map((ref) =>
          newJob({
            ref,
            deliveryId: context.id,
            event: `${context.name}.${(context.payload as { action?: string }).action ?? ""}`,
          }),
        ),
    );
  });
}
