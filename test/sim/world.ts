/**
 * A world for end-to-end scenarios and benchmarks: the simulator, changegate installed as a GitHub
 * App (its manifest's events from app.yml), changegate running as a process, and the webhooks
 * the simulator produces delivered to it as GitHub would (or held back, to reorder or drop them).
 */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CHECK_NAME, DIGEST_MARKER } from "../../src/contract.js";
import { appKeyPair, ChangegateProcess, ROOT, type Delivery } from "./driver.js";
import type { SimCheckRun, SimComment, SimInstallation, SimPull, SimRepo, SimWebhook } from "./model.js";
import { Simulator, type SimRequest, type SimulatorOptions } from "./server.js";

export const APP_SLUG = "changegate";

export interface WorldOptions {
  appId?: number;
  /** Extra environment for changegate (CHANGEGATE_*, JIRA_* overrides). */
  env?: Record<string, string | undefined>;
  /** Simulator options (e.g. scaled-down write limits). */
  sim?: SimulatorOptions;
  logLevel?: string;
  /** Start changegate configured for the simulator's Jira (cloud or Data Center). */
  jira?: "cloud" | "datacenter" | null;
  /** Deliver the simulator's webhooks to changegate as they happen (default true). */
  autoDeliver?: boolean;
  /** Turn on changegate's Jira webhook route with this secret; Jira's issue events are then delivered to it. */
  jiraWebhookSecret?: string;
  /** Keep changegate's working directory and audit store (audit.db) here, and leave them after stop() (the demo). */
  dataDir?: string;
  /** GitHub's state before changegate starts (installations, repositories, merges: their webhooks are never delivered). */
  setup?: (sim: Simulator, appId: number) => void;
}

/** The events changegate's manifest subscribes to. */
export function manifestEvents(): string[] {
  const manifest = parseYaml(readFileSync(join(ROOT, "app.yml"), "utf8")) as { default_events?: string[] };
  return manifest.default_events ?? [];
}

/** The permissions changegate's manifest asks for (the installation grants them unless a test says otherwise). */
export function manifestPermissions(): Record<string, string> {
  const manifest = parseYaml(readFileSync(join(ROOT, "app.yml"), "utf8")) as {
    default_permissions?: Record<string, string>;
  };
  return { ...(manifest.default_permissions ?? {}) };
}

export interface ApiCount {
  reads: number;
  writes: number;
  restReads: number;
  tokens: number;
  jira: number;
  requests: SimRequest[];
}

export class World {
  autoDeliver: boolean;
  /** Webhooks not delivered because autoDeliver was off. */
  readonly held: SimWebhook[] = [];
  private orgSeq = 0;

  private constructor(
    readonly sim: Simulator,
    readonly cg: ChangegateProcess,
    readonly appId: number,
    readonly privateKey: string,
    readonly secret: string,
    options: WorldOptions,
  ) {
    this.autoDeliver = options.autoDeliver ?? true;
    // GitHub's side of a delivery: sent to the app's URL and logged per attempt (GET /app/hook/deliveries).
    sim.deliveries.setSender(appId, (name, body, guid) =>
      this.cg.deliver(name, JSON.parse(body), { id: guid, body }),
    );
    sim.model.onWebhook((hook) => {
      if (hook.appId !== this.appId) return;
      if (this.autoDeliver) void sim.deliveries.send(hook);
      else this.held.push(hook);
    });
    const jiraSecret = options.jiraWebhookSecret;
    if (jiraSecret) sim.jira.onWebhook((hook) => void this.cg.deliverJira(hook.payload, jiraSecret));
  }

