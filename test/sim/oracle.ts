/**
 * The oracle: what changegate should show for a PR given the simulator's current state. It reads the
 * state with changegate's own gather (in process, straight into the simulator's GraphQL) and runs
 * the pure stages (policy, evaluate, render) on it, so a final check or digest that differs from it
 * was left behind by a lost, stale or out-of-order evaluation.
 */
import { loadPolicy } from "../../src/config/load.js";
import { isGatedBranch, type Config } from "../../src/config/schema.js";
import { gather, readFile } from "../../src/github/gather.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import type { TicketLookupService } from "../../src/jira/tickets.js";
import { declarerFacts } from "../../src/evidence/declarer.js";
import { ticketEvidence } from "../../src/evidence/tickets.js";
import type { Writer } from "../../src/github/publish.js";
import { emergencyDeclaration, evaluate, ticketsRequired } from "../../src/policy/evaluate.js";
import { emergencyLabelEvent, isEmergency } from "../../src/policy/emergency.js";
import type { Evidence } from "../../src/policy/types.js";
import { renderConfigProblem, renderVerdict } from "../../src/report/digest.js";
import type { Report } from "../../src/report/types.js";
import { executeGraphql } from "./graphql.js";
import type { JiraModel } from "./jira.js";
import type { GitHubModel, SimPull } from "./model.js";

export function inProcessReader(model: GitHubModel, appId: number, installationId: number): GraphqlReader {
  let reads = 0;
  const installation = model.installations.get(installationId)!;
  const app = model.app(appId);
  return {
    get reads() {
      return reads;
    },
    async query(query, variables) {
      reads++;
      const r = executeGraphql(
        model,
        { installation, app, botLogin: `${app.slug}[bot]` },
        { query, variables },
      );
      return { data: r.body.data, errors: (r.body.errors ?? []) as never };
    },
  };
}

/** Ticket lookups straight from the simulator's Jira (what a healthy Jira answers). */
export function simTickets(jira: JiraModel): TicketLookupService {
  return {
    async lookup(keys) {
      const found = [];
      const unknown = [];
      for (const key of keys) {
        const issue = jira.issues.get(key.toUpperCase());
        if (issue)
          found.push({
            key: issue.key,
            summary: issue.summary,
            status: issue.status,
            url: `${jira.baseUrl}/browse/${issue.key}`,
          });
        else unknown.push(key);
      }
      return { kind: "ok", found, unknown };
    },
  };
}

/** The report a fresh evaluation of the PR's current state renders (null: the PR is not open). */
export async function expectedReport(
  model: GitHubModel,
  appId: number,
  pr: SimPull,
  tickets: TicketLookupService | null = null,
): Promise<Report | null> {
  const repo = model.mustRepo(pr.repo);
  const installation = model.installationsFor(repo).find((i) => i.appId === appId)!;
  const reader = inProcessReader(model, appId, installation.id);
  const g = await gather(
    reader,
    { installationId: installation.id, owner: repo.owner, repo: repo.name, number: pr.number },
    appId,
  );
  if (g.evidence.pr.state !== "OPEN") return null;
  const loaded = await loadPolicy(g.configFiles, (r, path) => readFile(reader, r, path));
  if (!loaded.ok)
    return renderConfigProblem(loaded.problem, {
      ...g.evidence,
      tickets: { refs: [], lookup: { kind: "not_needed" } },
    });
  const c = loaded.policy.config;
  const declarer = await declarerFacts(
    modelFacts(model),
    { owner: repo.owner, repo: repo.name },
    c,
    g.evidence,
  );
  const e0 = withModelDeclaredOn(pr, c, declarer ? { ...g.evidence, declarer } : g.evidence);
  const needed =
    ticketsRequired(c, emergencyDeclaration(c, e0).accepted) &&
    isGatedBranch(c, g.evidence.pr.baseRef, g.evidence.repo.defaultBranch);
  const evidence = {
    ...e0,
    tickets: await ticketEvidence(c, g.evidence.pr, g.evidence.commits, tickets, needed),
  };
  return renderVerdict(evaluate(loaded.policy, evidence), evidence, loaded.policy);
}

