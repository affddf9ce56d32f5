/**
 * The simulator's branches, pushes and issues (test/sim/branches.ts, issues.ts): push payloads in
 * GitHub's shape (OpenAPI GHES 3.19 `webhook-push`), histories through GraphQL with GitHub's
 * connection rules, the commits GitHub associates with a merged PR, and plain issues over REST.
 */
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { BRANCH_HISTORY_QUERY } from "../../src/github/branch-history.js";
import { pushFactsQuery } from "../../src/github/push-facts.js";
import { CONFIG_PATH } from "../../src/contract.js";
import { MAX_PUSH_PAYLOAD_COMMITS } from "../sim/branches.js";
import { conforms } from "../sim/conforms.js";
import { executeGraphql, type Viewer } from "../sim/graphql.js";
import type { SimInstallation, SimRepo, SimWebhook } from "../sim/model.js";
import { Simulator } from "../sim/server.js";

let sim: Simulator;
let inst: SimInstallation;
let viewer: Viewer;
const hooks: SimWebhook[] = [];
let spec: any;

beforeAll(async () => {
  sim = await Simulator.start();
  inst = sim.installApp({ id: 77, slug: "gate", events: ["push", "pull_request", "issue_comment"] }, "acme");
  viewer = { installation: inst, app: sim.model.app(77), botLogin: "gate[bot]" };
  sim.model.onWebhook((h) => hooks.push(h));
  spec = createRequire(import.meta.url)("@octokit/openapi/generated/ghes-3.19.json");
});

afterAll(async () => {
  await sim?.stop();
});

let n = 0;
function newRepo(): SimRepo {
  return sim.model.addRepo({
    owner: "acme",
    name: `svc${++n}`,
    files: { [CONFIG_PATH]: "approvals:\n  required: 1\n" },
  });
}

function gql(query: string, variables: Record<string, unknown>): { data?: any; errors?: any[] } {
  return executeGraphql(sim.model, viewer, { query, variables }).body as never;
}

function lastPush(): SimWebhook {
  return hooks.filter((h) => h.name === "push").at(-1)!;
}

