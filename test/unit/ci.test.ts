import { describe, expect, test } from "@jest/globals";
import { evaluateCi } from "../../src/policy/ci.js";
import { toChecks } from "../../src/github/gather.js";
import type { CiCheck, CiState } from "../../src/policy/types.js";

type Context = Parameters<typeof toChecks>[0][number];

const APP = 4242;
const ACTIONS = 15368;

let nextId = 1000;
function run(name: string, status: string, conclusion: string | null, over: { appId?: number | null; slug?: string; id?: number | null } = {}): Context {
  const appId = over.appId === undefined ? ACTIONS : over.appId;
  return {
    __typename: "CheckRun",
    databaseId: over.id === undefined ? nextId++ : over.id,
    name,
    status,
    conclusion,
    detailsUrl: `https://ci.example.com/${name}`,
    startedAt: "2026-11-20T08:00:00Z",
    checkSuite: { app: appId === null ? null : { databaseId: appId, slug: over.slug ?? "github-actions" } },
  };
}

function status(context: string, state: string): Context {
  return { __typename: "StatusContext", context, state, targetUrl: "https://ci.example.com/s", creator: { login: "ci-bot" } };
}

function check(name: string, state: CiState, raw = state as string): CiCheck {
  return { kind: "check_run", name, state, raw, source: "github-actions", url: null };
}

describe("toChecks: check runs", () => {
  test.each<[string, string | null, CiState, string]>([
    ["COMPLETED", "SUCCESS", "success", "success"],
    ["COMPLETED", "NEUTRAL", "success", "neutral"],
    ["COMPLETED", "SKIPPED", "success", "skipped"],
    ["COMPLETED", "FAILURE", "failure", "failure"],
    ["COMPLETED", "CANCELLED", "failure", "cancelled"],
    ["COMPLETED", "TIMED_OUT", "failure", "timed_out"],
    ["COMPLETED", "ACTION_REQUIRED", "failure", "action_required"],
    ["COMPLETED", "STARTUP_FAILURE", "failure", "startup_failure"],
    ["COMPLETED", "STALE", "failure", "stale"],
    ["COMPLETED", null, "failure", "unknown"],
    ["COMPLETED", "SOMETHING_NEW", "failure", "something_new"],
    ["IN_PROGRESS", null, "pending", "in_progress"],
    ["QUEUED", null, "pending", "queued"],
    ["WAITING", null, "pending", "waiting"],
    ["PENDING", null, "pending", "pending"],
    ["REQUESTED", null, "pending", "requested"],
  ])("%s / %s → %s", (st, conclusion, state, raw) => {
    const [c] = toChecks([run("build", st, conclusion)], APP);
    expect(c).toEqual({ kind: "check_run", name: "build", state, raw, source: "github-actions", url: "https://ci.example.com/build" });
  });

  test("changegate's own check runs are not CI", () => {
    const out = toChecks([run("changegate", "COMPLETED", "FAILURE", { appId: APP }), run("build", "COMPLETED", "SUCCESS")], APP);
    expect(out.map((c) => c.name)).toEqual(["build"]);
  });

  test("another app's check named changegate is CI (only our app id is ours)", () => {
    const out = toChecks([run("changegate", "COMPLETED", "FAILURE", { appId: 999, slug: "impostor" })], APP);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ name: "changegate", state: "failure", source: "impostor" });
  });

  test.each([
    ["newest failing", [["SUCCESS", 10], ["FAILURE", 11]], "failure"],
    ["newest passing", [["FAILURE", 10], ["SUCCESS", 11]], "success"],
    ["newest passing, listed first", [["SUCCESS", 12], ["FAILURE", 11], ["FAILURE", 10]], "success"],
    ["newest failing, listed first", [["FAILURE", 12], ["SUCCESS", 11]], "failure"],
  ] as const)("several runs with one name from one app: the newest counts (%s)", (_name, runs, state) => {
    const out = toChecks(
      runs.map(([conclusion, id]) => run("build", "COMPLETED", conclusion, { id })),
      APP,
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.state).toBe(state);
  });

  test("a re-run in progress replaces the older failure", () => {
    const out = toChecks([run("build", "COMPLETED", "FAILURE", { id: 1 }), run("build", "IN_PROGRESS", null, { id: 2 })], APP);
    expect(out).toEqual([expect.objectContaining({ name: "build", state: "pending" })]);
  });

  test("same name from two apps: both count", () => {
    const out = toChecks(
      [run("build", "COMPLETED", "SUCCESS", { appId: 1, slug: "a" }), run("build", "COMPLETED", "FAILURE", { appId: 2, slug: "b" })],
      APP,
    );
    expect(out).toHaveLength(2);
    expect(out.map((c) => [c.source, c.state]).sort()).toEqual([
      ["a", "success"],
      ["b", "failure"],
    ]);
  });

  test("runs without an app are kept (newest per name)", () => {
    const out = toChecks([run("x", "COMPLETED", "SUCCESS", { appId: null, id: 1 }), run("x", "COMPLETED", "FAILURE", { appId: null, id: 2 })], APP);
    expect(out).toEqual([expect.objectContaining({ name: "x", state: "failure", source: null })]);
  });
});

