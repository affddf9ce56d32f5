import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { DIGEST_MARKER } from "../../src/contract.js";
import { evaluate } from "../../src/policy/evaluate.js";
import type {
  CiCheck,
  CommitInfo,
  Evidence,
  Policy,
  ReviewInfo,
  TicketEvidence,
} from "../../src/policy/types.js";
import { bound, clip, renderConfigProblem, renderVerdict } from "../../src/report/digest.js";
import { code, codeBlock, link, md } from "../../src/report/escape.js";
import { renderFailure, type Stage } from "../../src/report/failure.js";
import { redact } from "../../src/report/redact.js";
import { secretValues } from "../../src/ops/secrets.js";
import { MAX_BODY, MAX_TITLE, type Report } from "../../src/report/types.js";
import { evidence as fixtureEvidence, HEAD } from "../helpers/fixtures.js";

/** The fixture's evidence(), with `pr` overridable field by field. */
type EvidenceOver = Omit<Partial<Evidence>, "pr"> & { pr?: Partial<Evidence["pr"]> };
const evidence = (over: EvidenceOver = {}): Evidence =>
  fixtureEvidence(over as Parameters<typeof fixtureEvidence>[0]);

const ZWSP = "\u200b";

function policy(
  input: ConfigInput = {},
  source: Policy["source"] = {
    kind: "repo",
    location: "acme/payments:.github/changegate.yml",
    contentHash: "h",
  },
): Policy {
  return { config: configSchema.parse(input), source };
}
const DEFAULTS: Policy["source"] = { kind: "defaults", location: "built-in defaults", contentHash: "" };

const approval = (login: string, over: Partial<ReviewInfo> = {}): ReviewInfo => ({
  author: { login, isBot: false },
  state: "APPROVED",
  submittedAt: "2026-11-20T09:00:00Z",
  commitOid: HEAD,
  authorCanPush: true,
  url: "https://github.com/x",
  ...over,
});
const ci = (name: string, state: CiCheck["state"], url: string | null = null): CiCheck => ({
  kind: "check_run",
  name,
  state,
  raw: state,
  source: "a",
  url,
});
const commit = (headline: string, over: Partial<CommitInfo> = {}): CommitInfo => ({
  oid: "1234567890abcdef1234567890abcdef12345678",
  headline,
  message: headline,
  authors: ["dev"],
  committer: "dev",
  isMerge: false,
  url: "https://github.com/acme/payments/commit/1234567",
  ...over,
});

function render(input: ConfigInput, over: EvidenceOver = {}, source?: Policy["source"]): Report {
  const p = policy(input, source);
  const e = evidence({ reviews: [approval("alice")], ...over });
  return renderVerdict(evaluate(p, e), e, p);
}

/** The body with inline code spans removed (mentions and HTML are inert inside them). */
function outsideCode(body: string): string {
  return body.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, "");
}

/** Unescaped pipes in one line. */
function cells(line: string): number {
  return (line.match(/(?<!\\)\|/g) ?? []).length;
}

/** Every table row has as many cell separators as its header. */
function expectTablesIntact(body: string): void {
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\| --- /.test(lines[i]!)) continue;
    const width = cells(lines[i - 1]!);
    expect(cells(lines[i]!)).toBe(width);
    for (let j = i + 1; j < lines.length && lines[j]!.startsWith("|"); j++) {
      expect({ row: lines[j], cells: cells(lines[j]!) }).toEqual({ row: lines[j], cells: width });
    }
  }
}

function expectInert(body: string): void {
  const plain = outsideCode(body);
  // no @mention can ping: every @ is followed by a zero-width space
  expect(plain).not.toMatch(/@(?!\u200b)/);
  // no raw HTML but our own tags
  const strippedOwn = plain.replace(/<\/?(details|summary|sub)>/g, "").replace(DIGEST_MARKER, "");
  expect(strippedOwn).not.toMatch(/</);
  // no cross-reference #123
  expect(plain).not.toMatch(/#\d/);
  // no link to anything but http(s), no autolink
  for (const m of plain.matchAll(/(?<!\\)\]\(([^)]*)\)/g)) expect(m[1]).toMatch(/^https?:\/\//);
  expect(plain).not.toMatch(/javascript:\/\//);
  expect(plain).not.toMatch(/(?<!\]\()https?:\/\/(?![^\s)]*\))/);
  expect(body.split(DIGEST_MARKER)).toHaveLength(2);
  expectTablesIntact(body);
}

