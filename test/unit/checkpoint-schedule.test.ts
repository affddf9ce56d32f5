/**
 * The checkpoint schedule: on by default once a signing key is set (daily), settings parsed with
 * clear messages, destinations' logs read for the age metric, one publication per interval across
 * replicas (the ledger), a failure retried by the replica that claimed the interval, runs never
 * overlap, the timer never holds the process.
 */
import { loadSettings } from "../../src/settings.js";
import { afterEach, describe, expect, jest, test } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import type { CheckpointLog } from "../../src/audit/checkpoint-publish.js";
import { AuditStore } from "../../src/audit/database.js";
import { ChainWriter } from "../../src/audit/chain-writer.js";
import type { SignedCheckpoint } from "../../src/audit/checkpoint.js";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { Metrics } from "../../src/ops/metrics.js";
import {
  checkpointRunner,
  checkpointSchedule,
  startCheckpointSchedule,
  startCheckpoints,
} from "../../src/background/checkpoints.js";
import { merge, tempDir } from "../audit/records.js";

const KEY = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();

/** The schedule the settings give (src/settings.ts checks the variables, checkpointSchedule reads them). */
const checkpointScheduleFromEnv = (env: Record<string, string>) =>
  checkpointSchedule(loadSettings(env, ["checkpoints"]).checkpoints);

describe("checkpointScheduleFromEnv", () => {
  test("without a key: off; with a key: daily by default, to each policy's audit.issue_repo; 0 or off turns it off", () => {
    expect(checkpointScheduleFromEnv({})).toBeNull();
    expect(checkpointScheduleFromEnv({ AUDIT_SIGNING_KEY: KEY })).toMatchObject({
      intervalMs: 86_400_000,
      target: { kind: "policies" },
    });
    expect(
      checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "off", AUDIT_SIGNING_KEY: KEY }),
    ).toBeNull();
    expect(checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "0", AUDIT_SIGNING_KEY: KEY })).toBeNull();
  });

  test("durations, destinations (AUDIT_CHECKPOINT_FILE, then AUDIT_ISSUE_REPO override the policies)", () => {
    const s = checkpointScheduleFromEnv({
      AUDIT_CHECKPOINT_INTERVAL: "6h",
      AUDIT_SIGNING_KEY: KEY,
      AUDIT_ISSUE_REPO: "acme/audit",
    });
    expect(s).toMatchObject({ intervalMs: 6 * 3_600_000, target: { kind: "issue", repo: "acme/audit" } });
    expect(
      checkpointScheduleFromEnv({
        AUDIT_CHECKPOINT_INTERVAL: "900",
        AUDIT_SIGNING_KEY: KEY,
        AUDIT_CHECKPOINT_FILE: "/var/cp.ndjson",
      }),
    ).toMatchObject({
      intervalMs: 900_000,
      target: { kind: "file", path: "/var/cp.ndjson" },
    });
  });

  test.each([
    [
      { AUDIT_CHECKPOINT_INTERVAL: "often", AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "a/b" },
      /AUDIT_CHECKPOINT_INTERVAL="often": expected seconds or a number with s, m, h or d/,
    ],
    [
      { AUDIT_CHECKPOINT_INTERVAL: "10s", AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "a/b" },
      /between 5 minutes and 30 days/,
    ],
    [{ AUDIT_CHECKPOINT_INTERVAL: "1h", AUDIT_ISSUE_REPO: "a/b" }, /no signing key: set AUDIT_SIGNING_KEY/],
    [
      { AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "not a repo" },
      /AUDIT_ISSUE_REPO="not a repo": expected owner\/name/,
    ],
  ])("bad settings %# are refused with a clear message", (env, message) => {
    expect(() => checkpointScheduleFromEnv(env)).toThrow(message);
  });

  test("a broken key is refused without echoing it", () => {
    const secret = "bm90LWEta2V5LWJ1dC1hLXNlY3JldC12YWx1ZQ==";
    let msg = "";
    try {
      checkpointScheduleFromEnv({ AUDIT_SIGNING_KEY: secret, AUDIT_ISSUE_REPO: "a/b" });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/not a PKCS#8 private key/);
    expect(msg).not.toContain(secret);
  });

  test("without a key, start-up warns once and /metrics shows checkpoints off and none made", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const warnings: string[] = [];
    const started = startCheckpoints(
      {} as never,
      loadSettings({}, ["github", "checkpoints", "audit"]),
      { info: () => {}, warn: (m) => void warnings.push(m), error: () => {} },
      { metrics },
    );
    expect(started).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/AUDIT_SIGNING_KEY is not set/);
    const body = (await metrics.expose()).body;
    expect(body).toMatch(/^changegate_audit_checkpoints_enabled 0$/m);
    expect(body).toMatch(/^changegate_audit_checkpoint_last_timestamp_seconds 0$/m);
  });
});

