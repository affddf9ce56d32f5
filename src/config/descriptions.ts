/**
 * One-line descriptions of the policy's keys, shown by editors from the JSON Schema (hover and
 * completion). Kept apart from schema.ts so the schema stays easy to read and to merge; a key's own
 * `.describe()`/`.meta()` in schema.ts wins over the line here. The policy table in docs/policy.md is the
 * full reference (test/unit/policy-schema.test.ts keeps both in step with the schema).
 */
export const KEY_DESCRIPTIONS: Record<string, string> = {
  _extends:
    "Start from another policy file: a repository of the same owner, owner/repo, or owner/repo:path. Objects merge key by key; lists and scalars of this file replace the base's.",
  branches:
    "Base branches (globs) whose pull requests are gated. Default: the repository's default branch only.",
  approvals: "Who must approve, and which approvals count.",
  "approvals.required": "Distinct counting approvals needed (reviewers other than the author).",
  "approvals.dismiss_stale": "Only approvals left on the head commit count.",
  "approvals.allow_contributors": "Count approvals from people who authored or committed commits of the PR.",
  "approvals.block_unattributed_commits":
    "Fail the approvals rule while a commit's author or committer maps to no GitHub account.",
  ci: "Checks that must be present and green.",
  "ci.required":
    "Check-run names or status contexts that must be present and green: a plain name (any source), { name, app } (a check run from that GitHub App) or { name, creator } (a commit status by that login).",
  tickets: "Linked Jira tickets.",
  "tickets.required": "Require linked Jira tickets (needs tickets.projects).",
  "tickets.projects": "Jira project keys to recognise (OPS matches OPS-12).",
  "tickets.sources": "Where to look for ticket keys.",
  "tickets.allowed_states": "Jira states a ticket must be in; [] = it must exist.",
  emergency: "The break-glass path: a label that relaxes the rules, recorded as an emergency change.",
  "emergency.enabled": "false ignores the label: no break-glass path.",
  "emergency.label": "The label that marks an emergency change (case-insensitive).",
  "emergency.approvals_required": "Approvals an emergency change needs.",
  "emergency.require_ci": "CI must be green for an emergency change too.",
  "emergency.require_ticket": "An emergency change needs a valid ticket (needs tickets.projects).",
  "emergency.allowed_declarers":
    "Who may declare an emergency: logins (an app as name[bot]) and org/team slugs. Not set: anyone with write access.",
  audit: "Where the audit trail reports bypasses.",
  "audit.issue_repo": "owner/name: open or update an issue there for every bypassing merge.",
};
