/**
 * Tickets end to end: changegate (a real process) configured for the simulator's Jira, Cloud and
 * Data Center. Ticket states, unknown keys, outages (down, hanging, rejecting the credentials), one
 * Jira request per evaluation, and Jira's webhook turning a check green when a ticket moves.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { SimPull } from "../sim/model.js";
import { World } from "../sim/world.js";
import { evaluations, onlyDigest } from "./helpers.js";

const POLICY =
  'tickets:\n  required: true\n  projects: [OPS]\n  allowed_states: ["Approved", "In Progress"]\n';
const TIMEOUT_MS = 1500;

describe("Jira Cloud", () => {
  let w: World;
  let key = 100;

  beforeAll(async () => {
    w = await World.start({
      jira: "cloud",
      jiraWebhookSecret: "jira-webhook-secret-0123456789",
      env: { JIRA_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
  }, 90_000);

  afterAll(async () => {
    await w?.stop();
  });

  /** A compliant-but-for-tickets PR whose title names `ticket` (or no ticket). */
  function prWithTicket(ticket: string | null, policy = POLICY): SimPull {
    const { repo } = w.repo({ policy });
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      title: ticket ? `${ticket} Faster payments` : "Faster payments",
    });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    return pr;
  }
  const nextKey = () => `OPS-${++key}`;

  test("a ticket in an allowed state: compliant, with at most one Jira request per evaluation", async () => {
    const k = nextKey();
    w.sim.jira.setIssue(k, "In Progress", "Speed up the payment path");
    const jiraSeq = w.sim.lastSeq;
    const logFrom = w.cg.logs.length;
    const pr = prWithTicket(k);
    await w.settle();
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Compliant: approvals ok, ci ok, tickets ok",
    });
    const digest = onlyDigest(w, pr);
    expect(digest.replace(/\\/g, "")).toContain(k);
    expect(digest).toContain("Speed up the payment path");
    const jira = w.sim.since(jiraSeq, (r) => r.target === "jira");
    expect(jira.map((r) => r.route)).toEqual(["POST /rest/api/3/issue/bulkfetch"]);
    expect(jira.length).toBeLessThanOrEqual(evaluations(w, pr, logFrom).length);
  });

  test("a ticket in a state not allowed fails; Jira's webhook moving it to Approved turns the check green with no GitHub event", async () => {
    const k = nextKey();
    w.sim.jira.setIssue(k, "To Do");
    const pr = prWithTicket(k);
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("in a state not allowed");
    expect(onlyDigest(w, pr).replace(/\\/g, "")).toContain(`Move ${k} from "To Do"`);
    const hooksBefore = w.model.webhooks.length;
    w.sim.jira.setIssue(k, "Approved");
    await w.settle();
    // GitHub sends nothing but issue_comment.edited for changegate's own digest edit (subscribed for `/changegate approve`; edits are ignored).
    expect(
      w.model.webhooks
        .slice(hooksBefore)
        .filter((h) => h.name !== "issue_comment")
        .map((h) => `${h.name}.${h.action}`),
    ).toEqual([]);
    expect(w.check(pr)).toMatchObject({
      conclusion: "success",
      title: "Compliant: approvals ok, ci ok, tickets ok",
    });
  });

  test("an unknown key and a missing key fail, each saying which", async () => {
    const unknown = prWithTicket("OPS-99999");
    const none = prWithTicket(null);
    await w.settle();
    expect(w.check(unknown)?.conclusion).toBe("failure");
    expect(w.check(unknown)?.title).toContain("unknown to Jira");
    expect(w.check(none)?.conclusion).toBe("failure");
    expect(w.check(none)?.title).toContain("no ticket referenced");
  });

  test("Jira failing once (503) is retried; Jira down fails the check as an outage, never as a bad ticket", async () => {
    const k1 = nextKey();
    const k2 = nextKey();
    w.sim.jira.setIssue(k1, "Approved");
    w.sim.jira.setIssue(k2, "Approved");
    const once = w.sim.fault({ target: "jira", kind: "status", status: 503, times: 1 });
    const flaky = prWithTicket(k1);
    await w.settle();
    once.remove();
    expect(once.hits).toBe(1);
    expect(w.check(flaky)?.conclusion).toBe("success");

    // One event, one evaluation (Jira's retries take a few seconds each time).
    const pr = w.quietly(() => prWithTicket(k2));
    const down = w.sim.fault({ target: "jira", kind: "status", status: 503 });
    w.model.editPullRequest(pr, { body: "Jira is down" });
    await w.settle();
    down.remove();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("Jira could not be reached");
    expect(w.check(pr)?.title).toContain("503");
    expect(w.check(pr)?.title).not.toContain("unknown to Jira");
  }, 30_000);

  test(`Jira hanging fails the check within the timeout (${TIMEOUT_MS} ms), saying so`, async () => {
    const k = nextKey();
    w.sim.jira.setIssue(k, "Approved");
    const hang = w.sim.fault({ target: "jira", kind: "hang" });
    const t0 = Date.now();
    const pr = prWithTicket(k);
    await w.settle();
    hang.remove();
    expect(w.check(pr)?.conclusion).toBe("failure");
    expect(w.check(pr)?.title).toContain("Jira could not be reached");
    expect(w.check(pr)?.title).toContain(`${TIMEOUT_MS} ms`);
    // Not stuck: the outcome came within a few timeouts (the evaluation, its follow-up, the writes).
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  test("Jira rejecting the credentials is reported as such, and no credential appears anywhere", async () => {
    const k = nextKey();
    w.sim.jira.setIssue(k, "Approved");
    const real = w.sim.jira.apiToken;
    w.sim.jira.apiToken = "rotated-token-the-server-does-not-have";
    try {
      const pr = prWithTicket(k);
      await w.settle();
      expect(w.check(pr)?.conclusion).toBe("failure");
      expect(w.check(pr)?.title).toContain("Jira rejected changegate's credentials");
      const everything = [
        w.check(pr)?.summary ?? "",
        onlyDigest(w, pr),
        ...w.cg.logs.map((l) => JSON.stringify(l)),
      ].join("\n");
      expect(everything.includes(real)).toBe(false);
    } finally {
      w.sim.jira.apiToken = real;
    }
  });

  test("the emergency label waives the ticket rule by default", async () => {
    const { repo } = w.repo({ policy: POLICY });
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      title: "Hotfix without a ticket",
      labels: ["emergency"],
    });
    await w.settle();
    expect(w.check(pr)?.conclusion).toBe("success");
    expect(w.check(pr)?.title).toContain("Emergency change");
  });
});

