import { describe, expect, test } from "@jest/globals";
import { evaluateTickets, type TicketSettings } from "../../src/policy/tickets.js";
import type { TicketEvidence, TicketInfo, TicketLookup, TicketRef } from "../../src/policy/types.js";

const settings = (over: Partial<TicketSettings> = {}): TicketSettings => ({
  required: true,
  projects: ["OPS"],
  sources: ["title", "branch", "body", "commits"],
  allowedStates: [],
  ...over,
});

const ref = (key: string, ...foundIn: TicketRef["foundIn"]): TicketRef => ({
  key,
  foundIn: foundIn.length ? foundIn : ["title"],
});
const info = (key: string, status: string, summary = `Summary of ${key}`): TicketInfo => ({
  key,
  status,
  summary,
  url: `https://jira.example.com/browse/${key}`,
});
const ok = (...found: TicketInfo[]): TicketLookup => ({ kind: "ok", found, unknown: [] });

function t(refs: TicketRef[], lookup: TicketLookup): TicketEvidence {
  return { refs, lookup };
}

describe("not required", () => {
  test.each<[string, TicketEvidence]>([
    ["no refs", t([], { kind: "not_needed" })],
    ["refs, lookup not needed", t([ref("OPS-1")], { kind: "not_needed" })],
    ["refs, Jira down", t([ref("OPS-1")], { kind: "unreachable", message: "ECONNREFUSED" })],
    ["refs, unknown ticket", t([ref("OPS-1")], ok())],
  ])("%s → skipped", (_name, evidence) => {
    const r = evaluateTickets(evidence, settings({ required: false }));
    expect(r.status).toBe("skipped");
    expect(r.todo).toEqual([]);
    expect(r.summary).toMatch(/not required/);
    expect(r.tickets).toHaveLength(evidence.refs.length);
  });

  test("found tickets are still listed with their state", () => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", "Done"))),
      settings({ required: false, allowedStates: ["Approved"] }),
    );
    expect(r.tickets).toEqual([
      expect.objectContaining({ key: "OPS-1", status: "Done", outcome: "not_allowed" }),
    ]);
  });
});

describe("no ticket referenced", () => {
  test.each<TicketLookup>([{ kind: "not_needed" }, { kind: "not_configured" }, ok()])(
    "lookup %j → fail naming the projects and sources",
    (lookup) => {
      const r = evaluateTickets(
        t([], lookup),
        settings({ projects: ["OPS", "SEC"], sources: ["title", "branch"] }),
      );
      expect(r.status).toBe("fail");
      expect(r.summary).toBe("no ticket referenced");
      expect(r.todo).toEqual(["Reference a ticket of OPS, SEC (e.g. OPS-123) in the title, branch."]);
    },
  );
});

describe("lookup failures are never 'invalid ticket' and never pass", () => {
  test.each<[string, TicketLookup, RegExp, RegExp]>([
    [
      "not_configured",
      { kind: "not_configured" },
      /Jira is not configured/,
      /operators to set JIRA_BASE_URL/,
    ],
    ["not_needed (but required)", { kind: "not_needed" }, /Jira is not configured/, /operators/],
    [
      "auth_failed",
      { kind: "auth_failed", message: "401 Unauthorized" },
      /Jira rejected changegate's credentials: 401 Unauthorized/,
      /check the Jira credentials/,
    ],
    [
      "unreachable",
      { kind: "unreachable", message: "connect ETIMEDOUT" },
      /Jira could not be reached: connect ETIMEDOUT/,
      /not a problem with your ticket/,
    ],
    [
      "malformed",
      { kind: "malformed", message: "issues[0].fields.status missing" },
      /answer changegate cannot read: issues\[0\]/,
      /look at the logs/,
    ],
  ])("%s", (_name, lookup, summary, todo) => {
    const r = evaluateTickets(
      t([ref("OPS-1"), ref("OPS-2", "branch")], lookup),
      settings({ allowedStates: ["Approved"] }),
    );
    expect(r.status).toBe("fail");
    expect(r.summary).toMatch(summary);
    expect(r.summary).not.toMatch(/invalid|unknown|does not know/i);
    expect(r.todo).toHaveLength(1);
    expect(r.todo[0]).toMatch(todo);
    expect(r.todo.join(" ")).not.toMatch(/invalid|Fix the ticket/i);
    expect(r.tickets.map((l) => l.outcome)).toEqual(["unverified", "unverified"]);
    expect(r.tickets.map((l) => l.foundIn)).toEqual([["title"], ["branch"]]);
  });
});

