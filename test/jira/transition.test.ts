/**
 * tickets.transition_on_merge against the simulator's Jira (Cloud REST v3 and Data Center REST v2):
 * moved by transition or status name, already there, and Jira's refusals (400 for a transition not
 * available, 403 without the permission, 404 unknown ticket), with no credential in any message.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { JiraConfig } from "../../src/jira/env.js";
import { JiraTransitioner, MAX_TRANSITIONS_PER_MERGE } from "../../src/jira/transition.js";
import { Simulator } from "../sim/server.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await Simulator.start();
});
afterAll(async () => {
  await sim.stop();
});

function config(): JiraConfig {
  const auth =
    sim.jira.flavour === "cloud"
      ? { kind: "cloud" as const, email: sim.jira.email, apiToken: sim.jira.apiToken }
      : { kind: "datacenter" as const, pat: sim.jira.pat };
  return {
    baseUrl: sim.jiraUrl,
    auth,
    timeoutMs: 5000,
    cacheTtlMs: 0,
    maxConcurrency: 2,
    webhookSecret: null,
    recheckIntervalMs: 0,
  };
}

describe.each(["cloud", "datacenter"] as const)("Jira %s", (flavour) => {
  test("moved by status name or transition name; already there is left alone; refusals are failures with the reason", async () => {
    sim.jira.flavour = flavour;
    sim.jira.noTransitionPermission.clear();
    sim.jira.setIssue("OPS-1", "In Progress");
    sim.jira.setIssue("OPS-2", "Done");
    sim.jira.setIssue("OPS-3", "To Do");
    sim.jira.noTransitionPermission.add("OPS-3");
    sim.jira.deleteIssue("OPS-4");
    const t = new JiraTransitioner(config());
    const results = await t.transition(["OPS-1", "ops-2", "OPS-3", "OPS-4"], "done");
    expect(results.map((r) => [r.key, r.result, r.status])).toEqual([
      ["OPS-1", "moved", "Done"],
      ["OPS-2", "already", "Done"],
      ["OPS-3", "failed", null],
      ["OPS-4", "failed", null],
    ]);
    expect(sim.jira.issues.get("OPS-1")!.status).toBe("Done");
    expect(sim.jira.issues.get("OPS-3")!.status).toBe("To Do");
    expect(results[2]!.message).toContain("HTTP 403");
    expect(results[3]!.message).toContain("HTTP 404");
    // By transition name too.
    sim.jira.setIssue("OPS-5", "To Do");
    expect((await t.transition(["OPS-5"], "start PROGRESS"))[0]).toMatchObject({
      result: "moved",
      status: "In Progress",
      transition: "Start progress",
    });
    const text = JSON.stringify(results);
    expect(text).not.toContain(sim.jira.apiToken);
    expect(text).not.toContain(sim.jira.pat);
  });

  test("a status no transition leads to: failed, naming what is available", async () => {
    sim.jira.flavour = flavour;
    sim.jira.setIssue("OPS-6", "To Do");
    const [r] = await new JiraTransitioner(config()).transition(["OPS-6"], "Released");
    expect(r).toMatchObject({ result: "failed" });
    expect(r!.message).toContain('no transition to "Released" is available from "To Do"');
    expect(r!.message).toContain("Resolve → Done");
  });
});

test("the simulator refuses a transition not available from the ticket's status with 400, as Jira does", async () => {
  sim.jira.flavour = "cloud";
  sim.jira.setIssue("OPS-7", "Done");
  const res = await fetch(`${sim.jiraUrl}/rest/api/3/issue/OPS-7/transitions`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.jira.email}:${sim.jira.apiToken}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ transition: { id: "41" } }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    errorMessages: ["Transition id '41' is not valid for this issue."],
    errors: {},
  });
});

test("at most MAX_TRANSITIONS_PER_MERGE tickets per merge; keys that are not Jira keys are refused without a request", async () => {
  sim.jira.flavour = "cloud";
  const keys = Array.from({ length: MAX_TRANSITIONS_PER_MERGE + 2 }, (_, i) => `NOPE-${i + 1}`);
  const before = sim.requests.length;
  const results = await new JiraTransitioner(config()).transition(["../../x", ...keys], "Done");
  expect(results[0]).toMatchObject({ key: "../../X", result: "failed", message: "not a Jira issue key" });
  expect(results.filter((r) => r.message?.startsWith("not attempted"))).toHaveLength(3);
  expect(sim.requests.length - before).toBe(MAX_TRANSITIONS_PER_MERGE - 1);
});
