import { describe, expect, test } from "@jest/globals";
import { evaluateCi } from "../../src/policy/ci.js";
import { toChecks } from "../../src/github/gather.js";
import type { CiCheck, CiState } from "../../src/policy/types.js";

type Context = Parameters<typeof toChecks>[0][number];

const APP = 4242;
const ACTIONS = 15368;

let nextId = 1000;
function run(
  name: string,
  status: string,
  conclusion: string | null,
  over: { appId?: number | null; slug?: string; id?: number | null } = {},
): Context {
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

function status(
  context: string,
  state: string,
  creator: { __typename: string; login: string } | null = { __typename: "User", login: "ci-bot" },
): Context {
  return { __typename: "StatusContext", context, state, targetUrl: "https://ci.example.com/s", creator };
}

function check(
  name: string,
  state: CiState,
  raw = state as string,
  source: string | null = "github-actions",
): CiCheck {
  return { kind: "check_run", name, state, raw, source, url: null };
}

/** A commit status as gather reports it. */
function stat(name: string, state: CiState, creator: string | null): CiCheck {
  return { kind: "status", name, state, raw: state, source: creator, url: null };
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
    expect(c).toEqual({
      kind: "check_run",
      name: "build",
      state,
      raw,
      source: "github-actions",
      url: "https://ci.example.com/build",
    });
  });

  test("changegate's own check runs are not CI", () => {
    const out = toChecks(
      [run("changegate", "COMPLETED", "FAILURE", { appId: APP }), run("build", "COMPLETED", "SUCCESS")],
      APP,
    );
    expect(out.map((c) => c.name)).toEqual(["build"]);
  });

  test("another app's check named changegate is CI (only our app id is ours)", () => {
    const out = toChecks([run("changegate", "COMPLETED", "FAILURE", { appId: 999, slug: "impostor" })], APP);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ name: "changegate", state: "failure", source: "impostor" });
  });

  test.each([
    [
      "newest failing",
      [
        ["SUCCESS", 10],
        ["FAILURE", 11],
      ],
      "failure",
    ],
    [
      "newest passing",
      [
        ["FAILURE", 10],
        ["SUCCESS", 11],
      ],
      "success",
    ],
    [
      "newest passing, listed first",
      [
        ["SUCCESS", 12],
        ["FAILURE", 11],
        ["FAILURE", 10],
      ],
      "success",
    ],
    [
      "newest failing, listed first",
      [
        ["FAILURE", 12],
        ["SUCCESS", 11],
      ],
      "failure",
    ],
  ] as const)("several runs with one name from one app: the newest counts (%s)", (_name, runs, state) => {
    const out = toChecks(
      runs.map(([conclusion, id]) => run("build", "COMPLETED", conclusion, { id })),
      APP,
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.state).toBe(state);
  });

  test("a re-run in progress replaces the older failure", () => {
    const out = toChecks(
      [run("build", "COMPLETED", "FAILURE", { id: 1 }), run("build", "IN_PROGRESS", null, { id: 2 })],
      APP,
    );
    expect(out).toEqual([expect.objectContaining({ name: "build", state: "pending" })]);
  });

  test("same name from two apps: both count", () => {
    const out = toChecks(
      [
        run("build", "COMPLETED", "SUCCESS", { appId: 1, slug: "a" }),
        run("build", "COMPLETED", "FAILURE", { appId: 2, slug: "b" }),
      ],
      APP,
    );
    expect(out).toHaveLength(2);
    expect(out.map((c) => [c.source, c.state]).sort()).toEqual([
      ["a", "success"],
      ["b", "failure"],
    ]);
  });

  test("runs without an app are kept (newest per name)", () => {
    const out = toChecks(
      [
        run("x", "COMPLETED", "SUCCESS", { appId: null, id: 1 }),
        run("x", "COMPLETED", "FAILURE", { appId: null, id: 2 }),
      ],
      APP,
    );
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
    expect(out).toEqual([
      {
        kind: "status",
        name: "ci/jenkins",
        state: expected,
        raw: state.toLowerCase(),
        source: "ci-bot",
        url: "https://ci.example.com/s",
      },
    ]);
  });

  test("a status and a check run with one name both count", () => {
    const out = toChecks([status("build", "FAILURE"), run("build", "COMPLETED", "SUCCESS")], APP);
    expect(out.map((c) => `${c.kind}:${c.state}`).sort()).toEqual(["check_run:success", "status:failure"]);
  });

  test("no contexts at all", () => {
    expect(toChecks([], APP)).toEqual([]);
  });

  test("a status created by a GitHub App's bot is sourced login[bot]; a user of the same name is not", () => {
    // GraphQL shows a bot's login without "[bot]": only __typename tells the app's bot from a user
    // who registered the same name, so the source keeps GitHub's REST spelling for bots.
    const out = toChecks(
      [
        status("ci/a", "SUCCESS", { __typename: "Bot", login: "jenkins" }),
        status("ci/b", "SUCCESS", { __typename: "User", login: "jenkins" }),
      ],
      APP,
    );
    expect(out.map((c) => [c.name, c.source])).toEqual([
      ["ci/a", "jenkins[bot]"],
      ["ci/b", "jenkins"],
    ]);
  });

  test("a status without a creator has no source", () => {
    expect(toChecks([status("ci/a", "SUCCESS", null)], APP)[0]!.source).toBeNull();
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
    expect(r.checks).toContainEqual(
      expect.objectContaining({ name: "build", state: "missing", required: true, raw: "not reported" }),
    );
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
    const r = evaluateCi(
      [
        check("z-ok", "success"),
        check("b-pend", "pending"),
        check("a-ok", "success"),
        check("y-fail", "failure"),
      ],
      ["m-missing"],
    );
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

describe("evaluateCi: required checks pinned to their source", () => {
  const ACTIONS_PIN = { name: "build", app: "github-actions" };
  const JENKINS_PIN = { name: "ci/jenkins", creator: "jenkins-bot" };

  test("a check run from the pinned app meets it; the line says whose it is and what it is pinned to", () => {
    const r = evaluateCi([check("build", "success")], [ACTIONS_PIN]);
    expect(r.status).toBe("pass");
    expect(r.checks).toEqual([
      {
        name: "build",
        kind: "check_run",
        state: "success",
        raw: "success",
        required: true,
        url: null,
        source: "github-actions",
        requirement: ACTIONS_PIN,
        notCountedFor: [],
      },
    ]);
  });

  test("the app slug compares case-insensitively", () => {
    expect(
      evaluateCi(
        [check("build", "success", "success", "GitHub-Actions")],
        [{ name: "build", app: "github-actions" }],
      ).status,
    ).toBe("pass");
    expect(evaluateCi([check("build", "success")], [{ name: "build", app: "GITHUB-ACTIONS" }]).status).toBe(
      "pass",
    );
  });

  test("a foreign app's check run of that name does not count: pending, never green, and says whose it was", () => {
    const r = evaluateCi([check("build", "success", "success", "evil-app")], [ACTIONS_PIN]);
    expect(r.status).toBe("pending");
    const foreign = r.checks.find((c) => c.state === "success")!;
    expect(foreign).toMatchObject({
      name: "build",
      source: "evil-app",
      required: false,
      requirement: null,
      notCountedFor: [ACTIONS_PIN],
    });
    expect(r.checks).toContainEqual(
      expect.objectContaining({
        name: "build",
        state: "missing",
        kind: "check_run",
        required: true,
        requirement: ACTIONS_PIN,
        source: null,
        notCountedFor: [],
      }),
    );
    expect(r.summary).toBe("waiting for build (check run by app github-actions)");
    expect(r.todo.join("\n")).toContain(
      "build reported by app evil-app does not count: the policy requires it as a check run by app github-actions",
    );
  });

  test("a spoofed commit status of that name does not meet an app pin", () => {
    const r = evaluateCi([stat("build", "success", "mallory")], [ACTIONS_PIN]);
    expect(r.status).toBe("pending");
    expect(r.checks.find((c) => c.kind === "status")).toMatchObject({
      source: "mallory",
      required: false,
      notCountedFor: [ACTIONS_PIN],
    });
    expect(r.todo.join("\n")).toContain("build reported as a commit status by mallory does not count");
  });

  test("a check run without an app does not meet an app pin", () => {
    expect(evaluateCi([check("build", "success", "success", null)], [ACTIONS_PIN]).status).toBe("pending");
  });

  test("the real run and a foreign one: the real one counts, the foreign one is listed and not counted", () => {
    const r = evaluateCi(
      [check("build", "success", "success", "evil-app"), check("build", "success")],
      [ACTIONS_PIN],
    );
    expect(r.status).toBe("pass");
    expect(r.checks).toHaveLength(2);
    expect(r.checks.map((c) => [c.source, c.required, c.notCountedFor.length]).sort()).toEqual([
      ["evil-app", false, 1],
      ["github-actions", true, 0],
    ]);
    expect(r.todo).toEqual([]);
  });

  test("every reported result must still be green: a failing foreign check still fails CI", () => {
    const r = evaluateCi(
      [check("build", "failure", "failure", "evil-app"), check("build", "success")],
      [ACTIONS_PIN],
    );
    expect(r.status).toBe("fail");
    expect(r.todo[0]).toBe("Fix the failing check: build.");
  });

  test("a pending foreign check still holds CI", () => {
    expect(
      evaluateCi([check("build", "pending", "queued", "evil-app"), check("build", "success")], [ACTIONS_PIN])
        .status,
    ).toBe("pending");
  });

  test("a failing pinned check fails", () => {
    expect(evaluateCi([check("build", "failure")], [ACTIONS_PIN]).status).toBe("fail");
  });

  test("a creator pin is met by a commit status from that login (case-insensitive)", () => {
    const r = evaluateCi([stat("ci/jenkins", "success", "Jenkins-Bot")], [JENKINS_PIN]);
    expect(r.status).toBe("pass");
    expect(r.checks[0]).toMatchObject({ required: true, requirement: JENKINS_PIN, source: "Jenkins-Bot" });
  });

  test("a creator pin is not met by another login, nor by a check run from an app of that name", () => {
    const r = evaluateCi(
      [stat("ci/jenkins", "success", "mallory"), check("ci/jenkins", "success", "success", "jenkins-bot")],
      [JENKINS_PIN],
    );
    expect(r.status).toBe("pending");
    expect(
      r.checks.filter((c) => c.state === "success").every((c) => !c.required && c.notCountedFor.length === 1),
    ).toBe(true);
    expect(r.checks).toContainEqual(
      expect.objectContaining({
        name: "ci/jenkins",
        kind: "status",
        state: "missing",
        requirement: JENKINS_PIN,
      }),
    );
    expect(r.summary).toBe("waiting for ci/jenkins (commit status by jenkins-bot)");
  });

  test("a status without a creator does not meet a creator pin", () => {
    expect(evaluateCi([stat("ci/jenkins", "success", null)], [JENKINS_PIN]).status).toBe("pending");
  });

  test("a GitHub App's status (login[bot]) does not meet a pin to a user of the bare name", () => {
    expect(evaluateCi([stat("ci/jenkins", "success", "jenkins-bot[bot]")], [JENKINS_PIN]).status).toBe(
      "pending",
    );
    expect(
      evaluateCi(
        [stat("ci/jenkins", "success", "jenkins-bot[bot]")],
        [{ name: "ci/jenkins", creator: "jenkins-bot[bot]" }],
      ).status,
    ).toBe("pass");
  });

  test("a plain name is met by any source, as before", () => {
    const r = evaluateCi([stat("build", "success", "mallory")], [{ name: "build" }]);
    expect(r.status).toBe("pass");
    expect(r.checks[0]).toMatchObject({ required: true, requirement: { name: "build" }, notCountedFor: [] });
  });

  test("a plain name and a pin of the same name: the pin is still needed", () => {
    const r = evaluateCi([stat("build", "success", "mallory")], [{ name: "build" }, ACTIONS_PIN]);
    expect(r.status).toBe("pending");
    expect(
      evaluateCi(
        [stat("build", "success", "mallory"), check("build", "success")],
        [{ name: "build" }, ACTIONS_PIN],
      ).status,
    ).toBe("pass");
  });

  test("two pins of one name need both sources", () => {
    const both = [ACTIONS_PIN, { name: "build", creator: "jenkins-bot" }];
    expect(evaluateCi([check("build", "success")], both).status).toBe("pending");
    const r = evaluateCi([check("build", "success"), stat("build", "success", "jenkins-bot")], both);
    expect(r.status).toBe("pass");
    expect(r.checks.every((c) => c.required && c.notCountedFor.length === 0)).toBe(true);
  });

  test("a pin naming both app and creator can never be met (fail closed)", () => {
    expect(
      evaluateCi(
        [check("build", "success"), stat("build", "success", "github-actions")],
        [{ name: "build", app: "github-actions", creator: "github-actions" }],
      ).status,
    ).toBe("pending");
  });

  test("a requirement listed twice is one missing line", () => {
    const r = evaluateCi([], [ACTIONS_PIN, { ...ACTIONS_PIN, app: "GitHub-Actions" }]);
    expect(r.checks.filter((c) => c.state === "missing")).toHaveLength(1);
  });

  test("from toChecks: a foreign app's run and a writer's status do not meet the pin; the real run does", () => {
    const spoofs = [
      run("build", "COMPLETED", "SUCCESS", { appId: 666, slug: "evil-app" }),
      status("build", "SUCCESS", { __typename: "User", login: "mallory" }),
    ];
    expect(evaluateCi(toChecks(spoofs, APP), [ACTIONS_PIN]).status).toBe("pending");
    expect(
      evaluateCi(toChecks([...spoofs, run("build", "COMPLETED", "SUCCESS")], APP), [ACTIONS_PIN]).status,
    ).toBe("pass");
  });
});
