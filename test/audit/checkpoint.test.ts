/**
 * Checkpoints: `changegate audit checkpoint` signs every chain head; `audit verify --checkpoints`
 * finds a truncated chain, a deleted chain (both with the first missing position), a forged
 * checkpoint, a replayed or out-of-order one, and one for another database, even when the
 * database's owner dropped the triggers and rewound the chain heads so plain `verify` says OK.
 */
import { afterAll, beforeEach, describe, expect, test } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditStore } from "../../src/audit/database.js";
import {
  checkLog,
  loadPublicKey,
  loadSigningKey,
  parseCheckpointTexts,
  signCheckpoint,
} from "../../src/audit/checkpoint.js";
import { EXIT, main, type CliIo } from "../../src/cli.js";
import { CHECKPOINT_LABEL, CHECKPOINT_MARKER } from "../../src/github/checkpoint-issue.js";
import type { OctokitLike } from "../../src/github/types.js";
import { goldenStore } from "./golden.js";
import { tempDir } from "./records.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    privateB64: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    publicB64: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
  };
}
const KEY = keyPair();
const OTHER = keyPair();

const GOLDEN = join(tmp.dir, "golden-template.db");
let n = 0;
let DB: string;
let LOG: string;

beforeEach(async () => {
  if (n === 0) await (await goldenStore(`sqlite:${GOLDEN}`)).close();
  n++;
  DB = join(tmp.dir, `store-${n}.db`);
  LOG = join(tmp.dir, `checkpoints-${n}.ndjson`);
  copyFileSync(GOLDEN, DB);
});

let clock = Date.parse("2026-04-02T12:00:00.000Z");

type Github = (repo: string) => Promise<OctokitLike>;