/**
 * The head the emergency label's newest LabeledEvent was applied on, from the model's truth (what
 * GitHub's labeled webhook said; changegate must have established the same, unless it lost it).
 */
function withModelDeclaredOn<E extends Pick<Evidence, "pr" | "labelHistory" | "declaredOn">>(
  pr: SimPull,
  c: Config,
  e: E,
): E {
  const ev = emergencyLabelEvent(c, e);
  if (!isEmergency(c, e.pr.labels) || !ev) return e;
  const sim = [...pr.labelEvents]
    .reverse()
    .find((x) => x.at === ev.at && x.label.toLowerCase() === ev.label.toLowerCase());
  return { ...e, declaredOn: { at: ev.at, headSha: sim?.headSha ?? null } };
}

/** The declarer lookups (collaborator permission, team membership) answered from the model, 404s included. */
export function modelFacts(model: GitHubModel): Writer {
  const notFound = () => Object.assign(new Error("Not Found"), { status: 404 });
  return {
    async request(route, params) {
      const p = params as Record<string, string>;
      if (route === "GET /repos/{owner}/{repo}/collaborators/{username}/permission") {
        if (!model.users.has(p.username!.toLowerCase())) throw notFound();
        const { role, permission } = model.permissionOf(model.mustRepo(`${p.owner}/${p.repo}`), p.username!);
        return { data: { permission, role_name: role } };
      }
      if (route === "GET /orgs/{org}/teams/{team_slug}/memberships/{username}") {
        const state = model.teams
          .get(`${p.org}/${p.team_slug}`.toLowerCase())
          ?.get(p.username!.toLowerCase());
        if (!state) throw notFound();
        return { data: { state, role: "member" } };
      }
      throw new Error(`oracle: no model answer for ${route}`);
    },
  };
}

export interface Mismatch {
  pr: string;
  problem: string;
}

/**
 * Compare the PR's changegate check (on its current head) and digest with the oracle. Returns the
 * differences (empty when the PR shows exactly what its evidence says).
 */
export async function mismatches(
  model: GitHubModel,
  appId: number,
  pr: SimPull,
  tickets: TicketLookupService | null = null,
  checkName = "changegate",
  marker = "<!-- changegate:digest -->",
): Promise<Mismatch[]> {
  const label = `${pr.repo}#${pr.number}`;
  const out: Mismatch[] = [];
  const report = await expectedReport(model, appId, pr, tickets);
  if (!report) return out;
  const head = model.headSha(pr);
  const runs = model.runsOn(pr.repo, head).filter((r) => r.appId === appId && r.name === checkName);
  const run = runs[runs.length - 1];
  if (!run) out.push({ pr: label, problem: `no ${checkName} check on the head ${head.slice(0, 7)}` });
  else {
    const got = { status: run.status, conclusion: run.conclusion, title: run.title };
    const want = {
      status: report.check.status,
      conclusion: report.check.conclusion,
      title: report.check.title,
    };
    if (JSON.stringify(got) !== JSON.stringify(want))
      out.push({
        pr: label,
        problem: `check is ${JSON.stringify(got)}, evidence says ${JSON.stringify(want)}`,
      });
    else if (run.summary !== report.check.summary)
      out.push({ pr: label, problem: "check summary differs from the evidence's" });
  }
  const digests = model
    .commentsOf(pr.repo, pr.number)
    .filter((c) => c.appId === appId && c.body.includes(marker));
  if (report.createComment || digests.length > 0) {
    if (digests.length !== 1) out.push({ pr: label, problem: `${digests.length} digest comments` });
    else if (digests[0]!.body !== report.comment)
      out.push({
        pr: label,
        problem: `digest is stale: ${JSON.stringify(digests[0]!.body.split("\n")[0])} vs ${JSON.stringify(report.comment.split("\n")[0])}`,
      });
  }
  return out;
}
