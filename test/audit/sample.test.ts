/**
 * `changegate audit sample`: the same seed gives the same sample from the same records; the
 * population is `audit export`'s; each evidence file, opened in real headless Chromium with every
 * network request refused, shows the approvers and head SHA that `audit export` gives for that
 * change; `--verify` detects an edited manifest, CSV or evidence file; `audit report --sample`
 * links to it. Plus the draw on its own (allocation, rounding, size past the population).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import type { ExportRow } from "../../src/audit/export.js";
import {
  allocate,
  drawSample,
  manifestCsv,
  manifestHash,
  mulberry32,
  seedNumber,
  type SampleManifest,
} from "../../src/audit/sample.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import { ChainDirectPush } from "../../src/audit/direct-push.js";
import { goldenStore } from "./golden.js";
import { evaluation, merge, tempDir } from "./records.js";
import { CHROMIUM, requireTool, suiteName } from "../support/tools.js";

declare const document: { scripts: { length: number } };

// Chromium: CHROMIUM_PATH, else `chromium` on the PATH. Without it the Chromium part is left out
// locally, noted at the end of the run with the command that includes it; with CI set it fails.
const chromiumPath = requireTool(CHROMIUM, suiteName(import.meta.url));
const describeWithChromium = chromiumPath ? describe : describe.skip;
const tmp = tempDir("changegate-sample-");
const DB = join(tmp.dir, "sample.db");
const ENV = { DATABASE_URL: `sqlite:${DB}` };
const PERIOD = ["--from", "2026-03-01", "--to", "2026-03-31"];

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: ENV,
    cwd: tmp.dir,
    now: () => new Date("2026-04-02T12:00:00.000Z"),
  };
  return { code: await main(argv, io), stdout, stderr };
}

const manifestOf = (dir: string): SampleManifest =>
  JSON.parse(readFileSync(join(tmp.dir, dir, "manifest.json"), "utf8"));
let exported: ExportRow[] = [];

beforeAll(async () => {
  const store = await goldenStore(`sqlite:${DB}`);
  try {
    const w = new ChainWriter(store);
    // A hostile title, and enough merges that two seeds give different samples.
    await w.recordEvaluation(
      evaluation({
        number: 40,
        at: "2026-03-05T09:00:00Z",
        title: "<script>alert(1)</script>",
        approvers: [{ login: "bob", at: "2026-03-05T08:00:00Z" }],
      }),
    );
    await w.recordMerge(
      merge({ number: 40, mergedAt: "2026-03-05T10:00:00Z", title: "<script>alert(1)</script>" }),
    );
    for (let n = 100; n < 118; n++)
      await w.recordMerge(
        merge({ number: n, mergedAt: `2026-03-${String(10 + (n % 15)).padStart(2, "0")}T10:00:00Z` }),
      );
    await new ChainDirectPush(w).recordDirectPush({
      at: "2026-03-12T10:00:00Z",
      deliveryId: "p-1",
      installationId: 77,
      owner: "acme",
      repo: "payments",
      branch: "main",
      pusher: "mallory",
      before: "b".repeat(40),
      after: "e".repeat(40),
      forced: false,
      commitsWithoutPr: ["e".repeat(40)],
      examined: 1,
      pushedAt: "2026-03-12T10:00:00Z",
      policySource: "defaults",
    });
  } finally {
    await store.close();
  }
  const e = await run(["audit", "export", ...PERIOD, "--format", "json", "--out", "export.json"]);
  expect(e.code).toBe(EXIT.ok);
  exported = JSON.parse(readFileSync(join(tmp.dir, "export.json"), "utf8")).changes;
}, 60_000);
afterAll(() => tmp.cleanup());

describe("drawing", () => {
  test("the same seed gives the same sample, files and all; another seed another sample", async () => {
    for (const dir of ["a", "b"])
      expect(
        (await run(["audit", "sample", ...PERIOD, "--size", "5", "--seed", "Q1-2026", "--out", dir])).code,
      ).toBe(EXIT.ok);
    const c = await run(["audit", "sample", ...PERIOD, "--size", "5", "--seed", "another", "--out", "c"]);
    expect(c.code).toBe(EXIT.ok);
    const [a, b, other] = [manifestOf("a"), manifestOf("b"), manifestOf("c")];
    expect(a.entries).toHaveLength(5);
    expect(b.entries).toEqual(a.entries);
    expect(readFileSync(join(tmp.dir, "b", "manifest.csv"), "utf8")).toBe(
      readFileSync(join(tmp.dir, "a", "manifest.csv"), "utf8"),
    );
    for (const e of a.entries)
      expect(readFileSync(join(tmp.dir, "b", e.evidence), "utf8")).toBe(
        readFileSync(join(tmp.dir, "a", e.evidence), "utf8"),
      );
    expect(other.entries.map((e) => e.record)).not.toEqual(a.entries.map((e) => e.record));
    // One evidence file per entry and nothing else.
    expect(readdirSync(join(tmp.dir, "a", "evidence")).sort()).toEqual(
      a.entries.map((e) => e.evidence.slice("evidence/".length)).sort(),
    );
  }, 60_000);

  test("the population is audit export's rows for the period; the sample is drawn from them", async () => {
    const m = manifestOf("a");
    expect(m.population.total).toBe(exported.length);
    expect(exported.length).toBe(24); // golden 4 + #40 + 18 merges + 1 direct push
    expect(m.population.byKind).toEqual({
      merge: exported.filter((r) => r.change_type === "merge" && !r.emergency).length,
      emergency: exported.filter((r) => r.emergency).length,
      direct_push: exported.filter((r) => r.change_type === "direct_push").length,
    });
    const byRecord = new Map(exported.map((r) => [r.record, r]));
    for (const e of m.entries) {
      const row = byRecord.get(e.record)!;
      expect(row).toBeDefined();
      expect({ hash: e.record_hash, commit: e.commit, repo: e.repo }).toEqual({
        hash: row.record_hash,
        commit: row.head_sha,
        repo: row.repo,
      });
    }
  });

  test("--stratify draws per kind in proportion; --size past the population takes all and says so", async () => {
    const s = await run([
      "audit",
      "sample",
      ...PERIOD,
      "--size",
      "12",
      "--seed",
      "x",
      "--stratify",
      "--out",
      "strat",
    ]);
    expect(s.code).toBe(EXIT.ok);
    const m = manifestOf("strat");
    // 22 merges, 1 emergency, 1 direct push: 12*22/24 = 11, 12/24 = 0.5 each; one left: emergency (ties: stratum order).
    expect(m.allocation).toEqual({ merge: 11, emergency: 1, direct_push: 0 });
    expect(m.entries.filter((e) => e.kind === "emergency")).toHaveLength(1);
    expect(m.entries).toHaveLength(12);

    const all = await run(["audit", "sample", ...PERIOD, "--size", "100", "--seed", "x", "--out", "all"]);
    expect(all.code).toBe(EXIT.ok);
    expect(all.stderr).toMatch(/sampled 24 of 24 changes .*every change is in the sample/);
    expect(manifestOf("all").tookAll).toBe(true);
    expect(
      manifestOf("all")
        .entries.map((e) => e.record)
        .sort(),
    ).toEqual(exported.map((r) => r.record).sort());
  }, 60_000);

  test("bad arguments are named; a sample is never written over another", async () => {
    expect(
      (await run(["audit", "sample", ...PERIOD, "--size", "0", "--seed", "x", "--out", "z"])).stderr,
    ).toMatch(/--size "0": expected a whole number/);
    expect((await run(["audit", "sample", ...PERIOD, "--size", "3", "--out", "z"])).stderr).toMatch(
      /needs --seed/,
    );
    const again = await run(["audit", "sample", ...PERIOD, "--size", "3", "--seed", "x", "--out", "a"]);
    expect(again.code).toBe(EXIT.usage);
    expect(again.stderr).toMatch(/exists and is not an empty directory/);
    expect(existsSync(join(tmp.dir, "z"))).toBe(false);
  });
});

describe("the draw on its own", () => {
  const rows = (n: number): ExportRow[] =>
    Array.from(
      { length: n },
      (_, i) =>
        ({
          record: `acme/x@${i + 1}`,
          record_hash: String(i),
          change_type: "merge",
          emergency: i % 5 === 0,
        }) as unknown as ExportRow,
    );

  test("mulberry32 and the seed are the documented ones", () => {
    // mulberry32(1)'s first output, as published with the algorithm.
    expect(mulberry32(1)()).toBeCloseTo(0.6270739405881613, 15);
    expect(seedNumber("abc")).toBe(0xba7816bf); // SHA-256("abc") starts ba7816bf
  });

  test("deterministic, independent of input order, sorted by chain position", () => {
    const a = drawSample(rows(50), { size: 7, seed: "s", stratify: false });
    const b = drawSample(rows(50).reverse(), { size: 7, seed: "s", stratify: false });
    expect(b.sample.map((p) => p.row.record)).toEqual(a.sample.map((p) => p.row.record));
    expect(a.sample.map((p) => p.seq)).toEqual([...a.sample.map((p) => p.seq)].sort((x, y) => x - y));
    expect(new Set(a.sample.map((p) => p.seq)).size).toBe(7);
  });

  test("largest-remainder allocation never gives a stratum more than it holds", () => {
    expect(allocate(5, { merge: 20, emergency: 3, direct_push: 1 })).toEqual({
      merge: 4,
      emergency: 1,
      direct_push: 0,
    });
    expect(allocate(10, { merge: 2, emergency: 2, direct_push: 1 })).toEqual({
      merge: 2,
      emergency: 2,
      direct_push: 1,
    });
    expect(allocate(3, { merge: 0, emergency: 0, direct_push: 0 })).toEqual({
      merge: 0,
      emergency: 0,
      direct_push: 0,
    });
  });
});

describe("--verify", () => {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const copy = async (name: string) => {
    expect(
      (await run(["audit", "sample", ...PERIOD, "--size", "4", "--seed", "Q1-2026", "--out", name])).code,
    ).toBe(EXIT.ok);
    return name;
  };

  test("an untouched sample matches the store", async () => {
    const r = await run(["audit", "sample", "--verify", "--out", "a"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/5 entries match the store/);
    expect(r.code).toBe(EXIT.ok);
  });

  test("an edited manifest is detected, even with its own hash and the CSV recomputed", async () => {
    const dir = await copy("v1");
    const m = manifestOf(dir);
    m.entries[1]!.record_hash = "0".repeat(64);
    writeFileSync(join(tmp.dir, dir, "manifest.json"), JSON.stringify(m));
    let r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/manifest.json: its content does not match its manifestSha256/);
    expect(r.stderr).toMatch(
      new RegExp(
        `entry 2 \\(${m.entries[1]!.record.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\): record hash 0{64} in the manifest`,
      ),
    );
    expect(r.stderr).toMatch(/manifest.csv: does not list the manifest's entries/);

    // A careful forger recomputes every hash: the store still disagrees.
    const csv = manifestCsv(m.entries);
    writeFileSync(join(tmp.dir, dir, "manifest.csv"), csv);
    const forged = { ...m, csvSha256: sha(csv) };
    forged.manifestSha256 = manifestHash(forged);
    writeFileSync(join(tmp.dir, dir, "manifest.json"), JSON.stringify(forged));
    r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).not.toMatch(/manifestSha256|manifest.csv/);
    expect(r.stderr).toMatch(/entry 2 .*record hash 0{64} in the manifest, [0-9a-f]{64} in the store/);
    expect(r.stderr).toMatch(/1 difference: the sample does NOT match the store/);
  });

  test("a swapped entry fails the redraw; an edited evidence file, an edited CSV and a hostile path are named", async () => {
    const dir = await copy("v2");
    const m = manifestOf(dir);
    writeFileSync(join(tmp.dir, dir, m.entries[0]!.evidence), "<p>all good</p>");
    writeFileSync(join(tmp.dir, dir, "manifest.csv"), "index\r\n");
    let r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/entry 1 .*evidence file evidence\/0001-[^ ]+ does not match its SHA-256/);
    expect(r.stderr).toMatch(/manifest.csv: its SHA-256 is not the manifest's csvSha256/);

    // An entry swapped for another real change (hashes right) is not the seed's draw.
    const other = exported.find(
      (row) => !m.entries.some((e) => e.record === row.record) && row.change_type === "merge",
    )!;
    const [chain, seq] = [
      other.record.slice(0, other.record.lastIndexOf("@")),
      Number(other.record.slice(other.record.lastIndexOf("@") + 1)),
    ];
    m.entries[2] = {
      ...m.entries[2]!,
      repo: other.repo,
      pr: other.pr,
      commit: other.head_sha,
      chain,
      seq,
      record: other.record,
      record_hash: other.record_hash,
      evidence: "../../etc/passwd",
    };
    writeFileSync(join(tmp.dir, dir, "manifest.json"), JSON.stringify(m));
    r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(
      /evidence path "..\/..\/etc\/passwd" is not a file in DIR\/evidence \(refused\)/,
    );
    expect(r.stderr).toMatch(/sample: redrawing with seed "Q1-2026" gives .*, the manifest lists .*/);
  });

  test("an evidence file swapped for a symlink to an endless device is refused, not read", async () => {
    const dir = await copy("v4");
    const e = manifestOf(dir).entries[0]!;
    rmSync(join(tmp.dir, dir, e.evidence));
    symlinkSync("/dev/zero", join(tmp.dir, dir, e.evidence));
    const r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/entry 1 .*evidence file evidence\/0001-\S+ is not a regular file \(refused\)/);
  });

  test("not a manifest: named, exit 1; --verify refuses draw options", async () => {
    const dir = await copy("v3");
    writeFileSync(join(tmp.dir, dir, "manifest.json"), JSON.stringify({ kind: "changegate audit sample" }));
    const r = await run(["audit", "sample", "--verify", "--out", dir]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/not a changegate sample manifest/);
    expect((await run(["audit", "sample", "--verify", "--seed", "x", "--out", "a"])).stderr).toMatch(
      /drop --seed/,
    );
  });
});

