import { describe, expect, test } from "@jest/globals";
import { defaultConfig, isGatedBranch, type Config } from "../../src/config/schema.js";
import {
  fileLabel,
  loadPolicy,
  type ConfigFile,
  type FetchFile,
  type LoadResult,
} from "../../src/config/load.js";
import { CONFIG_PATH } from "../../src/contract.js";

const REPO = "acme/payments";

function repoFile(text: string, repo = REPO, path = CONFIG_PATH): ConfigFile {
  return { repo, path, text };
}

/** A fake `fetchFile` over an in-memory set of files, recording every read. */
function files(map: Record<string, string>): FetchFile & { reads: string[] } {
  const reads: string[] = [];
  const fn = (async (repo: string, path: string) => {
    reads.push(`${repo}:${path}`);
    return map[`${repo}:${path}`] ?? null;
  }) as FetchFile & { reads: string[] };
  fn.reads = reads;
  return fn;
}

const noFetch: FetchFile = async (repo, path) => {
  throw new Error(`unexpected read of ${repo}:${path}`);
};

function ok(r: LoadResult): Config {
  if (!r.ok) throw new Error(`expected a policy, got ${JSON.stringify(r.problem)}`);
  return r.policy.config;
}

function issues(r: LoadResult): { path: string; message: string }[] {
  if (r.ok) throw new Error(`expected a problem, got ${JSON.stringify(r.policy.config)}`);
  return r.problem.issues;
}

async function load(text: string, fetchFile: FetchFile = noFetch): Promise<LoadResult> {
  return loadPolicy({ repoFile: repoFile(text), orgFile: null }, fetchFile);
}

describe("defaults", () => {
  test("no file anywhere: built-in defaults, source kind defaults", async () => {
    const r = await loadPolicy({ repoFile: null, orgFile: null }, noFetch);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policy.source).toEqual({ kind: "defaults", location: "built-in defaults", contentHash: "" });
    expect(r.policy.config).toEqual(defaultConfig());
  });

  test("the documented defaults", () => {
    const c = defaultConfig();
    expect(c.branches).toBeUndefined();
    expect(c.approvals).toEqual({
      required: 1,
      dismiss_stale: true,
      allow_contributors: false,
      block_unattributed_commits: false,
    });
    expect(c.ci).toEqual({ required: [] });
    expect(c.tickets).toEqual({
      required: false,
      projects: [],
      sources: ["title", "branch", "body", "commits"],
      allowed_states: [],
    });
    expect(c.emergency).toEqual({
      enabled: true,
      label: "emergency",
      approvals_required: 0,
      require_ci: false,
      require_ticket: false,
      review_within_hours: 48,
    });
  });

  test.each([
    ["empty file", ""],
    ["only a comment", "# nothing here yet\n"],
    ["only whitespace", "\n\n   \n"],
    ["an explicit null document", "~\n"],
  ])("%s = defaults", async (_name, text) => {
    const r = await load(text);
    expect(ok(r)).toEqual(defaultConfig());
    if (r.ok) expect(r.policy.source.kind).toBe("repo");
  });

  test("a partial section keeps the other defaults of that section", async () => {
    const c = ok(await load("approvals:\n  required: 2\n"));
    expect(c.approvals).toEqual({
      required: 2,
      dismiss_stale: true,
      allow_contributors: false,
      block_unattributed_commits: false,
    });
    expect(c.tickets.required).toBe(false);
  });
});

