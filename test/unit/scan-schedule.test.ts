/** The scan's schedule (one replica a tick, via the ledger) and the stale-check reconcile, with fakes. */
import { describe, expect, test } from "@jest/globals";
import { MemoryDeliveryLedger } from "../../src/intake/memory-ledger.js";
import { reconcileStale } from "../../src/background/reconcile-stale.js";
import { scanTick } from "../../src/background/scan-schedule.js";
import { loadSettings } from "../../src/settings.js";

const parseScanInterval = (value: string | undefined) =>
  loadSettings({ AUDIT_SCAN_INTERVAL: value }, ["background"]).background.scanIntervalMs;

const quiet = { info: () => {}, error: () => {} };

describe("AUDIT_SCAN_INTERVAL", () => {
  test("hourly by default; 0 or off turns it off; seconds or a unit; under a minute or garbage is refused with the variable's name", () => {
    expect(parseScanInterval(undefined)).toBe(3_600_000);
    expect(parseScanInterval("")).toBe(3_600_000);
    expect(parseScanInterval("0")).toBeNull();
    expect(parseScanInterval("off")).toBeNull();
    expect(parseScanInterval("3600")).toBe(3_600_000);
    expect(parseScanInterval("6h")).toBe(21_600_000);
    expect(parseScanInterval("15m")).toBe(900_000);
    expect(() => parseScanInterval("30s")).toThrow(/AUDIT_SCAN_INTERVAL.*at least 60 seconds/);
    expect(() => parseScanInterval("soon")).toThrow(/AUDIT_SCAN_INTERVAL/);
  });
});

describe("scanTick", () => {
  test("two replicas on one ledger: one tick runs once; the window looks back at least a day", async () => {
    const ledger = new MemoryDeliveryLedger();
    const windows: { from: string; to: string }[] = [];
    const now = () => new Date("2026-03-01T12:00:30Z");
    const deps = {
      intervalMs: 3_600_000,
      ledger,
      now,
      run: async (w: { from: string; to: string }) => void windows.push(w),
      log: quiet,
    };
    expect(await scanTick(deps)).toBe(true);
    expect(await scanTick(deps)).toBe(false);
    expect(windows).toEqual([{ from: "2026-02-28T12:00:30.000Z", to: "2026-03-01T12:00:30.000Z" }]);
    // The next interval runs again.
    expect(await scanTick({ ...deps, now: () => new Date("2026-03-01T13:00:30Z") })).toBe(true);
  });

  test("a failing scan is logged and does not throw", async () => {
    const errors: string[] = [];
    const ok = await scanTick({
      intervalMs: 3_600_000,
      ledger: new MemoryDeliveryLedger(),
      now: () => new Date(),
      run: async () => {
        throw new Error("GitHub down");
      },
      log: { info: () => {}, error: (o: object) => void errors.push(JSON.stringify(o)) },
    });
    expect(ok).toBe(true);
    expect(errors.join()).toContain("GitHub down");
  });
});

describe("reconcileStale", () => {
  test("only PRs without changegate's check on their head are re-evaluated, at most `max`, spaced", async () => {
    const APP = 42;
    const checks: Record<string, { name: string; app: { id: number } }[]> = {
      h1: [{ name: "changegate", app: { id: APP } }], // judged on its head
      h2: [], // never judged (or only an older head)
      h3: [{ name: "changegate", app: { id: 7 } }], // another app's check of the same name
      h4: [],
    };
    const client = {
      async request(route: string, params: Record<string, unknown> = {}) {
        if (route === "GET /app/installations") return { data: [{ id: 1 }] };
        if (route === "GET /installation/repositories")
          return {
            data: {
              repositories: [{ full_name: "acme/payments" }, { full_name: "acme/old", archived: true }],
            },
          };
        if (route === "GET /repos/{owner}/{repo}/pulls")
          return { data: ["h1", "h2", "h3", "h4"].map((h, i) => ({ number: i + 1, head: { sha: h } })) };
        if (route === "GET /repos/{owner}/{repo}/commits/{ref}/check-runs")
          return { data: { check_runs: checks[String(params.ref)] } };
        throw new Error(`unexpected ${route}`);
      },
    };
    const evaluated: number[] = [];
    const waits: number[] = [];
    const r = await reconcileStale({
      app: async () => client,
      installation: async () => client,
      appId: APP,
      evaluate: (ref) => void evaluated.push(ref.number),
      log: quiet,
      sleep: async (ms) => void waits.push(ms),
      paceMs: 1000,
      max: 2,
    });
    expect(r).toEqual({ prs: 4, stale: 3, queued: 2 });
    expect(evaluated).toEqual([2, 3]);
    expect(waits).toEqual([1000]);
  });
});
