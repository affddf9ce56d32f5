/**
 * The simulator itself: it must reject what GitHub rejects and answer in GitHub's shapes, or the
 * end-to-end suites prove nothing. GraphQL against GitHub's schema, REST against GitHub's OpenAPI
 * description (GHES 3.19), app JWTs, faults, webhooks, and the Jira flavours.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { generateKeyPairSync, createSign, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { CHECK_NAME, CONFIG_PATH, DIGEST_MARKER } from "../../src/contract.js";
import { gather } from "../../src/github/gather.js";
import {
  AUTHORS_PAGE_QUERY,
  CONTEXTS_PAGE_QUERY,
  EVIDENCE_QUERY,
  FILE_QUERY,
  prPageQuery,
} from "../../src/github/query.js";
import type { GraphqlReader } from "../../src/github/reader.js";
import { allExamples } from "../sim/examples.js";
import { conforms } from "../sim/conforms.js";
import { executeGraphql, githubGraphqlSchema, type Viewer } from "../sim/graphql.js";
import { SimHttpError, type SimInstallation, type SimRepo, type SimWebhook } from "../sim/model.js";
import { Simulator } from "../sim/server.js";
import { signature256 } from "../sim/webhooks.js";
import { parse, validate } from "graphql";

const APP_ID = 4242;
const keys = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const otherKeys = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

function jwt(privateKey: string, claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc(claims)}`;
  const sig = createSign("RSA-SHA256").update(body).sign(privateKey).toString("base64url");
  return `${body}.${sig}`;
}

let sim: Simulator;
let inst: SimInstallation;
let repo: SimRepo;
let token = "";
const hooks: SimWebhook[] = [];

async function gh(
  method: string,
  path: string,
  body?: unknown,
  auth = `token ${token}`,
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${sim.githubUrl}${path}`, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, headers: res.headers };
}

const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  sim = await Simulator.start();
  inst = sim.installApp(
    {
      id: APP_ID,
      slug: "changegate",
      privateKeyPem: keys.privateKey,
      events: ["pull_request", "pull_request_review", "check_run", "check_suite", "status"],
    },
    "acme",
  );
  sim.model.onWebhook((h) => hooks.push(h));
  repo = sim.model.addRepo({
    owner: "acme",
    name: "payments",
    files: { [CONFIG_PATH]: "approvals:\n  required: 1\n" },
  });
  const res = await gh(
    "POST",
    `/api/v3/app/installations/${inst.id}/access_tokens`,
    {},
    `bearer ${jwt(keys.privateKey, { iss: APP_ID, iat: now() - 30, exp: now() + 500 })}`,
  );
  expect(res.status).toBe(201);
  token = res.json.token;
});

afterAll(async () => {
  await sim?.stop();
});

describe("GraphQL against GitHub's schema", () => {
  test("every query changegate sends is valid", () => {
    for (const q of [
      EVIDENCE_QUERY,
      prPageQuery("commits"),
      prPageQuery("reviews"),
      prPageQuery("comments"),
      CONTEXTS_PAGE_QUERY,
      FILE_QUERY,
      AUTHORS_PAGE_QUERY,
    ]) {
      expect(validate(githubGraphqlSchema(), parse(q)).map((e) => e.message)).toEqual([]);
    }
  });

  test("what GitHub rejects is rejected: unknown fields, missing or excessive pagination, too many nodes", async () => {
    const run = async (query: string, variables: Record<string, unknown> = {}) =>
      (await gh("POST", "/api/graphql", { query, variables })).json;
    const unknown = await run(`query { repository(owner: "acme", name: "payments") { pushedDate } }`);
    expect(unknown.errors[0].message).toMatch(/Cannot query field "pushedDate" on type "Repository"/);
    expect(unknown.data).toBeUndefined();
    const unbounded = await run(
      `query { repository(owner: "acme", name: "payments") { pullRequests { nodes { number } } } }`,
    );
    expect(unbounded.errors[0]).toMatchObject({
      type: "MISSING_PAGINATION_BOUNDARIES",
      path: ["repository", "pullRequests"],
    });
    const countOnly = await run(
      `query { repository(owner: "acme", name: "payments") { pullRequests { totalCount } } }`,
    );
    expect(countOnly.errors).toBeUndefined();
    const excessive = await run(
      `query { repository(owner: "acme", name: "payments") { pullRequests(first: 101) { nodes { number } } } }`,
    );
    expect(excessive.errors[0].type).toBe("EXCESSIVE_PAGINATION");
    const huge = await run(
      `query { repository(owner: "acme", name: "payments") { pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit { authors(first: 100) { nodes { name } } } } } } } } }`,
    );
    expect(huge.errors[0].type).toBe("MAX_NODE_LIMIT_EXCEEDED");
    const typed = await run(
      `query($n: Int!) { repository(owner: "acme", name: "payments") { pullRequest(number: $n) { number } } }`,
      { n: "one" },
    );
    expect(typed.errors[0].message).toMatch(/Int/);
  });

  test("a missing repository or pull request is NOT_FOUND with a path, beside the data that exists", async () => {
    const res = await gh("POST", "/api/graphql", {
      query: `query { repository(owner: "acme", name: "payments") { pullRequest(number: 999) { number } } org: repository(owner: "acme", name: ".github") { id } }`,
    });
    expect(res.json.data).toEqual({ repository: { pullRequest: null }, org: null });
    expect(res.json.errors.map((e: { type: string; path: string[] }) => [e.type, e.path.join(".")])).toEqual([
      ["NOT_FOUND", "repository.pullRequest"],
      ["NOT_FOUND", "org"],
    ]);
  });

  test("changegate's gather reads the simulator's state into the evidence it expects", async () => {
    const m = sim.model;
    const pr = m.openPullRequest(repo, {
      author: "dev",
      title: "OPS-1 faster",
      commits: [{ message: "one" }, { message: "two", authors: ["dev", "pair"] }],
    });
    m.review(pr, { author: "alice" });
    m.review(pr, { author: "carol", state: "COMMENTED" });
    m.ci(pr, "build", { conclusion: "success" });
    m.ci(pr, "build", { conclusion: "failure" }); // a re-run in the same suite: the newer counts
    m.setStatus(repo, m.headSha(pr), { context: "legacy", state: "pending" });
    const own = m.createCheckRun(repo, APP_ID, {
      name: CHECK_NAME,
      headSha: m.headSha(pr),
      status: "in_progress",
      title: "Waiting",
      summary: "s",
    });
    m.addComment(repo, pr.number, `digest ${DIGEST_MARKER}`, "changegate[bot]", APP_ID);
    m.addComment(repo, pr.number, `fake ${DIGEST_MARKER}`, "mallory", null);
    const viewer: Viewer = { installation: inst, app: m.app(APP_ID), botLogin: "changegate[bot]" };
    let reads = 0;
    const reader: GraphqlReader = {
      get reads() {
        return reads;
      },
      async query(query, variables) {
        reads++;
        const r = executeGraphql(m, viewer, { query, variables });
        return { data: r.body.data, errors: (r.body.errors ?? []) as never };
      },
    };
    const g = await gather(
      reader,
      { installationId: inst.id, owner: "acme", repo: "payments", number: pr.number },
      APP_ID,
    );
    expect(reads).toBe(1);
    expect(g.evidence.pr).toMatchObject({
      number: pr.number,
      title: "OPS-1 faster",
      state: "OPEN",
      headSha: m.headSha(pr),
      author: { login: "dev", isBot: false },
    });
    expect(g.evidence.commits.map((c) => [c.headline, c.authors])).toEqual([
      ["one", ["dev"]],
      ["two", ["dev", "pair"]],
    ]);
    expect(
      g.evidence.reviews.map((r) => [
        r.author?.login,
        r.state,
        r.commitOid === m.headSha(pr),
        r.authorCanPush,
      ]),
    ).toEqual([
      ["alice", "APPROVED", true, true],
      ["carol", "COMMENTED", true, true],
    ]);
    expect(g.evidence.checks.map((c) => [c.kind, c.name, c.state])).toEqual([
      ["check_run", "build", "failure"],
      ["status", "legacy", "pending"],
    ]);
    expect(g.ownCheck).toMatchObject({ id: own.id, status: "IN_PROGRESS", title: "Waiting" });
    expect(g.digestComment?.body).toBe(`digest ${DIGEST_MARKER}`);
    expect(g.configFiles.repoFile?.text).toBe("approvals:\n  required: 1\n");
    expect(g.configFiles.orgFile).toBeNull();
  });

  test("label events and unlinked commit authors: gather keeps the newest LabeledEvent per label and the unlinked identities", async () => {
    const m = sim.model;
    const pr = m.openPullRequest(repo, {
      author: "dev",
      labels: ["emergency"],
      commits: [{ message: "ghost", authors: [null, "dev"], committer: null }],
    });
    m.addLabel(pr, "bug", "triager");
    m.removeLabel(pr, "emergency", "dev");
    m.addLabel(pr, "Emergency", "oncall-lead");
    const viewer: Viewer = { installation: inst, app: m.app(APP_ID), botLogin: "changegate[bot]" };
    const reader: GraphqlReader = {
      reads: 0,
      async query(query, variables) {
        const r = executeGraphql(m, viewer, { query, variables });
        return { data: r.body.data, errors: (r.body.errors ?? []) as never };
      },
    };
    const g = await gather(
      reader,
      { installationId: inst.id, owner: "acme", repo: "payments", number: pr.number },
      APP_ID,
    );
    const events = g.evidence.labelHistory!.events.map((e) => [e.label, e.actor?.login, e.at]).sort();
    expect(events).toEqual([
      ["Emergency", "oncall-lead", pr.labelEvents[2]!.at],
      ["bug", "triager", pr.labelEvents[1]!.at],
    ]);
    expect(g.evidence.labelHistory!.truncated).toBe(false);
    expect(g.evidence.commits[0]).toMatchObject({
      authors: [null, "dev"],
      committer: null,
      unlinked: [
        "author Someone <someone@users.noreply.example.com>",
        "committer Someone <someone@users.noreply.example.com>",
      ],
    });
    m.close(pr); // keep the open-PR listings of later tests as they were
  });

  test("long PRs page: 130 commits come back in two pages with GitHub's cursors", async () => {
    const m = sim.model;
    const pr = m.openPullRequest(repo, {
      author: "dev",
      commits: Array.from({ length: 130 }, (_, i) => ({ message: `c${i}` })),
    });
    const first = await gh("POST", "/api/graphql", {
      query: `query { repository(owner: "acme", name: "payments") { pullRequest(number: ${pr.number}) { id commits(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid } } } } } }`,
    });
    const c = first.json.data.repository.pullRequest.commits;
    expect(c.totalCount).toBe(130);
    expect(c.nodes).toHaveLength(100);
    expect(c.pageInfo.hasNextPage).toBe(true);
    const next = await gh("POST", "/api/graphql", {
      query: prPageQuery("commits"),
      variables: { id: first.json.data.repository.pullRequest.id, after: c.pageInfo.endCursor },
    });
    expect(next.json.data.node.page.nodes).toHaveLength(30);
    expect(next.json.data.node.page.pageInfo.hasNextPage).toBe(false);
  });
});

describe("REST answers in the shapes of GitHub's OpenAPI description (GHES 3.19)", () => {
  let spec: any;
  const responseSchema = (path: string, method: string, status: number) =>
    spec.paths[path][method].responses[String(status)].content["application/json"].schema;

  beforeAll(() => {
    spec = createRequire(import.meta.url)("@octokit/openapi/generated/ghes-3.19.json");
  });

  test("check runs, comments, pulls, statuses, installation tokens and repositories", async () => {
    const m = sim.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    const head = m.headSha(pr);
    const cases: [string, string, number, Promise<{ status: number; json: any }>][] = [];
    const created = await gh("POST", "/api/v3/repos/acme/payments/check-runs", {
      name: CHECK_NAME,
      head_sha: head,
      status: "in_progress",
      output: { title: "t", summary: "s" },
    });
    cases.push(["/repos/{owner}/{repo}/check-runs", "post", 201, Promise.resolve(created)]);
    cases.push([
      "/repos/{owner}/{repo}/check-runs/{check_run_id}",
      "patch",
      200,
      gh("PATCH", `/api/v3/repos/acme/payments/check-runs/${created.json.id}`, {
        conclusion: "success",
        output: { title: "t", summary: "s" },
      }),
    ]);
    const comment = await gh("POST", `/api/v3/repos/acme/payments/issues/${pr.number}/comments`, {
      body: "hello",
    });
    cases.push([
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      "post",
      201,
      Promise.resolve(comment),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/issues/comments/{comment_id}",
      "patch",
      200,
      gh("PATCH", `/api/v3/repos/acme/payments/issues/comments/${comment.json.id}`, { body: "edited" }),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/issues/{issue_number}/comments",
      "get",
      200,
      gh("GET", `/api/v3/repos/acme/payments/issues/${pr.number}/comments`),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/pulls",
      "get",
      200,
      gh("GET", "/api/v3/repos/acme/payments/pulls?state=open&per_page=100&page=1"),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/pulls/{pull_number}",
      "get",
      200,
      gh("GET", `/api/v3/repos/acme/payments/pulls/${pr.number}`),
    ]);
    const moved = m.openPullRequest(repo, {
      author: "dev",
      files: ["docs/a.tf", "b.md"],
      renames: { "docs/a.tf": "infra/a.tf" },
    });
    cases.push([
      "/repos/{owner}/{repo}/pulls/{pull_number}/files",
      "get",
      200,
      gh("GET", `/api/v3/repos/acme/payments/pulls/${moved.number}/files?per_page=100&page=1`),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/statuses/{sha}",
      "post",
      201,
      gh("POST", `/api/v3/repos/acme/payments/statuses/${head}`, { state: "success", context: "ci" }),
    ]);
    cases.push([
      "/repos/{owner}/{repo}/commits/{ref}/check-runs",
      "get",
      200,
      gh("GET", `/api/v3/repos/acme/payments/commits/${head}/check-runs`),
    ]);
    cases.push(["/installation/repositories", "get", 200, gh("GET", "/api/v3/installation/repositories")]);
    m.createBranch(repo, "activity-shape");
    m.directPush(repo, "activity-shape", [{}], { by: "dev" });
    m.directPush(repo, "activity-shape", [{}], { by: "dev", force: true });
    cases.push([
      "/repos/{owner}/{repo}/activity",
      "get",
      200,
      gh("GET", "/api/v3/repos/acme/payments/activity?ref=activity-shape&per_page=100"),
    ]);
    cases.push(["/repos/{owner}/{repo}", "get", 200, gh("GET", "/api/v3/repos/acme/payments")]);
    m.addTeam("acme", "sre", ["dev"]);
    cases.push([
      "/repos/{owner}/{repo}/collaborators/{username}/permission",
      "get",
      200,
      gh("GET", "/api/v3/repos/acme/payments/collaborators/dev/permission"),
    ]);
    cases.push([
      "/orgs/{org}/teams/{team_slug}/memberships/{username}",
      "get",
      200,
      gh("GET", "/api/v3/orgs/acme/teams/sre/memberships/dev"),
    ]);
    const tokenRes = gh(
      "POST",
      `/api/v3/app/installations/${inst.id}/access_tokens`,
      {},
      `bearer ${jwt(keys.privateKey, { iss: String(APP_ID), iat: now() - 30, exp: now() + 500 })}`,
    );
    cases.push(["/app/installations/{installation_id}/access_tokens", "post", 201, tokenRes]);
    for (const [path, method, status, res] of cases) {
      const r = await res;
      expect([path, method, r.status]).toEqual([path, method, status]);
      expect([path, method, conforms(responseSchema(path, method, status), r.json, spec)]).toEqual([
        path,
        method,
        [],
      ]);
    }
  });

  test("GitHub's validation: unknown commit, missing conclusion, over-long actions, another app's check", async () => {
    const m = sim.model;
    const pr = m.openPullRequest(repo, { author: "dev" });
    const head = m.headSha(pr);
    expect(
      (await gh("POST", "/api/v3/repos/acme/payments/check-runs", { name: "x", head_sha: "f".repeat(40) }))
        .status,
    ).toBe(422);
    expect(
      (
        await gh("POST", "/api/v3/repos/acme/payments/check-runs", {
          name: "x",
          head_sha: head,
          status: "completed",
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await gh("POST", "/api/v3/repos/acme/payments/check-runs", {
          name: "x",
          head_sha: head,
          actions: [{ label: "A label far too long to fit", description: "d", identifier: "i" }],
        })
      ).status,
    ).toBe(422);
    const ci = m.ci(pr, "build", { status: "in_progress" });
    expect(
      (await gh("PATCH", `/api/v3/repos/acme/payments/check-runs/${ci.id}`, { conclusion: "success" }))
        .status,
    ).toBe(403);
    // A completed run cannot be reopened: the PATCH is accepted, the run stays completed with its
    // conclusion (its output changes); its conclusion can be changed in place.
    const own = (
      await gh("POST", "/api/v3/repos/acme/payments/check-runs", {
        name: "x",
        head_sha: head,
        status: "completed",
        conclusion: "success",
        output: { title: "green", summary: "s" },
      })
    ).json as { id: number };
    const before = m.ignoredReopens;
    const reopened = await gh("PATCH", `/api/v3/repos/acme/payments/check-runs/${own.id}`, {
      status: "in_progress",
      output: { title: "Waiting", summary: "s" },
    });
    expect(reopened.status).toBe(200);
    expect(reopened.json).toMatchObject({
      status: "completed",
      conclusion: "success",
      output: { title: "Waiting" },
    });
    expect(m.ignoredReopens - before).toBe(1);
    const flipped = await gh("PATCH", `/api/v3/repos/acme/payments/check-runs/${own.id}`, {
      status: "completed",
      conclusion: "failure",
      output: { title: "red", summary: "s" },
    });
    expect(flipped.json).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(
      (
        await gh("POST", `/api/v3/repos/acme/payments/issues/${pr.number}/comments`, {
          body: "x".repeat(65537),
        })
      ).status,
    ).toBe(422);
  });
});

describe("repository activity (GET /repos/{o}/{r}/activity)", () => {
  test("every branch update, newest first; filters; cursor pages by the Link header; GitHub's validation; Contents: read", async () => {
    const m = sim.model;
    const r = m.addRepo({ owner: "acme", name: "activity", files: {} });
    const pushes = [1, 2, 3].map((i) => m.directPush(r, "main", [{ message: `p${i}` }], { by: "dev" }));
    const forced = m.directPush(r, "main", [{ message: "rewritten" }], { by: "mallory", force: true });
    const forcedAt = m.stamp();
    m.directPush(r, "dev", [{ message: "elsewhere" }], { by: "dev" });
    const base = "/api/v3/repos/acme/activity/activity";
    const one = await gh("GET", `${base}?ref=refs/heads/main&activity_type=force_push`);
    expect(one.status).toBe(200);
    expect(one.json).toEqual([
      expect.objectContaining({
        before: pushes[2]!.after,
        after: forced.after,
        ref: "refs/heads/main",
        timestamp: forcedAt,
        activity_type: "force_push",
        actor: expect.objectContaining({ login: "mallory" }),
      }),
    ]);
    // A branch name alone is the same ref; newest first; two a page, the rest by the next cursor.
    const p1 = await gh("GET", `${base}?ref=main&per_page=2`);
    expect(p1.json.map((a: { after: string }) => a.after)).toEqual([forced.after, pushes[2]!.after]);
    const next = /<([^>]+)>; rel="next"/.exec(p1.headers.get("link") ?? "")?.[1];
    expect(next).toMatch(/[?&]after=/);
    const p2 = await gh("GET", next!.slice(next!.indexOf("/api/v3")));
    expect(p2.json.map((a: { after: string }) => a.after)).toEqual([pushes[1]!.after, pushes[0]!.after]);
    expect(p2.headers.get("link")).not.toMatch(/rel="next"/);
    expect(p2.headers.get("link")).toMatch(/rel="prev"/);
    const asc = await gh("GET", `${base}?ref=main&direction=asc&activity_type=push&actor=dev`);
    expect(asc.json.map((a: { after: string }) => a.after)).toEqual(pushes.map((p) => p.after));
    for (const q of [
      "per_page=101",
      "per_page=0",
      "activity_type=rebase",
      "direction=up",
      "time_period=decade",
      "after=bogus",
    ])
      expect([q, (await gh("GET", `${base}?${q}`)).status]).toEqual([q, 422]);
    m.setInstallationPermissions(inst, { checks: "write", metadata: "read" });
    try {
      expect((await gh("GET", base)).status).toBe(403);
    } finally {
      inst.permissions = null;
    }
  });
});

describe("declarer facts over REST: GitHub's 404 semantics", () => {
  test("collaborator permission: role and base permission; 404 for a login that is no user", async () => {
    const m = sim.model;
    m.user("tessa");
    m.setRole(repo, "tessa", "triage");
    m.user("mona");
    m.setRole(repo, "mona", "maintain");
    const triage = await gh("GET", "/api/v3/repos/acme/payments/collaborators/tessa/permission");
    expect([triage.status, triage.json.permission, triage.json.role_name]).toEqual([200, "read", "triage"]);
    const maintain = await gh("GET", "/api/v3/repos/acme/payments/collaborators/mona/permission");
    expect([maintain.status, maintain.json.permission, maintain.json.role_name]).toEqual([
      200,
      "write",
      "maintain",
    ]);
    expect(
      (await gh("GET", "/api/v3/repos/acme/payments/collaborators/nobody-at-all/permission")).status,
    ).toBe(404);
    m.setRole(repo, "tessa", "write");
    expect(
      (await gh("GET", "/api/v3/repos/acme/payments/collaborators/tessa/permission")).json.permission,
    ).toBe("write");
  });

  test("team membership: active or pending; 404 for a non-member, an unknown team, another organisation", async () => {
    const m = sim.model;
    m.addTeam("acme", "oncall", ["sam", { login: "pat", state: "pending" }]);
    m.addTeam("other", "oncall", ["sam"]);
    expect((await gh("GET", "/api/v3/orgs/acme/teams/oncall/memberships/sam")).json.state).toBe("active");
    expect((await gh("GET", "/api/v3/orgs/acme/teams/oncall/memberships/pat")).json.state).toBe("pending");
    expect((await gh("GET", "/api/v3/orgs/acme/teams/oncall/memberships/dev")).status).toBe(404);
    expect((await gh("GET", "/api/v3/orgs/acme/teams/nope/memberships/sam")).status).toBe(404);
    expect((await gh("GET", "/api/v3/orgs/other/teams/oncall/memberships/sam")).status).toBe(404);
  });
});

describe("authentication", () => {
  test("app JWTs are verified with the app's public key and GitHub's claim rules", async () => {
    const path = `/api/v3/app/installations/${inst.id}/access_tokens`;
    const post = (t: string) => gh("POST", path, {}, `bearer ${t}`);
    expect(
      (await post(jwt(otherKeys.privateKey, { iss: APP_ID, iat: now() - 30, exp: now() + 500 }))).status,
    ).toBe(401);
    expect(
      (await post(jwt(keys.privateKey, { iss: APP_ID, iat: now() - 700, exp: now() - 100 }))).status,
    ).toBe(401);
    expect(
      (await post(jwt(keys.privateKey, { iss: APP_ID, iat: now(), exp: now() + 3600 }))).json.message,
    ).toMatch(/too far in the future/);
    expect((await post("not.a.jwt")).status).toBe(401);
    expect((await gh("POST", path, {}, `token ${token}`)).status).toBe(401);
  });

  test("installation tokens: bad token 401, another owner's repository 404 (REST) and NOT_FOUND (GraphQL)", async () => {
    sim.model.addRepo({ owner: "other", name: "secret" });
    expect((await gh("GET", "/api/v3/repos/acme/payments", undefined, "token ghs_bogus")).status).toBe(401);
    expect((await gh("GET", "/api/v3/repos/other/secret")).status).toBe(404);
    const q = await gh("POST", "/api/graphql", {
      query: `query { repository(owner: "other", name: "secret") { id } }`,
    });
    expect(q.json.errors[0].type).toBe("NOT_FOUND");
  });
});

describe("faults", () => {
  test("5xx for N calls, then normal answers; every request is recorded with its route", async () => {
    const f = sim.fault({ route: "GET /repos/{owner}/{repo}", kind: "status", status: 502, times: 2 });
    const seq = sim.lastSeq;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await gh("GET", "/api/v3/repos/acme/payments")).status);
    expect(statuses).toEqual([502, 502, 200]);
    expect(f.hits).toBe(2);
    expect(sim.since(seq).map((r) => [r.route, r.status, r.fault, r.installationId])).toEqual([
      ["GET /repos/{owner}/{repo}", 502, "status", inst.id],
      ["GET /repos/{owner}/{repo}", 502, "status", inst.id],
      ["GET /repos/{owner}/{repo}", 200, null, inst.id],
    ]);
  });

  test("secondary rate limits: 403 and 429 with retry-after and GitHub's message", async () => {
    sim.fault({ operation: "Probe", kind: "secondary", retryAfterSeconds: 7, times: 1 });
    sim.fault({ operation: "Probe", kind: "secondary", status: 429, times: 1 });
    const first = await gh("POST", "/api/graphql", { query: "query Probe { viewer { login } }" });
    expect(first.status).toBe(403);
    expect(first.headers.get("retry-after")).toBe("7");
    expect(first.json.message).toMatch(/secondary rate limit/);
    expect((await gh("POST", "/api/graphql", { query: "query Probe { viewer { login } }" })).status).toBe(
      429,
    );
    expect(
      (await gh("POST", "/api/graphql", { query: "query Probe { viewer { login } }" })).json.data.viewer
        .login,
    ).toBe("changegate");
  });

  test("hanging, slow, malformed and reset answers", async () => {
    const hang = sim.fault({ route: "GET /rate_limit", kind: "hang", times: 1 });
    await expect(
      fetch(`${sim.githubUrl}/api/v3/rate_limit`, {
        headers: { authorization: `token ${token}` },
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(hang.hits).toBe(1);
    sim.fault({ route: "GET /rate_limit", kind: "delay", ms: 200, times: 1 });
    const t0 = Date.now();
    expect((await gh("GET", "/api/v3/rate_limit")).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    sim.fault({ route: "GET /rate_limit", kind: "malformed", times: 1 });
    const bad = await gh("GET", "/api/v3/rate_limit");
    expect(typeof bad.json).toBe("string");
    sim.fault({ route: "GET /rate_limit", kind: "reset", times: 1 });
    await expect(
      fetch(`${sim.githubUrl}/api/v3/rate_limit`, { headers: { authorization: `token ${token}` } }),
    ).rejects.toThrow();
  });
});

describe("webhooks", () => {
  test("payloads are GitHub's examples carrying the simulator's objects, only for subscribed events, signed with HMAC-SHA256", () => {
    hooks.length = 0;
    const m = sim.model;
    const pr = m.openPullRequest(repo, { author: "dev", labels: ["emergency"] });
    m.review(pr, { author: "alice" });
    m.addComment(repo, pr.number, "hi", "alice", null);
    const opened = hooks.find((h) => h.name === "pull_request" && h.action === "opened")!;
    const example = allExamples()
      .find((g) => g.name === "pull_request")!
      .examples.find((e) => e.action === "opened")!;
    for (const k of Object.keys(example)) expect(opened.payload).toHaveProperty(k);
    expect(opened.payload).toMatchObject({
      action: "opened",
      number: pr.number,
      installation: { id: inst.id },
      repository: { full_name: "acme/payments" },
    });
    expect((opened.payload.pull_request as { head: { sha: string } }).head.sha).toBe(m.headSha(pr));
    expect(hooks.map((h) => `${h.name}.${h.action}`)).toEqual([
      "pull_request.opened",
      "pull_request.labeled",
      "pull_request_review.submitted",
    ]);
    const body = JSON.stringify(opened.payload);
    expect(signature256("s3cret", body)).toBe(
      `sha256=${createHmac("sha256", "s3cret").update(body).digest("hex")}`,
    );
  });

  test("GitHub refuses approving your own PR", () => {
    const pr = sim.model.openPullRequest(repo, { author: "dev" });
    expect(() => sim.model.review(pr, { author: "dev" })).toThrow(SimHttpError);
    expect(sim.model.review(pr, { author: "dev", state: "COMMENTED" }).state).toBe("COMMENTED");
  });
});

describe("Jira", () => {
  const jira = async (method: string, path: string, body?: unknown, auth?: string) => {
    const cred =
      auth ??
      (sim.jira.flavour === "cloud"
        ? `Basic ${Buffer.from(`${sim.jira.email}:${sim.jira.apiToken}`).toString("base64")}`
        : `Bearer ${sim.jira.pat}`);
    const res = await fetch(`${sim.jiraUrl}${path}`, {
      method,
      headers: { authorization: cred, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  test("Cloud: bulkfetch omits unknown keys, search/jql returns ids unless fields are asked for, the old search is gone (410)", async () => {
    sim.jira.flavour = "cloud";
    sim.jira.setIssue("OPS-1", "In Progress", "Do it");
    const bulk = await jira("POST", "/rest/api/3/issue/bulkfetch", {
      issueIdsOrKeys: ["OPS-1", "OPS-404"],
      fields: ["summary", "status"],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.json.issues.map((i: any) => [i.key, i.fields.status.name, i.fields.summary])).toEqual([
      ["OPS-1", "In Progress", "Do it"],
    ]);
    const ids = await jira("GET", "/rest/api/3/search/jql?jql=key%20in%20(OPS-1)");
    expect(ids.json.issues).toEqual([{ id: expect.any(String) }]);
    const withFields = await jira("POST", "/rest/api/3/search/jql", {
      jql: "key in (OPS-1)",
      fields: ["status"],
    });
    expect(withFields.json.issues[0].fields.status.name).toBe("In Progress");
    expect((await jira("POST", "/rest/api/3/search", { jql: "key in (OPS-1)" })).status).toBe(410);
    expect((await jira("GET", "/rest/api/2/search?jql=key=OPS-1")).status).toBe(410);
    expect(
      (await jira("POST", "/rest/api/3/issue/bulkfetch", { issueIdsOrKeys: ["OPS-1"] }, "Basic bm9wZTpub3Bl"))
        .status,
    ).toBe(401);
  });

  test("Data Center: /rest/api/2/search with a bearer token; unknown keys fail the query unless validateQuery is off", async () => {
    sim.jira.flavour = "datacenter";
    try {
      const strict = await jira("POST", "/rest/api/2/search", {
        jql: "key in (OPS-1, OPS-404)",
        fields: ["summary", "status"],
      });
      expect(strict.status).toBe(400);
      expect(strict.json.errorMessages[0]).toContain("OPS-404");
      const lenient = await jira("POST", "/rest/api/2/search", {
        jql: "key in (OPS-1, OPS-404)",
        fields: ["summary", "status"],
        validateQuery: false,
      });
      expect(lenient.json).toMatchObject({
        total: 1,
        issues: [{ key: "OPS-1", fields: { status: { name: "In Progress" } } }],
      });
      expect((await jira("POST", "/rest/api/3/issue/bulkfetch", { issueIdsOrKeys: ["OPS-1"] })).status).toBe(
        404,
      );
      expect((await jira("POST", "/rest/api/2/search", { jql: "key = OPS-1" }, "Bearer wrong")).status).toBe(
        401,
      );
    } finally {
      sim.jira.flavour = "cloud";
    }
  });

  test("Jira faults: 503 then recovery", async () => {
    sim.fault({ target: "jira", kind: "status", status: 503, times: 1 });
    expect((await jira("POST", "/rest/api/3/issue/bulkfetch", { issueIdsOrKeys: ["OPS-1"] })).status).toBe(
      503,
    );
    expect((await jira("POST", "/rest/api/3/issue/bulkfetch", { issueIdsOrKeys: ["OPS-1"] })).status).toBe(
      200,
    );
  });
});
