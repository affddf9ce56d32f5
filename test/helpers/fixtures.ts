/**
 * Builders for GitHub-shaped data: GraphQL evidence answers and webhook payloads (typed with
 * @octokit/webhooks-types), so tests state only what matters to them.
 */
import { DIGEST_MARKER } from "../../src/contract.js";
import type { Evidence } from "../../src/policy/types.js";

export const APP_ID = 4242;
export const INSTALLATION_ID = 77;
export const OWNER = "acme";
export const REPO = "payments";
export const HEAD = "a".repeat(40);
export const OLD = "b".repeat(40);

export interface CommitSpec {
  oid?: string;
  message?: string;
  authors?: (string | null)[];
  committer?: string | null;
  parents?: number;
}
export interface ReviewSpec {
  login: string;
  state?: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  commit?: string | null;
  at?: string;
  canPush?: boolean;
  bot?: boolean;
}
export interface CheckSpec {
  name: string;
  status?: "COMPLETED" | "IN_PROGRESS" | "QUEUED";
  conclusion?: string | null;
  appId?: number;
  slug?: string;
  id?: number;
}
export interface StatusSpec {
  context: string;
  state: "SUCCESS" | "PENDING" | "FAILURE" | "ERROR" | "EXPECTED";
  /** Who created it; default the user ci-bot. */
  creator?: { __typename: "User" | "Bot"; login: string };
}
export interface EvidenceSpec {
  number?: number;
  title?: string;
  body?: string;
  author?: string;
  state?: "OPEN" | "CLOSED" | "MERGED";
  draft?: boolean;
  base?: string;
  headRef?: string;
  head?: string;
  labels?: string[];
  commits?: CommitSpec[];
  reviews?: ReviewSpec[];
  checks?: CheckSpec[];
  statuses?: StatusSpec[];
  policy?: string | null;
  orgPolicy?: string | null;
  /** Our digest comment's body, if one exists. */
  digest?: { id: number; body: string } | null;
  ownCheck?: { id: number; status: string; conclusion: string | null; title: string; summary: string } | null;
  mergedBy?: string | null;
  defaultBranch?: string;
  /** Other PRs GitHub associates with the head commit (the PR itself is listed too, as GitHub does). */
  sharedHead?: {
    number: number;
    base: string;
    head?: string;
    state?: "OPEN" | "CLOSED" | "MERGED";
    repo?: string;
  }[];
  /** LabeledEvents on the timeline, oldest first (actor null = deleted account). Default: none. */
  labelEvents?: { label: string; actor: string | null; bot?: boolean; at?: string }[];
  /** Older label events exist than the last 100. */
  labelEventsTruncated?: boolean;
}

/** A commit author/committer: a login, or null for an e-mail linked to no GitHub user. */
function gitActor(login: string | null) {
  return login === null
    ? { name: "Somebody Unlinked", email: "somebody@unlinked.example", user: null }
    : { name: login, email: `${login}@users.noreply.github.com`, user: { login } };
}