describe("which file applies", () => {
  test("the repository's file wins over the org file", async () => {
    const r = await loadPolicy(
      {
        repoFile: repoFile("approvals:\n  required: 3\n"),
        orgFile: repoFile("approvals:\n  required: 5\n", "acme/.github"),
      },
      noFetch,
    );
    expect(ok(r).approvals.required).toBe(3);
    if (r.ok) {
      expect(r.policy.source.kind).toBe("repo");
      expect(r.policy.source.location).toBe(`acme/payments:${CONFIG_PATH}`);
    }
  });

  test("without a repository file, the owner's .github repository's file applies", async () => {
    const r = await loadPolicy(
      { repoFile: null, orgFile: repoFile("approvals:\n  required: 5\n", "acme/.github") },
      noFetch,
    );
    expect(ok(r).approvals.required).toBe(5);
    if (r.ok) {
      expect(r.policy.source.kind).toBe("org");
      expect(r.policy.source.location).toBe(`acme/.github:${CONFIG_PATH}`);
      expect(r.policy.source.contentHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test("an invalid repository file is a problem even when the org file is fine (no silent fallback)", async () => {
    const r = await loadPolicy(
      { repoFile: repoFile("approvals: 2\n"), orgFile: repoFile("{}", "acme/.github") },
      noFetch,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.file).toBe(`acme/payments:${CONFIG_PATH}`);
  });
});

describe("_extends", () => {
  test.each([
    ["repo name: same owner, default path", "shared-policy", "acme/shared-policy:.github/changegate.yml"],
    ["owner/repo, default path", "other/policies", "other/policies:.github/changegate.yml"],
    ["owner/repo:path", "other/policies:strict/changegate.yml", "other/policies:strict/changegate.yml"],
    ["surrounding spaces are ignored", "  other/policies  ", "other/policies:.github/changegate.yml"],
  ])("%s", async (_name, ext, target) => {
    const fetchFile = files({ [target]: "approvals:\n  required: 4\n" });
    const r = await load(`_extends: ${JSON.stringify(ext)}\n`, fetchFile);
    expect(ok(r).approvals.required).toBe(4);
    expect(fetchFile.reads).toEqual([target]);
    if (r.ok) expect(r.policy.source.location).toBe(`acme/payments:${CONFIG_PATH} extending ${target}`);
  });

  test("objects merge key by key, arrays and scalars of the extending file replace the base's", async () => {
    const base = [
      "branches: [main, release/*]",
      "approvals:",
      "  required: 2",
      "  allow_contributors: true",
      "tickets:",
      "  required: true",
      "  projects: [OPS, SEC]",
      "  allowed_states: [Approved]",
      "ci:",
      "  required: [build, lint]",
    ].join("\n");
    const fetchFile = files({ [`acme/.github:${CONFIG_PATH}`]: base });
    const c = ok(
      await load(
        [
          "_extends: .github",
          "branches: [main]",
          "approvals:",
          "  required: 3",
          "tickets:",
          "  projects: [OPS]",
          "ci:",
          "  required: []",
        ].join("\n"),
        fetchFile,
      ),
    );
    expect(c.branches).toEqual(["main"]);
    expect(c.approvals).toEqual({
      required: 3,
      dismiss_stale: true,
      allow_contributors: true,
      block_unattributed_commits: false,
    });
    expect(c.tickets.required).toBe(true);
    expect(c.tickets.projects).toEqual(["OPS"]);
    expect(c.tickets.allowed_states).toEqual(["Approved"]);
    expect(c.ci.required).toEqual([]);
  });

  test("chains of several files merge in order, nearest file wins", async () => {
    const fetchFile = files({
      [`acme/mid:${CONFIG_PATH}`]: "_extends: acme/root\napprovals:\n  required: 2\n",
      [`acme/root:${CONFIG_PATH}`]:
        "approvals:\n  required: 1\n  dismiss_stale: false\nemergency:\n  label: hotfix\n",
    });
    const r = await load("_extends: mid\nemergency:\n  require_ci: true\n", fetchFile);
    const c = ok(r);
    expect(c.approvals).toEqual({
      required: 2,
      dismiss_stale: false,
      allow_contributors: false,
      block_unattributed_commits: false,
    });
    expect(c.emergency.label).toBe("hotfix");
    expect(c.emergency.require_ci).toBe(true);
    expect(fetchFile.reads).toEqual([`acme/mid:${CONFIG_PATH}`, `acme/root:${CONFIG_PATH}`]);
    if (r.ok) {
      expect(r.policy.source.location).toBe(
        `acme/payments:${CONFIG_PATH} extending acme/mid:${CONFIG_PATH} extending acme/root:${CONFIG_PATH}`,
      );
    }
  });

  test.each([
    ["a file extending itself", "_extends: payments\n", {}],
    [
      "a loop through another file",
      "_extends: other\n",
      { [`acme/other:${CONFIG_PATH}`]: "_extends: acme/payments\n" },
    ],
    [
      "a loop spelled in another case",
      "_extends: other\n",
      { [`acme/other:${CONFIG_PATH}`]: "_extends: ACME/Payments\n" },
    ],
  ])("%s is a loop", async (_name, text, map) => {
    const found = issues(await load(text, files(map)));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe("_extends");
    expect(found[0]!.message).toMatch(/loop/);
  });

  test("a missing target names the target", async () => {
    const r = await load("_extends: acme/nowhere\n", files({}));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.file).toBe(`acme/payments:${CONFIG_PATH}`);
    expect(r.problem.issues).toEqual([
      { path: "_extends", message: expect.stringContaining(`acme/nowhere:${CONFIG_PATH} does not exist`) },
    ]);
  });

  test("a problem in the extended file names that file", async () => {
    const r = await load("_extends: base\n", files({ [`acme/base:${CONFIG_PATH}`]: "approvals: [\n" }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem.file).toBe(`acme/base:${CONFIG_PATH}`);
      expect(r.problem.issues[0]!.message).toMatch(/not valid YAML/);
    }
  });

  test("schema errors after merging name the whole chain", async () => {
    const r = await load(
      "_extends: base\n",
      files({ [`acme/base:${CONFIG_PATH}`]: "approvals:\n  required: lots\n" }),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem.file).toBe(`acme/payments:${CONFIG_PATH} extending acme/base:${CONFIG_PATH}`);
      expect(r.problem.issues.map((i) => i.path)).toEqual(["approvals.required"]);
    }
  });

  test("the depth limit stops long chains", async () => {
    const map: Record<string, string> = {};
    for (let i = 0; i < 10; i++) map[`acme/p${i}:${CONFIG_PATH}`] = `_extends: p${i + 1}\n`;
    map[`acme/p10:${CONFIG_PATH}`] = "approvals:\n  required: 1\n";
    const fetchFile = files(map);
    const found = issues(await load("_extends: p0\n", fetchFile));
    expect(found[0]).toEqual({ path: "_extends", message: expect.stringMatching(/too many levels/) });
    expect(fetchFile.reads.length).toBeLessThanOrEqual(5);
  });

  test("a chain within the depth limit loads", async () => {
    const map: Record<string, string> = {};
    for (let i = 0; i < 3; i++) map[`acme/p${i}:${CONFIG_PATH}`] = `_extends: p${i + 1}\n`;
    map[`acme/p3:${CONFIG_PATH}`] = "approvals:\n  required: 7\n";
    expect(ok(await load("_extends: p0\n", files(map))).approvals.required).toBe(7);
  });

  test.each([
    ["a number", "_extends: 5\n"],
    ["an empty string", '_extends: ""\n'],
    ["a list", "_extends: [a, b]\n"],
    ["garbage", '_extends: "a/b/c"\n'],
    ["a mapping", "_extends:\n  repo: x\n"],
  ])("_extends as %s is a problem", async (_name, text) => {
    const found = issues(await load(text, files({})));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe("_extends");
  });

  test("fetchFile failing (not absent) propagates, so the pipeline fails closed", async () => {
    const failing: FetchFile = async () => {
      throw new Error("GitHub 502");
    };
    await expect(load("_extends: base\n", failing)).rejects.toThrow("GitHub 502");
  });
});

describe("problems name the key path", () => {
  test.each<[string, string, string[], RegExp | null]>([
    ["unknown top-level key", "aprovals:\n  required: 2\n", ["aprovals"], /unknown key/],
    ["unknown nested key", "approvals:\n  requierd: 2\n", ["approvals.requierd"], /unknown key/],
    ["two unknown keys", "ci:\n  requried: []\n  extra: 1\n", ["ci.requried", "ci.extra"], /unknown key/],
    ["unknown key under emergency", "emergency:\n  lable: hotfix\n", ["emergency.lable"], /unknown key/],
    ["wrong type: string for number", "approvals:\n  required: two\n", ["approvals.required"], null],
    ["wrong type: negative", "approvals:\n  required: -1\n", ["approvals.required"], null],
    ["wrong type: fractional", "approvals:\n  required: 1.5\n", ["approvals.required"], null],
    [
      "wrong type: string for boolean",
      "approvals:\n  dismiss_stale: 'yes'\n",
      ["approvals.dismiss_stale"],
      null,
    ],
    ["wrong type: scalar for section", "approvals: 2\n", ["approvals"], null],
    ["wrong type: branches as a string", "branches: main\n", ["branches"], null],
    ["bad glob", 'branches: ["release/["]\n', ["branches.0"], /invalid glob "release\/\["/],
    ["bad glob (brace)", 'branches: [main, "hotfix/{a"]\n', ["branches.1"], /invalid glob/],
    ["empty glob", 'branches: [""]\n', ["branches.0"], /empty/],
    ["empty branches list", "branches: []\n", ["branches"], /at least one branch/],
    [
      "tickets.required without projects",
      "tickets:\n  required: true\n",
      ["tickets.projects"],
      /projects is empty/,
    ],
    ["lower-case project key", "tickets:\n  projects: [ops]\n", ["tickets.projects.0"], /project key/],
    [
      "project key starting with a digit",
      "tickets:\n  projects: [OPS, 1OPS]\n",
      ["tickets.projects.1"],
      /project key/,
    ],
    ["project key with a dash", "tickets:\n  projects: [OPS-X]\n", ["tickets.projects.0"], /project key/],
    ["unknown source", "tickets:\n  sources: [title, wiki]\n", ["tickets.sources.1"], null],
    ["empty sources", "tickets:\n  sources: []\n", ["tickets.sources"], /at least one source/],
    ["empty allowed state", 'tickets:\n  allowed_states: [""]\n', ["tickets.allowed_states.0"], null],
    ["empty required check name", 'ci:\n  required: [""]\n', ["ci.required.0"], null],
    ["empty emergency label", 'emergency:\n  label: ""\n', ["emergency.label"], null],
    ["bad audit repo", "audit:\n  issue_repo: not a repo\n", ["audit.issue_repo"], /owner\/name/],
  ])("%s", async (_name, text, paths, message) => {
    const found = issues(await load(text));
    expect(found.map((i) => i.path)).toEqual(paths);
    for (const i of found) expect(i.message.length).toBeGreaterThan(0);
    if (message) expect(found[0]!.message).toMatch(message);
  });

  test.each([
    ["unclosed flow sequence", "approvals:\n  required: [1\n", 3],
    ["nested compact mapping", "approvals: a: b\n", 1],
    ["bad indentation", "approvals:\n  required: 1\n dismiss_stale: true\n", 3],
  ])("YAML syntax error (%s) names line and column", async (_name, text, line) => {
    const found = issues(await load(text));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe("");
    expect(found[0]!.message).toMatch(new RegExp(`^not valid YAML at line ${line}, column \\d+: `));
    // said once, not twice
    expect(found[0]!.message.match(/at line/g)).toHaveLength(1);
  });

  test("duplicate keys are a YAML error", async () => {
    const found = issues(await load("approvals:\n  required: 1\n  required: 2\n"));
    expect(found[0]!.message).toMatch(/not valid YAML at line 3, column 3: .*unique/);
  });

  test("an alias to an anchor that does not exist is a problem, not a crash", async () => {
    const found = issues(await load("approvals: *base\n"));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe("");
    expect(found[0]!.message).toMatch(/not valid YAML/);
  });

  test("an alias bomb is a problem, not a crash", async () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 12; i++) {
      const p = String.fromCharCode(97 + i - 1);
      const n = String.fromCharCode(97 + i);
      lines.push(`${n}: &${n} [*${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}]`);
    }
    const r = await load(lines.join("\n"));
    expect(r.ok).toBe(false);
  });

  test("anchors and aliases that resolve are fine", async () => {
    const c = ok(await load("branches: &b [main]\nci:\n  required: [build]\n"));
    expect(c.branches).toEqual(["main"]);
  });

  test.each([
    ["a list", "- main\n- develop\n"],
    ["a string", "main\n"],
    ["a number", "42\n"],
    ["true", "true\n"],
  ])("a top-level %s is a problem", async (_name, text) => {
    const found = issues(await load(text));
    expect(found).toEqual([{ path: "", message: expect.stringMatching(/mapping/) }]);
  });

  test("several documents in one file are a problem", async () => {
    const found = issues(await load("approvals:\n  required: 1\n---\napprovals:\n  required: 2\n"));
    expect(found[0]!.path).toBe("");
  });

  test("the problem names the file", async () => {
    const r = await load("nope: 1\n");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.file).toBe(`acme/payments:${CONFIG_PATH}`);
  });
});

