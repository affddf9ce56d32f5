/**
 * Webhook payloads as GitHub sends them: GitHub's own example payload for the event and action
 * (@octokit/webhooks-examples), with the objects it describes replaced by the simulator's state.
 */
import { createHmac } from "node:crypto";
import { pushFields, type SimPush } from "./branches.js";
import { example, hasExample } from "./examples.js";
import { issueJson } from "./issues.js";
import {
  checkRunJson,
  commitJson,
  commentJson,
  labelJson,
  pullJson,
  repoJson,
  reviewJson,
  suiteJson,
  userJson,
} from "./json.js";
import { protectionRuleJson, rulesetJson, type SimProtection, type SimRuleset } from "./rulesets.js";
import type {
  GitHubModel,
  SimCheckRun,
  SimComment,
  SimInstallation,
  SimPull,
  SimQueueEntry,
  SimRepo,
  SimReview,
  SimStatus,
  SimSuite,
} from "./model.js";

export interface WebhookContext {
  model: GitHubModel;
  installation: SimInstallation;
  name: string;
  action: string | null;
  repo: SimRepo;
  sender: string;
  pr?: SimPull | undefined;
  review?: SimReview;
  run?: SimCheckRun;
  suite?: SimSuite;
  status?: SimStatus;
  comment?: SimComment;
  label?: string;
  changes?: Record<string, unknown>;
  before?: string;
  after?: string;
  requestedAction?: string;
  mergeGroup?: SimQueueEntry;
  reason?: string;
  /** push: the ref update (test/sim/branches.ts builds its fields). */
  push?: SimPush;
  /** repository_ruleset: the ruleset (rulesets.ts). */
  ruleset?: SimRuleset;
  /** branch_protection_rule: the classic protection rule. */
  protection?: SimProtection;
}

export function buildWebhook(ctx: WebhookContext): Record<string, unknown> {
  const m = ctx.model;
  const base = hasExample(ctx.name, ctx.action)
    ? example(ctx.name, ctx.action)
    : hasExample(ctx.name)
      ? example(ctx.name)
      : {};
  delete base.organization;
  delete base.enterprise;
  const p: Record<string, unknown> = { ...base };
  if (ctx.action) p.action = ctx.action;
  if (ctx.pr && (ctx.name === "pull_request" || ctx.name === "pull_request_review")) {
    p.pull_request = pullJson(m, ctx.pr);
    if (ctx.name === "pull_request") p.number = ctx.pr.number;
  }
  if (ctx.review) p.review = reviewJson(m, ctx.review);
  if (ctx.label !== undefined) p.label = labelJson(m, ctx.repo.fullName, ctx.label);
  if (ctx.changes) p.changes = ctx.changes;
  else if (ctx.name === "pull_request" && ctx.action === "edited") p.changes = {};
  if (ctx.before !== undefined) p.before = ctx.before;
  if (ctx.after !== undefined) p.after = ctx.after;
  if (ctx.run) p.check_run = checkRunJson(m, ctx.run);
  if (ctx.requestedAction !== undefined) p.requested_action = { identifier: ctx.requestedAction };
  if (ctx.suite) p.check_suite = suiteJson(m, ctx.suite);
  if (ctx.mergeGroup) {
    const g = ctx.mergeGroup;
    const c = m.commits.get(g.headSha)!;
    p.merge_group = {
      head_sha: g.headSha,
      head_ref: g.headRef,
      base_sha: g.baseSha,
      base_ref: `refs/heads/${g.pr.baseRef}`,
      head_commit: {
        id: c.sha,
        tree_id: c.sha,
        message: c.message,
        timestamp: c.date,
        author: { name: "GitHub", email: "noreply@github.com" },
        committer: { name: "GitHub", email: "noreply@github.com" },
      },
    };
    if (ctx.action === "destroyed") p.reason = ctx.reason ?? "dequeued";
  }
  if (ctx.status) {
    const s = ctx.status;
    Object.assign(p, {
      id: s.id,
      sha: s.sha,
      name: ctx.repo.fullName,
      target_url: s.targetUrl,
      avatar_url: null,
      context: s.context,
      description: s.description,
      state: s.state,
      commit: commitJson(m, m.commits.get(s.sha)!),
      branches: [],
      created_at: s.createdAt,
      updated_at: s.createdAt,
    });
  }
  if (ctx.comment) {
    p.comment = commentJson(m, ctx.comment);
    const issue = ctx.pr ? undefined : m.issues.get(m.pullKey(ctx.comment.repo, ctx.comment.issueNumber));
    if (issue) p.issue = issueJson(m, issue);
    if (ctx.pr) {
      const pr = pullJson(m, ctx.pr);
      p.issue = {
        url: pr.issue_url,
        repository_url: `${m.apiBase}/repos/${ctx.repo.fullName}`,
        labels_url: `${pr.issue_url as string}/labels{/name}`,
        comments_url: pr.comments_url,
        events_url: `${pr.issue_url as string}/events`,
        html_url: pr.html_url,
        id: ctx.pr.id,
        node_id: ctx.pr.nodeId,
        number: ctx.pr.number,
        title: ctx.pr.title,
        user: pr.user,
        labels: pr.labels,
        state: ctx.pr.state,
        locked: false,
        assignee: null,
        assignees: [],
        milestone: null,
        comments: pr.comments,
        created_at: ctx.pr.createdAt,
        updated_at: ctx.pr.updatedAt,
        closed_at: ctx.pr.closedAt,
        author_association: "MEMBER",
        active_lock_reason: null,
        draft: ctx.pr.draft,
        pull_request: {
          url: pr.url,
          html_url: pr.html_url,
          diff_url: pr.diff_url,
          patch_url: pr.patch_url,
          merged_at: ctx.pr.mergedAt,
        },
        body: ctx.pr.body || null,
        performed_via_github_app: null,
        state_reason: null,
      };
    }
  }
  if (ctx.ruleset) p.repository_ruleset = rulesetJson(m, ctx.ruleset, true);
  if (ctx.protection) p.rule = protectionRuleJson(ctx.repo, ctx.protection);
  if (ctx.name === "branch_protection_rule" && !ctx.changes) delete p.changes;
  p.repository = repoJson(m, ctx.repo);
  if (ctx.push) Object.assign(p, pushFields(m, ctx.repo, ctx.push, p.repository as Record<string, unknown>));
  p.sender = userJson(m, ctx.sender);
  p.installation = { id: ctx.installation.id, node_id: ctx.installation.nodeId };
  return p;
}

/** An organisation ruleset's `repository_ruleset` event (GitHub sends no `repository`). */
export function orgRulesetWebhook(
  m: GitHubModel,
  installation: SimInstallation,
  action: string,
  sender: string,
  ruleset: SimRuleset,
  changes?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    action,
    repository_ruleset: rulesetJson(m, ruleset, true),
    ...(changes ? { changes } : {}),
    sender: userJson(m, sender),
    installation: { id: installation.id, node_id: installation.nodeId },
  };
}

/** X-Hub-Signature-256 for a body. */
export function signature256(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
