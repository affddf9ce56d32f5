import { describe, expect, test } from "@jest/globals";
import {
  applyFloors,
  enforceSchema,
  literalGlob,
  matchesBranch,
  type Floors,
} from "../../src/config/floors.js";
import { loadPolicy, type ConfigFile, type FetchFile, type LoadResult } from "../../src/config/load.js";
import { configSchema, isGatedBranch, type Config } from "../../src/config/schema.js";
import { CONFIG_PATH } from "../../src/contract.js";
import type { Policy } from "../../src/policy/types.js";
import { floorLines } from "../../src/report/floors.js";

const ORG = "acme/.github";
const REPO = "acme/payments";
const file = (text: string, repo = REPO): ConfigFile => ({ repo, path: CONFIG_PATH, text });
const noFetch: FetchFile = async (repo, path) => {
  throw new Error(`unexpected read of ${repo}:${path}`);
};
const floors = (v: unknown): Floors => enforceSchema.parse(v);
const config = (v: unknown = {}): Config => configSchema.parse(v);

function applied(c: Config, f: Floors, defaultBranch: string | null = "main") {
  const r = applyFloors(c, f, defaultBranch);
  if ("problem" in r) throw new Error(`unexpected problem ${JSON.stringify(r.problem)}`);
  return r;
}

function policyOf(r: LoadResult): Policy {
  if (!r.ok) throw new Error(`expected a policy, got ${JSON.stringify(r.problem)}`);
  return r.policy;
}

const ORG_TEXT = [
  "approvals:",
  "  required: 1",
  "enforce:",
  "  approvals:",
  "    required: 2",
  "  ci:",
  "    required: [build]",
  "  tickets:",
  "    required: true",
  "    projects: [OPS]",
  '  branches: [main, "release/*"]',
  "  emergency:",
  "    allowed_declarers: [alice, acme/sre]",
  "",
].join("\n");

describe("applyFloors: a repository can tighten", () => {
  test("more approvals, more checks, more branches stay as the repository wrote them, with no note", () => {
    const c = config({
      branches: ["main", "release/*", "hotfix/*"],
      approvals: { required: 3 },
      ci: { required: ["build", "lint"] },
    });
    const r = applied(
      c,
      floors({ approvals: { required: 2 }, ci: { required: ["build"] }, branches: ["main", "release/*"] }),
    );
    expect(r.notes).toEqual([]);
    expect(r.config.approvals.required).toBe(3);
    expect(r.config.ci.required).toEqual([{ name: "build" }, { name: "lint" }]);
    expect(r.config.branches).toEqual(["main", "release/*", "hotfix/*"]);
  });

  test("narrower declarers are kept", () => {
    const r = applied(
      config({ emergency: { allowed_declarers: ["alice"] } }),
      floors({ emergency: { allowed_declarers: ["alice", "bob"] } }),
    );
    expect(r.config.emergency.allowed_declarers).toEqual(["alice"]);
    expect(r.notes).toEqual([]);
  });
});

