/** The `changegate` command through its `main(argv, io)`: what it prints and the exit codes. */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditStore } from "../../src/audit/database.js";
import { EXIT, parsePeriod } from "../../src/cli.js";
import { runCli } from "../helpers/cli-run.js";
import { goldenStore } from "./golden.js";
import { tempDir } from "./records.js";

const tmp = tempDir();
const DB = join(tmp.dir, "golden.db");

beforeAll(async () => {
  await (await goldenStore(`sqlite:${DB}`)).close();
});
afterAll(() => tmp.cleanup());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  argv: string[],
  env: Record<string, string | undefined> = { DATABASE_URL: `sqlite:${DB}` },
  cwd = tmp.dir,
): Promise<Run> {
  return runCli(argv, env, cwd, () => new Date("2026-04-02T12:00:00.000Z"));
}

describe("help", () => {
  test.each([
    [["--help"]],
    [["audit", "--help"]],
    [["audit", "export", "--help"]],
    [["audit", "show", "--help"]],
    [["audit", "verify", "--help"]],
    [["check", "--help"]],
    [["config", "check", "--help"]],
    [["config", "schema", "--help"]],
  ])("%j prints usage and exits 0", async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^Usage: changegate/);
  });

  test("no command: usage on stderr, exit 2", async () => {
    const r = await run([]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/Usage: changegate/);
  });
});