/** The `data` of a GraphQL answer to EVIDENCE_QUERY. */
export function evidenceData(s: EvidenceSpec = {}): Record<string, unknown> {
  const head = s.head ?? HEAD;
  const associated = {
    pageInfo: { hasNextPage: false },
    nodes: [{ number: s.number ?? 1, base: s.base ?? "main" }, ...(s.sharedHead ?? [])].map((p) => ({
      number: p.number,
      state:
        ("state" in p ? p.state : undefined) ?? (p.number === (s.number ?? 1) ? (s.state ?? "OPEN") : "OPEN"),
      baseRefName: p.base,
      headRefOid: ("head" in p ? p.head : undefined) ?? head,
      baseRepository: { nameWithOwner: ("repo" in p ? p.repo : undefined) ?? `${OWNER}/${REPO}` },
    })),
  };
  const commits = s.commits ?? [{ oid: head, message: "Change things", authors: [s.author ?? "dev"] }];
  const blob = (text: string | null | undefined) =>
    text === null || text === undefined ? null : { text, isTruncated: false };
  return {
    repository: {
      nameWithOwner: `${OWNER}/${REPO}`,
      defaultBranchRef: { name: s.defaultBranch ?? "main" },
      policy: blob(s.policy),
      pullRequest: {
        id: "PR_node",
        number: s.number ?? 1,
        title: s.title ?? "Make payments faster",
        body: s.body ?? "",
        url: `https://github.com/${OWNER}/${REPO}/pull/${s.number ?? 1}`,
        state: s.state ?? "OPEN",
        isDraft: s.draft ?? false,
        author: { __typename: "User", login: s.author ?? "dev" },
        baseRefName: s.base ?? "main",
        headRefName: s.headRef ?? "feature",
        headRefOid: head,
        mergedAt: s.state === "MERGED" ? "2026-11-20T10:00:00Z" : null,
        mergedBy: s.state === "MERGED" ? { login: s.mergedBy ?? "merger" } : null,
        mergeCommit: s.state === "MERGED" ? { oid: "c".repeat(40) } : null,
        labels: { nodes: (s.labels ?? []).map((name) => ({ name })) },
        headRef: { associatedPullRequests: associated },
        labelEvents: {
          pageInfo: { hasPreviousPage: s.labelEventsTruncated ?? false },
          nodes: (s.labelEvents ?? []).map((ev, i) => ({
            __typename: "LabeledEvent",
            createdAt: ev.at ?? `2026-11-20T08:${String(i).padStart(2, "0")}:00Z`,
            actor: ev.actor === null ? null : { __typename: ev.bot ? "Bot" : "User", login: ev.actor },
            label: { name: ev.label },
          })),
        },
        commits: {
          pageInfo: { hasNextPage: false, endCursor: null },
          nodes: commits.map((c, i) => ({
            commit: {
              id: `C_${i}`,
              oid: c.oid ?? (i === commits.length - 1 ? head : `${i}`.padStart(40, "0")),
              messageHeadline: (c.message ?? "commit").split("\n")[0],
              message: c.message ?? "commit",
              url: `https://github.com/${OWNER}/${REPO}/commit/${c.oid ?? i}`,
              parents: { totalCount: c.parents ?? 1 },
              committer: gitActor(c.committer === undefined ? (c.authors?.[0] ?? "dev") : c.committer),
              authors: {
                pageInfo: { hasNextPage: false, endCursor: null },
                nodes: (c.authors ?? ["dev"]).map(gitActor),
              },
            },
          })),
        },
        reviews: {
          pageInfo: { hasNextPage: false, endCursor: null },
          nodes: (s.reviews ?? []).map((r, i) => ({
            author: { __typename: r.bot ? "Bot" : "User", login: r.login },
            state: r.state ?? "APPROVED",
            submittedAt: r.at ?? `2026-11-20T09:${String(i).padStart(2, "0")}:00Z`,
            url: `https://github.com/${OWNER}/${REPO}/pull/1#review-${i}`,
            commit: r.commit === null ? null : { oid: r.commit ?? head },
            authorCanPushToRepository: r.canPush ?? true,
          })),
        },
        comments: {
          pageInfo: { hasNextPage: false, endCursor: null },
          nodes: [
            { databaseId: 1, body: "LGTM, nice!", viewerDidAuthor: false },
            ...(s.digest
              ? [
                  {
                    databaseId: s.digest.id,
                    body: s.digest.body.includes(DIGEST_MARKER)
                      ? s.digest.body
                      : `${s.digest.body}\n${DIGEST_MARKER}`,
                    viewerDidAuthor: true,
                  },
                ]
              : []),
          ],
        },
        head: {
          nodes: [
            {
              commit: {
                id: "C_head",
                oid: head,
                statusCheckRollup: {
                  contexts: {
                    pageInfo: { hasNextPage: false, endCursor: null },
                    nodes: [
                      ...(s.checks ?? [{ name: "build", conclusion: "SUCCESS" }]).map((c, i) => ({
                        __typename: "CheckRun",
                        databaseId: c.id ?? 1000 + i,
                        name: c.name,
                        status: c.status ?? "COMPLETED",
                        conclusion:
                          (c.status ?? "COMPLETED") === "COMPLETED" ? (c.conclusion ?? "SUCCESS") : null,
                        detailsUrl: `https://ci.example.com/${c.name}`,
                        startedAt: "2026-11-20T08:00:00Z",
                        checkSuite: {
                          app: { databaseId: c.appId ?? 15368, slug: c.slug ?? "github-actions" },
                        },
                      })),
                      ...(s.statuses ?? []).map((st) => ({
                        __typename: "StatusContext",
                        context: st.context,
                        state: st.state,
                        targetUrl: null,
                        creator: st.creator ?? { __typename: "User", login: "ci-bot" },
                      })),
                    ],
                  },
                },
                associatedPullRequests: associated,
                ownSuites: {
                  nodes: s.ownCheck
                    ? [
                        {
                          checkRuns: {
                            nodes: [
                              {
                                databaseId: s.ownCheck.id,
                                status: s.ownCheck.status,
                                conclusion: s.ownCheck.conclusion,
                                title: s.ownCheck.title,
                                summary: s.ownCheck.summary,
                              },
                            ],
                          },
                        },
                      ]
                    : [],
                },
              },
            },
          ],
        },
      },
    },
    org: s.orgPolicy === undefined ? null : { policy: blob(s.orgPolicy) },
  };
}

/** Evidence as gather produces it, for pure-stage tests. */
export function evidence(
  over: Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> } = {},
): Evidence {
  const { pr, ...rest } = over;
  return {
    repo: { owner: OWNER, name: REPO, defaultBranch: "main" },
    commits: [
      {
        oid: HEAD,
        headline: "Change things",
        message: "Change things",
        authors: ["dev"],
        committer: "dev",
        isMerge: false,
        url: "https://github.com/x",
      },
    ],
    reviews: [],
    checks: [
      {
        kind: "check_run",
        name: "build",
        state: "success",
        raw: "success",
        source: "github-actions",
        url: null,
      },
    ],
    tickets: { refs: [], lookup: { kind: "not_needed" } },
    ...rest,
    pr: {
      number: 1,
      title: "Make payments faster",
      body: "",
      url: `https://github.com/${OWNER}/${REPO}/pull/1`,
      state: "OPEN",
      isDraft: false,
      author: { login: "dev", isBot: false },
      baseRef: "main",
      headRef: "feature",
      headSha: HEAD,
      labels: [],
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      ...pr,
    },
  };
}