describe("applyFloors: a repository cannot weaken, and the note says which key and why", () => {
  test("fewer approvals: the floor wins", () => {
    const r = applied(config({ approvals: { required: 0 } }), floors({ approvals: { required: 2 } }));
    expect(r.config.approvals.required).toBe(2);
    expect(r.notes).toEqual([{ key: "approvals.required", message: expect.stringContaining("at least 2") }]);
  });

  test("boolean floors: dismiss_stale, allow_contributors, tickets.required, emergency.enabled", () => {
    const r = applied(
      config({
        approvals: { dismiss_stale: false, allow_contributors: true },
        tickets: { projects: ["OPS"] },
        emergency: { enabled: true },
      }),
      floors({
        approvals: { dismiss_stale: true, allow_contributors: false },
        tickets: { required: true },
        emergency: { enabled: false, require_ci: true },
      }),
    );
    expect(r.config.approvals.dismiss_stale).toBe(true);
    expect(r.config.approvals.allow_contributors).toBe(false);
    expect(r.config.tickets.required).toBe(true);
    expect(r.config.emergency.enabled).toBe(false);
    expect(r.config.emergency.require_ci).toBe(true);
    expect(r.notes.map((n) => n.key)).toEqual([
      "approvals.dismiss_stale",
      "approvals.allow_contributors",
      "tickets.required",
      "emergency.enabled",
      "emergency.require_ci",
    ]);
  });

  test("required checks are added, a differently pinned check is added beside the plain one", () => {
    const r = applied(
      config({ ci: { required: ["lint", "build"] } }),
      floors({ ci: { required: [{ name: "build", app: "github-actions" }, "lint"] } }),
    );
    expect(r.config.ci.required).toEqual([
      { name: "lint" },
      { name: "build" },
      { name: "build", app: "github-actions" },
    ]);
    expect(r.notes).toEqual([
      { key: "ci.required", message: expect.stringContaining('"build" from app github-actions') },
    ]);
  });

  test("branches: the floor's patterns are added, and the default branch stays gated (as a name, not a glob)", () => {
    const r = applied(config(), floors({ branches: ["release/*"] }), "feature{a,b}");
    expect(isGatedBranch(r.config, "feature{a,b}", "feature{a,b}")).toBe(true);
    expect(isGatedBranch(r.config, "featurea", "feature{a,b}")).toBe(false);
    expect(isGatedBranch(r.config, "release/1.0", "feature{a,b}")).toBe(true);
    expect(r.notes[0]!.key).toBe("branches");
  });

  test("review_within_hours: a longer window than the floor's gets the floor's; a shorter one stays", () => {
    const r = applied(
      config({ emergency: { review_within_hours: 8760 } }),
      floors({ emergency: { review_within_hours: 24 } }),
    );
    expect(r.config.emergency.review_within_hours).toBe(24);
    expect(r.notes).toEqual([
      { key: "emergency.review_within_hours", message: expect.stringContaining("at most 24: 24 apply") },
    ]);
    const tighter = applied(
      config({ emergency: { review_within_hours: 4 } }),
      floors({ emergency: { review_within_hours: 24 } }),
    );
    expect(tighter.config.emergency.review_within_hours).toBe(4);
    expect(tighter.notes).toEqual([]);
    // The default (48) is lifted too: a repository without the key cannot keep a looser window.
    expect(
      applied(config(), floors({ emergency: { review_within_hours: 12 } })).config.emergency
        .review_within_hours,
    ).toBe(12);
    expect(enforceSchema.safeParse({ emergency: { review_within_hours: 0 } }).success).toBe(false);
    expect(enforceSchema.safeParse({ emergency: { review_within_hours: 9000 } }).success).toBe(false);
  });

  test("declarers outside the floor are dropped; none left turns the emergency path off", () => {
    const some = applied(
      config({ emergency: { allowed_declarers: ["alice", "mallory"] } }),
      floors({ emergency: { allowed_declarers: ["alice"] } }),
    );
    expect(some.config.emergency.allowed_declarers).toEqual(["alice"]);
    expect(some.notes[0]!.message).toContain("mallory");
    const none = applied(
      config({ emergency: { allowed_declarers: ["mallory"] } }),
      floors({ emergency: { allowed_declarers: ["alice"] } }),
    );
    expect(none.config.emergency.enabled).toBe(false);
    const unset = applied(config(), floors({ emergency: { allowed_declarers: ["alice"] } }));
    expect(unset.config.emergency.allowed_declarers).toEqual(["alice"]);
  });

  test("ticket projects and states are narrowed to the floor's", () => {
    const r = applied(
      config({ tickets: { required: true, projects: ["OPS", "FUN"], allowed_states: ["Done", "Open"] } }),
      floors({ tickets: { projects: ["OPS"], allowed_states: ["Done"] } }),
    );
    expect(r.config.tickets.projects).toEqual(["OPS"]);
    expect(r.config.tickets.allowed_states).toEqual(["Done"]);
  });

  test("tickets required by the floor with no project named anywhere is a problem, not a pass", () => {
    const r = applyFloors(config(), floors({ tickets: { required: true } }), "main");
    expect(r).toEqual({
      problem: { path: "tickets.projects", message: expect.stringContaining("names tickets.projects") },
    });
  });
});

describe("enforceSchema: which keys a floor may hold", () => {
  test("unknown keys and loosening values are refused, naming the key", () => {
    expect(enforceSchema.safeParse({ audit: { issue_repo: "a/b" } }).success).toBe(false);
    const loose = enforceSchema.safeParse({ approvals: { dismiss_stale: false } });
    expect(loose.success).toBe(false);
    expect(JSON.stringify(loose.error!.issues)).toContain(
      "a floor can only set approvals.dismiss_stale: true",
    );
    expect(enforceSchema.safeParse({ emergency: { label: "x" } }).success).toBe(false);
  });
  test("an empty enforce: is no floor", () => {
    expect(enforceSchema.parse(null)).toEqual({});
  });
});

