/**
 * Robustness sweep: every example payload GitHub documents for the events changegate subscribes to
 * (and some it does not) is delivered, as-is and re-pointed at the simulator's installations and
 * repositories. The server never crashes, never leaks a secret into its logs, and a normal PR is
 * still judged correctly afterwards.
 */
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { allExamples } from "../sim/examples.js";
import { World, manifestEvents } from "../sim/world.js";
import { onlyDigest } from "./helpers.js";

let w: World;

beforeAll(async () => {
  w = await World.start();
}, 90_000);

afterAll(async () => {
  await w?.stop();
});

const SUBSCRIBED = [
  "pull_request",
  "pull_request_review",
  "check_suite",
  "check_run",
  "status",
  "issue_comment",
  "membership",
  "merge_group",
  "team",
  "push",
  "repository_ruleset",
  "branch_protection_rule",
  "branch_protection_configuration",
];
const UNSUBSCRIBED = [
  "ping",
  "issues",
  "installation",
  "installation_repositories",
  "workflow_run",
  "pull_request_review_comment",
  "label",
  "repository",
];

test("the manifest subscribes to the events the sweep treats as subscribed", () => {
  expect([...manifestEvents()].sort()).toEqual([...SUBSCRIBED].sort());
});

test("every example payload is answered, nothing crashes, no secret is logged, and a normal PR still passes", async () => {
  const groups = allExamples().filter((g) => SUBSCRIBED.includes(g.name) || UNSUBSCRIBED.includes(g.name));
  const examples = groups.flatMap((g) => g.examples.map((payload) => ({ name: g.name, payload })));
  expect(examples.filter((e) => SUBSCRIBED.includes(e.name)).length).toBeGreaterThanOrEqual(50);

  // As GitHub documents them: foreign installations and repositories.
  const raw = examples.map((e) => w.cg.deliver(e.name, e.payload));
  // Re-pointed: our installation and repository, the example's numbers and shas.
  const repointed = examples.map((e) => {
    const { repo, installation } = w.repo();
    const payload = structuredClone(e.payload);
    payload.installation = { id: installation.id, node_id: installation.nodeId };
    if (payload.repository)
      payload.repository = {
        ...(payload.repository as object),
        id: repo.id,
        name: repo.name,
        full_name: repo.fullName,
        owner: { login: repo.owner, id: 1, type: "Organization" },
      };
    return w.cg.deliver(e.name, payload);
  });
  // Garbage a misconfigured proxy might forward, correctly signed.
  const garbage = [
    w.cg.deliver("pull_request", null, { body: "{not json" }),
    w.cg.deliver("pull_request", { action: "opened" }),
    w.cg.deliver("check_suite", { action: "completed", check_suite: null, installation: { id: 1 } }),
    w.cg.deliver("status", { sha: 42, installation: { id: "x" } }),
  ];
  const answers = await Promise.all([...raw, ...repointed, ...garbage]);
  await w.settle(90_000);

  expect(w.cg.exitInfo).toBeNull();
  expect((await w.cg.health()).status).toBe("ok");
  // Every delivery got an HTTP answer (GitHub would otherwise count it as failed and time out).
  expect(answers.filter((a) => a.status === 0).map((a) => a.delivery)).toEqual([]);
  // Unsubscribed events are acknowledged.
  const unsubscribed = answers
    .slice(0, examples.length)
    .filter((_a, i) => UNSUBSCRIBED.includes(examples[i]!.name));
  expect(unsubscribed.every((a) => a.status >= 200 && a.status < 300)).toBe(true);

  const secrets = [w.privateKey.split("\n")[1]!, w.secret, ...w.sim.tokens.keys()];
  const text = w.cg.logs.map((l) => JSON.stringify(l)).join("\n");
  for (const s of secrets) expect(text.includes(s)).toBe(false);

  const { repo } = w.repo();
  const pr = w.model.openPullRequest(repo, { author: "dev" });
  w.model.ci(pr, "build", { conclusion: "success" });
  w.model.review(pr, { author: "alice" });
  await w.settle(60_000);
  expect(w.check(pr)).toMatchObject({ status: "completed", conclusion: "success" });
  expect(onlyDigest(w, pr).split("\n")[0]).toContain("compliant");
}, 180_000);