async function run(argv: string[], env: Record<string, string | undefined> = {}, github?: Github) {
  let stdout = "";
  let stderr = "";
  const io: CliIo & { github?: Github } = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: {
      DATABASE_URL: `sqlite:${DB}`,
      AUDIT_SIGNING_KEY: KEY.privatePem,
      AUDIT_VERIFY_KEY: KEY.publicPem,
      ...env,
    },
    cwd: tmp.dir,
    now: () => new Date((clock += 60_000)),
    ...(github ? { github } : {}),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** What the database's owner can do on SQLite: drop the guards, delete records, rewind the heads. */
async function tamper(fn: (db: AuditStore["db"]) => Promise<void>) {
  const store = await AuditStore.open(`sqlite:${DB}`);
  try {
    await sql`drop trigger audit_record_no_delete`.execute(store.db);
    await sql`drop trigger audit_record_no_update`.execute(store.db);
    // The chain head log is insert-only too (migration 0006): an attacker with the file drops its guards as well.
    await sql`drop trigger audit_chain_no_delete`.execute(store.db);
    await sql`drop trigger audit_chain_no_update`.execute(store.db);
    await fn(store.db);
  } finally {
    await store.close();
  }
}

async function appendRecords() {
  const { ChainWriter } = await import("../../src/audit/chain-writer.js");
  const { merge } = await import("./records.js");
  const store = await AuditStore.open(`sqlite:${DB}`);
  try {
    const w = new ChainWriter(store);
    await w.recordMerge(merge({ number: 40, mergedAt: "2026-03-20T10:00:00Z" }));
    await w.recordMerge(merge({ number: 41, mergedAt: "2026-03-21T10:00:00Z" }));
  } finally {
    await store.close();
  }
}

describe("audit checkpoint → verify --checkpoints", () => {
  test("an untouched store that grew since the checkpoints verifies, and says against how many", async () => {
    expect((await run(["audit", "checkpoint", "--out", LOG])).code).toBe(EXIT.ok);
    await appendRecords();
    const second = await run(["audit", "checkpoint", "--out", LOG]);
    expect(second.stderr).toMatch(/checkpoint #2 of 2 chains/);
    const lines = readFileSync(LOG, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first.statement).toMatchObject({
      kind: "changegate-checkpoint",
      sequence: 1,
      database: `sqlite:${DB}`,
    });
    expect(first.statement.chains).toEqual([
      { chain: "acme/ledger", seq: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { chain: "acme/payments", seq: 6, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/audit trail OK against 2 checkpoints .*newest #2/);
    expect(r.code).toBe(EXIT.ok);
  });

  test("a base64 DER key works as well as PEM, and --print-public-key gives the auditor the key", async () => {
    const r = await run(["audit", "checkpoint", "--print-public-key"], { AUDIT_SIGNING_KEY: KEY.privateB64 });
    expect(r.stdout).toContain(KEY.publicPem);
    expect(r.stdout).toMatch(/key id [0-9a-f]{16}/);
    await run(["audit", "checkpoint", "--out", LOG], { AUDIT_SIGNING_KEY: KEY.privateB64 });
    writeFileSync(join(tmp.dir, "pub.pem"), KEY.publicPem);
    const v = await run(["audit", "verify", "--checkpoints", LOG, "--public-key", "pub.pem"], {
      AUDIT_VERIFY_KEY: undefined,
    });
    expect(v.code).toBe(EXIT.ok);
  });

  test("truncation: newest records deleted and the head rewound; plain verify is fooled, the checkpoint is not", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    await tamper(async (db) => {
      await db
        .deleteFrom("audit_record")
        .where("chain", "=", "acme/payments")
        .where("seq", ">=", 5)
        .execute();
      const r = await db
        .selectFrom("audit_record")
        .select(["seq", "hash"])
        .where("chain", "=", "acme/payments")
        .where("seq", "=", 4)
        .executeTakeFirstOrThrow();
      // Rewinding the head: its newer entries removed from the head log, so the newest says record 4.
      await db.deleteFrom("audit_chain").where("chain", "=", "acme/payments").where("seq", ">=", 5).execute();
      const head = await db
        .selectFrom("audit_chain")
        .select("hash")
        .where("chain", "=", "acme/payments")
        .where("seq", "=", 4)
        .executeTakeFirstOrThrow();
      expect(head.hash).toBe(r.hash);
    });
    expect((await run(["audit", "verify"])).code).toBe(EXIT.ok); // the gap the issue describes
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(
      /^TRUNCATED acme\/payments@5: .*signed 6 records, record 5 is missing \(first missing position 5\)/m,
    );
    expect(r.stderr).not.toMatch(/ledger/);
  });

  test("a deleted chain: every record of a repository and its head gone", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    await tamper(async (db) => {
      await db.deleteFrom("audit_record").where("chain", "=", "acme/ledger").execute();
      await db.deleteFrom("audit_chain").where("chain", "=", "acme/ledger").execute();
    });
    expect((await run(["audit", "verify"])).code).toBe(EXIT.ok);
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(
      /^DELETED acme\/ledger@1: chain acme\/ledger is gone: checkpoint #1 signed 2 records, the store has none/m,
    );
  });

  test("a rewritten chain (same length, other records) is found at the checkpointed position", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    await tamper(async (db) => {
      await db
        .updateTable("audit_record")
        .set({ hash: "e".repeat(64) })
        .where("chain", "=", "acme/ledger")
        .where("seq", "=", 2)
        .execute();
      await db
        .updateTable("audit_chain")
        .set({ hash: "e".repeat(64) })
        .where("chain", "=", "acme/ledger")
        .where("seq", "=", 2)
        .execute();
    });
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/^REWRITTEN acme\/ledger@2:/m);
  });

  test("forged: an edited statement, or one signed with another key, is refused and not trusted", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    const cp = JSON.parse(readFileSync(LOG, "utf8"));
    // The owner shortens the chain and edits the checkpoint to match.
    await tamper(async (db) => {
      await db.deleteFrom("audit_record").where("chain", "=", "acme/payments").where("seq", "=", 6).execute();
    });
    cp.statement.sequence = 2;
    cp.statement.chains[1].seq = 5;
    appendFileSync(LOG, `${JSON.stringify(cp)}\n`);
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/^CHECKPOINT #2 .*forged: the signature does not verify/m);
    expect(r.stderr).toMatch(/^TRUNCATED acme\/payments@6/m);

    const own = loadSigningKey(OTHER.privatePem);
    const fake = signCheckpoint(
      {
        database: `sqlite:${DB}`,
        sequence: 1,
        at: "2026-04-02T12:00:00.000Z",
        changegateVersion: "x",
        chains: [],
      },
      own,
    );
    writeFileSync(LOG, `${JSON.stringify(fake)}\n`);
    const r2 = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r2.code).toBe(EXIT.failed);
    expect(r2.stderr).toMatch(
      /forged: the signature does not verify with key [0-9a-f]{16} \(it names key [0-9a-f]{16}\)/,
    );
  });

  test("replayed: an older checkpoint appended as the newest is out of order", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    await appendRecords();
    await run(["audit", "checkpoint", "--out", LOG]);
    const [first] = readFileSync(LOG, "utf8").trim().split("\n");
    appendFileSync(LOG, `${first}\n`);
    const r = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/CHECKPOINT #1 .*replayed or out of order: sequence 1 comes after 2/);
    expect(r.stderr).toMatch(/chain acme\/payments shrank from 8 to 6 records since #2/);
  });

  test("replayed: the newest checkpoints removed from the log are caught with --min-sequence", async () => {
    await run(["audit", "checkpoint", "--out", LOG]);
    await run(["audit", "checkpoint", "--out", LOG]);
    const [first] = readFileSync(LOG, "utf8").trim().split("\n");
    writeFileSync(LOG, `${first}\n`);
    expect((await run(["audit", "verify", "--checkpoints", LOG])).code).toBe(EXIT.ok);
    const r = await run(["audit", "verify", "--checkpoints", LOG, "--min-sequence", "2"]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/replayed: the newest checkpoint is #1, but #2 was seen before/);
  });

  test("for another database: a genuine checkpoint of another store is refused", async () => {
    await run(["audit", "checkpoint", "--out", LOG, "--database-id", "prod-eu"]);
    const r = await run(["audit", "verify", "--checkpoints", LOG], { AUDIT_DATABASE_ID: "prod-us" });
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toMatch(/for another database: it is about "prod-eu", not "prod-us"/);
    // And what to do when this store is that database (a backup restored at another URL).
    expect(r.stderr).toMatch(
      /If this store is that database \(a restored backup, a copy, a new host\), verify with --database-id "prod-eu" \(or AUDIT_DATABASE_ID\)/,
    );
    expect(
      (await run(["audit", "verify", "--checkpoints", LOG], { AUDIT_DATABASE_ID: "prod-eu" })).code,
    ).toBe(EXIT.ok);
  });

  test("stdout: one JSON line, sequence as given", async () => {
    const r = await run(["audit", "checkpoint", "--out", "-", "--sequence", "12"]);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.stdout).statement.sequence).toBe(12);
  });

  test("garbage or a forged high sequence in the log neither stops checkpointing nor sets the sequence; verify reports it", async () => {
    const forged = signCheckpoint(
      {
        database: `sqlite:${DB}`,
        sequence: 999,
        at: "2026-04-02T12:00:00.000Z",
        changegateVersion: "x",
        chains: [],
      },
      loadSigningKey(OTHER.privatePem),
    );
    writeFileSync(
      LOG,
      `{"statement": {"kind": "changegate-checkpoint"}, "signature": "x"}\n${JSON.stringify(forged)}\n`,
    );
    const r = await run(["audit", "checkpoint", "--out", LOG]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stderr).toMatch(/note: .* is not a checkpoint .*verify will report it/);
    expect(r.stderr).toMatch(/note: .*1 entry is not this key's checkpoints/);
    expect(r.stderr).toMatch(/checkpoint #1 of 2 chains/);
    const v = await run(["audit", "verify", "--checkpoints", LOG]);
    expect(v.code).toBe(EXIT.failed);
    expect(v.stderr).toMatch(/malformed checkpoint/);
  });
});

describe("keys and arguments", () => {
  test("no signing key, a wrong key type, or a bad key: exit 2 and the value is never printed", async () => {
    expect(
      (await run(["audit", "checkpoint", "--out", LOG], { AUDIT_SIGNING_KEY: undefined })).stderr,
    ).toMatch(/no signing key: set AUDIT_SIGNING_KEY/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    const r = await run(["audit", "checkpoint", "--out", LOG], { AUDIT_SIGNING_KEY: rsa });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/is a rsa key, not Ed25519/);
    const secret = "c2VjcmV0LXNpZ25pbmcta2V5LXRoYXQtaXMtbm90LWEta2V5";
    const bad = await run(["audit", "checkpoint", "--out", LOG], { AUDIT_SIGNING_KEY: secret });
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr + bad.stdout).not.toContain(secret);
  });

  test("no destination, or both sources: exit 2 with what to give", async () => {
    expect((await run(["audit", "checkpoint"])).stderr).toMatch(/where to publish\? --out FILE/);
    const r = await run(["audit", "verify", "--checkpoints", LOG, "--from-issue", "a/b#1"]);
    expect(r.code).toBe(EXIT.usage);
    expect((await run(["audit", "verify", "--checkpoints", "nope.ndjson"])).stderr).toMatch(/no such file/);
  });

  test("checkLog on its own: gaps in the sequence are named", () => {
    const k = loadSigningKey(KEY.privatePem);
    const base = { database: "d", changegateVersion: "x", chains: [] };
    const a = signCheckpoint({ ...base, sequence: 1, at: "2026-01-01T00:00:00.000Z" }, k);
    const b = signCheckpoint({ ...base, sequence: 4, at: "2026-01-02T00:00:00.000Z" }, k);
    const log = parseCheckpointTexts([{ where: "f", text: `${JSON.stringify(a)}\n${JSON.stringify(b)}\n` }]);
    const pub = loadPublicKey(KEY.publicB64);
    expect(checkLog(log, { ...pub, database: "d" })).toEqual([
      { checkpoint: "#4 (2026-01-02T00:00:00.000Z)", message: "checkpoints 2–3 are missing from the log" },
    ]);
  });
});