describe("loadPolicy with an org file holding enforce:", () => {
  test("a repository with its own file gets the floors, with notes and the org file named in its source", async () => {
    const p = policyOf(
      await loadPolicy(
        {
          repoFile: file("approvals:\n  required: 1\ntickets:\n  projects: [OPS, FUN]\n"),
          orgFile: file(ORG_TEXT, ORG),
          defaultBranch: "main",
        },
        noFetch,
      ),
    );
    expect(p.config.approvals.required).toBe(2);
    expect(p.config.ci.required).toEqual([{ name: "build" }]);
    expect(p.config.tickets).toMatchObject({ required: true, projects: ["OPS"] });
    expect(p.config.emergency.allowed_declarers).toEqual(["alice", "acme/sre"]);
    expect(p.source).toMatchObject({
      kind: "repo",
      location: `${REPO}:${CONFIG_PATH} with the floors of ${ORG}:${CONFIG_PATH}`,
    });
    expect(p.floors!.notes.map((n) => n.key)).toEqual([
      "branches",
      "approvals.required",
      "ci.required",
      "tickets.required",
      "tickets.projects",
      "emergency.allowed_declarers",
    ]);
    const digest = floorLines(p).join("\n");
    expect(digest).toContain("Org floors applied");
    expect(digest).toContain("`approvals.required`");
  });

  test("a repository without a file gets the org file's defaults under its floors", async () => {
    const p = policyOf(
      await loadPolicy({ repoFile: null, orgFile: file(ORG_TEXT, ORG), defaultBranch: "main" }, noFetch),
    );
    expect(p.source.kind).toBe("org");
    expect(p.config.approvals.required).toBe(2);
    expect(p.config.branches).toEqual(["main", "release/*"]);
  });

  test("the content hash changes with the org file (the record says which floors applied)", async () => {
    const a = policyOf(
      await loadPolicy(
        { repoFile: file("{}"), orgFile: file(ORG_TEXT, ORG), defaultBranch: "main" },
        noFetch,
      ),
    );
    const b = policyOf(
      await loadPolicy(
        {
          repoFile: file("{}"),
          orgFile: file(ORG_TEXT.replace("required: 2", "required: 3"), ORG),
          defaultBranch: "main",
        },
        noFetch,
      ),
    );
    expect(a.source.contentHash).not.toBe(b.source.contentHash);
  });

  test("an invalid org file fails every repository, naming the org file and the key", async () => {
    for (const text of [
      "enforce:\n  approvals:\n    required: many\n",
      "enforce: [\n",
      "enforce:\n  approvals:\n    dismiss_stale: false\n",
    ]) {
      const r = await loadPolicy(
        { repoFile: file("approvals:\n  required: 3\n"), orgFile: file(text, ORG) },
        noFetch,
      );
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem.file).toBe(`${ORG}:${CONFIG_PATH}`);
    }
    const r = await loadPolicy(
      { repoFile: file("{}"), orgFile: file("enforce:\n  approvals:\n    required: many\n", ORG) },
      noFetch,
    );
    expect(!r.ok && r.problem.issues[0]!.path).toBe("enforce.approvals.required");
  });

  test("enforce: in a repository's own file is refused (only the org may set floors)", async () => {
    const r = await loadPolicy(
      { repoFile: file("enforce:\n  approvals:\n    required: 0\n"), orgFile: null },
      noFetch,
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problem.issues[0]).toMatchObject({
        path: "enforce",
        message: expect.stringContaining("owner's .github repository"),
      });
  });

  test("a repository file that extends the org file does not inherit enforce: as a policy key", async () => {
    const fetch: FetchFile = async (repo, path) => (repo === ORG && path === CONFIG_PATH ? ORG_TEXT : null);
    const p = policyOf(
      await loadPolicy(
        {
          repoFile: file("_extends: .github\napprovals:\n  required: 0\n"),
          orgFile: file(ORG_TEXT, ORG),
          defaultBranch: "main",
        },
        fetch,
      ),
    );
    expect(p.config.approvals.required).toBe(2);
  });

  test("without enforce: nothing changes (no floors, source as before)", async () => {
    const p = policyOf(
      await loadPolicy(
        { repoFile: file("approvals:\n  required: 0\n"), orgFile: file("approvals:\n  required: 5\n", ORG) },
        noFetch,
      ),
    );
    expect(p.config.approvals.required).toBe(0);
    expect(p.floors).toBeUndefined();
    expect(p.source.location).toBe(`${REPO}:${CONFIG_PATH}`);
  });
});

test("literalGlob matches only the name itself", () => {
  for (const name of ["main", "feature{a,b}", "!x", "rel-1.0", "a+b", "a@(b)"])
    expect(matchesBranch(name, literalGlob(name))).toBe(true);
  expect(matchesBranch("featurea", literalGlob("feature{a,b}"))).toBe(false);
  expect(matchesBranch("rel-1x0", literalGlob("rel-1.0"))).toBe(false);
});
