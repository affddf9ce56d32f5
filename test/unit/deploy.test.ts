/**
 * deploy/: the Prometheus rules file has the shape Prometheus loads (groups → rules with alert,
 * expr, labels.severity, annotations.summary), covers the alerts ops need, and every metric named
 * in it or in the Grafana dashboard exists in the app's registry; the Kubernetes manifest probes
 * /healthz and /readyz on the container's port and runs as non-root.
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { parse, parseAllDocuments } from "yaml";
import { z } from "zod";
import { Metrics } from "../../src/ops/metrics.js";

const read = (p: string) => readFileSync(new URL(`../../deploy/${p}`, import.meta.url), "utf8");

const RulesFile = z.strictObject({
  groups: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        interval: z.string().optional(),
        rules: z
          .array(
            z.strictObject({
              alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
              expr: z.string().min(1),
              for: z
                .string()
                .regex(/^\d+[smhd]$/)
                .optional(),
              labels: z.object({ severity: z.enum(["critical", "warning", "info"]) }).catchall(z.string()),
              annotations: z
                .object({ summary: z.string().min(1), description: z.string().optional() })
                .catchall(z.string()),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

async function registeredNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram")
      for (const s of ["_bucket", "_count", "_sum"]) names.add(`${m.name}${s}`);
  }
  return names;
}

function metricNames(text: string): string[] {
  return [...new Set(text.match(/\bchangegate_[a-z0-9_]+/g) ?? [])];
}

describe("deploy/prometheus/alerts.yml", () => {
  const doc = parse(read("prometheus/alerts.yml"));

  test("has the shape of a Prometheus rules file", () => {
    const parsed = RulesFile.safeParse(doc);
    expect(parsed.success ? "" : z.prettifyError(parsed.error)).toBe("");
  });

  test("alerts on a bypass, error rates, queue depth and a low rate limit", () => {
    const rules = RulesFile.parse(doc).groups.flatMap((g) => g.rules);
    const byMetric = (m: string) => rules.filter((r) => r.expr.includes(m)).map((r) => r.alert);
    expect(byMetric("changegate_bypasses_detected_total")).toEqual(["ChangegateBypassDetected"]);
    expect(rules.find((r) => r.alert === "ChangegateBypassDetected")!.labels.severity).toBe("critical");
    expect(byMetric("changegate_github_request_errors_total")).toHaveLength(1);
    expect(byMetric("changegate_jira_request_errors_total")).toHaveLength(1);
    expect(byMetric("changegate_write_queue_depth")).toHaveLength(1);
    expect(byMetric("changegate_github_rate_limit_remaining")).toHaveLength(1);
    // Whatever the scrape job is called: readiness from changegate_ready (what /readyz answers), no hard-coded job.
    expect(byMetric("changegate_ready").sort()).toEqual([
      "ChangegateAbsent",
      "ChangegateDown",
      "ChangegateNotReady",
    ]);
    expect(rules.filter((r) => /job\s*=/.test(r.expr)).map((r) => r.alert)).toEqual([]);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  test("every label an annotation names survives the rule's aggregation", () => {
    const lost: string[] = [];
    for (const r of RulesFile.parse(doc).groups.flatMap((g) => g.rules)) {
      const used = [...JSON.stringify(r.annotations).matchAll(/\$labels\.([a-z_]+)/g)].map((m) => m[1]!);
      const by = /\bby\s*\(([^)]*)\)/.exec(r.expr);
      if (!by) continue;
      const kept = by[1]!.split(",").map((l) => l.trim());
      for (const l of used) if (!kept.includes(l)) lost.push(`${r.alert}: $labels.${l} (by ${by[1]})`);
    }
    expect(lost).toEqual([]);
  });

  test("alerts on the safety nets: a stale or failing scan, a stale (or absent) checkpoint, overdue retroactive reviews", () => {
    const rules = RulesFile.parse(doc).groups.flatMap((g) => g.rules);
    const byMetric = (m: string) => rules.filter((r) => r.expr.includes(m)).map((r) => r.alert);
    expect(byMetric("changegate_audit_scan_last_success_timestamp_seconds")).toEqual([
      "ChangegateAuditScanStale",
    ]);
    // Only while the scan is on (AUDIT_SCAN_INTERVAL=0 is a decision, not an outage).
    expect(rules.find((r) => r.alert === "ChangegateAuditScanStale")!.expr).toContain(
      "changegate_audit_scan_enabled",
    );
    expect(byMetric("changegate_audit_scan_failures_total")).toEqual(["ChangegateAuditScanFailures"]);
    // No key: the gauge stays 0 and this fires (never gated on checkpoints being enabled).
    expect(byMetric("changegate_audit_checkpoint_last_timestamp_seconds")).toEqual([
      "ChangegateCheckpointStale",
    ]);
    expect(rules.find((r) => r.alert === "ChangegateCheckpointStale")!.expr).not.toContain("enabled");
    expect(byMetric("changegate_retro_reviews_overdue_open")).toEqual(["ChangegateRetroReviewOverdue"]);
    // A restart starts the gauges at 0: the alerts look back over the previous process's values.
    for (const a of ["ChangegateAuditScanStale", "ChangegateCheckpointStale"])
      expect(rules.find((r) => r.alert === a)!.expr).toContain("max_over_time");
  });

  test("names only metrics the app exposes", async () => {
    const names = await registeredNames();
    const used = metricNames(read("prometheus/alerts.yml"));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((n) => !names.has(n))).toEqual([]);
  });
});

describe("deploy/grafana/changegate-dashboard.json", () => {
  test("is a dashboard whose queries name only metrics the app exposes, each panel at least one", async () => {
    const dash = JSON.parse(read("grafana/changegate-dashboard.json")) as {
      title: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.title).toBe("changegate");
    const names = await registeredNames();
    for (const panel of dash.panels) {
      const used = panel.targets.flatMap((t) => metricNames(t.expr));
      expect([panel.title, used.length > 0]).toEqual([panel.title, true]);
      expect([panel.title, used.filter((n) => !names.has(n))]).toEqual([panel.title, []]);
    }
    const all = dash.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr)));
    for (const m of [
      "changegate_webhooks_total",
      "changegate_evaluations_total",
      "changegate_evaluation_duration_seconds_bucket",
      "changegate_bypasses_detected_total",
    ]) {
      expect(all).toContain(m);
    }
  });
});

describe("deploy/kubernetes/changegate.yaml", () => {
  const docs = parseAllDocuments(read("kubernetes/changegate.yaml")).map(
    (d) => d.toJS() as Record<string, any>,
  );

  test("a Deployment probing /healthz and /readyz on the container's port, non-root, secrets from a Secret", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["Deployment", "PersistentVolumeClaim", "Service"]);
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    // The webhook port, and /metrics on a port of its own (METRICS_PORT) that the Service does not expose.
    expect(container.ports).toEqual([
      { name: "http", containerPort: 3000 },
      { name: "metrics", containerPort: 9464 },
    ]);
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.envFrom).toEqual([{ secretRef: { name: "changegate" } }]);
    // `env` wins over `envFrom`: nothing the Secret may set is pinned there.
    const pinned = (container.env as { name: string }[]).map((e) => e.name);
    for (const k of ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "DATABASE_URL", "METRICS_TOKEN"])
      expect(pinned).not.toContain(k);
    expect(container.volumeMounts).toEqual([{ name: "data", mountPath: "/app/data" }]);
    expect(pod.volumes[0].persistentVolumeClaim.claimName).toBe(
      docs.find((d) => d.kind === "PersistentVolumeClaim")!.metadata.name,
    );
    // SQLite: one writer, so never two pods at once.
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: "Recreate" } });
    // Longer than the 25 s drain in main.ts.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25);
    const service = docs.find((d) => d.kind === "Service")!;
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  test("/metrics is not open on the webhook port: METRICS_PORT set, scraped there, not exposed by the Service (issue 20 item 9)", () => {
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const [container] = deployment.spec.template.spec.containers;
    const env = Object.fromEntries(
      (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    expect(env.METRICS_PORT).toBe("9464");
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(env.METRICS_PORT);
    const service = docs.find((d) => d.kind === "Service")!;
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(["http"]);
  });

  test("migrations run before the app in an init container: as the owner with the app's role granted (PostgreSQL), the owner's Secret only there (issue 20 item 8)", () => {
    const pod = docs.find((d) => d.kind === "Deployment")!.spec.template.spec;
    const [migrate] = pod.initContainers;
    expect(migrate.name).toBe("migrate");
    expect(migrate.image).toBe(pod.containers[0].image);
    const script = (migrate.command as string[]).join(" ");
    expect(script).toContain("node lib/cli.js db migrate --grant-app-role changegate_app");
    expect(script).toMatch(/DATABASE_OWNER_URL/);
    expect(migrate.envFrom).toEqual([
      { secretRef: { name: "changegate" } },
      { secretRef: { name: "changegate-db-owner", optional: true } },
    ]);
    // The app container never gets the owner's credentials.
    expect(JSON.stringify(pod.containers)).not.toContain("changegate-db-owner");
    expect(JSON.stringify(pod.containers)).not.toContain("DATABASE_OWNER_URL");
    expect(migrate.volumeMounts).toEqual([{ name: "data", mountPath: "/app/data" }]);
  });

  test("runs with the safety nets on: the scan's and checkpoints' schedules, the signing key from its own Secret (required)", () => {
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const [container] = deployment.spec.template.spec.containers;
    const env = new Map(
      (container.env as { name: string; value?: string; valueFrom?: any }[]).map((e) => [e.name, e]),
    );
    expect(env.get("AUDIT_SCAN_INTERVAL")?.value).toBe("1h");
    expect(env.get("AUDIT_CHECKPOINT_INTERVAL")?.value).toBe("1d");
    const key = env.get("AUDIT_SIGNING_KEY")!;
    expect(key.value).toBeUndefined();
    expect(key.valueFrom).toEqual({
      secretKeyRef: { name: "changegate-audit-signing-key", key: "AUDIT_SIGNING_KEY" },
    }); // not optional: no key, no pod
    expect(read("kubernetes/changegate.yaml")).toMatch(/openssl genpkey -algorithm ed25519/);
  });
});

describe("the start command", () => {
  test("the Dockerfile's CMD runs lib/main.js with npm start's Node flags (the young generation's cap)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      scripts: { start: string };
    };
    const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    expect((JSON.parse(cmd![1]!) as string[]).join(" ")).toBe(pkg.scripts.start);
    expect(pkg.scripts.start).toMatch(/--max-semi-space-size=4 lib\/main\.js$/);
  });
});
