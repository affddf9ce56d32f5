/**
 * Prometheus metrics (prom-client), in a Registry of their own (never the global one), with the
 * default process metrics. Label values are bounded: event names and installations are capped
 * (extra values count as "other"), outcomes and statuses come from small fixed sets; never a PR
 * number, sha, repository or user. Gauges whose value lives elsewhere (the write queue's depth,
 * evaluations in flight) are read at scrape time from a callback registered with setSource().
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export const METRIC_PREFIX = "changegate_";

/** Values read at scrape time from whoever owns them (the write scheduler registers its depth). */
export type MetricSourceName =
  "write_queue_depth" | "evaluations_in_flight" | "evaluations_queued" | "write_near_hourly_cap";

/** Monotonic counts whose value lives elsewhere, exported as counters (read at scrape time). */
export type CounterSourceName = "write_cap_warnings_total";

/** Bounded label values: the first `max` distinct values seen, then "other". */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(
    private readonly max: number,
    private readonly pattern: RegExp = /^[A-Za-z0-9_.-]{1,64}$/,
  ) {}

  value(raw: string | number): string {
    const v = String(raw);
    if (!this.pattern.test(v)) return "other";
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return "other";
    this.seen.add(v);
    return v;
  }
}

/** An HTTP status as a bounded label: "2xx".."5xx", or "network" when there was no answer. */
export function statusClass(status: number | null | undefined): string {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599)
    return "network";
  return `${Math.floor(status / 100)}xx`;
}

export type EvaluationKind = "published" | "skipped" | "merge" | "publish_failed" | "store_failed" | "error";
export type Conclusion = "success" | "failure" | "pending" | "none";

export class Metrics {
  readonly registry = new Registry();
  private readonly sources = new Map<MetricSourceName, () => number>();
  private readonly counterSources = new Map<CounterSourceName, () => number>();
  private readyProbe: (() => Promise<boolean>) | null = null;
  private readonly events = new BoundedLabel(64, /^[a-z_]{1,64}$/);
  private readonly installations = new BoundedLabel(2000, /^[0-9]{1,20}$/);

