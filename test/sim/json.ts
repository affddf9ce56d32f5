/**
 * REST representations of the simulator's objects, shaped as GitHub's REST API and webhooks return
 * them (checked against @octokit/openapi in test/e2e/sim.test.ts).
 */
import { example, rewrite } from "./examples.js";
import type {
  GitHubModel,
  SimActivity,
  SimApp,
  SimCheckRun,
  SimComment,
  SimCommit,
  SimInstallation,
  SimPull,
  SimRepo,
  SimReview,
  SimStatus,
  SimSuite,
} from "./model.js";

type Json = Record<string, unknown>;

let repoTemplate: Json | null = null;

function bases(m: GitHubModel): [string, string][] {
  return [
    ["https://api.github.com", m.apiBase],
    ["https://github.com", m.webBase],
  ];
}

export function userJson(m: GitHubModel, login: string): Json {
  const u = m.user(login);
  const api = `${m.apiBase}/users/${u.login}`;
  return {
    login: u.login,
    id: u.id,
    node_id: u.nodeId,
    avatar_url: `${m.webBase}/avatars/u/${u.id}?v=4`,
    gravatar_id: "",
    url: api,
    html_url: `${m.webBase}/${u.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: u.type,
    user_view_type: "public",
    site_admin: false,
  };
}

export function repoJson(m: GitHubModel, r: SimRepo): Json {
  repoTemplate ??= (example("pull_request", "opened").repository as Json) ?? {};
  const base = rewrite(repoTemplate, [
    ["Codertocat/Hello-World", r.fullName],
    ...bases(m),
    ["git://github.com", `git://${new URL(m.webBase).host}`],
    ["git@github.com", `git@${new URL(m.webBase).host}`],
  ]);
  const open = [...m.pulls.values()].filter((p) => p.repo === r.fullName && p.state === "open").length;
  return {
    ...base,
    id: r.id,
    node_id: r.nodeId,
    name: r.name,
    full_name: r.fullName,
    private: r.private,
    visibility: r.private ? "private" : "public",
    owner: userJson(m, r.owner),
    description: null,
    fork: false,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    pushed_at: m.stamp(),
    homepage: null,
    size: 1,
    stargazers_count: 0,
    watchers_count: 0,
    language: "TypeScript",
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: open,
    license: null,
    forks: 0,
    open_issues: open,
    watchers: 0,
    default_branch: r.defaultBranch,
    topics: [],
    allow_forking: true,
    is_template: false,
    web_commit_signoff_required: false,
    has_discussions: false,
  };
}