describe("push webhooks", () => {
  test("a merge sends the base branch's push: the PR's commits and the merge commit, pusher the merger, in GitHub's shape", () => {
    const repo = newRepo();
    const before = repo.baseSha;
    const pr = sim.model.openPullRequest(repo, { author: "dev", commits: [{}, {}] });
    const sha = sim.model.merge(pr, "alice");
    const hook = lastPush();
    expect(hook.payload).toMatchObject({
      ref: "refs/heads/main",
      before,
      after: sha,
      forced: false,
      created: false,
      deleted: false,
      base_ref: null,
      pusher: { name: "alice" },
      sender: { login: "alice" },
      installation: { id: inst.id },
    });
    expect((hook.payload.commits as { id: string }[]).map((c) => c.id)).toEqual([...pr.commits, sha]);
    expect((hook.payload.head_commit as { id: string }).id).toBe(sha);
    const repository = hook.payload.repository as {
      pushed_at: unknown;
      created_at: unknown;
      full_name: string;
    };
    expect(repository.full_name).toBe(repo.fullName);
    expect(Number.isInteger(repository.pushed_at)).toBe(true);
    expect(Number.isInteger(repository.created_at)).toBe(true);
    expect(conforms(spec.components.schemas["webhook-push"], hook.payload, spec)).toEqual([]);
    // The check bites: a payload without its pusher is not GitHub's.
    const { pusher: _pusher, ...withoutPusher } = hook.payload;
    expect(conforms(spec.components.schemas["webhook-push"], withoutPusher, spec)).toContain(
      "$.pusher: missing",
    );
  });

  test("directPush appends; a force push replaces the tip with a new line (before = old tip); a merge into another base moves only that branch", () => {
    const repo = newRepo();
    const start = repo.baseSha;
    const a = sim.model.directPush(repo, "main", [{ message: "a1" }, { message: "a2" }], { by: "mallory" });
    expect(a.before).toBe(start);
    expect(repo.baseSha).toBe(a.after);
    expect(lastPush().payload).toMatchObject({
      before: start,
      after: a.after,
      forced: false,
      pusher: { name: "mallory" },
    });
    expect((lastPush().payload.commits as { id: string }[]).map((c) => c.id)).toEqual(a.shas);
    const f = sim.model.directPush(repo, "main", [{ message: "rewritten" }], { by: "mallory", force: true });
    expect(f.before).toBe(a.after);
    expect(sim.model.commits.get(f.after)!.parents).toEqual([a.shas[0]]);
    expect(lastPush().payload).toMatchObject({ before: a.after, after: f.after, forced: true });
    expect(sim.model.history(repo, "main").map((c) => c.sha)).toEqual([f.after, a.shas[0], start]);
    expect(conforms(spec.components.schemas["webhook-push"], lastPush().payload, spec)).toEqual([]);

    const rel = sim.model.openPullRequest(repo, { author: "dev", baseRef: "release" });
    const relSha = sim.model.merge(rel, "alice");
    expect(repo.baseSha).toBe(f.after);
    expect(repo.branches.get("release")).toBe(relSha);
    expect(lastPush().payload).toMatchObject({ ref: "refs/heads/release", after: relSha });
  });

  test(`a push lists at most ${MAX_PUSH_PAYLOAD_COMMITS} commits (GitHub's webhook limit; 20 is the timeline's)`, () => {
    const repo = newRepo();
    sim.model.directPush(
      repo,
      "main",
      Array.from({ length: MAX_PUSH_PAYLOAD_COMMITS + 2 }, () => ({})),
      { by: "bulk" },
    );
    expect((lastPush().payload.commits as unknown[]).length).toBe(MAX_PUSH_PAYLOAD_COMMITS);
  });

  test("only apps subscribed to push receive it", () => {
    sim.installApp({ id: 78, slug: "nopush", events: ["pull_request"] }, "acme");
    const repo = newRepo();
    const from = hooks.length;
    sim.model.directPush(repo, "main", [{}]);
    expect(
      hooks
        .slice(from)
        .filter((h) => h.name === "push")
        .map((h) => h.appId),
    ).toEqual([77]);
  });
});