describe("audit report --sample", () => {
  test("links to a sample of the same period; refuses one of another period or an edited one", async () => {
    const r = await run(["audit", "report", ...PERIOD, "--out", "report.html", "--sample", "a"]);
    expect(r.code).toBe(EXIT.ok);
    const page = readFileSync(join(tmp.dir, "report.html"), "utf8");
    expect(page).toMatch(
      /data-sample="linked">5 of 24 changes drawn with seed <code>Q1-2026<\/code>: <a href="a\/manifest.json"/,
    );
    const plain = await run(["audit", "report", ...PERIOD, "--out", "report-none.html"]);
    expect(plain.code).toBe(EXIT.ok);
    expect(readFileSync(join(tmp.dir, "report-none.html"), "utf8")).toContain('data-sample="none"');

    const other = await run([
      "audit",
      "report",
      "--from",
      "2026-03-01",
      "--to",
      "2026-03-15",
      "--out",
      "r2.html",
      "--sample",
      "a",
    ]);
    expect(other.code).toBe(EXIT.usage);
    expect(other.stderr).toMatch(
      /--sample a: drawn for 2026-03-01T00:00:00.000Z to 2026-04-01T00:00:00.000Z, not for this report's period/,
    );
    mkdirSync(join(tmp.dir, "edited"));
    writeFileSync(
      join(tmp.dir, "edited", "manifest.json"),
      JSON.stringify({ ...manifestOf("a"), seed: "chosen later" }),
    );
    const edited = await run(["audit", "report", ...PERIOD, "--out", "r3.html", "--sample", "edited"]);
    expect(edited.code).toBe(EXIT.usage);
    expect(edited.stderr).toMatch(
      /--sample edited: manifest.json: its content does not match its manifestSha256/,
    );
    expect(existsSync(join(tmp.dir, "r3.html"))).toBe(false);
  });
});