export function labelJson(m: GitHubModel, repo: string, name: string): Json {
  const id = Math.abs([...`${repo}/${name}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7));
  return {
    id,
    node_id: m.nodeId("LA", id),
    url: `${m.apiBase}/repos/${repo}/labels/${encodeURIComponent(name)}`,
    name,
    color: "d73a4a",
    default: false,
    description: null,
  };
}

function branchJson(m: GitHubModel, repo: SimRepo, ref: string, sha: string, owner: string): Json {
  return { label: `${owner}:${ref}`, ref, sha, user: userJson(m, owner), repo: repoJson(m, repo) };
}

/** A pull request as GET /pulls/{n} and pull_request webhooks have it. */
export function pullJson(m: GitHubModel, pr: SimPull): Json {
  const repo = m.mustRepo(pr.repo);
  const api = `${m.apiBase}/repos/${pr.repo}`;
  const web = `${m.webBase}/${pr.repo}`;
  const head = m.headSha(pr);
  return {
    url: `${api}/pulls/${pr.number}`,
    id: pr.id,
    node_id: pr.nodeId,
    html_url: `${web}/pull/${pr.number}`,
    diff_url: `${web}/pull/${pr.number}.diff`,
    patch_url: `${web}/pull/${pr.number}.patch`,
    issue_url: `${api}/issues/${pr.number}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: userJson(m, pr.author),
    body: pr.body === "" ? null : pr.body,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.mergedAt,
    merge_commit_sha: pr.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: pr.labels.map((l) => labelJson(m, pr.repo, l)),
    milestone: null,
    draft: pr.draft,
    commits_url: `${api}/pulls/${pr.number}/commits`,
    review_comments_url: `${api}/pulls/${pr.number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${pr.number}/comments`,
    statuses_url: `${api}/statuses/${head}`,
    head: branchJson(m, repo, pr.headRef, head, pr.author),
    base: branchJson(m, repo, pr.baseRef, repo.baseSha, repo.owner),
    _links: {
      self: { href: `${api}/pulls/${pr.number}` },
      html: { href: `${web}/pull/${pr.number}` },
      issue: { href: `${api}/issues/${pr.number}` },
      comments: { href: `${api}/issues/${pr.number}/comments` },
      review_comments: { href: `${api}/pulls/${pr.number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${pr.number}/commits` },
      statuses: { href: `${api}/statuses/${head}` },
    },
    author_association: "MEMBER",
    auto_merge: null,
    active_lock_reason: null,
    merged: pr.merged,
    mergeable: pr.state === "open" ? true : null,
    rebaseable: pr.state === "open" ? true : null,
    mergeable_state: pr.state === "open" ? "clean" : "unknown",
    merged_by: pr.mergedBy ? userJson(m, pr.mergedBy) : null,
    comments: m.commentsOf(pr.repo, pr.number).length,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: pr.commits.length,
    additions: pr.commits.length * 3,
    deletions: pr.commits.length,
    changed_files: pr.commits.length,
  };
}

/** The shorter form of GET /pulls (pull-request-simple). */
export function pullSimpleJson(m: GitHubModel, pr: SimPull): Json {
  const full = pullJson(m, pr);
  for (const k of [
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
  ]) {
    delete full[k];
  }
  return full;
}

export function reviewJson(m: GitHubModel, r: SimReview): Json {
  const api = `${m.apiBase}/repos/${r.repo}`;
  return {
    id: r.id,
    node_id: r.nodeId,
    user: userJson(m, r.author),
    body: r.body,
    commit_id: r.commitId,
    submitted_at: r.submittedAt,
    state: r.state.toLowerCase(),
    html_url: `${m.webBase}/${r.repo}/pull/${r.prNumber}#pullrequestreview-${r.id}`,
    pull_request_url: `${api}/pulls/${r.prNumber}`,
    author_association: "MEMBER",
    _links: {
      html: { href: `${m.webBase}/${r.repo}/pull/${r.prNumber}#pullrequestreview-${r.id}` },
      pull_request: { href: `${api}/pulls/${r.prNumber}` },
    },
  };
}

export function appJson(m: GitHubModel, app: SimApp): Json {
  return {
    id: app.id,
    slug: app.slug,
    client_id: `Iv1.${app.id.toString(16).padStart(16, "0")}`,
    node_id: app.nodeId,
    owner: userJson(m, app.owner),
    name: app.name,
    description: "",
    external_url: `${m.webBase}/apps/${app.slug}`,
    html_url: `${m.webBase}/apps/${app.slug}`,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    permissions: app.permissions,
    events: app.events ?? [],
  };
}

export function commentJson(m: GitHubModel, c: SimComment): Json {
  const api = `${m.apiBase}/repos/${c.repo}`;
  return {
    id: c.id,
    node_id: c.nodeId,
    url: `${api}/issues/comments/${c.id}`,
    html_url: `${m.webBase}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    body: c.body,
    user: userJson(m, c.author),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${api}/issues/${c.issueNumber}`,
    author_association: c.appId ? "NONE" : "MEMBER",
    performed_via_github_app: c.appId ? appJson(m, m.app(c.appId)) : null,
    reactions: {
      url: `${api}/issues/comments/${c.id}/reactions`,
      total_count: 0,
      "+1": 0,
      "-1": 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
  };
}

function miniPulls(m: GitHubModel, repo: string, sha: string): Json[] {
  const r = m.mustRepo(repo);
  const mini = { id: r.id, url: `${m.apiBase}/repos/${repo}`, name: r.name };
  return m.openPullsWithHead(repo, sha).map((p) => ({
    url: `${m.apiBase}/repos/${repo}/pulls/${p.number}`,
    id: p.id,
    number: p.number,
    head: { ref: p.headRef, sha, repo: mini },
    base: { ref: p.baseRef, sha: r.baseSha, repo: mini },
  }));
}

export function suiteJson(m: GitHubModel, s: SimSuite): Json {
  const api = `${m.apiBase}/repos/${s.repo}`;
  const runs = m.runsOfSuite(s);
  return {
    id: s.id,
    node_id: s.nodeId,
    head_branch: s.headBranch,
    head_sha: s.headSha,
    status: s.status,
    conclusion: s.conclusion,
    url: `${api}/check-suites/${s.id}`,
    before: m.commits.get(s.headSha)?.parents[0] ?? null,
    after: s.headSha,
    pull_requests: miniPulls(m, s.repo, s.headSha),
    app: appJson(m, m.app(s.appId)),
    repository: repoJson(m, m.mustRepo(s.repo)),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    latest_check_runs_count: runs.length,
    check_runs_url: `${api}/check-suites/${s.id}/check-runs`,
    head_commit: headCommitJson(m, s.headSha),
    rerequestable: true,
    runs_rerequestable: true,
  };
}

function headCommitJson(m: GitHubModel, sha: string): Json {
  const c = m.commits.get(sha);
  const who = (login: string | null | undefined) => ({
    name: login ?? c?.unlinkedName ?? "Someone",
    email: `${login ?? "someone"}@users.noreply.example.com`,
  });
  return {
    id: sha,
    tree_id: sha.split("").reverse().join(""),
    message: c?.message ?? "",
    timestamp: c?.date ?? m.stamp(),
    author: who(c?.authors[0]),
    committer: who(c?.committer),
  };
}

export function checkRunJson(m: GitHubModel, r: SimCheckRun): Json {
  const api = `${m.apiBase}/repos/${r.repo}`;
  const suite = m.suites.get(r.suiteId)!;
  return {
    id: r.id,
    node_id: r.nodeId,
    head_sha: r.headSha,
    external_id: r.externalId,
    url: `${api}/check-runs/${r.id}`,
    html_url: `${m.webBase}/${r.repo}/runs/${r.id}`,
    details_url: r.detailsUrl ?? `${m.webBase}/${r.repo}/runs/${r.id}`,
    status: r.status,
    conclusion: r.conclusion,
    started_at: r.startedAt,
    completed_at: r.completedAt,
    output: {
      title: r.title,
      summary: r.summary,
      text: r.text,
      annotations_count: 0,
      annotations_url: `${api}/check-runs/${r.id}/annotations`,
    },
    name: r.name,
    check_suite: {
      id: suite.id,
      node_id: suite.nodeId,
      head_branch: suite.headBranch,
      head_sha: suite.headSha,
      status: suite.status,
      conclusion: suite.conclusion,
      url: `${api}/check-suites/${suite.id}`,
      before: null,
      after: suite.headSha,
      pull_requests: miniPulls(m, r.repo, r.headSha),
      app: appJson(m, m.app(suite.appId)),
      created_at: suite.createdAt,
      updated_at: suite.updatedAt,
    },
    app: appJson(m, m.app(r.appId)),
    pull_requests: miniPulls(m, r.repo, r.headSha),
  };
}

export function commitJson(m: GitHubModel, c: SimCommit): Json {
  const api = `${m.apiBase}/repos/${c.repo}`;
  const who = (login: string | null) => ({
    name: login ?? c.unlinkedName ?? "Someone",
    email: `${login ?? "someone"}@users.noreply.example.com`,
    date: c.date,
  });
  return {
    sha: c.sha,
    node_id: c.nodeId,
    commit: {
      author: who(c.authors[0] ?? null),
      committer: who(c.committer),
      message: c.message,
      tree: { sha: c.sha.split("").reverse().join(""), url: `${api}/git/trees/${c.sha}` },
      url: `${api}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: {
        verified: false,
        reason: "unsigned",
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    url: `${api}/commits/${c.sha}`,
    html_url: `${m.webBase}/${c.repo}/commit/${c.sha}`,
    comments_url: `${api}/commits/${c.sha}/comments`,
    author: c.authors[0] ? userJson(m, c.authors[0]) : null,
    committer: c.committer ? userJson(m, c.committer) : null,
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${api}/commits/${p}`,
      html_url: `${m.webBase}/${c.repo}/commit/${p}`,
    })),
  };
}