describe("ci.required: entries pinned to their source", () => {
  test("plain names and pinned mappings, all normalised to { name, app?, creator? }", async () => {
    const text = [
      "ci:",
      "  required:",
      "    - build",
      "    - { name: build, app: github-actions }",
      "    - name: ci/jenkins",
      "      creator: jenkins-bot",
    ].join("\n");
    expect(ok(await load(text)).ci.required).toEqual([
      { name: "build" },
      { name: "build", app: "github-actions" },
      { name: "ci/jenkins", creator: "jenkins-bot" },
    ]);
  });

  test.each<[string, string, { path: string; message: RegExp }[]]>([
    [
      "both app and creator",
      "ci:\n  required:\n    - lint\n    - { name: build, app: github-actions, creator: bob }\n",
      [{ path: "ci.required.1", message: /^give either app or creator, not both$/ }],
    ],
    [
      "neither app nor creator",
      "ci:\n  required:\n    - { name: build }\n",
      [{ path: "ci.required.0", message: /app .* or creator .*or write just the name/ }],
    ],
    [
      "no name",
      "ci:\n  required:\n    - { app: github-actions }\n",
      [{ path: "ci.required.0.name", message: /name the check/ }],
    ],
    [
      "empty name",
      'ci:\n  required:\n    - { name: "", app: github-actions }\n',
      [{ path: "ci.required.0.name", message: /empty/ }],
    ],
    [
      "empty app",
      'ci:\n  required:\n    - { name: build, app: "" }\n',
      [{ path: "ci.required.0.app", message: /empty/ }],
    ],
    [
      "app not a string",
      "ci:\n  required:\n    - { name: build, app: [github-actions] }\n",
      [{ path: "ci.required.0.app", message: /slug/ }],
    ],
    [
      "creator not a string",
      "ci:\n  required:\n    - { name: build, creator: 7 }\n",
      [{ path: "ci.required.0.creator", message: /login/ }],
    ],
    [
      "unknown key in a pin",
      "ci:\n  required:\n    - { name: build, app: github-actions, from: x }\n",
      [{ path: "ci.required.0.from", message: /unknown key/ }],
    ],
    [
      "a typo for app",
      "ci:\n  required:\n    - { name: build, ap: github-actions }\n",
      [
        { path: "ci.required.0.ap", message: /unknown key/ },
        { path: "ci.required.0", message: /app .* or creator/ },
      ],
    ],
    [
      "a number",
      "ci:\n  required: [build, 7]\n",
      [
        {
          path: "ci.required.1",
          message: /expected a check name, or \{ name, app \} \/ \{ name, creator \}/,
        },
      ],
    ],
    ["a list", "ci:\n  required: [[build]]\n", [{ path: "ci.required.0", message: /expected a check name/ }]],
    ["null", "ci:\n  required: [~]\n", [{ path: "ci.required.0", message: /expected a check name/ }]],
  ])("%s: the problem names the entry", async (_name, text, expected) => {
    const found = issues(await load(text));
    expect(found.map((i) => i.path)).toEqual(expected.map((e) => e.path));
    found.forEach((f, i) => expect(f.message).toMatch(expected[i]!.message));
  });

  test("_extends: the extending file's list replaces the base's, pins included", async () => {
    const base = "ci:\n  required:\n    - { name: build, app: github-actions }\n    - lint\n";
    const fetchFile = files({ [`acme/.github:${CONFIG_PATH}`]: base });
    expect(ok(await load("_extends: .github\n", fetchFile)).ci.required).toEqual([
      { name: "build", app: "github-actions" },
      { name: "lint" },
    ]);
    const c = ok(
      await load("_extends: .github\nci:\n  required: [{ name: build, creator: jenkins-bot }]\n", fetchFile),
    );
    expect(c.ci.required).toEqual([{ name: "build", creator: "jenkins-bot" }]);
  });

  test("a bad pin in an extended file names the key path", async () => {
    const r = await load(
      "_extends: base\n",
      files({ [`acme/base:${CONFIG_PATH}`]: "ci:\n  required: [{ name: build, app: a, creator: b }]\n" }),
    );
    expect(issues(r)).toEqual([{ path: "ci.required.0", message: "give either app or creator, not both" }]);
  });
});

