/** Webhook payloads shaped like GitHub's (types from @octokit/webhooks-types). */
import type {
  PullRequestEvent,
  PullRequestReviewEvent,
  CheckSuiteCompletedEvent,
  StatusEvent,
  CheckRunEvent,
} from "@octokit/webhooks-types";
import { APP_ID, HEAD, INSTALLATION_ID, OWNER, REPO } from "./fixtures.js";

const repository = {
  id: 1001,
  node_id: "R_1001",
  name: REPO,
  full_name: `${OWNER}/${REPO}`,
  private: true,
  owner: { login: OWNER, id: 9, type: "Organization" },
  default_branch: "main",
  html_url: `https://github.com/${OWNER}/${REPO}`,
};

export function pullRequestEvent(
  action: PullRequestEvent["action"],
  over: {
    number?: number;
    head?: string;
    merged?: boolean;
    updatedAt?: string;
    state?: "open" | "closed";
    base?: string;
    label?: string;
    sender?: string;
  } = {},
): PullRequestEvent {
  const number = over.number ?? 1;
  return {
    action,
    number,
    pull_request: {
      number,
      id: 5000 + number,
      state: over.state ?? (action === "closed" ? "closed" : "open"),
      title: "Make payments faster",
      user: { login: "dev", id: 1, type: "User" },
      body: "",
      draft: false,
      merged: over.merged ?? false,
      updated_at: over.updatedAt ?? "2026-11-20T10:00:00Z",
      head: { sha: over.head ?? HEAD, ref: "feature", repo: repository },
      base: { sha: "f".repeat(40), ref: over.base ?? "main", repo: repository },
      html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
      labels: [],
    },
    repository,
    installation: { id: INSTALLATION_ID, node_id: "I_1" },
    sender: { login: over.sender ?? "dev", id: 1, type: over.sender?.endsWith("[bot]") ? "Bot" : "User" },
    ...(over.label !== undefined
      ? { label: { id: 1, name: over.label, color: "ff0000", default: false } }
      : {}),
  } as unknown as PullRequestEvent;
}

export function reviewEvent(
  action: PullRequestReviewEvent["action"],
  number = 1,
  head = HEAD,
): PullRequestReviewEvent {
  const pr = pullRequestEvent("opened", { number, head });
  return {
    action,
    review: { id: 1, user: { login: "alice", id: 2, type: "User" }, state: "approved", commit_id: head },
    pull_request: pr.pull_request,
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "alice", id: 2, type: "User" },
  } as unknown as PullRequestReviewEvent;
}

export function checkSuiteCompleted(
  opts: { sha?: string; appId?: number; pulls?: number[] } = {},
): CheckSuiteCompletedEvent {
  const pr = pullRequestEvent("opened");
  return {
    action: "completed",
    check_suite: {
      id: 1,
      head_sha: opts.sha ?? HEAD,
      status: "completed",
      conclusion: "success",
      app: { id: opts.appId ?? 15368, slug: "github-actions" },
      pull_requests: (opts.pulls ?? []).map((n) => ({
        number: n,
        id: n,
        head: { sha: opts.sha ?? HEAD },
        base: { repo: { id: 1001 } },
      })),
    },
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "github-actions[bot]", id: 3, type: "Bot" },
  } as unknown as CheckSuiteCompletedEvent;
}

export function checkRunEvent(
  action: "created" | "completed" | "rerequested" | "requested_action",
  opts: { sha?: string; appId?: number; pulls?: number[]; identifier?: string } = {},
): CheckRunEvent {
  const pr = pullRequestEvent("opened");
  return {
    action,
    check_run: {
      id: 9,
      name: opts.appId === APP_ID ? "changegate" : "build",
      head_sha: opts.sha ?? HEAD,
      status: action === "created" ? "in_progress" : "completed",
      conclusion: action === "created" ? null : "success",
      app: { id: opts.appId ?? 15368, slug: "ci" },
      pull_requests: (opts.pulls ?? []).map((n) => ({
        number: n,
        id: n,
        head: { sha: opts.sha ?? HEAD },
        base: { repo: { id: 1001 } },
      })),
    },
    ...(action === "requested_action"
      ? { requested_action: { identifier: opts.identifier ?? "reevaluate" } }
      : {}),
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "dev", id: 1, type: "User" },
  } as unknown as CheckRunEvent;
}

export function statusEvent(sha = HEAD, state: "success" | "pending" | "failure" = "success"): StatusEvent {
  const pr = pullRequestEvent("opened");
  return {
    id: 1,
    sha,
    name: `${OWNER}/${REPO}`,
    context: "ci/legacy",
    state,
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "ci", id: 4, type: "User" },
  } as unknown as StatusEvent;
}