const HOSTILE = [
  "@org/team please look",
  "ping @user",
  "<img src=x onerror=alert(1)>",
  "| broken | table |",
  "back`ticks``here",
  "fixes #123",
  "[click](javascript:alert(1))",
  "x](javascript:alert(1))",
  "line one\nINJECTED line two\r\n## INJECTED heading",
  "<!-- changegate:digest -->",
  "see https://evil.example/x",
  "**bold** _it_ ~~s~~ \\ \\| end",
];

describe("digest", () => {
  test.each<[string, ConfigInput, EvidenceOver, RegExp]>([
    ["compliant", {}, {}, /^## ✅ changegate: compliant — ready to merge$/],
    ["not compliant", {}, { reviews: [] }, /^## ❌ changegate: not compliant$/],
    ["waiting", {}, { checks: [ci("build", "pending")] }, /^## ⏳ changegate: waiting for CI$/],
    ["not gated", {}, { pr: { baseRef: "develop" } }, /^## ✅ changegate: not gated$/],
    ["emergency", {}, { reviews: [], pr: { labels: ["emergency"] } }, /^## 🚨 changegate: EMERGENCY CHANGE/],
    ["draft", {}, { pr: { isDraft: true } }, /^## ✅ changegate: compliant — ready to merge \(draft\)$/],
  ])("verdict in the first line: %s", (_n, input, over, first) => {
    const r = render(input, over);
    expect(r.comment.split("\n")[0]).toMatch(first);
    expect(r.check.summary.split("\n")[0]).toMatch(first);
    expect(r.comment.endsWith(DIGEST_MARKER)).toBe(true);
    expect(r.comment.split(DIGEST_MARKER)).toHaveLength(2);
  });

  test("check output follows the verdict", () => {
    expect(render({}, {}).check).toMatchObject({
      status: "completed",
      conclusion: "success",
      title: "Compliant: approvals ok, ci ok",
    });
    expect(render({}, { reviews: [] }).check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(render({}, { checks: [ci("build", "pending")] }).check).toMatchObject({
      status: "in_progress",
      conclusion: null,
    });
  });

  test("not gated: no comment is created, no table", () => {
    const r = render({}, { pr: { baseRef: "develop" } });
    expect(r.createComment).toBe(false);
    expect(r.comment).not.toContain("| Rule |");
    expect(r.comment).toContain("`develop`");
    expect(render({}, {}).createComment).toBe(true);
  });

  test("one table row per rule", () => {
    const r = render({ tickets: { required: true, projects: ["OPS"] } }, {});
    const rows = r.comment.split("\n").filter((l) => /^\| (Approvals|CI|Tickets) \|/.test(l));
    expect(rows).toEqual([
      expect.stringMatching(/^\| Approvals \| ✅ pass \| 1 of 1 required \|$/),
      expect.stringMatching(/^\| CI \| ✅ pass \| all 1 check passed \|$/),
      expect.stringMatching(/^\| Tickets \| ❌ fail \| no ticket referenced \|$/),
    ]);
  });

  test("'What to do' only when not compliant, numbered", () => {
    expect(render({}, {}).comment).not.toContain("What to do");
    const bad = render({}, { reviews: [], checks: [ci("lint", "failure")] }).comment;
    expect(bad).toContain("### What to do");
    expect(bad).toMatch(/^1\. Get 1 more approval/m);
    expect(bad).toMatch(/^2\. Fix the failing check: lint\.$/m);
  });

  test("commits section only when compliant, merge commits left out", () => {
    const commits = [
      commit("First change"),
      commit("Merge main", { isMerge: true }),
      commit("Second change"),
    ];
    const good = render({}, { commits }).comment;
    expect(good).toContain("What is about to ship: 2 commits");
    expect(good).toContain("First change");
    expect(good).not.toContain("Merge main");
    expect(good).toContain("[`1234567`](https://github.com/acme/payments/commit/1234567)");
    expect(render({}, { commits, reviews: [] }).comment).not.toContain("What is about to ship");
    expect(render({}, { commits, checks: [ci("b", "pending")] }).comment).not.toContain(
      "What is about to ship",
    );
    expect(render({}, { commits, pr: { labels: ["emergency"] } }).comment).toContain("What is about to ship");
  });

  test("more than 100 commits: the last 100 are shown", () => {
    const commits = Array.from({ length: 150 }, (_, i) => commit(`change ${i}`));
    const body = render({}, { commits }).comment;
    expect(body).toContain("(the last 100 of 150)");
    expect(body).toContain("change 149");
    expect(body).not.toContain("change 49 ");
  });

  test("defaults in force are said so", () => {
    const body = render({}, {}, DEFAULTS).comment;
    expect(body).toContain("built-in defaults");
    expect(body).toContain(
      "no `.github/changegate.yml` in this repository or the owner's `.github` repository",
    );
  });

  test("policy source and head sha in the footer", () => {
    const body = render(
      {},
      {},
      { kind: "org", location: "acme/.github:.github/changegate.yml", contentHash: "x" },
    ).comment;
    const footer = body.split("\n").find((l) => l.startsWith("<sub>"))!;
    expect(footer).toContain(`\`${HEAD.slice(0, 12)}\``);
    expect(footer).toContain("acme/.github:.github/changegate.yml");
    expect(footer).toContain("(default branch)");
  });

  test("draft and emergency notes", () => {
    expect(render({}, { pr: { isDraft: true } }).comment).toContain("This PR is a **draft**");
    const em = render({}, { reviews: [], pr: { labels: ["emergency"] } }).comment;
    expect(em).toContain("EMERGENCY CHANGE.");
    expect(em).toContain("retroactive review");
    const refused = render(
      { emergency: { approvals_required: 1 } },
      { reviews: [], pr: { labels: ["emergency"] } },
    );
    expect(refused.comment).not.toContain("[!CAUTION]");
    expect(refused.check.conclusion).toBe("failure");
  });

  test("reviewers are listed with why they did not count", () => {
    const body = render(
      {},
      { reviews: [approval("alice"), approval("dev"), approval("stale", { commitOid: "f".repeat(40) })] },
    ).comment;
    expect(body).toMatch(/✅ alice approved on `aaaaaaa` \(head\) at 2026-11-20 09:00 UTC — counted/);
    expect(body).toMatch(/➖ dev approved .* — not counted: is the PR author/);
    expect(body).toMatch(
      /➖ stale approved on `fffffff` .* not counted: approved fffffff, not the head commit/,
    );
  });

  test("no reviews yet", () => {
    expect(render({}, { reviews: [] }).comment).toContain("No reviews yet.");
  });

  test("CI table with links only for http(s) URLs, required marked", () => {
    const body = render(
      { ci: { required: ["build"] } },
      {
        checks: [
          ci("build", "success", "https://ci.example.com/1"),
          ci("lint", "success", "javascript:alert(1)"),
        ],
      },
    ).comment;
    expect(body).toContain("| [build](https://ci.example.com/1) | ✅ success | yes |");
    expect(body).toContain("| lint | ✅ success |  |");
    expect(body).not.toContain("javascript:");
  });

  test("a required check that never reported is listed as missing", () => {
    const body = render({ ci: { required: ["deploy"] } }, {}).comment;
    expect(body).toMatch(/\| deploy \| ⏳ not reported \| yes \|/);
  });

  test("CI: each result says who reported it; a pinned requirement says what it is pinned to; foreign results say why they did not count", () => {
    const checks: CiCheck[] = [
      {
        kind: "check_run",
        name: "build",
        state: "success",
        raw: "success",
        source: "github-actions",
        url: null,
      },
      { kind: "check_run", name: "build", state: "success", raw: "success", source: "evil-app", url: null },
      { kind: "status", name: "build", state: "success", raw: "success", source: "mallory", url: null },
      { kind: "status", name: "ci/jenkins", state: "success", raw: "success", source: "mallory", url: null },
      { kind: "status", name: "lint", state: "success", raw: "success", source: "ci-bot", url: null },
    ];
    const body = render(
      {
        ci: {
          required: [
            "lint",
            { name: "build", app: "github-actions" },
            { name: "ci/jenkins", creator: "jenkins-bot" },
          ],
        },
      },
      { checks },
    ).comment;
    expect(body).toContain("| Check | State | Required | Reported by |");
    expect(body).toContain(
      "| build | ✅ success | yes, pinned to a check run by app github\\-actions | app github\\-actions |",
    );
    expect(body).toContain("| build | ✅ success | ⚠️ not counted | app evil\\-app |");
    expect(body).toContain("| build | ✅ success | ⚠️ not counted | commit status by mallory |");
    expect(body).toContain("| lint | ✅ success | yes | commit status by ci\\-bot |");
    expect(body).toContain(
      "| ci/jenkins | ⏳ not reported | yes, pinned to a commit status by jenkins\\-bot |  |",
    );
    expect(body).toContain(
      "- ⚠️ **build** was reported by app evil\\-app, not github\\-actions: not counted.",
    );
    expect(body).toContain(
      "- ⚠️ **build** was reported as a commit status by mallory, not as a check run by app github\\-actions: not counted.",
    );
    expect(body).toContain("- ⚠️ **ci/jenkins** was reported by mallory, not jenkins\\-bot: not counted.");
    expect(body).toMatch(/^## ⏳ changegate: waiting for CI/);
    expect(body).toContain("waiting for ci/jenkins \\(commit status by jenkins\\-bot\\)");
    expectTablesIntact(body);
  });

  test("CI: a check run reported as a status-pinned name, and sources GitHub does not give", () => {
    const checks: CiCheck[] = [
      { kind: "check_run", name: "ci/jenkins", state: "success", raw: "success", source: null, url: null },
      { kind: "status", name: "build", state: "success", raw: "success", source: null, url: null },
    ];
    const body = render(
      {
        ci: {
          required: [
            { name: "build", creator: "ci-bot" },
            { name: "ci/jenkins", app: "jenkins" },
          ],
        },
      },
      { checks },
    ).comment;
    expect(body).toContain(
      "- ⚠️ **build** was reported by a commit status with no creator, not ci\\-bot: not counted.",
    );
    expect(body).toContain(
      "- ⚠️ **ci/jenkins** was reported by a check run with no app, not jenkins: not counted.",
    );
    const crossed = render(
      { ci: { required: [{ name: "ci/jenkins", creator: "jenkins-bot" }] } },
      { checks: [ci("ci/jenkins", "success")] },
    ).comment;
    expect(crossed).toContain(
      "- ⚠️ **ci/jenkins** was reported as a check run by app a, not as a commit status by jenkins\\-bot: not counted.",
    );
  });

  test("tickets table", () => {
    const tickets: TicketEvidence = {
      refs: [
        { key: "OPS-1", foundIn: ["title", "branch"] },
        { key: "OPS-2", foundIn: ["commits"] },
      ],
      lookup: {
        kind: "ok",
        found: [
          {
            key: "OPS-1",
            summary: "Rotate keys",
            status: "Done",
            url: "https://jira.example.com/browse/OPS-1",
          },
        ],
        unknown: ["OPS-2"],
      },
    };
    const body = render(
      { tickets: { required: true, projects: ["OPS"], allowed_states: ["Approved"] } },
      { tickets },
    ).comment;
    expect(body).toContain("### Tickets (allowed states: Approved)");
    expect(body).toContain(
      "| [OPS\\-1](https://jira.example.com/browse/OPS-1) | title, branch | Rotate keys | Done | ❌ state not allowed |",
    );
    expect(body).toContain("| OPS\\-2 | commits |  |  | ❌ unknown to Jira |");
  });

  test("tickets not required and none found: no tickets section", () => {
    expect(render({}, {}).comment).not.toContain("### Tickets");
  });

  test("Jira down: tickets not verified, and said so", () => {
    const tickets: TicketEvidence = {
      refs: [{ key: "OPS-1", foundIn: ["title"] }],
      lookup: { kind: "unreachable", message: "connect ETIMEDOUT" },
    };
    const body = render({ tickets: { required: true, projects: ["OPS"] } }, { tickets }).comment;
    expect(body).toContain("⚠️ not verified");
    expect(body).toContain("Jira could not be reached");
  });
});

describe("escaping user text in the digest", () => {
  test.each(HOSTILE)("hostile text %j everywhere cannot ping, inject HTML, break a table or link", (text) => {
    const tickets: TicketEvidence = {
      refs: [{ key: "OPS-1", foundIn: ["title"] }],
      lookup: {
        kind: "ok",
        found: [{ key: "OPS-1", summary: text, status: text, url: "https://jira.example.com/browse/OPS-1" }],
        unknown: [],
      },
    };
    const config: ConfigInput = {
      ci: { required: [text, { name: text, app: text }, { name: `${text} 2`, creator: text }] },
      tickets: { required: true, projects: ["OPS"], allowed_states: [text, "Approved"] },
    };
    const evidenceOver = {
      pr: { title: text, body: text },
      commits: [commit(text, { authors: ["dev"] })],
      checks: [
        ci(text, "failure", "https://ci.example.com/x"),
        ci(`${text} 2`, "success"),
        {
          kind: "check_run" as const,
          name: text,
          state: "success" as const,
          raw: text,
          source: text,
          url: null,
        },
        {
          kind: "status" as const,
          name: `${text} 2`,
          state: "pending" as const,
          raw: text,
          source: text,
          url: null,
        },
      ],
      tickets,
    };
    const failing = render(config, evidenceOver);
    expectInert(failing.comment);
    // the compliant variant shows commit headlines
    const passing = render(
      {},
      { pr: { title: text }, commits: [commit(text)], checks: [ci(text, "success")] },
    );
    expect(passing.comment).toContain("What is about to ship");
    expectInert(passing.comment);
    for (const r of [failing, passing]) {
      expect(r.comment.split("\n").some((l) => /^(#+ |\\?#+ )?INJECTED/.test(l))).toBe(false);
    }
  });

  test("the config problem report escapes the file's messages", () => {
    const e = evidence();
    const r = renderConfigProblem(
      {
        file: "acme/payments:.github/changegate.yml",
        issues: [
          { path: "branches.0", message: 'invalid glob "@org/team <img src=x onerror=alert(1)> | x | #12"' },
          { path: "", message: "not valid YAML at line 1, column 2: bad" },
        ],
      },
      e,
    );
    expect(r.comment.split("\n")[0]).toBe("## ❌ changegate: the policy file is invalid");
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.title).toMatch(
      /^Invalid policy acme\/payments:\.github\/changegate\.yml: branches\.0: invalid glob/,
    );
    expect(r.createComment).toBe(true);
    expect(r.comment).toContain("| `branches.0` |");
    expect(r.comment).toContain("| (whole file) |");
    expectInert(r.comment);
  });
});

describe("escape.ts", () => {
  test.each<[string, string]>([
    ["@org/team", `@${ZWSP}org/team`],
    ["hi @user!", `hi @${ZWSP}user\\!`],
    ["<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert\\(1\\)&gt;"],
    ["| broken | table |", "\\| broken \\| table \\|"],
    ["a`b", "a\\`b"],
    ["#123", `\\#${ZWSP}123`],
    ["acme/other#5", `acme/other\\#${ZWSP}5`],
    ["GH-42 and gh-7", `GH\\-${ZWSP}42 and gh\\-${ZWSP}7`],
    ["UGH-42", "UGH\\-42"],
    ["](javascript:alert(1))", "\\]\\(javascript:alert\\(1\\)\\)"],
    ["a\nb\r\nc\td", "a b c d"],
    ["https://evil.example", `https:${ZWSP}//evil.example`],
    ["&lt;b&gt;", "&amp;lt;b&amp;gt;"],
    ["back\\slash", "back\\\\slash"],
    ["plain words", "plain words"],
  ])("md(%j)", (input, output) => {
    expect(md(input)).toBe(output);
  });

  test("md clips long text", () => {
    expect(md("x".repeat(50), 10)).toBe(`${"x".repeat(9)}…`);
  });

  test.each<[string, string]>([
    ["plain", "`plain`"],
    ["a`b", "``a`b``"],
    ["a``b`", "``` a``b` ```"],
    ["`start", "`` `start ``"],
    ["pipe | here", "`pipe ¦ here`"],
    ["two\nlines", "`two lines`"],
  ])("code(%j) = %j", (input, output) => {
    expect(code(input)).toBe(output);
  });

  test("code clips long text", () => {
    expect(code("y".repeat(500), 20)).toBe(`\`${"y".repeat(19)}…\``);
  });

  test("codeBlock cannot be closed by its content", () => {
    const b = codeBlock("a\n```\n<script>x</script>\n````");
    const lines = b.split("\n");
    expect(lines[0]).toBe("`````text");
    expect(lines[lines.length - 1]).toBe("`````");
    expect(lines.slice(1, -1).every((l) => !/^`{5,}/.test(l))).toBe(true);
  });

  test.each<[string | null | undefined, string]>([
    ["https://ci.example.com/run/1", "[label](https://ci.example.com/run/1)"],
    ["http://ci.example.com", "[label](http://ci.example.com)"],
    ["HTTPS://CI.EXAMPLE.COM", "[label](HTTPS://CI.EXAMPLE.COM)"],
    ["javascript:alert(1)", "label"],
    ["JavaScript:alert(1)", "label"],
    [" javascript:alert(1)", "label"],
    ["data:text/html,<script>alert(1)</script>", "label"],
    ["vbscript:msgbox", "label"],
    ["//evil.example/x", "label"],
    // characters that would end the link or start HTML are percent-encoded, so the link stays one link
    [
      "https://ok.example/x) [evil](javascript:alert(1)",
      "[label](https://ok.example/x%29%20%5Bevil%5D%28javascript:alert%281%29)",
    ],
    ["https://ok.example/a b", "[label](https://ok.example/a%20b)"],
    ["https://ok.example/<script>", "[label](https://ok.example/%3Cscript%3E)"],
    ["", "label"],
    [null, "label"],
    [undefined, "label"],
  ])("link(label, %j)", (url, out) => {
    expect(link("label", url)).toBe(out);
  });
});

describe("size limits", () => {
  test("5,000 checks: the body stays under GitHub's limit and rows stay whole", () => {
    const checks = Array.from({ length: 5000 }, (_, i) =>
      ci(
        `check number ${i} with a long name ${"x".repeat(40)}`,
        i % 2 ? "failure" : "success",
        `https://ci.example.com/${i}`,
      ),
    );
    const r = render({}, { checks });
    expect(r.comment.length).toBeLessThanOrEqual(65536);
    expect(r.check.summary.length).toBeLessThanOrEqual(MAX_BODY);
    expect(r.check.title.length).toBeLessThanOrEqual(MAX_TITLE);
    expect(r.comment).toContain("truncated");
    expect(r.comment.endsWith(DIGEST_MARKER)).toBe(true);
    expect(r.comment.split("\n")[0]).toContain("not compliant");
    expectTablesIntact(r.comment);
  });

  test("5,000 pending checks: the title is clipped", () => {
    const checks = Array.from({ length: 5000 }, (_, i) => ci(`pending-${i}`, "pending"));
    const r = render({}, { checks });
    expect(r.check.title.length).toBeLessThanOrEqual(MAX_TITLE);
    expect(r.check.summary.length).toBeLessThanOrEqual(MAX_BODY);
  });

  test("huge commit headlines and a huge ticket list", () => {
    const commits = Array.from({ length: 100 }, (_, i) => commit(`${i} ${"z".repeat(5000)}`));
    const refs = Array.from({ length: 3000 }, (_, i) => ({
      key: `OPS-${i + 1}`,
      foundIn: ["body" as const],
    }));
    const r = render(
      { tickets: { required: true, projects: ["OPS"] } },
      { commits, tickets: { refs, lookup: { kind: "ok", found: [], unknown: [] } } },
    );
    expect(r.comment.length).toBeLessThanOrEqual(65536);
    expectTablesIntact(r.comment);
  });

  test("bound leaves short bodies alone", () => {
    expect(bound("short")).toBe("short");
  });

  test("clip collapses whitespace and clips", () => {
    expect(clip("a\n\nb   c", 100)).toBe("a b c");
    expect(clip("abcdef", 4)).toBe("abc…");
  });
});

describe("failure report", () => {
  const saved: Record<string, string | undefined> = {};
  const ENV = {
    PRIVATE_KEY:
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterial\n-----END RSA PRIVATE KEY-----",
    WEBHOOK_SECRET: "whsec-0123456789-topsecret",
    JIRA_API_TOKEN: "ATATT3xFfGF0-jira-cloud-token-value",
    JIRA_PAT: "NjQ5ODc2NTQzMjE6data-center-pat",
  };
  beforeEach(() => {
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterEach(() => {
    for (const k of Object.keys(ENV)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  const GHS = `ghs_${"A1b2C3d4E5".repeat(3)}xyz123`;
  const GHP = `ghp_${"Zz9".repeat(12)}`;

  function fail(error: unknown, stage: Stage = "gather"): Report {
    return renderFailure({ stage, error, headSha: HEAD, deliveryId: "delivery-123" });
  }

  test("check failure with a title saying it is changegate's error, stage named, message, stack in <details>", () => {
    const err = new Error("GitHub answered 502 Bad Gateway");
    const r = fail(err, "tickets");
    expect(r.check.status).toBe("completed");
    expect(r.check.conclusion).toBe("failure");
    expect(r.check.title).toBe(
      "changegate error while looking up Jira tickets: GitHub answered 502 Bad Gateway",
    );
    expect(r.createComment).toBe(true);
    const body = r.comment;
    expect(body.split("\n")[0]).toBe("## 💥 changegate failed — this is changegate's fault, not yours");
    expect(body).toContain("**looking up Jira tickets**");
    expect(body).toContain("**Error:** GitHub answered 502 Bad Gateway");
    const details = body.slice(
      body.indexOf("<details><summary>Stack trace</summary>"),
      body.indexOf("</details>"),
    );
    expect(details).toContain("Error: GitHub answered 502 Bad Gateway");
    expect(details).toMatch(/\n\s+at .*render\.test\.ts/);
    expect(details).toContain("```text");
    expect(body).toContain(`\`${HEAD.slice(0, 12)}\``);
    expect(body).toContain("`delivery-123`");
    expect(body.endsWith(DIGEST_MARKER)).toBe(true);
  });

  test.each<[Stage, RegExp]>([
    ["gather", /reading the pull request from GitHub/],
    ["evaluate", /evaluating the policy/],
    ["render", /writing the report/],
    ["record", /audit/],
    ["publish", /publishing the result/],
  ])("stage %s is named", (stage, text) => {
    const r = fail(new Error("x"), stage);
    expect(r.check.title).toMatch(text);
    expect(r.comment).toMatch(text);
  });

  test("a thrown non-Error is reported", () => {
    const r = fail("a string was thrown");
    expect(r.comment).toContain("a string was thrown");
    expect(r.check.conclusion).toBe("failure");
  });

  test("unknown head", () => {
    const r = renderFailure({ stage: "gather", error: new Error("x"), headSha: null, deliveryId: "d" });
    expect(r.comment).toContain("Head unknown");
  });

  test.each<[string, string, string]>([
    ["PRIVATE_KEY env value", ENV.PRIVATE_KEY, "secretkeymaterial"],
    ["WEBHOOK_SECRET env value", `bad signature, expected ${ENV.WEBHOOK_SECRET}`, "topsecret"],
    ["JIRA_API_TOKEN env value", `jira said no to ${ENV.JIRA_API_TOKEN}`, "jira-cloud-token"],
    ["JIRA_PAT env value", `pat=${ENV.JIRA_PAT}`, "data-center-pat"],
    ["ghs_ token", `token ${GHS} expired`, GHS.slice(4)],
    ["ghp_ token", `url https://x-access-token:${GHP}@github.com`, GHP.slice(4)],
    ["ghs_ token alone", GHS, GHS.slice(4)],
    ["Bearer header", "Authorization: Bearer abc.def-ghi_jkl.mnopqrstu", "abc.def-ghi_jkl"],
    ["Basic header", "authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNzd29yZDEyMw"],
    [
      "postgres URL",
      "connect failed: postgres://audit:Sup3rS3cret@db.internal:5432/changegate",
      "Sup3rS3cret",
    ],
    ["postgres URL with @ in the password", "postgres://audit:p@ssw0rd!@db.internal/x", "ssw0rd"],
    [
      "PEM private key (not from env)",
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
      "MIIEvQIBADANBgkqhkiG9w0",
    ],
    ["JWT", "jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl", "eyJpc3MiOiIxMjM0NSJ9"],
  ])("%s is redacted from message, title and stack", (_name, message, secret) => {
    const err = new Error(`outer failure: ${message}`);
    const r = fail(err);
    expect(r.comment).not.toContain(secret);
    expect(r.check.title).not.toContain(secret);
    expect(r.check.summary).not.toContain(secret);
    expect(r.comment).toContain("REDACTED");
  });

  test("cause chains are included and redacted", () => {
    const root = new Error(`ECONNREFUSED postgres://u:hunter22@db:5432 with ${GHS}`);
    const mid = new Error("store unreachable", { cause: root });
    const top = new Error("recording failed", { cause: mid });
    const r = fail(top, "record");
    expect(r.comment).toContain("Caused by: Error: store unreachable");
    expect(r.comment).toContain("Caused by: Error: ECONNREFUSED postgres://[REDACTED]@<host>:5432"); // the host is hidden from the PR too
    expect(r.comment).not.toContain("hunter22");
    expect(r.comment).not.toContain(GHS);
  });

  test("a non-Error cause is included", () => {
    const r = fail(new Error("top", { cause: { code: 42 } }));
    expect(r.comment).toContain("Caused by: [object Object]");
  });

  test("a cyclic cause chain terminates", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    const b = new Error("b", { cause: a });
    a.cause = b;
    const r = fail(a);
    expect(r.comment.match(/Caused by/g)!.length).toBeLessThanOrEqual(5);
  });

  test("hostile text in the error cannot ping or inject HTML", () => {
    const r = fail(
      new Error("@org/team <img src=x onerror=alert(1)> #12 [x](javascript:alert(1))\n# heading"),
    );
    const errorLine = r.comment.split("\n").find((l) => l.startsWith("**Error:**"))!;
    expect(errorLine).not.toMatch(/@(?!\u200b)/);
    expect(errorLine).not.toContain("<img");
    expect(errorLine).not.toMatch(/#\d/);
    expect(errorLine).not.toMatch(/(?<!\\)\]\(/);
    // the message's own newline stays inside the stack's code block, never a heading of the comment
    const outsideBlock = r.comment.replace(/```text\n[\s\S]*?\n```\n/, "");
    expect(outsideBlock.split("\n").filter((l) => l.includes("heading"))).toEqual([
      expect.stringMatching(/^\*\*Error:\*\* /),
    ]);
  });

  test("a stack full of backticks cannot close the code block", () => {
    const err = new Error("x");
    err.stack = "Error: x\n```\n</details>\n<img src=x onerror=alert(1)>\n````";
    const r = fail(err);
    const start = r.comment.indexOf("`````text");
    expect(start).toBeGreaterThan(0);
    const end = r.comment.indexOf("\n`````\n", start);
    expect(end).toBeGreaterThan(start);
    expect(r.comment.slice(start, end)).toContain("<img");
    expect(r.comment.slice(end)).not.toContain("<img");
  });

  test("a huge error stays under the size limits", () => {
    const err = new Error(`boom ${"m".repeat(100_000)}`);
    err.stack = `Error: boom\n${"    at somewhere (file.js:1:1)\n".repeat(10_000)}`;
    const r = fail(err);
    expect(r.comment.length).toBeLessThanOrEqual(65536);
    expect(r.check.summary.length).toBeLessThanOrEqual(MAX_BODY);
    expect(r.check.title.length).toBeLessThanOrEqual(MAX_TITLE);
  });
});

describe("redact", () => {
  test("secretValues takes the known variables, longest first, ignoring short ones", () => {
    const v = secretValues({
      PRIVATE_KEY: "pk-0123456789",
      WEBHOOK_SECRET: "abc",
      JIRA_PAT: "pat-01234567890123",
      OTHER: "not-a-secret-var",
    });
    expect(v).toEqual(["pat-01234567890123", "pk-0123456789"]);
  });

  test("explicit secrets are replaced wherever they appear", () => {
    expect(redact("a s3cr3t-value b s3cr3t-value", ["s3cr3t-value"])).toBe("a [REDACTED] b [REDACTED]");
  });

  test("URL credentials keep the host", () => {
    expect(redact("postgres://user:pass@db.example.com:5432/x", [])).toBe(
      "postgres://[REDACTED]@db.example.com:5432/x",
    );
    expect(redact("https://x-access-token:abc@github.com/acme/x.git", [])).toBe(
      "https://[REDACTED]@github.com/acme/x.git",
    );
  });

  test("text without secrets is untouched", () => {
    const t = "GET https://api.github.com/repos/acme/x failed: 502 (token bucket empty)";
    expect(redact(t, [])).toBe(t);
  });
});