describe("a full valid file", () => {
  test("every documented key", async () => {
    const text = [
      "branches: [main, release/*]",
      "approvals:",
      "  required: 2",
      "  dismiss_stale: true",
      "  allow_contributors: false",
      "  block_unattributed_commits: true",
      "ci:",
      "  required: [build, test]",
      "tickets:",
      "  required: true",
      "  projects: [OPS, SEC_2, A1]",
      "  sources: [title, branch]",
      '  allowed_states: ["Approved", "In Progress"]',
      "  transition_on_merge: Done",
      "emergency:",
      "  enabled: true",
      "  label: hotfix",
      "  approvals_required: 1",
      "  require_ci: true",
      "  require_ticket: false",
      '  allowed_declarers: [oncall-lead, acme/sre, "deploy-bot[bot]"]',
      "  review_within_hours: 24",
      "audit:",
      "  issue_repo: acme/audit",
    ].join("\n");
    const c = ok(await load(text));
    expect(c).toEqual({
      branches: ["main", "release/*"],
      approvals: {
        required: 2,
        dismiss_stale: true,
        allow_contributors: false,
        block_unattributed_commits: true,
      },
      ci: { required: [{ name: "build" }, { name: "test" }] },
      tickets: {
        required: true,
        projects: ["OPS", "SEC_2", "A1"],
        sources: ["title", "branch"],
        allowed_states: ["Approved", "In Progress"],
        transition_on_merge: "Done",
      },
      emergency: {
        enabled: true,
        label: "hotfix",
        approvals_required: 1,
        require_ci: true,
        require_ticket: false,
        allowed_declarers: ["oncall-lead", "acme/sre", "deploy-bot[bot]"],
        review_within_hours: 24,
      },
      audit: { issue_repo: "acme/audit" },
    });
  });
});

