/** The checkpoint schedule: off by default, settings parsed with clear messages, runs never overlap, the timer never holds the process. */
import { afterEach, describe, expect, jest, test } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import { checkpointScheduleFromEnv, startCheckpointSchedule } from "../../src/runtime/checkpoint-schedule.js";

const KEY = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();

describe("checkpointScheduleFromEnv", () => {
  test("off unless AUDIT_CHECKPOINT_INTERVAL is set", () => {
    expect(checkpointScheduleFromEnv({})).toBeNull();
    expect(checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "off", AUDIT_SIGNING_KEY: KEY })).toBeNull();
  });

  test("durations, destinations", () => {
    const s = checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "6h", AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "acme/audit" });
    expect(s).toMatchObject({ intervalMs: 6 * 3_600_000, target: { kind: "issue", repo: "acme/audit" } });
    expect(checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "900", AUDIT_SIGNING_KEY: KEY, AUDIT_CHECKPOINT_FILE: "/var/cp.ndjson" })).toMatchObject({
      intervalMs: 900_000,
      target: { kind: "file", path: "/var/cp.ndjson" },
    });
  });

  test.each([
    [{ AUDIT_CHECKPOINT_INTERVAL: "often", AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "a/b" }, /expected a duration such as 6h/],
    [{ AUDIT_CHECKPOINT_INTERVAL: "10s", AUDIT_SIGNING_KEY: KEY, AUDIT_ISSUE_REPO: "a/b" }, /between 5 minutes and 30 days/],
    [{ AUDIT_CHECKPOINT_INTERVAL: "1h", AUDIT_ISSUE_REPO: "a/b" }, /no signing key: set AUDIT_SIGNING_KEY/],
    [{ AUDIT_CHECKPOINT_INTERVAL: "1h", AUDIT_SIGNING_KEY: KEY }, /nowhere to publish: set AUDIT_ISSUE_REPO/],
  ])("bad settings %# are refused with a clear message", (env, message) => {
    expect(() => checkpointScheduleFromEnv(env)).toThrow(message);
  });

  test("a broken key is refused without echoing it", () => {
    const secret = "bm90LWEta2V5LWJ1dC1hLXNlY3JldC12YWx1ZQ==";
    let msg = "";
    try {
      checkpointScheduleFromEnv({ AUDIT_CHECKPOINT_INTERVAL: "1h", AUDIT_SIGNING_KEY: secret, AUDIT_ISSUE_REPO: "a/b" });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/not a PKCS#8 private key/);
    expect(msg).not.toContain(secret);
  });
});

describe("startCheckpointSchedule", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test("runs every interval, skips a tick while a run is still going, logs failures and carries on", async () => {
    jest.useFakeTimers();
    const logs: string[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const publish = () => {
      calls++;
      if (calls === 1) return new Promise<string>((r) => (release = () => r("issue#1")));
      if (calls === 2) return Promise.reject(new Error("GitHub is down"));
      return Promise.resolve("issue#1");
    };
    const s = startCheckpointSchedule(60_000, publish, { info: (m) => logs.push(`info ${m}`), error: (m) => logs.push(`error ${m}`) });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    await jest.advanceTimersByTimeAsync(60_000); // still running: no second run
    expect(calls).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(3);
    s.stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(calls).toBe(3);
    expect(logs).toEqual(["info audit checkpoint published to issue#1", "error audit checkpoint failed (next try in 1 min): GitHub is down", "info audit checkpoint published to issue#1"]);
  });
});