describe("bad arguments → a clear message and exit 2", () => {
  test.each([
    [["audit", "export", "--from", "2026-02-30", "--to", "2026-03-31"], /--from 2026-02-30: no such day/],
    [
      ["audit", "export", "--from", "March", "--to", "2026-03-31"],
      /--from "March": expected a day \(2026-01-31\) or a time with a zone/,
    ],
    [
      ["audit", "export", "--from", "2026-03-01T10:00:00", "--to", "2026-03-31"],
      /--from "2026-03-01T10:00:00": expected/,
    ],
    [
      ["audit", "export", "--from", "2026-04-01", "--to", "2026-03-01"],
      /is not before --to 2026-03-01: the period is empty/,
    ],
    [
      ["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "xlsx"],
      /argument 'xlsx' is invalid\. Allowed choices are csv, json, ndjson/,
    ],
    [["audit", "export", "--to", "2026-03-31"], /required option '--from <date>' not specified/],
    [
      ["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--repo", "payments"],
      /--repo "payments": expected owner\/name/,
    ],
    [
      ["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--out", "no/such/dir/x.csv"],
      /the directory .*no\/such\/dir does not exist/,
    ],
    [
      ["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--database", "mysql://u:pw@h/db"],
      /unsupported database URL \(scheme "mysql:"\)/,
    ],
    [["audit", "show", "payments#1"], /"payments#1": expected owner\/name#N/],
    [["audit", "frobnicate"], /unknown command 'frobnicate'/],
  ])("%j", async (argv, message) => {
    const r = await run(argv);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe("");
  });

  test("days and instants: --to a day includes that whole day", () => {
    expect(parsePeriod("2026-03-01", "2026-03-31")).toEqual({
      from: "2026-03-01T00:00:00.000Z",
      to: "2026-04-01T00:00:00.000Z",
    });
    expect(parsePeriod("2026-03-01T10:00:00+02:00", "2026-03-01T12:00:00Z")).toEqual({
      from: "2026-03-01T08:00:00.000Z",
      to: "2026-03-01T12:00:00.000Z",
    });
    expect(() => parsePeriod("2026-03-01", "2026-02-28")).toThrow(/empty/);
  });
});

describe("the database cannot be used → exit 3", () => {
  test("an unreachable PostgreSQL", async () => {
    const r = await run([
      "audit",
      "verify",
      "--database",
      "postgres://auditor:pw-not-shown@127.0.0.1:1/audit",
    ]);
    expect(r.code).toBe(EXIT.database);
    expect(r.stderr).toMatch(
      /cannot reach the audit database postgres:\/\/auditor@127\.0\.0\.1:1\/audit: .*ECONNREFUSED/,
    );
    expect(r.stderr).not.toMatch(/pw-not-shown/);
  });

  test("no SQLite file where DATABASE_URL (or the default) points: nothing is created", async () => {
    const cwd = join(tmp.dir, "empty-cwd");
    mkdirSync(cwd);
    const r = await run(["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31"], {}, cwd);
    expect(r.code).toBe(EXIT.database);
    expect(r.stderr).toMatch(/no audit database at .*empty-cwd\/data\/changegate\.db/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("audit export", () => {
  test("--out: the CSV and its manifest, the query and the count recorded", async () => {
    const r = await run([
      "audit",
      "export",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--out",
      "march.csv",
    ]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^exported 4 merged changes to .*march\.csv and .*march\.csv\.manifest\.json \(sha256 [0-9a-f]{64}\)\n$/,
    );
    const csv = readFileSync(join(tmp.dir, "march.csv"), "utf8");
    expect(csv.split("\r\n")[1]).toMatch(/^acme\/payments,5,/);
    const manifest = JSON.parse(readFileSync(join(tmp.dir, "march.csv.manifest.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      kind: "changegate audit export",
      generatedAt: "2026-04-02T12:00:00.000Z",
      database: `sqlite:${DB}`,
      query: {
        from: "2026-03-01T00:00:00.000Z",
        to: "2026-04-01T00:00:00.000Z",
        fromArgument: "2026-03-01",
        toArgument: "2026-03-31",
        repo: null,
        format: "csv",
      },
      rows: 4,
      complete: true,
    });
    expect(manifest.chainHeads).toEqual([
      { chain: "acme/ledger", seq: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { chain: "acme/payments", seq: 6, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  test("ndjson to stdout for one repository; --bom for Excel", async () => {
    const r = await run([
      "audit",
      "export",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-31",
      "--repo",
      "acme/ledger",
      "--format",
      "ndjson",
    ]);
    expect(r.code).toBe(EXIT.ok);
    const lines = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; repo?: string });
    expect(lines.map((l) => l.type)).toEqual(["manifest", "change", "end"]);
    expect(lines[0]).toMatchObject({ query: { repo: "acme/ledger", format: "ndjson" } });
    const bom = await run(["audit", "export", "--from", "2026-03-01", "--to", "2026-03-31", "--bom"]);
    expect(bom.stdout.startsWith("\ufeffrepo,pr,")).toBe(true);
    // CSV on stdout: the completeness facts go to stderr.
    expect(JSON.parse(bom.stderr)).toMatchObject({ rows: 4, complete: true, query: { format: "csv" } });
  });
});

describe("audit show", () => {
  test("every record of one PR, readable", async () => {
    const r = await run(["audit", "show", "acme/payments#2"]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^acme\/payments#2 {2}=HYPERLINK/);
    expect(r.stdout).toMatch(/2 records in chain acme\/payments/);
    expect(r.stdout).toMatch(/#3 {2}2026-03-01T07:00:00\.000Z {2}EVALUATION {2}FAILURE {2}head aaaaaaa/);
    expect(r.stdout).toMatch(/approvals fail +0 of 1 required\n +- Get 1 more approval/);
    expect(r.stdout).toMatch(/CI: build=failure/);
    expect(r.stdout).toMatch(/#4 {2}.* {2}MERGE {2}BYPASS/);
    expect(r.stdout).toMatch(/merged by mallory at 2026-03-01T08:00:00Z/);
    expect(r.stdout).toMatch(/standing evaluation: #3 \(failure/);
  });

  test("--json prints the stored records; a PR URL works too", async () => {
    const r = await run(["audit", "show", "https://github.com/acme/ledger/pull/3", "--json"]);
    expect(r.code).toBe(EXIT.ok);
    const recs = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { record: string; type: string; emergency: boolean });
    expect(recs.map((x) => [x.record, x.type, x.emergency])).toEqual([
      ["acme/ledger@1", "evaluation", true],
      ["acme/ledger@2", "merge", true],
    ]);
  });

  test("a PR with no records: exit 1", async () => {
    const r = await run(["audit", "show", "acme/payments#99"]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/no audit records for acme\/payments#99/);
  });
});

describe("audit verify", () => {
  test("an intact trail: exit 0 with the chain heads", async () => {
    const r = await run(["audit", "verify"]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^audit trail OK: 8 records in 2 chains verified/);
    expect(r.stdout).toMatch(/ {2}acme\/payments@6 [0-9a-f]{64}\n/);
  });

  test("a tampered trail: exit 1 naming the first record that does not match", async () => {
    const copy = join(tmp.dir, "tampered.db");
    copyFileSync(DB, copy);
    const store = await AuditStore.open(`sqlite:${copy}`);
    await sql`drop trigger audit_record_no_update`.execute(store.db);
    await sql`update audit_record set payload = replace(payload, '"mergedBy":"mallory"', '"mergedBy":"carol"') where chain = 'acme/payments' and seq = 4`.execute(
      store.db,
    );
    await store.close();
    const r = await run(["audit", "verify", "--database", `sqlite:${copy}`]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/^MISMATCH acme\/payments@4: record 4 was altered/);
    expect(r.stderr).toMatch(/verification FAILED: 1 of 2 chains broken \(first: acme\/payments@4\)/);
    expect(r.stdout).toBe("");
  });
});

describe("config check", () => {
  const write = (name: string, text: string) => {
    const dir = join(tmp.dir, "policies");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), text);
    return join("policies", name);
  };

  test("a valid policy: exit 0 and the effective settings", async () => {
    const file = write("ok.yml", "approvals:\n  required: 2\nbranches: [main, 'release/*']\n");
    const r = await run(["config", "check", file]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/valid changegate policy/);
    expect(r.stdout).toMatch(/required: 2/);
    expect(r.stdout).toMatch(/dismiss_stale: true/);
  });

  test("an invalid policy: exit 1 with each problem's key path", async () => {
    const file = write("bad.yml", "approvals:\n  required: -1\n  requried: 2\ntickets:\n  required: true\n");
    const r = await run(["config", "check", file]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/bad\.yml: not a valid changegate policy \(3 problems\)/);
    expect(r.stderr).toMatch(/ {2}line 2: approvals\.required: /);
    expect(r.stderr).toMatch(/ {2}line 3: approvals\.requried: unknown key/);
    expect(r.stderr).toMatch(
      / {2}line 4: tickets\.projects: tickets\.required is true but tickets\.projects is empty/,
    );
  });

  test("not YAML, a missing file, and _extends (not followed locally)", async () => {
    const broken = await run(["config", "check", write("broken.yml", "approvals: [\n")]);
    expect(broken.code).toBe(EXIT.failed);
    expect(broken.stderr).toMatch(/ {2}line \d+: \(file\): not valid YAML/);
    const missing = await run(["config", "check", "policies/none.yml"]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/no policy file at policies\/none\.yml/);
    const ext = await run([
      "config",
      "check",
      write("ext.yml", "_extends: acme/.github\napprovals:\n  required: 3\n"),
    ]);
    expect(ext.code).toBe(EXIT.ok);
    expect(ext.stderr).toMatch(
      /note: _extends acme\/\.github:\.github\/changegate\.yml .* was not followed here/,
    );
    expect(existsSync(join(tmp.dir, "policies", "ext.yml"))).toBe(true);
  });

  test("ci.required entries pinned to their source: validated, and shown normalised", async () => {
    const ok = await run([
      "config",
      "check",
      write(
        "pinned.yml",
        "ci:\n  required:\n    - lint\n    - { name: build, app: github-actions }\n    - { name: ci/jenkins, creator: jenkins-bot }\n",
      ),
    ]);
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.stdout).toContain(
      "ci:\n  required:\n    - name: lint\n    - name: build\n      app: github-actions\n    - name: ci/jenkins\n      creator: jenkins-bot\n",
    );
    const bad = await run([
      "config",
      "check",
      write(
        "pinned-bad.yml",
        "ci:\n  required:\n    - lint\n    - { name: build, app: github-actions, creator: bob }\n    - { name: deploy }\n",
      ),
    ]);
    expect(bad.code).toBe(EXIT.failed);
    expect(bad.stderr).toContain("  line 4: ci.required.1: give either app or creator, not both\n");
    expect(bad.stderr).toMatch(
      / {2}line 5: ci\.required\.2: pin the check to its source with app .* or creator /,
    );
  });

  test("a policy nested 5,000 deep or over the size limit: exit 1 with the problem (never read whole, never parsed)", async () => {
    const deep = await run([
      "config",
      "check",
      write("deep.yml", `approvals:\n  required: 1\nx: ${"[".repeat(5000)}${"]".repeat(5000)}\n`),
    ]);
    expect(deep.code).toBe(EXIT.failed);
    expect(deep.stderr).toMatch(
      /deep\.yml: not a valid changegate policy \(1 problem\)\n {2}line 3: \(file\): nested more than 32 levels deep at line 3 /,
    );
    const big = await run([
      "config",
      "check",
      write("big.yml", `approvals:\n  required: 1\n${"# padding\n".repeat(100_000)}`),
    ]);
    expect(big.code).toBe(EXIT.failed);
    expect(big.stderr).toMatch(
      /big\.yml: not a valid changegate policy \(1 problem\)\n {2}\(file\): the file is 1000025 bytes; a policy file may have at most 65536 bytes/,
    );
    expect(big.stdout).toBe("");
  });

  test("the default file is .github/changegate.yml", async () => {
    const cwd = join(tmp.dir, "repo");
    mkdirSync(join(cwd, ".github"), { recursive: true });
    writeFileSync(join(cwd, ".github", "changegate.yml"), "ci:\n  required: [build]\n");
    const r = await run(["config", "check"], {}, cwd);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^\.github\/changegate\.yml: valid/);
  });

  test("--json: one object with each problem's path and line; valid files carry the effective settings", async () => {
    const bad = await run([
      "config",
      "check",
      "--json",
      write("j-bad.yml", "approvals:\n  required: many\n"),
    ]);
    expect(bad.code).toBe(EXIT.failed);
    expect(JSON.parse(bad.stdout)).toEqual({
      file: "policies/j-bad.yml",
      valid: false,
      checkedAs: "repo",
      problems: [{ path: "approvals.required", line: 2, message: expect.stringMatching(/expected number/) }],
      notes: [],
    });
    const ok = await run(["config", "check", "--json", write("j-ok.yml", "approvals:\n  required: 2\n")]);
    expect(ok.code).toBe(EXIT.ok);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      valid: true,
      problems: [],
      config: { approvals: { required: 2, dismiss_stale: true } },
    });
  });

  test("in GitHub Actions: each problem is also an ::error annotation on the file and line", async () => {
    const file = write("gha.yml", "approvals:\n  required: 1\nemergency:\n  labell: x\n");
    const r = await run(["config", "check", file], { GITHUB_ACTIONS: "true" });
    expect(r.code).toBe(EXIT.failed);
    expect(r.stdout).toBe(
      "::error file=policies/gha.yml,line=4,title=changegate policy::emergency.labell: unknown key (check the spelling against the config reference)\n",
    );
    const quiet = await run(["config", "check", file], {});
    expect(quiet.stdout).toBe("");
  });
});

describe("check FILE (the old spelling of config check)", () => {
  test("still validates, with a note naming the new command", async () => {
    const dir = join(tmp.dir, "old");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "p.yml"), "approvals:\n  required: -3\n");
    const r = await run(["check", "old/p.yml"]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toContain("note: validating a policy is now `changegate config check old/p.yml`");
    expect(r.stderr).toMatch(/ {2}line 2: approvals\.required: /);
    const missing = await run(["check", "old/none.yml"]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/no policy file at old\/none\.yml/);
  });

  test("owner/name#N is a pull request: without credentials, exit 2 naming what to set", async () => {
    const r = await run(["check", "acme/payments#12"], {});
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/no GitHub credentials: set APP_ID and PRIVATE_KEY .* or GITHUB_TOKEN/);
    expect(r.stderr).not.toMatch(/validating a policy/);
    const badEnv = await run(["check", "https://github.com/acme/payments/pull/12"], {
      APP_ID: "12x",
      PRIVATE_KEY: "secret-key-material",
    });
    expect(badEnv.code).toBe(EXIT.usage);
    expect(badEnv.stderr).toMatch(/APP_ID="12x": expected the GitHub App's numeric id/);
    expect(badEnv.stderr).not.toContain("secret-key-material");
    const jira = await run(["check", "acme/payments#12"], {
      GITHUB_TOKEN: "t",
      JIRA_BASE_URL: "not a url",
      JIRA_API_TOKEN: "jira-secret-value",
    });
    expect(jira.code).toBe(EXIT.usage);
    expect(jira.stderr).toMatch(
      /the Jira settings \(JIRA_\*\) are not usable: \d+ settings? (is|are) wrong:\n {2}- JIRA_BASE_URL is not a URL/,
    );
    expect(jira.stderr).not.toContain("jira-secret-value");
    const notPr = await run(["check", "acme/payments#0"], {});
    expect(notPr.code).toBe(EXIT.usage);
    expect(notPr.stderr).toMatch(/"acme\/payments#0": expected owner\/name#N or a pull request URL/);
    const dots = await run(["check", "../x#1"], { GITHUB_TOKEN: "t" });
    expect(dots.code).toBe(EXIT.usage);
    expect(dots.stderr).toMatch(/"\.\.\/x#1": not a repository name/);
  });
});

describe("config schema", () => {
  test("prints the JSON Schema, or writes it with --out", async () => {
    const r = await run(["config", "schema"]);
    expect(r.code).toBe(EXIT.ok);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["_extends", "approvals", "ci", "tickets", "emergency", "audit"]),
    );
    const out = await run(["config", "schema", "--out", "schema-out.json"]);
    expect(out.code).toBe(EXIT.ok);
    expect(readFileSync(join(tmp.dir, "schema-out.json"), "utf8")).toBe(r.stdout);
    const bad = await run(["config", "schema", "--out", "no/such/dir/s.json"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/cannot write no\/such\/dir\/s\.json: ENOENT/);
  });
});