  readonly webhooks = new Counter({
    name: `${METRIC_PREFIX}webhooks_total`,
    help: "Webhook deliveries received (signature verified), by event name.",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly evaluations = new Counter({
    name: `${METRIC_PREFIX}evaluations_total`,
    help: "Finished evaluations, by what happened (kind) and the check's conclusion.",
    labelNames: ["kind", "conclusion"] as const,
    registers: [this.registry],
  });
  readonly evaluationDuration = new Histogram({
    name: `${METRIC_PREFIX}evaluation_duration_seconds`,
    help: "Time to evaluate one PR (gather, policy, record, publish), holding its lock.",
    labelNames: ["kind"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly githubRequests = new Counter({
    name: `${METRIC_PREFIX}github_requests_total`,
    help: "HTTP requests sent to GitHub, by API (graphql, rest) and status class.",
    labelNames: ["api", "status"] as const,
    registers: [this.registry],
  });
  readonly githubErrors = new Counter({
    name: `${METRIC_PREFIX}github_request_errors_total`,
    help: "GitHub requests that failed (4xx, 5xx or no answer), by API and status class.",
    labelNames: ["api", "status"] as const,
    registers: [this.registry],
  });
  readonly jiraRequests = new Counter({
    name: `${METRIC_PREFIX}jira_requests_total`,
    help: "HTTP requests sent to Jira (retries included), by status class.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly jiraErrors = new Counter({
    name: `${METRIC_PREFIX}jira_request_errors_total`,
    help: "Jira requests that failed (4xx, 5xx or no answer), by status class.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly rateLimitRemaining = new Gauge({
    name: `${METRIC_PREFIX}github_rate_limit_remaining`,
    help: "GitHub's x-ratelimit-remaining on the latest answer, per installation (0 = the app's own token).",
    labelNames: ["installation", "resource"] as const,
    registers: [this.registry],
  });
  readonly bypasses = new Counter({
    name: `${METRIC_PREFIX}bypasses_detected_total`,
    help: "Merges of a PR whose recorded verdict did not allow it (bypasses).",
    registers: [this.registry],
  });

  readonly redeliveries = new Counter({
    name: `${METRIC_PREFIX}redeliveries_total`,
    help: "Webhook deliveries that failed on every attempt and were not processed (found), asked of GitHub again (redelivered), or whose redelivery GitHub refused or could not take (refused).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  // The safety nets (issue 19): alert rules in deploy/prometheus/alerts.yml read these.
  readonly scanLastSuccess = new Gauge({
    name: `${METRIC_PREFIX}audit_scan_last_success_timestamp_seconds`,
    help: "When the scheduled audit scan last finished with every installation searched (unix seconds; 0: not since this process started).",
    registers: [this.registry],
  });
  readonly scanEnabled = new Gauge({
    name: `${METRIC_PREFIX}audit_scan_enabled`,
    help: "1 when the scheduled audit scan runs in this process (AUDIT_SCAN_INTERVAL, on by default), 0 when it is off.",
    registers: [this.registry],
  });
  readonly scanFailures = new Counter({
    name: `${METRIC_PREFIX}audit_scan_failures_total`,
    help: "Scheduled scan failures, by stage: installation (one installation could not be searched; the others went on), run (the whole run), reconcile.",
    labelNames: ["stage"] as const,
    registers: [this.registry],
  });
  readonly checkpointLast = new Gauge({
    name: `${METRIC_PREFIX}audit_checkpoint_last_timestamp_seconds`,
    help: "The newest signed audit checkpoint this process knows of in its checkpoint log(s) (the oldest over destinations; unix seconds; 0: none, e.g. no AUDIT_SIGNING_KEY).",
    registers: [this.registry],
  });
  readonly checkpointEnabled = new Gauge({
    name: `${METRIC_PREFIX}audit_checkpoints_enabled`,
    help: "1 when signed checkpoints are published on a schedule (AUDIT_SIGNING_KEY set), 0 when not.",
    registers: [this.registry],
  });
  readonly checkpointFailures = new Counter({
    name: `${METRIC_PREFIX}audit_checkpoint_failures_total`,
    help: "Scheduled checkpoints that could not be published (per destination).",
    registers: [this.registry],
  });
  readonly overdueOpen = new Gauge({
    name: `${METRIC_PREFIX}retro_reviews_overdue_open`,
    help: "Emergency merges whose retroactive review is overdue and still not made (at the last overdue check).",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const sources = this.sources;
    const gauge = (name: MetricSourceName, help: string) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers: [this.registry],
        collect() {
          const fn = sources.get(name);
          let v: number;
          try {
            v = fn ? Number(fn()) : 0;
          } catch {
            v = NaN; // a broken source shows as NaN, never as a reassuring 0
          }
          this.set(v);
        },
      });
    gauge(
      "write_queue_depth",
      "GitHub writes waiting in the write queue (0 until a write scheduler registers its depth).",
    );
    gauge("evaluations_in_flight", "PRs being evaluated now, or waiting for their turn (one job per PR).");
    gauge("evaluations_queued", "PRs waiting for one of the MAX_CONCURRENT_EVALUATIONS evaluation slots.");
    gauge(
      "write_near_hourly_cap",
      "1 while an installation is near GitHub's hourly cap of content-creating writes (digests wait, checks go on), else 0.",
    );
    const counterSources = this.counterSources;
    // Monotonic, its value lives in the write scheduler: a counter (rate() and increase() apply), read at scrape time.
    new Counter({
      name: `${METRIC_PREFIX}write_cap_warnings_total`,
      help: "Times an installation came near GitHub's hourly cap of content-creating writes (each logged as a warning).",
      registers: [this.registry],
      collect() {
        const fn = counterSources.get("write_cap_warnings_total");
        if (!fn) return;
        let v: number;
        try {
          v = Number(fn());
        } catch {
          return; // a broken source keeps the last value: never a drop that reads as a reset
        }
        if (!Number.isFinite(v) || v < 0) return;
        this.reset();
        if (v > 0) this.inc(v);
      },
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- inside collect(), `this` is the Gauge
    const metrics = this;
    // What GET /readyz answers, at scrape time: 1 ready, 0 not (a failing check, shutting down, not started).
    new Gauge({
      name: `${METRIC_PREFIX}ready`,
      help: "1 when GET /readyz would answer 200 (every readiness check passes), else 0.",
      registers: [this.registry],
      async collect() {
        let ready: boolean;
        try {
          ready = metrics.readyProbe ? await metrics.readyProbe() : false;
        } catch {
          ready = false;
        }
        this.set(ready ? 1 : 0);
      },
    });
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** Register the callback a counter is read from at scrape time (a monotonic count; replaces an earlier one). */
  setCounterSource(name: CounterSourceName, fn: () => number): void {
    this.counterSources.set(name, fn);
  }

  /** What changegate_ready reports at each scrape: the readiness probe's answer (index.ts wires /readyz's). */
  setReadiness(probe: () => Promise<boolean>): void {
    this.readyProbe = probe;
  }

  /** Register the callback a gauge is read from at scrape time (replaces an earlier one). */
  setSource(name: MetricSourceName, fn: () => number): void {
    this.sources.set(name, fn);
  }

  webhook(event: string): void {
    this.webhooks.inc({ event: this.events.value(event) });
  }

  evaluated(kind: EvaluationKind, conclusion: Conclusion | null, seconds?: number): void {
    this.evaluations.inc({ kind, conclusion: conclusion ?? "none" });
    if (seconds !== undefined)
      this.evaluationDuration.observe({ kind: kind === "merge" ? "merge" : "evaluate" }, seconds);
  }

  github(
    api: "graphql" | "rest",
    status: number | null,
    headers?: Record<string, unknown>,
    installationId?: number,
  ): void {
    const s = statusClass(status);
    this.githubRequests.inc({ api, status: s });
    if (s !== "2xx" && s !== "3xx") this.githubErrors.inc({ api, status: s });
    const remaining = Number(headers?.["x-ratelimit-remaining"]);
    if (headers?.["x-ratelimit-remaining"] !== undefined && Number.isFinite(remaining)) {
      const resource = /^[a-z_]{1,32}$/.test(String(headers["x-ratelimit-resource"] ?? ""))
        ? String(headers["x-ratelimit-resource"])
        : api === "graphql"
          ? "graphql"
          : "core";
      this.rateLimitRemaining.set(
        {
          installation: this.installations.value(installationId ?? 0),
          resource: resource === "graphql" || resource === "core" ? resource : "other",
        },
        remaining,
      );
    }
  }

  jira(status: number | null): void {
    const s = statusClass(status);
    this.jiraRequests.inc({ status: s });
    if (s !== "2xx" && s !== "3xx") this.jiraErrors.inc({ status: s });
  }

  bypass(): void {
    this.bypasses.inc();
  }

  redelivery(result: "found" | "redelivered" | "refused", n = 1): void {
    this.redeliveries.inc({ result }, n);
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The shape of Octokit's hook (both Probot's Octokit and @octokit/core's). */
export interface HookableOctokit {
  hook: {
    wrap(
      name: "request",
      fn: (request: (options: unknown) => Promise<unknown>, options: unknown) => Promise<unknown>,
    ): void;
  };
}

const instrumented = new WeakSet<object>();

/**
 * Count every request an Octokit makes (retries included: each passes through the hook), and read
 * the rate limit left from its answers. Idempotent per Octokit instance.
 */
export function instrumentOctokit(octokit: HookableOctokit, metrics: Metrics, installationId?: number): void {
  if (instrumented.has(octokit)) return;
  instrumented.add(octokit);
  octokit.hook.wrap("request", async (request, options) => {
    const url = String((options as { url?: unknown }).url ?? "");
    const api = url === "/graphql" || url.endsWith("/graphql") ? "graphql" : "rest";
    try {
      const res = (await request(options)) as { status?: number; headers?: Record<string, unknown> };
      metrics.github(api, res?.status ?? 200, res?.headers, installationId);
      return res;
    } catch (err) {
      const e = err as { status?: number; response?: { headers?: Record<string, unknown> } };
      metrics.github(
        api,
        typeof e?.status === "number" ? e.status : null,
        e?.response?.headers,
        installationId,
      );
      throw err;
    }
  });
}
