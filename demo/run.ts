/**
 * `npm run demo`: changegate (the real app, `node lib/main.js`) against the GitHub + Jira simulator
 * (test/sim), no GitHub organisation needed. One organisation, `acme`, with two repositories and
 * seven changes, each showing one thing changegate does:
 *
 *   compliant      approved and green, merged
 *   blocked        CI failing and no approval: the check fails, the digest says what to do
 *   emergency      merged under the emergency label, its retroactive review late
 *   bypass         merged although its check failed (a repository admin can)
 *   direct push    commits pushed straight to main, no pull request
 *   lost webhook   merged while GitHub's webhooks were lost; `audit scan` finds it
 *   ungated        merged into a branch the policy does not gate
 *
 * Then it runs the audit commands on the store (export, scan, completeness, checkpoint, verify,
 * report), checks each scenario's verdict against what it expects, writes everything to the output
 * directory, and prints where to look and the commands to explore the store afterwards. Exit code 0
 * when every scenario came out as expected, 1 otherwise, 2 for bad arguments.
 *
 *   npm run demo                   # output in ./demo-output (replaced if it holds a previous demo)
 *   npm run demo -- --out DIR      # elsewhere
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NON_COMPLIANT_PHRASE } from "../src/contract.js";
import type { ExportRow } from "../src/audit/export.js";
import { categoryOf } from "../src/report/audit-report-model.js";
import type { SimPull, SimRepo } from "../test/sim/model.js";
import { World } from "../test/sim/world.js";

const MARKER = ".changegate-demo";
const ORG = "acme";
const DATABASE_ID = "changegate-demo";
/** The emergency review is due this long after the merge: 0.001 h (3.6 s), so the demo need not wait 48 hours. */
const REVIEW_WITHIN_HOURS = 0.001;