export function statusJson(m: GitHubModel, s: SimStatus): Json {
  return {
    url: `${m.apiBase}/repos/${s.repo}/statuses/${s.sha}`,
    avatar_url: null,
    id: s.id,
    node_id: s.nodeId,
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    creator: userJson(m, s.creator),
  };
}

export function installationJson(m: GitHubModel, i: SimInstallation): Json {
  const app = m.app(i.appId);
  return {
    id: i.id,
    account: userJson(m, i.account),
    repository_selection: "all",
    access_tokens_url: `${m.apiBase}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${m.apiBase}/installation/repositories`,
    html_url: `${m.webBase}/organizations/${i.account}/settings/installations/${i.id}`,
    app_id: app.id,
    app_slug: app.slug,
    target_id: m.user(i.account).id,
    target_type: "Organization",
    permissions: app.permissions,
    events: app.events ?? [],
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

/** An entry of GET /repos/{o}/{r}/activity (GitHub's `activity` schema). */
export function activityJson(m: GitHubModel, a: SimActivity): Json {
  return {
    id: a.id,
    node_id: a.nodeId,
    before: a.before,
    after: a.after,
    ref: a.ref,
    timestamp: a.timestamp,
    activity_type: a.activityType,
    actor: a.actor === null ? null : userJson(m, a.actor),
  };
}