describe("content hash", () => {
  async function hash(text: string, repo = REPO): Promise<string> {
    const r = await loadPolicy({ repoFile: repoFile(text, repo), orgFile: null }, noFetch);
    if (!r.ok) throw new Error("expected ok");
    return r.policy.source.contentHash;
  }

  test("stable for the same text, sha256 hex", async () => {
    const a = await hash("approvals:\n  required: 2\n");
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await hash("approvals:\n  required: 2\n")).toBe(a);
  });

  test("different for a different text, even an equivalent one", async () => {
    const a = await hash("approvals:\n  required: 2\n");
    expect(await hash("approvals:\n  required: 3\n")).not.toBe(a);
    expect(await hash("approvals: {required: 2}\n")).not.toBe(a);
  });

  test("different for the same text in another repository", async () => {
    expect(await hash("{}\n", "acme/a")).not.toBe(await hash("{}\n", "acme/b"));
  });

  test("covers the extended files", async () => {
    const h = async (baseText: string) => {
      const r = await load("_extends: base\n", files({ [`acme/base:${CONFIG_PATH}`]: baseText }));
      if (!r.ok) throw new Error("expected ok");
      return r.policy.source.contentHash;
    };
    expect(await h("approvals:\n  required: 2\n")).toBe(await h("approvals:\n  required: 2\n"));
    expect(await h("approvals:\n  required: 2\n")).not.toBe(await h("approvals:\n  required: 4\n"));
  });
});