describe("checkpointRunner", () => {
  class MemoryLog implements CheckpointLog {
    readonly entries: SignedCheckpoint[] = [];
    failNext = false;
    constructor(readonly description: string) {}
    async read() {
      return { checkpoints: [...this.entries], malformed: [] };
    }
    async append(cp: SignedCheckpoint) {
      if (this.failNext) {
        this.failNext = false;
        throw new Error("GitHub is down");
      }
      this.entries.push(cp);
      return `${this.description}#${this.entries.length}`;
    }
  }

  test("publishes when due, once per interval across two replicas, scoped to the account; the gauge is the oldest destination's newest checkpoint", async () => {
    const tmp = tempDir();
    const store = await AuditStore.open(`sqlite:${tmp.dir}/a.db`);
    try {
      const w = new ChainWriter(store);
      await w.recordMerge(merge({ owner: "acme", repo: "one", number: 1 }));
      await w.recordMerge(merge({ owner: "other", repo: "two", number: 1 }));
      const schedule = checkpointScheduleFromEnv({
        AUDIT_SIGNING_KEY: KEY,
        AUDIT_CHECKPOINT_INTERVAL: "1h",
      })!;
      const acme = new MemoryLog("acme/audit");
      const ledger = new MemoryDeliveryLedger();
      let t = Date.parse("2026-03-01T12:00:00Z");
      const metrics = new Metrics({ defaultMetrics: false });
      const logs: string[] = [];
      const deps = {
        store,
        schedule,
        database: "db",
        ledger,
        destinations: async () => [{ name: "acme/audit", log: acme, account: "acme" }],
        now: () => new Date(t),
        log: {
          info: (m: string) => void logs.push(m),
          warn: (m: string) => void logs.push(m),
          error: (m: string) => void logs.push(`error ${m}`),
        },
        metrics,
      };
      const a = checkpointRunner(deps);
      const b = checkpointRunner(deps); // another replica, same ledger
      acme.failNext = true;
      expect(await a.tick()).toEqual([]); // claimed the interval, failed: logged
      expect(logs.join("\n")).toMatch(/error audit checkpoint to acme\/audit failed .*GitHub is down/);
      expect(await b.tick()).toEqual([]); // not its interval
      t += 60_000;
      expect(await a.tick()).toEqual(["acme/audit#1"]); // the owner retries
      expect(acme.entries[0]!.statement.chains.map((c) => c.chain)).toEqual(["acme/one"]); // never another organisation's chains
      expect((await metrics.expose()).body).toMatch(
        new RegExp(`^changegate_audit_checkpoint_last_timestamp_seconds ${t / 1000}$`, "m"),
      );
      t += 30 * 60_000;
      expect(await a.tick()).toEqual([]); // not due yet
      expect(await b.tick()).toEqual([]);
      t += 31 * 60_000; // next interval: one of the two publishes
      const both = [...(await b.tick()), ...(await a.tick())];
      expect(both).toEqual(["acme/audit#2"]);
      expect(acme.entries.map((e) => e.statement.sequence)).toEqual([1, 2]);
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });
});

describe("startCheckpointSchedule", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test("first tick soon after start, then every period; skips a tick while one is running; failures logged", async () => {
    jest.useFakeTimers();
    const logs: string[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const tick = () => {
      calls++;
      if (calls === 1) return new Promise<string[]>((r) => (release = () => r([])));
      if (calls === 2) return Promise.reject(new Error("GitHub is down"));
      return Promise.resolve([]);
    };
    const s = startCheckpointSchedule(60_000, tick, { error: (m) => logs.push(`error ${m}`) }, 20_000);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(calls).toBe(1);
    await jest.advanceTimersByTimeAsync(60_000); // still running: skipped
    expect(calls).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(3);
    s.stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(calls).toBe(3);
    expect(logs).toEqual(["error audit checkpoint failed (next try in 1 min): GitHub is down"]);
  });
});