  static async start(options: WorldOptions = {}): Promise<World> {
    const sim = await Simulator.start(options.sim);
    const appId = options.appId ?? 4242;
    const { privateKey } = appKeyPair();
    const secret = `whsec-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    sim.model.addApp({
      id: appId,
      slug: APP_SLUG,
      publicKey: createPublicKey(privateKey),
      events: manifestEvents(),
      permissions: manifestPermissions(),
    });
    if (options.jira) sim.jira.flavour = options.jira;
    options.setup?.(sim, appId);
    const env = {
      ...(options.jira ? sim.jira.env() : {}),
      ...(options.jiraWebhookSecret ? { JIRA_WEBHOOK_SECRET: options.jiraWebhookSecret } : {}),
      ...(options.env ?? {}),
    };
    let cg: ChangegateProcess;
    try {
      cg = await ChangegateProcess.start({
        sim,
        appId,
        privateKey,
        webhookSecret: secret,
        env,
        logLevel: options.logLevel,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      });
    } catch (err) {
      await sim.stop();
      throw err;
    }
    return new World(sim, cg, appId, privateKey, secret, options);
  }

  async stop(): Promise<void> {
    await this.cg.stop();
    await this.sim.stop();
  }

  get model() {
    return this.sim.model;
  }

  /** A new organisation with changegate installed (its own installation, so its own write queue). */
  org(name?: string): { owner: string; installation: SimInstallation } {
    const owner = name ?? `org${++this.orgSeq}-${Math.random().toString(36).slice(2, 6)}`;
    const installation = this.sim.model.addInstallation(this.appId, owner);
    return { owner, installation };
  }

  /** A repository in a new organisation, with an optional policy file. */
  repo(
    opts: {
      policy?: string | null;
      orgPolicy?: string;
      name?: string;
      org?: { owner: string; installation: SimInstallation };
      /**
       * An active ruleset requiring the `changegate` check from this app on every branch, set up
       * without a webhook (default true: a well-configured repository; false: nothing requires it).
       */
      enforced?: boolean;
    } = {},
  ): {
    repo: SimRepo;
    installation: SimInstallation;
  } {
    const o = opts.org ?? this.org();
    const files: Record<string, string> = {};
    if (opts.policy) files[".github/changegate.yml"] = opts.policy;
    const repo = this.model.addRepo({ owner: o.owner, name: opts.name ?? "service", files });
    if (opts.enforced ?? true)
      this.model.addRuleset(
        repo,
        {
          name: "changegate required",
          include: ["~ALL"],
          checks: [{ context: CHECK_NAME, appId: this.appId }],
        },
        o.owner,
        { silent: true },
      );
    if (opts.orgPolicy !== undefined)
      this.model.addRepo({
        owner: o.owner,
        name: ".github",
        files: { ".github/changegate.yml": opts.orgPolicy },
      });
    return { repo, installation: o.installation };
  }

  /**
   * Change state without telling changegate (the webhooks are dropped, as if GitHub lost them):
   * sets up a PR whose next single event causes exactly one evaluation.
   */
  quietly<T>(fn: () => T): T {
    const was = this.autoDeliver;
    this.autoDeliver = false;
    try {
      return fn();
    } finally {
      this.autoDeliver = was;
      this.held.length = 0;
    }
  }

  /** Deliver the held webhooks (in the given order, default as produced) and clear them. */
  async release(order: (hooks: SimWebhook[]) => SimWebhook[] = (h) => h): Promise<void> {
    const hooks = order(this.held.splice(0));
    await Promise.all(hooks.map((h) => this.sim.deliveries.send(h)));
  }

  settle(timeoutMs = 30_000): Promise<void> {
    return this.cg.quiesce({ timeoutMs });
  }

  /** changegate's newest check run on the PR's head. */
  check(pr: SimPull): SimCheckRun | undefined {
    const runs = this.model
      .runsOn(pr.repo, this.model.headSha(pr))
      .filter((r) => r.appId === this.appId && r.name === CHECK_NAME);
    return runs[runs.length - 1];
  }

  /** All of changegate's check runs on any commit of the PR. */
  checks(pr: SimPull): SimCheckRun[] {
    return [...this.model.checkRuns.values()].filter(
      (r) => r.repo === pr.repo && pr.commits.includes(r.headSha) && r.appId === this.appId,
    );
  }

  digests(pr: SimPull): SimComment[] {
    return this.model
      .commentsOf(pr.repo, pr.number)
      .filter((c) => c.appId === this.appId && c.body.includes(DIGEST_MARKER));
  }

  digest(pr: SimPull): SimComment | undefined {
    return this.digests(pr)[0];
  }

  /** GitHub (and Jira) requests since `seq` made with this installation's token. */
  api(seq: number, installation?: SimInstallation): ApiCount {
    const requests = this.sim.since(
      seq,
      (r) => r.target === "jira" || installation === undefined || r.installationId === installation.id,
    );
    const gh = requests.filter((r) => r.target === "github");
    return {
      reads: gh.filter((r) => r.route === "POST /graphql").length,
      writes: gh.filter(
        (r) => r.method !== "GET" && r.route !== "POST /graphql" && !r.route.includes("access_tokens"),
      ).length,
      restReads: gh.filter((r) => r.method === "GET").length,
      tokens: gh.filter((r) => r.route.includes("access_tokens")).length,
      jira: requests.filter((r) => r.target === "jira").length,
      requests,
    };
  }

  deliveries(): Delivery[] {
    return this.cg.deliveries;
  }
}

/** The pieces of a check run a test usually asserts on. */
export function summarize(
  run: SimCheckRun | undefined,
): { status: string; conclusion: string | null; title: string | null } | null {
  return run ? { status: run.status, conclusion: run.conclusion, title: run.title } : null;
}