describeWithChromium("each evidence file in headless Chromium, with no network", () => {
  let context: BrowserContext;
  let profile: string;
  const requests: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "changegate-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath!,
      headless: true,
      offline: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    await context.route("**/*", (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith("file:") ? route.continue() : route.abort();
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("Chromium is where it was found", () => {
    expect(existsSync(chromiumPath!)).toBe(true);
  });

  test("shows the approvers and head SHA that audit export gives for that change; runs nothing, fetches nothing", async () => {
    const m = manifestOf("all");
    const byRecord = new Map(exported.map((r) => [r.record, r]));
    const page = await context.newPage();
    let withApprovers = 0;
    for (const e of m.entries) {
      const row = byRecord.get(e.record)!;
      const url = pathToFileURL(join(tmp.dir, "all", e.evidence)).href;
      await page.goto(url);
      expect(await page.locator("body").getAttribute("data-record")).toBe(row.record);
      expect((await page.locator("[data-head-sha]").innerText()).trim()).toBe(row.head_sha);
      const shown = (await page.locator("[data-approvers]").innerText()).trim();
      expect(shown).toBe(row.approvers.length ? row.approvers.join(", ") : "none");
      if (row.approvers.length) withApprovers++;
      for (const who of row.approvers)
        await expect(page.locator(`tr[data-review="${who}"]`).innerText()).resolves.toMatch(
          new RegExp(`APPROVED\\s+${row.head_sha}\\s+yes`),
        );
      expect((await page.locator("[data-record-hash]").innerText()).trim()).toBe(row.record_hash);
      await expect(page.locator("[data-enforcement]").innerText()).resolves.toBe(
        "not observed (changegate did not record branch enforcement for this period)",
      );
      await expect(page.locator("h1").innerText()).resolves.toContain(
        row.change_type === "direct_push" ? "direct push" : row.title,
      );
      expect(await page.evaluate(() => document.scripts.length)).toBe(0);
      expect(requests.filter((u) => u !== url && !u.startsWith("file:"))).toEqual([]);
    }
    expect(withApprovers).toBe(2); // #1 (alice) and #40 (bob)
    await page.close();
  }, 120_000);
});