describe("fileLabel", () => {
  test("owner/name:path", () => {
    expect(fileLabel({ repo: "acme/x", path: ".github/changegate.yml" })).toBe(
      "acme/x:.github/changegate.yml",
    );
  });
});

describe("isGatedBranch", () => {
  const withBranches = (branches?: string[]): Config => ({ ...defaultConfig(), branches });

  test.each<[string[] | undefined, string, string, boolean]>([
    [undefined, "main", "main", true],
    [undefined, "develop", "main", false],
    [undefined, "trunk", "trunk", true],
    [undefined, "main", "trunk", false],
    // without `branches`, the default branch is compared literally, not as a glob
    [undefined, "featurea", "feature{a,b}", false],
    [undefined, "feature{a,b}", "feature{a,b}", true],
    [undefined, "x", "+(x)", false],
    [["main"], "main", "trunk", true],
    [["main"], "trunk", "trunk", false],
    [["release/*"], "release/1.0", "main", true],
    [["release/*"], "release/1.0/hotfix", "main", false],
    [["release/*"], "release", "main", false],
    [["release/*"], "main", "main", false],
    [["release/**"], "release/1.0/hotfix", "main", true],
    [["main", "release/*"], "release/2", "main", true],
    [["main", "release/*"], "feature/x", "main", false],
    [["*"], "anything", "main", true],
    [["*"], "a/b", "main", false],
    [["release/*"], "release/.hidden", "main", true],
    [["hotfix-[0-9]*"], "hotfix-2", "main", true],
    [["hotfix-[0-9]*"], "hotfix-x", "main", false],
  ])("branches %j: %s (default %s) → %s", (branches, branch, def, expected) => {
    expect(isGatedBranch(withBranches(branches), branch, def)).toBe(expected);
  });
});