describe("the pinned issue (default destination)", () => {
  /** An in-memory GitHub: issues with comments, the calls it saw. */
  function fakeGithub() {
    const issues: { number: number; body: string; labels: string[]; node_id: string; comments: string[] }[] =
      [];
    const calls: string[] = [];
    const octokit: OctokitLike & {
      graphql(query: string, variables: Record<string, unknown>): Promise<unknown>;
    } = {
      // The pin goes to the client's own GraphQL endpoint (GHES: /api/graphql), never request("POST /graphql").
      async graphql(query, variables) {
        calls.push(`graphql ${/mutation (\w+)/.exec(query)?.[1]} ${String(variables.id)}`);
        return {};
      },
      async request(route, p) {
        calls.push(route);
        if (route === "GET /repos/{owner}/{repo}/issues") {
          return {
            data: issues
              .filter((i) => i.labels.includes(String(p.labels)))
              .map((i) => ({ number: i.number, body: i.body })),
          };
        }
        if (route === "POST /repos/{owner}/{repo}/issues") {
          const i = {
            number: issues.length + 1,
            body: String(p.body),
            labels: p.labels as string[],
            node_id: `I_${issues.length + 1}`,
            comments: [],
          };
          issues.push(i);
          return { data: { number: i.number, node_id: i.node_id } };
        }
        const issue = issues.find((i) => i.number === p.issue_number);
        if (!issue) throw new Error("Not Found");
        if (route === "POST /repos/{owner}/{repo}/issues/{issue_number}/comments") {
          issue.comments.push(String(p.body));
          return {
            data: {
              html_url: `https://github.com/acme/audit/issues/${issue.number}#c${issue.comments.length}`,
            },
          };
        }
        if (route === "GET /repos/{owner}/{repo}/issues/{issue_number}/comments") {
          const page = Number(p.page);
          return {
            data: issue.comments.slice((page - 1) * 100, page * 100).map((body, i) => ({ id: i, body })),
          };
        }
        throw new Error(`unexpected ${route}`);
      },
    };
    return { issues, calls, github: async () => octokit };
  }

  test("finds or creates and pins the issue, comments each checkpoint; verify --from-issue reads them back", async () => {
    const gh = fakeGithub();
    const first = await run(["audit", "checkpoint"], { AUDIT_ISSUE_REPO: "acme/audit" }, gh.github);
    expect(first.code).toBe(EXIT.ok);
    expect(gh.calls).toEqual([
      "GET /repos/{owner}/{repo}/issues",
      "GET /repos/{owner}/{repo}/issues",
      "POST /repos/{owner}/{repo}/issues",
      "graphql ChangegatePinIssue I_1",
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]);
    expect(gh.issues[0]!.labels).toEqual([CHECKPOINT_LABEL]);
    expect(gh.issues[0]!.body).toContain(CHECKPOINT_MARKER);
    await appendRecords();
    const second = await run(["audit", "checkpoint", "--issue-repo", "acme/audit"], {}, gh.github);
    expect(second.stderr).toMatch(
      /checkpoint #2 .* published to https:\/\/github.com\/acme\/audit\/issues\/1#c2/,
    );
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]!.comments[1]).toMatch(/^changegate audit checkpoint #2 at .*: 2 chains, 10 records/);

    const ok = await run(["audit", "verify", "--from-issue", "acme/audit#1"], {}, gh.github);
    expect(ok.stdout).toMatch(/OK against 2 checkpoints from acme\/audit#1/);
    expect(ok.code).toBe(EXIT.ok);

    // Anyone who may comment can post a "checkpoint": unsigned by the key, it is flagged, never trusted.
    gh.issues[0]!.comments.push(gh.issues[0]!.comments[1]!.replace(/"sequence":2/, '"sequence":3'));
    const bad = await run(["audit", "verify", "--from-issue", "acme/audit#1"], {}, gh.github);
    expect(bad.code).toBe(EXIT.failed);
    expect(bad.stderr).toMatch(/CHECKPOINT #3 .*forged/);
  });
});