describe("toChecks: commit statuses", () => {
  test.each<[string, CiState]>([
    ["SUCCESS", "success"],
    ["PENDING", "pending"],
    ["EXPECTED", "pending"],
    ["FAILURE", "failure"],
    ["ERROR", "failure"],
    ["SOMETHING_NEW", "failure"],
  ])("%s → %s", (state, expected) => {
    const out = toChecks([status("ci/jenkins", state)], APP);
    expect(out).toEqual([{ kind: "status", name: "ci/jenkins", state: expected, raw: state.toLowerCase(), source: "ci-bot", url: "https://ci.example.com/s" }]);
  });

  test("a status and a check run with one name both count", () => {
    const out = toChecks([status("build", "FAILURE"), run("build", "COMPLETED", "SUCCESS")], APP);
    expect(out.map((c) => `${c.kind}:${c.state}`).sort()).toEqual(["check_run:success", "status:failure"]);
  });

  test("no contexts at all", () => {
    expect(toChecks([], APP)).toEqual([]);
  });
});

describe("evaluateCi", () => {
  test("no checks at all and none required: passes, saying so", () => {
    const r = evaluateCi([], []);
    expect(r.status).toBe("pass");
    expect(r.summary).toMatch(/no CI checks/);
    expect(r.checks).toEqual([]);
  });

  test("all green", () => {
    const r = evaluateCi([check("build", "success"), check("lint", "success", "neutral")], []);
    expect(r.status).toBe("pass");
    expect(r.summary).toBe("all 2 checks passed");
    expect(r.todo).toEqual([]);
  });

  test("one failure fails, naming it", () => {
    const r = evaluateCi([check("build", "success"), check("lint", "failure")], []);
    expect(r.status).toBe("fail");
    expect(r.summary).toBe("1 check failed");
    expect(r.todo).toEqual(["Fix the failing check: lint."]);
  });

  test("pending with nothing failed waits", () => {
    const r = evaluateCi([check("build", "success"), check("test", "pending", "in_progress")], []);
    expect(r.status).toBe("pending");
    expect(r.summary).toBe("waiting for test");
  });

  test("failure beats pending", () => {
    const r = evaluateCi([check("build", "failure"), check("test", "pending")], []);
    expect(r.status).toBe("fail");
  });

  test("required present and green", () => {
    const r = evaluateCi([check("build", "success"), check("lint", "success")], ["build"]);
    expect(r.status).toBe("pass");
    expect(r.checks.find((c) => c.name === "build")?.required).toBe(true);
    expect(r.checks.find((c) => c.name === "lint")?.required).toBe(false);
  });

  test("required missing: pending, never green", () => {
    const r = evaluateCi([check("lint", "success")], ["build"]);
    expect(r.status).toBe("pending");
    expect(r.checks).toContainEqual(expect.objectContaining({ name: "build", state: "missing", required: true, raw: "not reported" }));
    expect(r.todo.join(" ")).toContain("build");
  });

  test("required missing and no checks at all: pending, not the empty pass", () => {
    const r = evaluateCi([], ["build", "test"]);
    expect(r.status).toBe("pending");
    expect(r.summary).toBe("waiting for build, test");
    expect(r.todo).toEqual(["Make sure the required checks run on the head commit: build, test."]);
  });

  test("required failing", () => {
    const r = evaluateCi([check("build", "failure")], ["build"]);
    expect(r.status).toBe("fail");
    expect(r.checks[0]).toMatchObject({ name: "build", required: true, state: "failure" });
  });

  test("required pending", () => {
    expect(evaluateCi([check("build", "pending")], ["build"]).status).toBe("pending");
  });

  test("a check not in `required` still has to pass", () => {
    expect(evaluateCi([check("build", "success"), check("extra", "failure")], ["build"]).status).toBe("fail");
  });

  test("required names compare exactly", () => {
    expect(evaluateCi([check("Build", "success")], ["build"]).status).toBe("pending");
  });

  test("lines sorted: failures, missing, pending, success; then by name", () => {
    const r = evaluateCi([check("z-ok", "success"), check("b-pend", "pending"), check("a-ok", "success"), check("y-fail", "failure")], ["m-missing"]);
    expect(r.checks.map((c) => c.name)).toEqual(["y-fail", "m-missing", "b-pend", "a-ok", "z-ok"]);
  });

  test("from toChecks to a verdict: own run left out, newest run counts", () => {
    const contexts = [
      run("changegate", "COMPLETED", "FAILURE", { appId: APP }),
      run("build", "COMPLETED", "FAILURE", { id: 1 }),
      run("build", "COMPLETED", "SUCCESS", { id: 2 }),
      status("deploy/preview", "SUCCESS"),
    ];
    const r = evaluateCi(toChecks(contexts, APP), ["build"]);
    expect(r.status).toBe("pass");
    expect(r.checks).toHaveLength(2);
  });
});
