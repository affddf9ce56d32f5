/**
 * The scheduled scan in the app (AUDIT_SCAN_INTERVAL, hourly by default): the app's installations
 * as scan targets, the scan (background/scan.ts; with direct pushes when the app records them, walking
 * refs from the heads on record, a truncated walk logged as a warning) and the stale-check
 * reconcile (background/reconcile-stale.ts) on the schedule of background/scan-schedule.ts. Nothing one
 * installation does stops the others or the reconcile: an installation whose token or search
 * fails is logged, counted (audit_scan_failures_total{stage="installation"}) and skipped; the
 * reconcile runs whatever the scan did. audit_scan_last_success_timestamp_seconds moves only when
 * every installation was searched.
 */
import type { Probot } from "probot";
import type { AuditStore } from "../audit/database.js";
import type { Recorder } from "../audit/recorder.js";
import { installationTarget, walkable, type InstallationItem } from "../github/installation-target.js";
import type { ReaderOptions } from "../github/reader.js";
import type { OctokitLike } from "../github/types.js";
import type { TicketLookupService } from "../jira/tickets.js";
import type { DeliveryLedger, PrRef } from "../refs.js";
import { redactError } from "../report/redact.js";
import { reconcileStale } from "./reconcile-stale.js";
import { scan, warnTruncated, type ScanDeps, type ScanLog, type ScanTarget } from "./scan.js";
import type { DirectPushStore } from "../audit/direct-push.js";
import { startScanSchedule } from "./scan-schedule.js";
import type { BranchHeadStore } from "../audit/branch-head.js";
import type { Metrics } from "../ops/metrics.js";
import type { SeedBranch } from "../flows/enforcement.js";

export interface AuditScanOptions {
  intervalMs: number;
  store: AuditStore;
}

export interface AuditScanWiring {
  app: Probot;
  scan: AuditScanOptions;
  appId: number;
  recorder: Recorder;
  ledger: DeliveryLedger;
  tickets: TicketLookupService | null;
  reader: ReaderOptions;
  evaluate: (ref: PrRef, head: string) => void;
  /** direct_push records: the scan also looks for missed direct pushes (background/scan-pushes.ts); null: merges only. */
  directPushes?: DirectPushStore | null;
  /** DIRECT_PUSH_RECHECK_MS and the wait (flows/push-settle.ts). */
  recheckMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Where each branch stood at the last scan (audit/branch-head.ts): the scan walks refs from there. */
  branchHeads?: BranchHeadStore | null;
  metrics?: Metrics;
  /** The scan's writes (bypass issue entries) through the app's write scheduler (index.ts; absent: sent as they come). */
  pace?: (installationId: number, octokit: unknown) => unknown;
  /**
   * Branch enforcement: every branch on the books observed again each run, and every branch the
   * policy gates that the scan found (seeded: a gated branch never evaluated is observed too;
   * flows/enforcement.ts); null: off.
   */
  enforcement?: {
    scan(runId: string, installationId?: number, seed?: readonly SeedBranch[]): Promise<number>;
  } | null;
}

async function appTargets(
  app: Probot,
  reader: ReaderOptions,
  onFailed: (id: number, err: unknown) => void,
  pace?: AuditScanWiring["pace"],
): Promise<ScanTarget[]> {
  const jwt = (await app.auth()) as unknown as OctokitLike;
  const out: ScanTarget[] = [];
  for (let page = 1; page <= 100; page++) {
    const res = await jwt.request("GET /app/installations", { per_page: 100, page });
    const list = Array.isArray(res.data) ? (res.data as InstallationItem[]) : [];
    for (const inst of list) {
      if (!walkable(inst)) continue;
      try {
        const octokit = await app.auth(inst.id);
        out.push(installationTarget(inst, pace ? pace(inst.id, octokit) : octokit, reader));
      } catch (err) {
        onFailed(inst.id, err); // its token: this installation is skipped, the others go on
      }
    }
    if (list.length < 100) break;
  }
  return out;
}

/** The scheduled scan's deps: merges, and direct pushes whenever the app records them (as the CLI's default). */
export function scheduledScanDeps(
  w: Omit<AuditScanWiring, "app" | "ledger" | "evaluate" | "reader">,
  targets: ScanTarget[],
  log: ScanLog,
): ScanDeps {
  return {
    targets,
    store: w.scan.store,
    recorder: w.recorder,
    appId: w.appId,
    tickets: w.tickets,
    log,
    now: () => new Date(),
    ...(w.directPushes
      ? {
          directPushes: w.directPushes,
          directPushRecheckMs: w.recheckMs,
          sleep: w.sleep,
          ...(w.branchHeads ? { branchHeads: w.branchHeads } : {}),
        }
      : {}),
    onTargetFailed: () => w.metrics?.scanFailures.inc({ stage: "installation" }),
  };
}

export function startAuditScan(w: AuditScanWiring): { stop(): void } {
  const log = w.app.log.child({ name: "audit-scan" });
  return startScanSchedule({
    intervalMs: w.scan.intervalMs,
    ledger: w.ledger,
    now: () => new Date(),
    log,
    run: async (window) => {
      let complete = false;
      let seed: SeedBranch[] = [];
      try {
        let tokenFailures = 0;
        const targets = await appTargets(
          w.app,
          w.reader,
          (id, err) => {
            tokenFailures++;
            w.metrics?.scanFailures.inc({ stage: "installation" });
            log.error(
              { installation: id, err: redactError(err) },
              `the scan could not get a token for installation ${id}; the other installations go on`,
            );
          },
          w.pace,
        );
        const summary = await scan(scheduledScanDeps(w, targets, log), window);
        seed = summary.directPushes?.gated ?? [];
        warnTruncated(log, summary);
        complete = tokenFailures === 0 && !summary.failedTargets;
      } catch (err) {
        w.metrics?.scanFailures.inc({ stage: "run" });
        log.error(
          { err: redactError(err) },
          "the scheduled audit scan failed; the reconcile still runs, the next tick scans again",
        );
      }
      if (w.enforcement) {
        // Each branch's failure is logged by the flow; the next run observes it again.
        await w.enforcement.scan(`scan-${window.to}`, undefined, seed).catch(() => 0);
      }
      if (complete) w.metrics?.scanLastSuccess.set(Date.now() / 1000);
      await reconcileStale({
        app: () => w.app.auth() as never,
        installation: (id) => w.app.auth(id) as never,
        appId: w.appId,
        evaluate: w.evaluate,
        log,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        paceMs: 1000,
        max: 500,
      }).catch((err: unknown) => {
        w.metrics?.scanFailures.inc({ stage: "reconcile" });
        log.error({ err: redactError(err) }, "reconcile of stale checks failed");
      });
    },
  });
}