const PAYMENTS_POLICY = `# acme/payments: .github/changegate.yml
branches: [main]
approvals:
  required: 1
ci:
  required: [build]
emergency:
  label: emergency
  review_within_hours: ${REVIEW_WITHIN_HOURS}   # the default is 48; tiny here so the demo's review is late at once
audit:
  issue_repo: ${ORG}/compliance   # bypasses and direct pushes are listed in an issue there
`;
const WEBSITE_POLICY = `# acme/website: .github/changegate.yml
branches: [main]
approvals:
  required: 1
`;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run demo [-- --out DIR]\n`);
  process.exit(2);
}

function parse(): { out: string } {
  let values: { out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(
      "npm run demo [-- --out DIR]: changegate against the simulator; output (audit store, export, report, digests) in DIR, default ./demo-output\n",
    );
    process.exit(0);
  }
  const out = resolve(values.out ?? "demo-output");
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !entries.includes(MARKER))
      usage(
        `--out ${values.out ?? "demo-output"}: ${out} exists and was not made by the demo; give another directory`,
      );
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, MARKER),
    "made by `npm run demo`; the demo replaces this directory when run again\n",
  );
  return { out };
}

interface Scenario {
  name: string;
  what: string;
  repo: SimRepo;
  pr: SimPull | null;
  /** The check's conclusion and title before the merge (or for good, when not merged). */
  check: { conclusion: string | null; title: string | null } | null;
  expect: {
    check?: string;
    title?: RegExp;
    category?: string;
    merged: boolean;
    extra?: (row: ExportRow | undefined) => string | null;
  };
}

const show = (p: string) => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith("..") && !isAbsolute(r) ? r : p;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line = "") => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const { out } = parse();
  const started = Date.now();
  say("changegate demo: the real app against a simulated GitHub (test/sim); nothing leaves this machine.");
  say(`output: ${show(out)}/`);
  say();

  const w = await World.start({ logLevel: "info", dataDir: out, env: { DIRECT_PUSH_RECHECK_MS: "200" } });
  const scenarios: Scenario[] = [];
  const checkOf = (pr: SimPull) => {
    const run = w.check(pr);
    return run ? { conclusion: run.conclusion, title: run.title } : null;
  };
  let failed = false;
  try {
    const org = w.org(ORG);
    const { repo: payments } = w.repo({ org, name: "payments", policy: PAYMENTS_POLICY });
    const { repo: website } = w.repo({ org, name: "website", policy: WEBSITE_POLICY });
    w.model.addRepo({ owner: ORG, name: "compliance" });
    // The window starts after the repositories' initial commits (which no PR brought: a scan over a
    // window holding them would rightly report them as direct pushes).
    const from = w.model.tick();

    say("1. compliant: approved by alice, build green, merged");
    const compliant = w.model.openPullRequest(payments, {
      author: "dev",
      title: "Speed up settlement",
      files: ["src/settle.ts"],
    });
    w.model.ci(compliant, "build", { conclusion: "success" });
    w.model.review(compliant, { author: "alice" });
    await w.settle();
    scenarios.push({
      name: "compliant",
      what: "approved, CI green, merged",
      repo: payments,
      pr: compliant,
      check: checkOf(compliant),
      expect: { check: "success", category: "compliant", merged: true },
    });
    w.model.merge(compliant, "alice");
    await w.settle();

    say("2. blocked: build failing, no approval; left open");
    const blocked = w.model.openPullRequest(payments, {
      author: "dev",
      title: "Refactor the ledger client",
      files: ["src/ledger.ts"],
    });
    w.model.ci(blocked, "build", { conclusion: "failure" });
    await w.settle();
    scenarios.push({
      name: "blocked",
      what: "CI failing, no approval, not merged",
      repo: payments,
      pr: blocked,
      check: checkOf(blocked),
      expect: { check: "failure", merged: false },
    });

    say(
      `3. emergency: labelled 'emergency' by the on-call engineer, merged with CI failing; reviewed after its ${REVIEW_WITHIN_HOURS} h window`,
    );
    const emergency = w.model.openPullRequest(payments, {
      author: "oncall",
      title: "Stop double charges",
      files: ["src/charge.ts"],
    });
    w.model.ci(emergency, "build", { conclusion: "failure" });
    w.model.addLabel(emergency, "emergency", "oncall");
    await w.settle();
    scenarios.push({
      name: "emergency",
      what: "emergency label, merged, retro-review late",
      repo: payments,
      pr: emergency,
      check: checkOf(emergency),
      expect: {
        check: "success",
        title: /emergency/i,
        category: "emergency",
        merged: true,
        extra: (r) =>
          r?.retro_review === "reviewed late"
            ? null
            : `retro_review is ${JSON.stringify(r?.retro_review)}, expected "reviewed late"`,
      },
    });
    w.model.merge(emergency, "oncall");
    await w.settle();
    const mergedAt = Date.now();

    say("4. bypass: no approval, build failing, merged anyway by an admin");
    const bypass = w.model.openPullRequest(payments, {
      author: "dev",
      title: "Quick config tweak",
      files: ["config/prod.yml"],
    });
    w.model.ci(bypass, "build", { conclusion: "failure" });
    await w.settle();
    scenarios.push({
      name: "bypass",
      what: "merged while its check failed",
      repo: payments,
      pr: bypass,
      check: checkOf(bypass),
      expect: { check: "failure", category: "bypass", merged: true },
    });
    w.model.merge(bypass, "admin");
    await w.settle();

    say("5. direct push: mallory pushes a commit straight to main");
    const push = w.model.directPush(
      payments,
      "main",
      [{ message: "hotfix straight to main", authors: ["mallory"] }],
      { by: "mallory" },
    );
    await w.settle();
    scenarios.push({
      name: "direct push",
      what: "commit pushed to main without a PR",
      repo: payments,
      pr: null,
      check: null,
      expect: { category: "direct push", merged: true },
    });

    say("6. lost webhook: approved, green, merged while GitHub's webhooks did not arrive");
    const lost = w.model.openPullRequest(payments, {
      author: "dev",
      title: "Add retry to the bank API call",
      files: ["src/bank.ts"],
    });
    w.model.ci(lost, "build", { conclusion: "success" });
    w.model.review(lost, { author: "alice" });
    await w.settle();
    scenarios.push({
      name: "lost webhook",
      what: "merge webhook lost, found by `audit scan`",
      repo: payments,
      pr: lost,
      check: checkOf(lost),
      expect: {
        check: "success",
        category: "compliant",
        merged: true,
        extra: (r) =>
          r?.found_by === "scan" ? null : `found_by is ${JSON.stringify(r?.found_by)}, expected "scan"`,
      },
    });
    w.quietly(() => w.model.merge(lost, "alice"));
    await w.settle();

    say("7. ungated: a PR into website's develop branch, which the policy does not gate, merged");
    const ungated = w.model.openPullRequest(website, {
      author: "dev",
      title: "Try a new landing page",
      baseRef: "develop",
      files: ["index.html"],
    });
    await w.settle();
    scenarios.push({
      name: "ungated",
      what: "merged into an ungated branch",
      repo: website,
      pr: ungated,
      check: checkOf(ungated),
      expect: {
        check: "success",
        title: /not gated/i,
        category: "other",
        merged: true,
        extra: (r) => (r?.gated === false ? null : `gated is ${JSON.stringify(r?.gated)}, expected false`),
      },
    });
    w.model.merge(ungated, "dev");
    await w.settle();

    // The emergency's review, after its window.
    await sleep(Math.max(0, mergedAt + REVIEW_WITHIN_HOURS * 3_600_000 + 1500 - Date.now()));
    say("   ... rita reviews the emergency change, late");
    w.model.review(emergency, { author: "rita" });
    await w.settle();
    await until(
      () => exportRows(w, from).find((r) => r.pr === emergency.number)?.retro_review === "reviewed late",
      30_000,
    );

    const to = new Date(Date.parse(w.model.tick()) + 3_600_000).toISOString();
    const window = ["--from", from, "--to", to];
    say();
    say("The audit commands, on the store the app wrote:");
    const cliApp = async (label: string, args: string[], env: Record<string, string> = {}) => {
      const r = await w.cg.cliAsApp(args, { CHANGEGATE_SEARCH_PACE_MS: "0", LOG_LEVEL: "warn", ...env });
      say(`   changegate ${args.join(" ")}  → exit ${r.code}${label ? ` (${label})` : ""}`);
      return r;
    };
    const before = await cliApp("before the scan: one merge is missing", [
      "audit",
      "completeness",
      ...window,
      "--org",
      ORG,
      "--out",
      "completeness-before-scan.json",
    ]);
    const scan = await cliApp("finds the lost merge", [
      "audit",
      "scan",
      "--since",
      from,
      "--until",
      to,
      "--org",
      ORG,
    ]);
    const completeness = await cliApp("complete", [
      "audit",
      "completeness",
      ...window,
      "--org",
      ORG,
      "--out",
      "completeness.json",
    ]);
    const csv = await cliApp("", ["audit", "export", ...window, "--format", "csv", "--out", "export.csv"]);
    const json = await cliApp("", ["audit", "export", ...window, "--format", "json", "--out", "export.json"]);
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileSync(join(out, "checkpoints.pub"), publicKey.export({ format: "pem", type: "spki" }).toString());
    const signing = {
      AUDIT_SIGNING_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
      AUDIT_DATABASE_ID: DATABASE_ID,
    };
    const checkpoint = await cliApp(
      "signed",
      ["audit", "checkpoint", "--out", "checkpoints.ndjson"],
      signing,
    );
    const verify = await cliApp("", [
      "audit",
      "verify",
      "--checkpoints",
      "checkpoints.ndjson",
      "--public-key",
      "checkpoints.pub",
      "--database-id",
      DATABASE_ID,
    ]);
    const report = await cliApp("", [
      "audit",
      "report",
      ...window,
      "--out",
      "report.html",
      "--completeness",
      "completeness.json",
      "--checkpoints",
      "checkpoints.ndjson",
      "--public-key",
      "checkpoints.pub",
      "--database-id",
      DATABASE_ID,
    ]);
    const commands = { before, scan, completeness, csv, json, checkpoint, verify, report };
    for (const [name, r] of Object.entries(commands)) {
      const okCode = name === "before" ? r.code === 1 : r.code === 0;
      if (!okCode) {
        failed = true;
        say(`   UNEXPECTED: ${name} exited ${r.code}\n${r.stderr.trim()}`);
      }
    }

    // Each scenario against the export (the same rows the report counts).
    const rows = (JSON.parse(readFileSync(join(out, "export.json"), "utf8")) as { changes: ExportRow[] })
      .changes;
    const page = readFileSync(join(out, "report.html"), "utf8");
    mkdirSync(join(out, "digests"), { recursive: true });
    say();
    say("Scenarios (the check before the merge, and how the export and the report classify the change):");
    say("");
    say("| scenario | check | export / report | as expected |");
    say("| --- | --- | --- | --- |");
    for (const s of scenarios) {
      const row = s.pr
        ? rows.find((r) => r.repo === s.repo.fullName && r.pr === s.pr!.number)
        : rows.find(
            (r) => r.repo === s.repo.fullName && r.change_type === "direct_push" && r.head_sha === push.after,
          );
      const problems: string[] = [];
      if (s.expect.check !== undefined && s.check?.conclusion !== s.expect.check)
        problems.push(`check ${s.check?.conclusion ?? "none"}, expected ${s.expect.check}`);
      if (s.expect.title && !s.expect.title.test(s.check?.title ?? ""))
        problems.push(`check title ${JSON.stringify(s.check?.title)} does not match ${s.expect.title}`);
      if (s.expect.merged !== Boolean(row))
        problems.push(s.expect.merged ? "no export row" : "an export row for a change that was not merged");
      const category = row ? categoryOf(row) : null;
      if (s.expect.category !== undefined && category !== s.expect.category)
        problems.push(`category ${category ?? "none"}, expected ${s.expect.category}`);
      const reportCategory = row
        ? (new RegExp(`data-record="${row.record}">[\\s\\S]*?data-category="([^"]+)"`).exec(page)?.[1] ??
          null)
        : null;
      if (row && reportCategory !== category)
        problems.push(`the report says ${reportCategory ?? "nothing"}, the export ${category}`);
      const extra = s.expect.extra?.(row);
      if (extra) problems.push(extra);
      if (problems.length > 0) failed = true;
      const where = s.pr
        ? `${s.repo.fullName}#${s.pr.number}`
        : `${s.repo.fullName} ${push.after.slice(0, 7)}`;
      const checkText = s.check ? `${s.check.conclusion}: ${s.check.title ?? ""}` : "(no pull request)";
      const classified = row
        ? `${category}${row.change_type === "merge" ? `, record ${row.record}` : ""}`
        : "not merged: no row";
      say(
        `| ${s.name}: ${where} | ${checkText} | ${classified} | ${problems.length === 0 ? "yes" : `NO: ${problems.join("; ")}`} |`,
      );
      if (s.pr) {
        const digest = w.digest(s.pr);
        if (digest) writeFileSync(join(out, "digests", `${s.repo.name}-${s.pr.number}.md`), digest.body);
      }
    }

    // The population is these changes and nothing else, and the report counts it all.
    const expectedRows = scenarios.filter((s) => s.expect.merged).length;
    const total = /data-figure="total">(?:<a [^>]*>)?(\d+)/.exec(page)?.[1];
    if (rows.length !== expectedRows || total !== String(rows.length)) {
      failed = true;
      say(
        `UNEXPECTED: the export has ${rows.length} rows and the report counts ${total ?? "none"}; expected ${expectedRows} (one per merged scenario)`,
      );
      for (const r of rows)
        say(`   ${r.repo} ${r.change_type} #${r.pr} ${r.head_sha.slice(0, 7)} ${r.title.slice(0, 80)}`);
    } else
      say(
        `\nThe export has ${rows.length} rows, one per change that reached a branch; the report counts the same ${total}.`,
      );

    const alarms = w.cg.logs.filter((l) => typeof l.msg === "string" && l.msg.includes(NON_COMPLIANT_PHRASE));
    writeFileSync(
      join(out, "changegate.log"),
      w.cg.logs.map((l) => (l.raw ? l.msg : JSON.stringify(l))).join("\n") + "\n",
    );
    const issues = [...w.model.issues.values()].filter((i) => i.repo === `${ORG}/compliance`);
    writeFileSync(
      join(out, "bypass-issue.md"),
      issues
        .map((i) =>
          [
            `# ${i.title}`,
            "",
            i.body,
            ...w.model.commentsOf(i.repo, i.number).map((c) => `\n---\n${c.body}`),
          ].join("\n"),
        )
        .join("\n\n") + "\n",
    );
    say();
    say(`Log lines saying "${NON_COMPLIANT_PHRASE}" (put an alarm on them): ${alarms.length}`);
    for (const l of alarms) say(`   ${String(l.msg).slice(0, 160)}`);

    const db = `sqlite:${show(join(out, "audit.db"))}`;
    const o = show(out);
    say();
    say(`Where to look (in ${o}/):`);
    say(
      `   digests/*.md             the one comment changegate keeps on each PR (as GitHub would render it)`,
    );
    say(`   report.html              the auditor's report: open it in a browser (no network needed)`);
    say(
      `   export.csv, export.json  the population of changes (one row per merged PR or direct push); export.csv.manifest.json says how it was made`,
    );
    say(`   completeness*.json       GitHub's merges against the records, before and after the scan`);
    say(`   checkpoints.ndjson       a signed checkpoint of every chain (public key: checkpoints.pub)`);
    say(`   bypass-issue.md          the issue in ${ORG}/compliance listing the bypass and the direct push`);
    say(`   changegate.log           the app's log (JSON lines)`);
    say(`   audit.db                 the audit store (SQLite); explore it with the commands below`);
    say();
    say(
      "Explore the store (from this directory; the simulator is gone, so `scan` and `completeness`, which read GitHub, are not among them):",
    );
    say(
      `   npx changegate audit export --database ${db} --from ${from} --to ${to} --format csv --out my-export.csv`,
    );
    say(`   npx changegate audit show --database ${db} ${ORG}/payments#${emergency.number}`);
    say(
      `   npx changegate audit verify --database ${db} --checkpoints ${o}/checkpoints.ndjson --public-key ${o}/checkpoints.pub --database-id ${DATABASE_ID}`,
    );
    say(
      `   npx changegate audit report --database ${db} --from ${from} --to ${to} --out my-report.html --completeness ${o}/completeness.json --checkpoints ${o}/checkpoints.ndjson --public-key ${o}/checkpoints.pub --database-id ${DATABASE_ID}`,
    );
    say();
    say(
      `${failed ? "DEMO FAILED: a scenario or command did not come out as expected (see above)" : "Every scenario came out as expected."} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  } finally {
    await w.stop();
  }
  return failed ? 1 : 0;
}

function exportRows(w: World, from: string): ExportRow[] {
  const r = w.cg.cli(["audit", "export", "--from", from, "--to", "2100-01-01", "--format", "json"]);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as { changes: ExportRow[] }).changes;
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) return;
    await sleep(250);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