describe("GraphQL: histories and associated pull requests", () => {
  test("history: newest first, since/until, 100 a page with cursors, first > 100 refused", () => {
    const repo = newRepo();
    const since = sim.model.tick();
    const pushed = sim.model.directPush(
      repo,
      "main",
      Array.from({ length: 150 }, () => ({})),
      { by: "bulk" },
    );
    const until = sim.model.tick();
    const vars = { owner: "acme", name: repo.name, ref: "refs/heads/main", since, until, after: null };
    const p1 = gql(BRANCH_HISTORY_QUERY, vars);
    expect(p1.errors).toBeUndefined();
    const h1 = p1.data.repository.ref.target.history;
    expect(h1.nodes).toHaveLength(100);
    expect(h1.nodes[0].oid).toBe(pushed.after);
    expect(h1.pageInfo.hasNextPage).toBe(true);
    const p2 = gql(BRANCH_HISTORY_QUERY, { ...vars, after: h1.pageInfo.endCursor });
    const h2 = p2.data.repository.ref.target.history;
    expect(h2.nodes).toHaveLength(50); // the initial commit is before `since`
    expect(h2.pageInfo.hasNextPage).toBe(false);
    expect([...h1.nodes, ...h2.nodes].map((x: { oid: string }) => x.oid)).toEqual([...pushed.shas].reverse());
    const tooMany = gql(BRANCH_HISTORY_QUERY.replace("first: 100", "first: 101"), vars);
    expect(tooMany.errors?.[0]).toMatchObject({ type: "EXCESSIVE_PAGINATION" });
    const none = gql(BRANCH_HISTORY_QUERY, { ...vars, ref: "refs/heads/nope" });
    expect(none.data.repository.ref).toBeNull();
  });

  test("associatedPullRequests: a merged PR for its merge commit and its own commits, none for a direct push; object(oid) of another repository is null", () => {
    const repo = newRepo();
    const pr = sim.model.openPullRequest(repo, { author: "dev", commits: [{}, {}] });
    const sha = sim.model.merge(pr, "alice");
    const direct = sim.model.directPush(repo, "main", [{}], { by: "mallory" });
    const other = newRepo();
    const shas = [...pr.commits, sha, direct.after, other.baseSha];
    const vars: Record<string, unknown> = {
      owner: "acme",
      name: repo.name,
      policyExpr: `HEAD:${CONFIG_PATH}`,
      readOrg: true,
    };
    shas.forEach((s, i) => (vars[`c${i}`] = s));
    const res = gql(pushFactsQuery(shas.length), vars);
    expect(res.errors?.filter((e) => e.type !== "NOT_FOUND") ?? []).toEqual([]);
    const prs = (i: number) => res.data.repository[`c${i}`]?.associatedPullRequests?.nodes ?? null;
    for (const i of [0, 1, 2])
      expect(prs(i)).toEqual([
        {
          number: pr.number,
          merged: true,
          baseRefName: "main",
          baseRepository: { nameWithOwner: repo.fullName },
        },
      ]);
    expect(prs(3)).toEqual([]);
    expect(res.data.repository.c4).toBeNull();
    expect(res.data.repository.policy.text).toContain("approvals");
  });

  test("a fork's merged PR holding a commit of the upstream is named for it, with the fork as its base repository", () => {
    const repo = newRepo();
    const fork = sim.model.forkRepo(repo, "mallory");
    const direct = sim.model.directPush(repo, "main", [{}], { by: "mallory" });
    const forkPr = sim.model.openPullRequest(fork, { author: "mallory", commitShas: direct.shas });
    sim.model.merge(forkPr, "mallory");
    const res = gql(pushFactsQuery(1), {
      owner: "acme",
      name: repo.name,
      policyExpr: `HEAD:${CONFIG_PATH}`,
      readOrg: true,
      c0: direct.after,
    });
    expect(res.errors?.filter((e) => e.type !== "NOT_FOUND") ?? []).toEqual([]);
    expect(res.data.repository.c0.associatedPullRequests.nodes).toEqual([
      {
        number: forkPr.number,
        merged: true,
        baseRefName: "main",
        baseRepository: { nameWithOwner: fork.fullName },
      },
    ]);
  });
});

describe("REST: plain issues (the audit issue)", () => {
  test("create, list by label (pull requests included and marked), comment; in GitHub's shapes", async () => {
    const repo = newRepo();
    const pr = sim.model.openPullRequest(repo, { author: "dev", labels: ["changegate-bypass"] });
    const { openIssue, issueJson, listIssues } = await import("../sim/issues.js");
    const issue = openIssue(sim.model, repo, {
      title: "Bypasses",
      body: "b",
      labels: ["changegate-bypass"],
      author: "gate[bot]",
      appId: 77,
    });
    expect(issue.number).toBe(pr.number + 1);
    expect(conforms(spec.components.schemas["issue"], issueJson(sim.model, issue), spec)).toEqual([]);
    const listed = listIssues(sim.model, repo, new URLSearchParams("state=open&labels=changegate-bypass"));
    expect(listed.map((i) => [i.number, "pull_request" in i])).toEqual([
      [issue.number, false],
      [pr.number, true],
    ]);
    expect(listIssues(sim.model, repo, new URLSearchParams("labels=other"))).toEqual([]);
    expect(() => openIssue(sim.model, repo, { title: "", author: "x", appId: null })).toThrow();
    const c = sim.model.addComment(repo, issue.number, "entry", "gate[bot]", 77);
    expect(sim.model.commentsOf(repo.fullName, issue.number)).toEqual([c]);
    const hook = hooks.filter((h) => h.name === "issue_comment").at(-1)!;
    expect(hook.payload).toMatchObject({ issue: { number: issue.number, title: "Bypasses" } });
    expect((hook.payload.issue as Record<string, unknown>).pull_request).toBeUndefined();
  });
});
