/**
 * The GitHub reads approvals.rules may need beyond the one evidence read (when: src/policy/needs.ts;
 * composed by src/evidence/files.ts and src/evidence/teams.ts):
 *   - changed files past the first 100 (FILES_PAGE_QUERY, one read per further 100); past GitHub's
 *     3,000-file limit nothing is paged: the rule fails closed (src/policy/rules.ts);
 *   - team members: ONE GraphQL read (ChangegateTeams) for several teams, and one page read per
 *     further 100 members of a team over 100.
 * Errors throw (GatherError): the pipeline's failure report keeps the check from turning green.
 */
import { z } from "zod";
import type { Evidence } from "../policy/types.js";
import { MAX_PR_FILES } from "../policy/rules.js";
import { fileNode, GatherError } from "./gather.js";
import { FILES_PAGE_QUERY } from "./query.js";
import type { GraphqlReader } from "./reader.js";

const page = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });
const filesPage = z.object({ totalCount: z.number(), pageInfo: page, nodes: z.array(fileNode.nullable()) });
const membersConn = z.object({ pageInfo: page, nodes: z.array(z.object({ login: z.string() }).nullable()) });
const teamNode = z.object({ id: z.string(), members: membersConn }).nullable();

/** Teams per read at most (a policy names at most 20 per rule; CODEOWNERS may name more). */
const MAX_TEAMS_PER_READ = 50;
/** Member pages read per team at most (100 each). */
const MAX_MEMBER_PAGES = 50;

const TEAM_MEMBERS_PAGE = `
query ChangegateTeamMembers($id: ID!, $after: String!) {
  node(id: $id) { ... on Team { page: members(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { login } } } }
}`;

/** One query for several teams: aliases t0..tN, each its own organization and slug (variables, never inlined). */
export function teamsQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$o${i}: String!, $s${i}: String!`).join(", ");
  const fields = Array.from(
    { length: count },
    (_, i) =>
      `t${i}: organization(login: $o${i}) { team(slug: $s${i}) { id members(first: 100) { pageInfo { hasNextPage endCursor } nodes { login } } } }`,
  ).join("\n  ");
  return `query ChangegateTeams(${vars}) {\n  ${fields}\n}`;
}

/** The changed files past the first 100, paged from `next` (at most MAX_PR_FILES in all). */
export async function readMoreFiles(
  reader: GraphqlReader,
  next: { prId: string; after: string },
  first: string[],
  total: number,
  firstRenamed: string[],
): Promise<NonNullable<Evidence["files"]>> {
  const paths = [...first];
  const renamed = [...firstRenamed];
  let after: string | null = next.after;
  let more = true;
  for (let pages = 0; more && after; pages++) {
    if (pages >= Math.ceil(MAX_PR_FILES / 100)) break;
    const answer = await reader.query(FILES_PAGE_QUERY, { id: next.prId, after });
    if (answer.errors.length > 0)
      throw new GatherError(
        `GitHub answered a files page query with errors: ${answer.errors.map((e) => e.message).join("; ")}`,
      );
    const parsed = filesPage.safeParse((answer.data as { node?: { page?: unknown } } | null)?.node?.page);
    if (!parsed.success)
      throw new GatherError(
        `GitHub's answer to a files page query is malformed: ${z.prettifyError(parsed.error)}`,
      );
    for (const n of parsed.data.nodes) if (n) paths.push(n.path);
    for (const n of parsed.data.nodes) if (n?.changeType === "RENAMED") renamed.push(n.path);
    more = parsed.data.pageInfo.hasNextPage;
    after = parsed.data.pageInfo.endCursor;
  }
  return { paths, total, complete: !more && paths.length >= total, renamed };
}

/** The members of `teams` (lower-case `org/slug`) in one read, plus a page read per further 100 members. */
export async function readTeams(
  reader: GraphqlReader,
  teams: string[],
): Promise<Record<string, string[] | null>> {
  if (teams.length > MAX_TEAMS_PER_READ)
    throw new GatherError(
      `the rules involve ${teams.length} teams; changegate reads at most ${MAX_TEAMS_PER_READ} per evaluation`,
    );
  const vars: Record<string, string> = {};
  teams.forEach((t, i) => {
    const [org, slug] = t.split("/") as [string, string];
    vars[`o${i}`] = org;
    vars[`s${i}`] = slug;
  });
  const answer = await reader.query(teamsQuery(teams.length), vars);
  // An organisation the app cannot see is NOT_FOUND: its teams count nobody (the rule says so).
  const unexpected = answer.errors.filter((e) => e.type !== "NOT_FOUND");
  if (unexpected.length > 0)
    throw new GatherError(
      `GitHub answered the team read with errors: ${unexpected.map((e) => e.message).join("; ")}`,
    );
  const data = (answer.data ?? {}) as Record<string, unknown>;
  const out: Record<string, string[] | null> = {};
  for (let i = 0; i < teams.length; i++) {
    const parsed = z.object({ team: teamNode }).nullable().optional().safeParse(data[`t${i}`]);
    if (!parsed.success)
      throw new GatherError(
        `GitHub's answer about team ${teams[i]} is malformed: ${z.prettifyError(parsed.error)}`,
      );
    const team = parsed.data?.team ?? null;
    if (!team) {
      out[teams[i]!] = null;
      continue;
    }
    const members = team.members.nodes
      .filter((n): n is { login: string } => n !== null)
      .map((n) => n.login.toLowerCase());
    let info = team.members.pageInfo;
    for (let pages = 0; info.hasNextPage && info.endCursor; pages++) {
      if (pages >= MAX_MEMBER_PAGES)
        throw new GatherError(
          `team ${teams[i]} has more than ${(MAX_MEMBER_PAGES + 1) * 100} members: changegate cannot read them all`,
        );
      const next = await reader.query(TEAM_MEMBERS_PAGE, { id: team.id, after: info.endCursor });
      if (next.errors.length > 0)
        throw new GatherError(
          `GitHub answered a team members page with errors: ${next.errors.map((e) => e.message).join("; ")}`,
        );
      const p = membersConn.safeParse((next.data as { node?: { page?: unknown } } | null)?.node?.page);
      if (!p.success)
        throw new GatherError(
          `GitHub's answer to a team members page is malformed: ${z.prettifyError(p.error)}`,
        );
      for (const n of p.data.nodes) if (n) members.push(n.login.toLowerCase());
      info = p.data.pageInfo;
    }
    out[teams[i]!] = members;
  }
  return out;
}