describe("Jira Data Center", () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ jira: "datacenter" });
  }, 90_000);

  afterAll(async () => {
    await w?.stop();
  });

  test("tickets are looked up with the personal access token in one search; unknown keys drop out without hiding the others", async () => {
    w.sim.jira.setIssue("OPS-7", "Approved", "Rotate the keys");
    const { repo } = w.repo({ policy: POLICY });
    const pr = w.model.openPullRequest(repo, {
      author: "dev",
      title: "OPS-7 and OPS-8888: rotate",
      headRef: "ops-7-rotate",
    });
    w.model.ci(pr, "build", { conclusion: "success" });
    w.model.review(pr, { author: "alice" });
    const seq = w.sim.lastSeq;
    await w.settle();
    const check = w.check(pr);
    expect(check?.conclusion).toBe("failure");
    expect(check?.title).toContain("1 of 2 ok");
    expect(check?.title).toContain("unknown to Jira");
    const digest = onlyDigest(w, pr);
    expect(digest).toContain("Rotate the keys");
    const jira = w.sim.since(seq, (r) => r.target === "jira");
    expect(jira.length).toBeGreaterThanOrEqual(1);
    expect(jira.every((r) => r.route === "POST /rest/api/2/search" && r.status === 200)).toBe(true);
  });
});
