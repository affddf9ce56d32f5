/**
 * Plain issues (not pull requests), enough for changegate's audit issue (`audit.issue_repo`: the
 * bypass issue and its comments): `POST /repos/{o}/{r}/issues` (title required, labels created as
 * needed), `GET /repos/{o}/{r}/issues` (GitHub lists pull requests too, marked `pull_request`;
 * `state` open|closed|all, `labels` comma-separated, every one must match; per_page ≤ 100), and
 * comments on them through the existing comment routes. Issue numbers share the repository's
 * sequence with pull requests, as on GitHub.
 */
import type { GitHubModel, SimPull, SimRepo } from "./model.js";
import { SimHttpError } from "./model.js";
import { labelJson, userJson } from "./json.js";

export interface SimIssue {
  id: number;
  nodeId: string;
  repo: string;
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: "open" | "closed";
  author: string;
  appId: number | null;
  createdAt: string;
  updatedAt: string;
  /** Pinned by GraphQL's pinIssue (GitHub: at most 3 per repository). */
  pinned?: boolean;
}

export function openIssue(
  m: GitHubModel,
  repo: SimRepo,
  spec: { title: unknown; body?: unknown; labels?: unknown; author: string; appId: number | null },
): SimIssue {
  if (typeof spec.title !== "string" || spec.title.trim() === "")
    throw new SimHttpError(422, "Validation Failed", {
      errors: [{ resource: "Issue", code: "missing_field", field: "title" }],
    });
  const body = typeof spec.body === "string" ? spec.body : "";
  if (body.length > 65536)
    throw new SimHttpError(422, "Validation Failed", {
      errors: [
        {
          resource: "Issue",
          code: "custom",
          field: "body",
          message: "body is too long (maximum is 65536 characters)",
        },
      ],
    });
  const labels = Array.isArray(spec.labels)
    ? spec.labels
        .map((l) => (typeof l === "string" ? l : String((l as { name?: unknown })?.name ?? "")))
        .filter(Boolean)
    : [];
  const id = m.id();
  const at = m.tick();
  const issue: SimIssue = {
    id,
    nodeId: m.nodeId("I", id),
    repo: repo.fullName,
    number: repo.nextIssueNumber++,
    title: spec.title,
    body,
    labels,
    state: "open",
    author: spec.author,
    appId: spec.appId,
    createdAt: at,
    updatedAt: at,
  };
  m.issues.set(m.pullKey(repo.fullName, issue.number), issue);
  return issue;
}

export function issueJson(m: GitHubModel, i: SimIssue): Record<string, unknown> {
  const api = `${m.apiBase}/repos/${i.repo}/issues/${i.number}`;
  return {
    url: api,
    repository_url: `${m.apiBase}/repos/${i.repo}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${m.webBase}/${i.repo}/issues/${i.number}`,
    id: i.id,
    node_id: i.nodeId,
    number: i.number,
    title: i.title,
    user: userJson(m, i.author),
    labels: i.labels.map((l) => labelJson(m, i.repo, l)),
    state: i.state,
    locked: false,
    assignee: null,
    assignees: [],
    milestone: null,
    comments: m.commentsOf(i.repo, i.number).length,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: null,
    author_association: "MEMBER",
    active_lock_reason: null,
    body: i.body || null,
    performed_via_github_app: null,
    state_reason: null,
  };
}

/** GitHub's issue listing: issues and pull requests of the repository, filtered, newest first. */
export function listIssues(m: GitHubModel, repo: SimRepo, query: URLSearchParams): Record<string, unknown>[] {
  const state = query.get("state") ?? "open";
  if (!["open", "closed", "all"].includes(state))
    throw new SimHttpError(422, "Validation Failed", {
      errors: [{ resource: "Issue", code: "invalid", field: "state" }],
    });
  const wanted = (query.get("labels") ?? "")
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);
  const issues = [...m.issues.values()].filter((i) => i.repo === repo.fullName);
  const pulls = [...m.pulls.values()].filter((p) => p.repo === repo.fullName);
  const all: { number: number; state: string; labels: string[]; json: () => Record<string, unknown> }[] = [
    ...issues.map((i) => ({
      number: i.number,
      state: i.state,
      labels: i.labels,
      json: () => issueJson(m, i),
    })),
    ...pulls.map((p) => ({
      number: p.number,
      state: p.state,
      labels: p.labels,
      json: () => pullAsIssue(m, p),
    })),
  ];
  return all
    .filter((x) => state === "all" || x.state === state)
    .filter((x) => wanted.every((l) => x.labels.some((have) => have.toLowerCase() === l.toLowerCase())))
    .sort((a, b) => b.number - a.number)
    .map((x) => x.json());
}

function pullAsIssue(m: GitHubModel, p: SimPull): Record<string, unknown> {
  const api = `${m.apiBase}/repos/${p.repo}`;
  return {
    url: `${api}/issues/${p.number}`,
    id: p.id,
    number: p.number,
    title: p.title,
    user: userJson(m, p.author),
    labels: p.labels.map((l) => labelJson(m, p.repo, l)),
    state: p.state,
    body: p.body || null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    pull_request: {
      url: `${api}/pulls/${p.number}`,
      html_url: `${m.webBase}/${p.repo}/pull/${p.number}`,
      merged_at: p.mergedAt,
    },
  };
}
