/**
 * The default home of audit checkpoints: one pinned issue in `audit.issue_repo` (labelled
 * `changegate-checkpoints`, found by label + marker, created and pinned when missing), one comment
 * per checkpoint. GitHub keeps the comments and their edit history outside changegate's database.
 * Reading pages through the comments (100 a page, bounded) for `verify --from-issue`.
 */
import {
  checkpointComment,
  parseCheckpointTexts,
  type ParsedLog,
  type SignedCheckpoint,
} from "../audit/checkpoint.js";
import type { CheckpointLog } from "../audit/checkpoint-publish.js";
import type { OctokitLike } from "./types.js";

export const CHECKPOINT_LABEL = "changegate-checkpoints";
export const CHECKPOINT_MARKER = "<!-- changegate:checkpoints -->";
/** At most this many comment pages are read (100 000 checkpoints): a log larger is refused. */
export const MAX_COMMENT_PAGES = 1000;

function splitRepo(repo: string): [string, string] {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(repo.trim());
  if (!m) throw new Error(`the checkpoint issue repository must be owner/name, got ${JSON.stringify(repo)}`);
  return [m[1]!, m[2]!];
}

/** owner/name#N (or the issue's URL). */
export function parseIssueArgument(arg: string): { repo: string; number: number } | null {
  const a = arg.trim();
  const m =
    /^([\w.-]+\/[\w.-]+)#(\d+)$/.exec(a) ??
    /^https?:\/\/[^/\s]+\/([\w.-]+\/[\w.-]+)\/issues\/(\d+)\/?$/.exec(a);
  if (!m) return null;
  const number = Number(m[2]);
  return Number.isSafeInteger(number) && number >= 1 ? { repo: m[1]!, number } : null;
}

/** Every comment body of an issue, oldest first. */
export async function issueCommentBodies(
  octokit: OctokitLike,
  repo: string,
  number: number,
): Promise<{ where: string; text: string }[]> {
  const [owner, name] = splitRepo(repo);
  const out: { where: string; text: string }[] = [];
  for (let page = 1; ; page++) {
    if (page > MAX_COMMENT_PAGES)
      throw new Error(`${repo}#${number} has more than ${MAX_COMMENT_PAGES * 100} comments: not read`);
    const res = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner,
      repo: name,
      issue_number: number,
      per_page: 100,
      page,
    });
    const list = Array.isArray(res.data)
      ? (res.data as { body?: unknown; html_url?: unknown; id?: unknown }[])
      : [];
    for (const c of list) {
      if (typeof c.body === "string")
        out.push({
          where: typeof c.html_url === "string" ? c.html_url : `${repo}#${number} comment ${String(c.id)}`,
          text: c.body,
        });
    }
    if (list.length < 100) return out;
  }
}

/** The checkpoint log in one issue (an explicit issue, for verification). */
export class IssueCheckpointLog implements CheckpointLog {
  constructor(
    private readonly octokit: OctokitLike,
    private readonly repo: string,
    private number: number | null,
    private readonly notes: (s: string) => void = () => {},
  ) {}

  get description(): string {
    return this.number === null ? `the checkpoint issue in ${this.repo}` : `${this.repo}#${this.number}`;
  }

  async read(): Promise<ParsedLog> {
    const n = this.number ?? (await this.find());
    if (n === null) return { checkpoints: [], malformed: [] };
    return parseCheckpointTexts(await issueCommentBodies(this.octokit, this.repo, n));
  }

  async append(cp: SignedCheckpoint): Promise<string> {
    const [owner, repo] = splitRepo(this.repo);
    const n = this.number ?? (await this.find()) ?? (await this.create());
    const res = await this.octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner,
      repo,
      issue_number: n,
      body: checkpointComment(cp),
    });
    const url = (res.data as { html_url?: unknown }).html_url;
    return typeof url === "string" ? url : `${this.repo}#${n}`;
  }

  /** The open checkpoint issue: labelled, with the marker in its body; the oldest if several. */
  private async find(): Promise<number | null> {
    const [owner, repo] = splitRepo(this.repo);
    const res = await this.octokit.request("GET /repos/{owner}/{repo}/issues", {
      owner,
      repo,
      state: "open",
      labels: CHECKPOINT_LABEL,
      per_page: 100,
      sort: "created",
      direction: "asc",
    });
    const issues = Array.isArray(res.data)
      ? (res.data as { number?: unknown; body?: unknown; pull_request?: unknown }[])
      : [];
    const found = issues.find(
      (i) =>
        !i.pull_request &&
        typeof i.number === "number" &&
        typeof i.body === "string" &&
        i.body.includes(CHECKPOINT_MARKER),
    );
    if (found) this.number = found.number as number;
    return this.number;
  }

  private async create(): Promise<number> {
    const [owner, repo] = splitRepo(this.repo);
    const body = [
      CHECKPOINT_MARKER,
      "changegate posts a signed checkpoint of its audit trail here: every chain's length and head hash.",
      "Auditors check the database against them with `changegate audit verify --from-issue` (see docs/audit.md).",
      "Keep this issue open and pinned; do not edit or delete its comments.",
    ].join("\n");
    const res = await this.octokit.request("POST /repos/{owner}/{repo}/issues", {
      owner,
      repo,
      title: "changegate audit checkpoints",
      body,
      labels: [CHECKPOINT_LABEL],
    });
    const data = res.data as { number?: unknown; node_id?: unknown };
    if (typeof data.number !== "number")
      throw new Error("GitHub created the checkpoint issue but returned no issue number");
    this.number = data.number;
    if (typeof data.node_id === "string") {
      try {
        // The client's own GraphQL endpoint: on GitHub Enterprise Server it is /api/graphql, which
        // `request("POST /graphql")` would miss (it resolves under the REST base, /api/v3/graphql).
        const graphql = (
          this.octokit as {
            graphql?: (query: string, variables: Record<string, unknown>) => Promise<unknown>;
          }
        ).graphql;
        if (typeof graphql !== "function") throw new Error("this GitHub client has no GraphQL endpoint");
        await graphql.call(
          this.octokit,
          "mutation ChangegatePinIssue($id: ID!) { pinIssue(input: {issueId: $id}) { issue { number } } }",
          { id: data.node_id },
        );
      } catch (err) {
        this.notes(`could not pin ${this.repo}#${data.number} (${(err as Error).message}); pin it by hand`);
      }
    }
    return data.number;
  }
}