describe("lookup ok", () => {
  test("a ticket in an allowed state passes", () => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", "Approved"))),
      settings({ allowedStates: ["Approved", "In Progress"] }),
    );
    expect(r.status).toBe("pass");
    expect(r.summary).toBe("OPS-1 is in an allowed state");
    expect(r.todo).toEqual([]);
    expect(r.tickets[0]).toEqual({
      key: "OPS-1",
      foundIn: ["title"],
      summary: "Summary of OPS-1",
      status: "Approved",
      url: "https://jira.example.com/browse/OPS-1",
      outcome: "ok",
    });
    expect(r.allowedStates).toEqual(["Approved", "In Progress"]);
  });

  test.each([
    ["in progress", "In Progress"],
    ["IN PROGRESS", "In Progress"],
    ["approved", "APPROVED"],
  ])("state %j matches allowed %j case-insensitively", (state, allowed) => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", state))),
      settings({ allowedStates: [allowed] }),
    );
    expect(r.status).toBe("pass");
  });

  test("a state not allowed fails, naming the state and the allowed ones", () => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", "Done"))),
      settings({ allowedStates: ["Approved", "In Progress"] }),
    );
    expect(r.status).toBe("fail");
    expect(r.summary).toBe("0 of 1 ok; 1 in a state not allowed");
    expect(r.todo).toEqual(['Move OPS-1 from "Done" to "Approved" or "In Progress".']);
    expect(r.tickets[0]!.outcome).toBe("not_allowed");
  });

  test("a state must match whole, not as a substring", () => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", "Not Approved"))),
      settings({ allowedStates: ["Approved"] }),
    );
    expect(r.status).toBe("fail");
  });

  test("allowed_states [] = the ticket must exist (any state)", () => {
    const r = evaluateTickets(
      t([ref("OPS-1")], ok(info("OPS-1", "Closed"))),
      settings({ allowedStates: [] }),
    );
    expect(r.status).toBe("pass");
    expect(r.tickets[0]!.outcome).toBe("ok");
  });

  test("an unknown key fails, naming it", () => {
    const r = evaluateTickets(
      t([ref("OPS-1"), ref("OPS-99")], {
        kind: "ok",
        found: [info("OPS-1", "Approved")],
        unknown: ["OPS-99"],
      }),
      settings(),
    );
    expect(r.status).toBe("fail");
    expect(r.summary).toBe("1 of 2 ok; 1 unknown to Jira");
    expect(r.todo).toEqual(["Fix the ticket reference Jira does not know: OPS-99."]);
    expect(r.tickets.map((l) => [l.key, l.outcome])).toEqual([
      ["OPS-1", "ok"],
      ["OPS-99", "unknown"],
    ]);
  });

  test("a key Jira did not return is unknown even when `unknown` does not list it (fail closed)", () => {
    const r = evaluateTickets(t([ref("OPS-7")], ok()), settings());
    expect(r.status).toBe("fail");
    expect(r.tickets[0]!.outcome).toBe("unknown");
  });

  test("several tickets: every one must be fine", () => {
    const lookup = ok(info("OPS-1", "Approved"), info("OPS-2", "Done"), info("OPS-3", "Approved"));
    const r = evaluateTickets(
      t([ref("OPS-1"), ref("OPS-2"), ref("OPS-3"), ref("OPS-4")], lookup),
      settings({ allowedStates: ["Approved"] }),
    );
    expect(r.status).toBe("fail");
    expect(r.summary).toBe("2 of 4 ok; 1 unknown to Jira, 1 in a state not allowed");
    expect(r.todo).toEqual([
      "Fix the ticket reference Jira does not know: OPS-4.",
      'Move OPS-2 from "Done" to "Approved".',
    ]);
  });

  test("two unknown keys: plural wording", () => {
    const r = evaluateTickets(t([ref("OPS-1"), ref("OPS-2")], ok()), settings());
    expect(r.todo).toEqual(["Fix the ticket references Jira does not know: OPS-1, OPS-2."]);
  });

  test("all fine, several: plural wording", () => {
    const r = evaluateTickets(
      t([ref("OPS-1"), ref("OPS-2")], ok(info("OPS-1", "A"), info("OPS-2", "B"))),
      settings(),
    );
    expect(r.status).toBe("pass");
    expect(r.summary).toBe("OPS-1, OPS-2 are in an allowed state");
  });
});
