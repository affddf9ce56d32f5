/**
 * The simulator's HTTP side: a GitHub Enterprise Server (REST under /api/v3, GraphQL at
 * /api/graphql) and a Jira, on 127.0.0.1 at random free ports. Every request is recorded (method,
 * route, GraphQL operation, installation, status, timing) and may be answered by an injected fault.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import { SearchRules, searchIssues } from "./search.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Fault, SECONDARY_LIMIT_MESSAGE, type FaultSpec, type RequestFacts } from "./faults.js";
import { executeGraphql, type Viewer } from "./graphql.js";
import { WriteLimitEnforcer, type SimWriteLimits } from "./write-limits.js";
import { JiraModel } from "./jira.js";
import {
  activityJson,
  checkRunJson,
  commentJson,
  commitJson,
  installationJson,
  labelJson,
  pullJson,
  pullSimpleJson,
  repoJson,
  reviewJson,
  statusJson,
  appJson,
  userJson,
} from "./json.js";
import { pullFileJson } from "./pull-files.js";
import { issueJson, listIssues, openIssue } from "./issues.js";
import { MAX_PR_FILES } from "./model.js";
import { DeliveryLog, deliveryItemJson, deliveryJson } from "./deliveries.js";
import { branchList, compareCommits } from "./branches.js";
import { branchRules, classicRequiredChecks, rulesetJson, rulesetsOf } from "./rulesets.js";
import {
  CHECK_CONCLUSIONS,
  CHECK_STATUSES,
  GitHubModel,
  SimHttpError,
  type CheckConclusion,
  type CheckStatus,
  type SimApp,
  type SimInstallation,
  type SimRepo,
} from "./model.js";

export interface SimRequest {
  seq: number;
  target: "github" | "jira";
  method: string;
  /** Path without the query (REST paths keep their /api/v3 prefix). */
  path: string;
  /** Route template ("POST /repos/{owner}/{repo}/check-runs"; "POST /graphql" for GraphQL). */
  route: string;
  operation: string | null;
  installationId: number | null;
  appId: number | null;
  repo: string | null;
  /** Date.now() when the request arrived and when it was answered. */
  at: number;
  doneAt: number | null;
  status: number | null;
  fault: string | null;
  /** GraphQL variables / REST JSON body (kept for assertions). */
  body: unknown;
}

interface Auth {
  installation: SimInstallation;
  app: SimApp;
  botLogin: string;
}

interface Ctx {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  auth: Auth | null;
  jwtApp: SimApp | null;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Handler = (ctx: Ctx) => Answer;

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  auth: "installation" | "jwt";
  handler: Handler;
}

const DOCS = "https://docs.github.com/enterprise-server@3.19/rest";

export interface SimulatorOptions {
  /** Seconds an installation token lives (GitHub: 3600). */
  tokenTtlSeconds?: number;
  /** GitHub's limits on content-creating writes (test/sim/write-limits.ts); default 80/min, 500/h. */
  writeLimits?: SimWriteLimits;
}

export class Simulator {
  readonly model = new GitHubModel();
  readonly jira = new JiraModel();
  readonly requests: SimRequest[] = [];
  readonly tokens = new Map<string, { installationId: number; appId: number; expiresAt: number }>();
  /** GitHub's write limits, enforced; `violations` lists every write refused by them. */
  readonly writeLimits: WriteLimitEnforcer;
  githubUrl = "";
  jiraUrl = "";
  /** GHE_HOST for changegate: 127.0.0.1:PORT */
  gheHost = "";
  private readonly faults: Fault[] = [];
  private readonly routes: Route[] = [];
  /** The apps' webhook delivery logs (test/sim/deliveries.ts): World sends the model's webhooks through it. */
  readonly deliveries = new DeliveryLog();
  /** GitHub search's rules (cap, rate): test/sim/search.ts. */
  readonly searchRules = new SearchRules();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private seq = 0;
  private inFlightCount = 0;
  private lastActivity = Date.now();

  private constructor(private readonly options: SimulatorOptions) {
    this.writeLimits = new WriteLimitEnforcer(options.writeLimits);
    this.defineRoutes();
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator(options);
    const gh = await sim.listen((req, res) => void sim.onGithub(req, res));
    const jira = await sim.listen((req, res) => void sim.onJira(req, res));
    sim.gheHost = `127.0.0.1:${gh}`;
    sim.githubUrl = `http://127.0.0.1:${gh}`;
    sim.jiraUrl = `http://127.0.0.1:${jira}`;
    sim.model.apiBase = `${sim.githubUrl}/api/v3`;
    sim.model.webBase = sim.githubUrl;
    sim.jira.baseUrl = sim.jiraUrl;
    return sim;
  }

  private listen(fn: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    const server = createServer(fn);
    server.keepAliveTimeout = 5000;
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.servers.push(server);
    return new Promise((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
    );
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  // ---------------------------------------------------------------- set-up helpers

  /** Register an app (with the public key its JWTs are checked against) and install it on `account`. */
  installApp(
    app: { id: number; slug: string; privateKeyPem?: string; events?: string[] | null },
    account: string,
    installationId?: number,
  ): SimInstallation {
    if (!this.model.apps.has(app.id)) {
      const publicKey: KeyObject | null = app.privateKeyPem ? createPublicKey(app.privateKeyPem) : null;
      this.model.addApp({ id: app.id, slug: app.slug, publicKey, events: app.events ?? null });
    }
    return this.model.addInstallation(app.id, account, installationId);
  }

  // ---------------------------------------------------------------- faults and the request log

  fault(spec: FaultSpec): Fault {
    const f = new Fault(spec);
    this.faults.push(f);
    return f;
  }

  clearFaults(): void {
    for (const f of this.faults) f.remove();
    this.faults.length = 0;
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** ms since the last request arrived or was answered. */
  idleFor(): number {
    return this.inFlightCount > 0 ? 0 : Date.now() - this.lastActivity;
  }

  /** Requests since `seq` (exclusive), optionally filtered. */
  since(seq: number, filter: (r: SimRequest) => boolean = () => true): SimRequest[] {
    return this.requests.filter((r) => r.seq > seq && filter(r));
  }

  get lastSeq(): number {
    return this.seq;
  }

  // ---------------------------------------------------------------- HTTP plumbing

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  private send(res: ServerResponse, rec: SimRequest, a: Answer): void {
    const body = a.body === undefined ? "" : typeof a.body === "string" ? a.body : JSON.stringify(a.body);
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "x-github-request-id": `SIM:${rec.seq}`,
      ...(rec.target === "github"
        ? {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
            "x-ratelimit-resource": rec.route === "POST /graphql" ? "graphql" : "core",
            "x-github-enterprise-version": "3.19.0",
          }
        : {}),
      ...(a.headers ?? {}),
    };
    if (a.status === 204) delete headers["content-type"];
    this.finish(rec, a.status);
    res.writeHead(a.status, headers).end(a.status === 204 ? undefined : body);
  }

  private finish(rec: SimRequest, status: number | null): void {
    rec.status = status;
    rec.doneAt = Date.now();
    this.inFlightCount--;
    this.lastActivity = Date.now();
  }

  private record(target: "github" | "jira", method: string, path: string): SimRequest {
    this.inFlightCount++;
    this.lastActivity = Date.now();
    const rec: SimRequest = {
      seq: ++this.seq,
      target,
      method,
      path,
      route: `${method} ${path}`,
      operation: null,
      installationId: null,
      appId: null,
      repo: null,
      at: Date.now(),
      doneAt: null,
      status: null,
      fault: null,
      body: null,
    };
    this.requests.push(rec);
    return rec;
  }

  /** Apply the first matching fault; returns true when the request has been answered by it. */
  private async applyFault(res: ServerResponse, rec: SimRequest, facts: RequestFacts): Promise<boolean> {
    const f = this.faults.find((x) => x.matches(facts) && x.take());
    if (!f) return false;
    const s = f.spec;
    rec.fault = s.kind;
    switch (s.kind) {
      case "status": {
        const status = s.status ?? 502;
        const body =
          rec.target === "jira"
            ? { errorMessages: [s.message ?? "Service unavailable"], errors: {} }
            : { message: s.message ?? (status >= 500 ? "Server Error" : "Error"), documentation_url: DOCS };
        this.send(res, rec, { status, body });
        return true;
      }
      case "secondary": {
        const status = s.status ?? 403;
        if (rec.installationId !== null && WriteLimitEnforcer.isWrite(rec.method, rec.route)) {
          this.writeLimits.secondaryAnswered(
            rec.installationId,
            Date.now() + (s.retryAfterSeconds ?? 1) * 1000,
          );
        }
        this.send(res, rec, {
          status,
          body: {
            message: SECONDARY_LIMIT_MESSAGE,
            documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          },
          headers: { "retry-after": String(s.retryAfterSeconds ?? 1), "x-ratelimit-remaining": "4000" },
        });
        return true;
      }
      case "delay":
        await new Promise((r) => setTimeout(r, s.ms));
        return false;
      case "hang":
        this.hanging.add(res);
        res.on("close", () => {
          this.hanging.delete(res);
          if (rec.doneAt === null) this.finish(rec, null);
        });
        return true;
      case "malformed":
        this.send(res, rec, {
          status: 200,
          body: s.body ?? '{"data": {"repository": {"nameWithOwner": "trunc',
        });
        return true;
      case "malformedData":
        this.send(res, rec, {
          status: 200,
          body: { data: s.data ?? { repository: { nameWithOwner: 42, pullRequest: "not an object" } } },
        });
        return true;
      case "reset":
        this.finish(rec, null);
        res.socket?.destroy();
        return true;
    }
  }

  private async onJira(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const rec = this.record("jira", method, url.pathname);
    rec.route = `${method} ${url.pathname.replace(/\/issue\/(?!bulkfetch$)[^/]+$/, "/issue/{key}")}`;
    try {
      const raw = await this.readBody(req);
      let body: unknown = null;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          this.send(res, rec, {
            status: 400,
            body: { errorMessages: ["Unexpected character in JSON body"], errors: {} },
          });
          return;
        }
      }
      rec.body = body ?? Object.fromEntries(url.searchParams);
      const facts: RequestFacts = {
        target: "jira",
        method,
        line: `${method} ${url.pathname}`,
        route: rec.route,
        operation: null,
        installationId: null,
        repo: null,
      };
      if (await this.applyFault(res, rec, facts)) return;
      const a = this.jira.handle(method, url.pathname, url.searchParams, body, req.headers.authorization);
      this.send(res, rec, a);
    } catch (err) {
      this.send(res, rec, {
        status: 500,
        body: { errorMessages: [`simulator error: ${(err as Error).message}`], errors: {} },
      });
    }
  }

  private async onGithub(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const rec = this.record("github", method, url.pathname);
    try {
      const raw = await this.readBody(req);
      let body: Record<string, unknown> = {};
      if (raw) {
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          this.send(res, rec, {
            status: 400,
            body: { message: "Problems parsing JSON", documentation_url: DOCS },
          });
          return;
        }
      }

      if (url.pathname === "/api/graphql") {
        rec.route = "POST /graphql";
        const query = typeof body.query === "string" ? body.query : "";
        rec.operation =
          (typeof body.operationName === "string" && body.operationName) ||
          /^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ||
          null;
        const vars = (body.variables ?? {}) as Record<string, unknown>;
        rec.body = vars;
        rec.repo =
          typeof vars.owner === "string" && typeof vars.name === "string"
            ? `${vars.owner}/${vars.name}`
            : null;
        const auth = this.installationAuth(req.headers.authorization);
        if (!auth.ok) return this.send(res, rec, auth.answer);
        rec.installationId = auth.auth.installation.id;
        rec.appId = auth.auth.app.id;
        if (method !== "POST")
          return this.send(res, rec, {
            status: 404,
            body: { message: "Not Found", documentation_url: DOCS },
          });
        const facts: RequestFacts = {
          target: "github",
          method,
          line: `${method} /graphql`,
          route: rec.route,
          operation: rec.operation,
          installationId: rec.installationId,
          repo: rec.repo,
        };
        if (await this.applyFault(res, rec, facts)) return;
        const viewer: Viewer = auth.auth;
        const result = executeGraphql(this.model, viewer, body);
        return this.send(res, rec, { status: 200, body: result.body });
      }

      if (!url.pathname.startsWith("/api/v3/")) {
        return this.send(res, rec, { status: 404, body: { message: "Not Found", documentation_url: DOCS } });
      }
      const path = url.pathname.slice("/api/v3".length);
      const found = this.match(method, path);
      if (!found) {
        return this.send(res, rec, { status: 404, body: { message: "Not Found", documentation_url: DOCS } });
      }
      const { route, params } = found;
      rec.route = `${method} ${route.template}`;
      rec.body = body;
      if (params.owner && params.repo) rec.repo = `${params.owner}/${params.repo}`;
      const ctx: Ctx = { params, query: url.searchParams, body, auth: null, jwtApp: null };
      if (route.auth === "jwt") {
        const jwt = this.jwtAuth(req.headers.authorization);
        if (!jwt.ok) return this.send(res, rec, jwt.answer);
        ctx.jwtApp = jwt.app;
        rec.appId = jwt.app.id;
      } else {
        const auth = this.installationAuth(req.headers.authorization);
        if (!auth.ok) return this.send(res, rec, auth.answer);
        ctx.auth = auth.auth;
        rec.installationId = auth.auth.installation.id;
        rec.appId = auth.auth.app.id;
      }
      if (params.installation_id) rec.installationId = Number(params.installation_id);
      const facts: RequestFacts = {
        target: "github",
        method,
        line: `${method} ${path}`,
        route: rec.route,
        operation: null,
        installationId: rec.installationId,
        repo: rec.repo,
      };
      if (await this.applyFault(res, rec, facts)) return;
      const refused =
        rec.installationId !== null && route.auth === "installation"
          ? this.writeLimits.admit(rec.installationId, method, rec.route)
          : null;
      if (refused) {
        rec.fault = "write-limit";
        return this.send(res, rec, {
          status: 403,
          body: {
            message: SECONDARY_LIMIT_MESSAGE,
            documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          },
          headers: { "retry-after": String(refused.retryAfterSeconds) },
        });
      }
      let answer: Answer;
      try {
        answer = route.handler(ctx);
      } catch (err) {
        if (!(err instanceof SimHttpError)) throw err;
        answer = {
          status: err.status,
          body: { message: err.message, documentation_url: DOCS, ...err.extra },
        };
      }
      this.send(res, rec, answer);
    } catch (err) {
      this.send(res, rec, { status: 500, body: { message: `simulator error: ${(err as Error).stack}` } });
    }
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | null {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { route, params };
    }
    return null;
  }

  private installationAuth(
    header: string | undefined,
  ): { ok: true; auth: Auth } | { ok: false; answer: Answer } {
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header ?? "");
    if (!m)
      return {
        ok: false,
        answer: { status: 401, body: { message: "Requires authentication", documentation_url: DOCS } },
      };
    const t = this.tokens.get(m[1]!);
    if (!t || t.expiresAt < Date.now())
      return {
        ok: false,
        answer: { status: 401, body: { message: "Bad credentials", documentation_url: DOCS } },
      };
    const installation = this.model.installations.get(t.installationId)!;
    const app = this.model.app(t.appId);
    return { ok: true, auth: { installation, app, botLogin: `${app.slug}[bot]` } };
  }

  private jwtAuth(header: string | undefined): { ok: true; app: SimApp } | { ok: false; answer: Answer } {
    const fail = (message: string): { ok: false; answer: Answer } => ({
      ok: false,
      answer: { status: 401, body: { message, documentation_url: DOCS } },
    });
    const m = /^bearer\s+([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(header ?? "");
    if (!m) return fail("A JSON web token could not be decoded");
    let head: { alg?: string };
    let claims: { iss?: string | number; iat?: number; exp?: number };
    try {
      head = JSON.parse(Buffer.from(m[1]!, "base64url").toString("utf8")) as typeof head;
      claims = JSON.parse(Buffer.from(m[2]!, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return fail("A JSON web token could not be decoded");
    }
    if (head.alg !== "RS256") return fail("A JSON web token could not be decoded");
    const app = this.model.apps.get(Number(claims.iss));
    if (!app) return fail(`Integration not found`);
    const now = Date.now() / 1000;
    if (typeof claims.exp !== "number" || typeof claims.iat !== "number")
      return fail("'Issued at' and 'Expiration time' claims are required");
    if (claims.exp < now)
      return fail(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    if (claims.exp - claims.iat > 600)
      return fail("'Expiration time' claim ('exp') is too far in the future");
    if (claims.iat > now + 60)
      return fail(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    if (app.publicKey) {
      const ok = verify(
        "RSA-SHA256",
        Buffer.from(`${m[1]}.${m[2]}`),
        app.publicKey,
        Buffer.from(m[3]!, "base64url"),
      );
      if (!ok) return fail("A JSON web token could not be decoded");
    }
    return { ok: true, app };
  }

  // ---------------------------------------------------------------- REST routes

  private route(
    method: string,
    template: string,
    handler: Handler,
    auth: Route["auth"] = "installation",
  ): void {
    const names: string[] = [];
    const regex = new RegExp(
      "^" +
        template.replace(/\{(\w+)\}/g, (_m, name: string) => {
          names.push(name);
          return name === "path" ? "(.+)" : "([^/]+)";
        }) +
        "/?$",
    );
    this.routes.push({ method, template, regex, names, auth, handler });
  }

  /** The repository named by the route, if the caller's installation can see it. */
  private repoOf(ctx: Ctx): SimRepo {
    const r = this.model.repo(`${ctx.params.owner}/${ctx.params.repo}`);
    if (!r || !ctx.auth || r.owner.toLowerCase() !== ctx.auth.installation.account.toLowerCase())
      throw new SimHttpError(404, "Not Found");
    return r;
  }

  private page<T>(ctx: Ctx, items: T[], path: string): Answer & { body: T[] } {
    const perPage = Math.min(Math.max(Number(ctx.query.get("per_page") ?? 30) || 30, 1), 100);
    const page = Math.max(Number(ctx.query.get("page") ?? 1) || 1, 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const links: string[] = [];
    const u = (p: number) => {
      const q = new URLSearchParams(ctx.query);
      q.set("page", String(p));
      q.set("per_page", String(perPage));
      return `<${this.model.apiBase}${path}?${q.toString()}>`;
    };
    if (page < last) links.push(`${u(page + 1)}; rel="next"`, `${u(last)}; rel="last"`);
    if (page > 1) links.push(`${u(1)}; rel="first"`, `${u(page - 1)}; rel="prev"`);
    return { status: 200, body: slice, headers: links.length ? { link: links.join(", ") } : {} };
  }

  private defineRoutes(): void {
    const m = this.model;

    this.route(
      "POST",
      "/app/installations/{installation_id}/access_tokens",
      (ctx) => {
        const inst = m.installations.get(Number(ctx.params.installation_id));
        if (!inst || inst.appId !== ctx.jwtApp!.id) throw new SimHttpError(404, "Not Found");
        if (inst.suspended) throw new SimHttpError(403, "This installation has been suspended");
        const token = `ghs_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
        const ttl = (this.options.tokenTtlSeconds ?? 3600) * 1000;
        const expiresAt = Date.now() + ttl;
        this.tokens.set(token, { installationId: inst.id, appId: inst.appId, expiresAt });
        return {
          status: 201,
          body: {
            token,
            expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
            permissions: m.permissionsOf(inst),
            repository_selection: "all",
          },
        };
      },
      "jwt",
    );
    this.route("GET", "/app", (ctx) => ({ status: 200, body: appJson(m, ctx.jwtApp!) }), "jwt");
    this.route(
      "GET",
      "/app/installations",
      (ctx) => ({
        status: 200,
        body: [...m.installations.values()]
          .filter((i) => i.appId === ctx.jwtApp!.id)
          .map((i) => installationJson(m, i)),
      }),
      "jwt",
    );
    this.route(
      "GET",
      "/app/installations/{installation_id}",
      (ctx) => {
        const inst = m.installations.get(Number(ctx.params.installation_id));
        if (!inst || inst.appId !== ctx.jwtApp!.id) throw new SimHttpError(404, "Not Found");
        return { status: 200, body: installationJson(m, inst) };
      },
      "jwt",
    );
    this.route(
      "GET",
      "/repos/{owner}/{repo}/installation",
      (ctx) => {
        const r = m.repo(`${ctx.params.owner}/${ctx.params.repo}`);
        const inst = r && m.installationsFor(r).find((i) => i.appId === ctx.jwtApp!.id);
        if (!inst) throw new SimHttpError(404, "Not Found");
        return { status: 200, body: installationJson(m, inst) };
      },
      "jwt",
    );
    // The app's webhook delivery log (app JWT only): newest first, cursor pagination (Link header).
    this.route(
      "GET",
      "/app/hook/deliveries",
      (ctx) => {
        const perPage = Math.min(Math.max(Number(ctx.query.get("per_page") ?? 30) || 30, 1), 100);
        const all = this.deliveries.list(ctx.jwtApp!.id);
        const cursor = ctx.query.get("cursor");
        let start = 0;
        if (cursor) {
          const m = /^v1_(\d+)$/.exec(cursor);
          if (!m) throw new SimHttpError(400, "Invalid cursor");
          start = all.findIndex((a) => a.id <= Number(m[1]));
          if (start < 0) start = all.length;
        }
        const status = ctx.query.get("status");
        const pageItems = all.slice(start, start + perPage);
        const next = all[start + perPage];
        const headers: Record<string, string> = {};
        if (next) {
          const q = new URLSearchParams({ per_page: String(perPage), cursor: `v1_${next.id}` });
          headers.link = `<${this.model.apiBase}/app/hook/deliveries?${q.toString()}>; rel="next"`;
        }
        const shown =
          status === "success"
            ? pageItems.filter((a) => a.status_code < 400)
            : status === "failure"
              ? pageItems.filter((a) => a.status_code >= 400)
              : pageItems;
        return { status: 200, body: shown.map(deliveryItemJson), headers };
      },
      "jwt",
    );
    this.route(
      "GET",
      "/app/hook/deliveries/{delivery_id}",
      (ctx) => {
        const a = this.deliveries.get(ctx.jwtApp!.id, Number(ctx.params.delivery_id));
        if (!a) throw new SimHttpError(404, "Not Found");
        return { status: 200, body: deliveryJson(a) };
      },
      "jwt",
    );
    this.route(
      "POST",
      "/app/hook/deliveries/{delivery_id}/attempts",
      (ctx) => {
        const sent = this.deliveries.redeliver(ctx.jwtApp!.id, Number(ctx.params.delivery_id));
        if (!sent) throw new SimHttpError(404, "Not Found");
        return { status: 202, body: {} };
      },
      "jwt",
    );
    this.route("GET", "/rate_limit", () => {
      const r = { limit: 5000, used: 1, remaining: 4999, reset: Math.floor(Date.now() / 1000) + 3600 };
      return { status: 200, body: { resources: { core: r, graphql: r, search: r }, rate: r } };
    });

    this.route("GET", "/search/issues", (ctx) =>
      searchIssues(
        m,
        this.searchRules,
        { key: `installation:${ctx.auth!.installation.id}`, account: ctx.auth!.installation.account },
        ctx.query,
      ),
    );
    this.route("GET", "/installation/repositories", (ctx) => {
      const account = ctx.auth!.installation.account.toLowerCase();
      const repos = [...m.repos.values()]
        .filter((r) => r.owner.toLowerCase() === account)
        .sort((a, b) => a.id - b.id);
      const pg = this.page(ctx, repos, "/installation/repositories");
      return {
        status: 200,
        headers: pg.headers,
        body: {
          total_count: repos.length,
          repository_selection: "all",
          repositories: pg.body.map((r) => repoJson(m, r)),
        },
      };
    });
    this.route("GET", "/repos/{owner}/{repo}", (ctx) => ({
      status: 200,
      body: { ...repoJson(m, this.repoOf(ctx)), network_count: 0, subscribers_count: 0 },
    }));

    this.route("GET", "/repos/{owner}/{repo}/pulls", (ctx) => {
      const r = this.repoOf(ctx);
      const state = ctx.query.get("state") ?? "open";
      const head = ctx.query.get("head");
      const base = ctx.query.get("base");
      const direction = ctx.query.get("direction") ?? "desc";
      const pulls = [...m.pulls.values()]
        .filter((p) => p.repo === r.fullName && (state === "all" || p.state === state))
        .filter((p) => !head || `${r.owner}:${p.headRef}` === head)
        .filter((p) => !base || p.baseRef === base)
        .sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
      const pg = this.page(ctx, pulls, `/repos/${r.fullName}/pulls`);
      return { ...pg, body: pg.body.map((p) => pullSimpleJson(m, p)) };
    });
    this.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", (ctx) => {
      const r = this.repoOf(ctx);
      const pr = m.pull(r.fullName, Number(ctx.params.pull_number));
      if (!pr) throw new SimHttpError(404, "Not Found");
      return { status: 200, body: pullJson(m, pr) };
    });
    this.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", (ctx) => {
      const r = this.repoOf(ctx);
      const pr = m.pull(r.fullName, Number(ctx.params.pull_number));
      if (!pr) throw new SimHttpError(404, "Not Found");
      const pg = this.page(ctx, m.reviewsOf(pr), `/repos/${r.fullName}/pulls/${pr.number}/reviews`);
      return { ...pg, body: pg.body.map((x) => reviewJson(m, x)) };
    });
    // The changed files, as GitHub lists them: per_page at most 100, the first 3,000 files only.
    this.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", (ctx) => {
      const r = this.repoOf(ctx);
      const pr = m.pull(r.fullName, Number(ctx.params.pull_number));
      if (!pr) throw new SimHttpError(404, "Not Found");
      const pg = this.page(
        ctx,
        (pr.files ?? []).slice(0, MAX_PR_FILES),
        `/repos/${r.fullName}/pulls/${pr.number}/files`,
      );
      return { ...pg, body: pg.body.map((f) => pullFileJson(m.apiBase, pr, f)) };
    });
    this.route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", (ctx) => {
      const r = this.repoOf(ctx);
      const pr = m.pull(r.fullName, Number(ctx.params.pull_number));
      if (!pr) throw new SimHttpError(404, "Not Found");
      const pg = this.page(ctx, pr.commits, `/repos/${r.fullName}/pulls/${pr.number}/commits`);
      return { ...pg, body: pg.body.map((sha) => commitJson(m, m.commits.get(sha)!)) };
    });
    this.route("GET", "/repos/{owner}/{repo}/commits/{ref}/pulls", (ctx) => {
      const r = this.repoOf(ctx);
      const pulls = [...m.pulls.values()].filter(
        (p) => p.repo === r.fullName && p.commits.includes(ctx.params.ref!),
      );
      return { status: 200, body: pulls.map((p) => pullSimpleJson(m, p)) };
    });

    this.route("POST", "/repos/{owner}/{repo}/check-runs", (ctx) => {
      const r = this.repoOf(ctx);
      const input = checkRunInput(ctx.body, true);
      const run = m.createCheckRun(r, ctx.auth!.app.id, {
        ...input,
        name: input.name!,
        headSha: String(ctx.body.head_sha),
      });
      return { status: 201, body: checkRunJson(m, run) };
    });
    this.route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
      const r = this.repoOf(ctx);
      const run = m.checkRuns.get(Number(ctx.params.check_run_id));
      if (!run || run.repo !== r.fullName) throw new SimHttpError(404, "Not Found");
      if (run.appId !== ctx.auth!.app.id)
        throw new SimHttpError(
          403,
          "Invalid app_id `" +
            ctx.auth!.app.id +
            "` - check run can only be modified by the GitHub App that created it.",
        );
      const input = checkRunInput(ctx.body, false);
      m.updateCheckRun(run, input);
      return { status: 200, body: checkRunJson(m, run) };
    });
    this.route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
      const r = this.repoOf(ctx);
      const run = m.checkRuns.get(Number(ctx.params.check_run_id));
      if (!run || run.repo !== r.fullName) throw new SimHttpError(404, "Not Found");
      return { status: 200, body: checkRunJson(m, run) };
    });
    this.route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", (ctx) => {
      const r = this.repoOf(ctx);
      const sha = this.resolveRef(r, ctx.params.ref!);
      let runs = m.runsOn(r.fullName, sha);
      const name = ctx.query.get("check_name");
      if (name) runs = runs.filter((x) => x.name === name);
      const appId = ctx.query.get("app_id");
      if (appId) runs = runs.filter((x) => x.appId === Number(appId));
      if ((ctx.query.get("filter") ?? "latest") === "latest") {
        const newest = new Map<string, (typeof runs)[number]>();
        for (const x of runs) {
          const k = `${x.suiteId}\u0000${x.name}`;
          if (!newest.has(k) || newest.get(k)!.id < x.id) newest.set(k, x);
        }
        runs = [...newest.values()];
      }
      runs.sort((a, b) => b.id - a.id);
      const pg = this.page(ctx, runs, `/repos/${r.fullName}/commits/${ctx.params.ref}/check-runs`);
      return {
        status: 200,
        headers: pg.headers,
        body: { total_count: runs.length, check_runs: pg.body.map((x) => checkRunJson(m, x)) },
      };
    });

    this.route("POST", "/repos/{owner}/{repo}/statuses/{sha}", (ctx) => {
      const r = this.repoOf(ctx);
      const state = String(ctx.body.state ?? "");
      if (!["error", "failure", "pending", "success"].includes(state))
        throw new SimHttpError(422, "Validation Failed", {
          errors: [
            {
              resource: "Status",
              code: "custom",
              field: "state",
              message: "state is not included in the list",
            },
          ],
        });
      const st = m.setStatus(r, ctx.params.sha!, {
        context: typeof ctx.body.context === "string" ? ctx.body.context : "default",
        state: state as "success",
        creator: ctx.auth!.botLogin,
        targetUrl: (ctx.body.target_url as string | undefined) ?? null,
        description: (ctx.body.description as string | undefined) ?? null,
      });
      return { status: 201, body: statusJson(m, st) };
    });
    this.route("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses", (ctx) => {
      const r = this.repoOf(ctx);
      const sha = this.resolveRef(r, ctx.params.ref!);
      const all = m.statuses.filter((s) => s.repo === r.fullName && s.sha === sha).reverse();
      const pg = this.page(ctx, all, `/repos/${r.fullName}/commits/${ctx.params.ref}/statuses`);
      return { ...pg, body: pg.body.map((s) => statusJson(m, s)) };
    });

    this.route("GET", "/repos/{owner}/{repo}/branches", (ctx) => {
      const r = this.repoOf(ctx);
      const list = branchList(m, r).map((b) => ({
        name: b.name,
        commit: { sha: b.sha, url: `${m.apiBase}/repos/${r.fullName}/commits/${b.sha}` },
        protected: false,
      }));
      return this.page(ctx, list, `/repos/${r.fullName}/branches`);
    });
    // Rules in force on a branch (active rulesets only), the rulesets, classic required checks (rulesets.ts).
    this.route("GET", "/repos/{owner}/{repo}/rules/branches/{branch}", (ctx) => {
      const r = this.repoOf(ctx);
      return this.page(
        ctx,
        branchRules(m, r, ctx.params.branch!),
        `/repos/${r.fullName}/rules/branches/${encodeURIComponent(ctx.params.branch!)}`,
      );
    });
    this.route("GET", "/repos/{owner}/{repo}/rulesets", (ctx) => {
      const r = this.repoOf(ctx);
      const parents = ctx.query.get("includes_parents") !== "false";
      const targets = (ctx.query.get("targets") ?? "")
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean);
      const list = rulesetsOf(m, r, parents).filter(
        (x) => targets.length === 0 || targets.includes(x.target),
      );
      const pg = this.page(ctx, list, `/repos/${r.fullName}/rulesets`);
      return { ...pg, body: pg.body.map((x) => rulesetJson(m, x, false)) };
    });
    this.route("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}", (ctx) => {
      const r = this.repoOf(ctx);
      const parents = ctx.query.get("includes_parents") !== "false";
      const found = rulesetsOf(m, r, parents).find((x) => x.id === Number(ctx.params.ruleset_id));
      if (!found) throw new SimHttpError(404, "Not Found");
      return { status: 200, body: rulesetJson(m, found, true) };
    });
    this.route("GET", "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks", (ctx) => {
      const r = this.repoOf(ctx);
      return {
        status: 200,
        body: classicRequiredChecks(m, r, ctx.params.branch!, m.permissionsOf(ctx.auth!.installation)),
      };
    });
    // Repository activity (Contents: read): branch updates, newest first by default; filters ref
    // (refs/heads/<b> or <b>), actor, time_period, activity_type; per_page <= 100; cursor
    // pagination (before / after cursors in the Link header); a value outside the documented
    // enums, a per_page over 100 or an unknown cursor is 422.
    this.route("GET", "/repos/{owner}/{repo}/activity", (ctx) => {
      const r = this.repoOf(ctx);
      const perms = m.permissionsOf(ctx.auth!.installation);
      if (!["read", "write"].includes(perms.contents ?? ""))
        throw new SimHttpError(403, "Resource not accessible by integration");
      const q = ctx.query;
      const perPage = q.has("per_page") ? Number(q.get("per_page")) : 30;
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
        throw new SimHttpError(422, "per_page must be between 1 and 100");
      const direction = q.get("direction") ?? "desc";
      if (direction !== "asc" && direction !== "desc") throw new SimHttpError(422, "Invalid direction");
      const type = q.get("activity_type");
      const types = [
        "push",
        "force_push",
        "branch_creation",
        "branch_deletion",
        "pr_merge",
        "merge_queue_merge",
      ];
      if (type !== null && !types.includes(type)) throw new SimHttpError(422, "Invalid activity_type");
      const periods: Record<string, number> = { day: 1, week: 7, month: 30, quarter: 91, year: 365 };
      const period = q.get("time_period");
      if (period !== null && !(period in periods)) throw new SimHttpError(422, "Invalid time_period");
      const ref = q.get("ref");
      const fullRef = ref === null ? null : ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
      const actor = q.get("actor")?.toLowerCase() ?? null;
      const since = period ? Date.parse(m.stamp()) - periods[period]! * 86_400_000 : null;
      const all = m.activities
        .filter(
          (a) =>
            a.repo.toLowerCase() === r.fullName.toLowerCase() &&
            (fullRef === null || a.ref === fullRef) &&
            (type === null || a.activityType === type) &&
            (actor === null || a.actor?.toLowerCase() === actor) &&
            (since === null || Date.parse(a.timestamp) >= since),
        )
        .sort((a, b) => (direction === "desc" ? b.id - a.id : a.id - b.id));
      const cursorOf = (id: number) => Buffer.from(`activity:${id}`).toString("base64url");
      const at = (cursor: string): number => {
        const mm = /^activity:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
        const i = mm ? all.findIndex((a) => a.id === Number(mm[1])) : -1;
        if (i < 0) throw new SimHttpError(422, "Invalid cursor");
        return i;
      };
      const after = q.get("after");
      const before = q.get("before");
      let start = 0;
      let end = all.length;
      if (after) start = at(after) + 1;
      if (before) end = at(before);
      const items =
        before && !after
          ? all.slice(Math.max(start, end - perPage), end)
          : all.slice(start, Math.min(end, start + perPage));
      const links: string[] = [];
      const link = (k: "after" | "before", id: number, rel: string) => {
        const p = new URLSearchParams(q);
        p.delete("after");
        p.delete("before");
        p.set(k, cursorOf(id));
        links.push(`<${m.apiBase}/repos/${r.fullName}/activity?${p.toString()}>; rel="${rel}"`);
      };
      const first = items[0];
      const last = items.at(-1);
      if (last && all.indexOf(last) < all.length - 1) link("after", last.id, "next");
      if (first && all.indexOf(first) > 0) link("before", first.id, "prev");
      const headers: Record<string, string> = links.length ? { link: links.join(", ") } : {};
      return { status: 200, body: items.map((a) => activityJson(m, a)), headers };
    });
    // GitHub's compare: commits paged (per_page <= 100, page), at most 250 without pagination.
    this.route("GET", "/repos/{owner}/{repo}/compare/{basehead}", (ctx) => {
      const r = this.repoOf(ctx);
      const parts = /^(.+?)\.\.\.(.+)$/.exec(ctx.params.basehead ?? "");
      if (!parts) throw new SimHttpError(404, "Not Found");
      const c = compareCommits(m, r, parts[1]!, parts[2]!);
      if (!c) throw new SimHttpError(404, "Not Found");
      const paged = ctx.query.has("page") || ctx.query.has("per_page");
      const perPage = paged ? Math.min(Math.max(Number(ctx.query.get("per_page") ?? 30) || 30, 1), 100) : 250;
      const page = Math.max(Number(ctx.query.get("page") ?? 1) || 1, 1);
      const commits = c.commits
        .slice((page - 1) * perPage, page * perPage)
        .map((sha) => commitJson(m, m.commits.get(sha)!));
      const base = m.commits.get(c.mergeBase ?? "");
      return {
        status: 200,
        body: {
          url: `${m.apiBase}/repos/${r.fullName}/compare/${ctx.params.basehead}`,
          html_url: `${m.webBase}/${r.fullName}/compare/${ctx.params.basehead}`,
          permalink_url: `${m.webBase}/${r.fullName}/compare/${ctx.params.basehead}`,
          diff_url: `${m.webBase}/${r.fullName}/compare/${ctx.params.basehead}.diff`,
          patch_url: `${m.webBase}/${r.fullName}/compare/${ctx.params.basehead}.patch`,
          base_commit: commitJson(
            m,
            m.commits.get(parts[1]!.length === 40 ? parts[1]! : (c.mergeBase ?? "")) ??
              m.commits.get(r.baseSha)!,
          ),
          merge_base_commit: base ? commitJson(m, base) : null,
          status: c.status,
          ahead_by: c.aheadBy,
          behind_by: c.behindBy,
          total_commits: c.aheadBy,
          commits,
          files: [],
        },
      };
    });
    this.route("GET", "/repos/{owner}/{repo}/issues", (ctx) => {
      const r = this.repoOf(ctx);
      const pg = this.page(ctx, listIssues(m, r, ctx.query), `/repos/${r.fullName}/issues`);
      return pg;
    });
    this.route("POST", "/repos/{owner}/{repo}/issues", (ctx) => {
      const r = this.repoOf(ctx);
      const issue = openIssue(m, r, {
        title: ctx.body.title,
        body: ctx.body.body,
        labels: ctx.body.labels,
        author: ctx.auth!.botLogin,
        appId: ctx.auth!.app.id,
      });
      return {
        status: 201,
        body: issueJson(m, issue),
        headers: { location: `${m.apiBase}/repos/${r.fullName}/issues/${issue.number}` },
      };
    });
    this.route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
      const r = this.repoOf(ctx);
      if (
        !m.pull(r.fullName, Number(ctx.params.issue_number)) &&
        !m.issues.has(m.pullKey(r.fullName, Number(ctx.params.issue_number)))
      )
        throw new SimHttpError(404, "Not Found");
      // `since`: only comments last updated at or after that time (GitHub's filter on updated_at).
      const since = ctx.query.get("since");
      const all = m
        .commentsOf(r.fullName, Number(ctx.params.issue_number))
        .filter((c) => !since || c.updatedAt >= new Date(since).toISOString());
      const pg = this.page(ctx, all, `/repos/${r.fullName}/issues/${ctx.params.issue_number}/comments`);
      return { ...pg, body: pg.body.map((c) => commentJson(m, c)) };
    });
    this.route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
      const r = this.repoOf(ctx);
      if (typeof ctx.body.body !== "string")
        throw new SimHttpError(422, 'Invalid request.\n\n"body" wasn\'t supplied.');
      const c = m.addComment(
        r,
        Number(ctx.params.issue_number),
        ctx.body.body,
        ctx.auth!.botLogin,
        ctx.auth!.app.id,
      );
      return {
        status: 201,
        body: commentJson(m, c),
        headers: { location: `${m.apiBase}/repos/${r.fullName}/issues/comments/${c.id}` },
      };
    });
    const commentOf = (ctx: Ctx) => {
      const r = this.repoOf(ctx);
      const c = m.comments.get(Number(ctx.params.comment_id));
      if (!c || c.repo !== r.fullName) throw new SimHttpError(404, "Not Found");
      return c;
    };
    this.route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => ({
      status: 200,
      body: commentJson(m, commentOf(ctx)),
    }));
    this.route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
      const c = commentOf(ctx);
      if (typeof ctx.body.body !== "string")
        throw new SimHttpError(422, 'Invalid request.\n\n"body" wasn\'t supplied.');
      m.updateComment(c, ctx.body.body, ctx.auth!.botLogin);
      return { status: 200, body: commentJson(m, c) };
    });
    this.route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
      m.deleteComment(commentOf(ctx), ctx.auth!.botLogin);
      return { status: 204 };
    });
    this.route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
      const r = this.repoOf(ctx);
      const pr = m.pull(r.fullName, Number(ctx.params.issue_number));
      if (!pr) throw new SimHttpError(404, "Not Found");
      return { status: 200, body: pr.labels.map((l) => labelJson(m, r.fullName, l)) };
    });
    this.route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", (ctx) => {
      const r = this.repoOf(ctx);
      const login = ctx.params.username!;
      // GitHub: 404 for a login that is no user; otherwise the user's (possibly "none"/"read") permission.
      if (!m.users.has(login.toLowerCase())) throw new SimHttpError(404, "Not Found");
      const { role, permission } = m.permissionOf(r, login);
      return {
        status: 200,
        body: {
          permission,
          role_name: role,
          user: {
            ...userJson(m, login),
            permissions: {
              admin: permission === "admin",
              maintain: role === "maintain" || permission === "admin",
              push: permission !== "read",
              triage: role !== "read",
              pull: true,
            },
            role_name: role,
          },
        },
      };
    });
    this.route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", (ctx) => {
      // Only the installation's own organisation is visible; an unknown team, or a user not in it, is 404.
      if (ctx.params.org!.toLowerCase() !== ctx.auth!.installation.account.toLowerCase())
        throw new SimHttpError(404, "Not Found");
      const team = m.teams.get(`${ctx.params.org}/${ctx.params.team_slug}`.toLowerCase());
      const state = team?.get(ctx.params.username!.toLowerCase());
      if (!state) throw new SimHttpError(404, "Not Found");
      return {
        status: 200,
        body: {
          url: `${m.apiBase}/teams/${ctx.params.team_slug}/memberships/${ctx.params.username}`,
          role: "member",
          state,
        },
      };
    });
    this.route("GET", "/repos/{owner}/{repo}/contents/{path}", (ctx) => {
      const r = this.repoOf(ctx);
      const ref = ctx.query.get("ref");
      if (ref && ref !== r.defaultBranch && ref !== r.baseSha) throw new SimHttpError(404, "Not Found");
      const text = r.files.get(ctx.params.path!);
      if (text === undefined) throw new SimHttpError(404, "Not Found");
      const content = Buffer.from(text).toString("base64");
      const url = `${m.apiBase}/repos/${r.fullName}/contents/${ctx.params.path}`;
      return {
        status: 200,
        body: {
          type: "file",
          encoding: "base64",
          size: Buffer.byteLength(text),
          name: ctx.params.path!.split("/").pop(),
          path: ctx.params.path,
          content,
          sha: Buffer.from(text).toString("hex").slice(0, 40).padEnd(40, "0"),
          url,
          git_url: null,
          html_url: `${m.webBase}/${r.fullName}/blob/${r.defaultBranch}/${ctx.params.path}`,
          download_url: null,
          _links: { self: url, git: null, html: null },
        },
      };
    });
  }

  private resolveRef(r: SimRepo, ref: string): string {
    if (this.model.commits.has(ref)) return ref;
    if (ref === r.defaultBranch || ref === "HEAD") return r.baseSha;
    const pr = [...this.model.pulls.values()].find((p) => p.repo === r.fullName && p.headRef === ref);
    if (pr) return this.model.headSha(pr);
    throw new SimHttpError(422, `No commit found for SHA: ${ref}`);
  }
}

/** Validate a check-run body as GitHub does (names, enums, output limits, actions). */
function checkRunInput(body: Record<string, unknown>, create: boolean) {
  const bad = (msg: string): never => {
    throw new SimHttpError(422, `Invalid request.\n\n${msg}`);
  };
  if (create) {
    if (typeof body.name !== "string" || body.name === "") bad('"name" wasn\'t supplied.');
    if (typeof body.head_sha !== "string") bad('"head_sha" wasn\'t supplied.');
  }
  const status = body.status as string | undefined;
  if (status !== undefined && !CHECK_STATUSES.includes(status as CheckStatus))
    bad(
      `${JSON.stringify(status)} is not a member of ["queued", "in_progress", "completed", "waiting", "requested", "pending"].`,
    );
  const conclusion = body.conclusion as string | undefined;
  if (
    conclusion !== undefined &&
    conclusion !== null &&
    !CHECK_CONCLUSIONS.includes(conclusion as CheckConclusion)
  )
    bad(`${JSON.stringify(conclusion)} is not a valid conclusion.`);
  const output = body.output as { title?: unknown; summary?: unknown; text?: unknown } | undefined;
  if (output !== undefined) {
    if (typeof output.title !== "string") bad('"title" wasn\'t supplied.');
    if (typeof output.summary !== "string") bad('"summary" wasn\'t supplied.');
    if ((output.summary as string).length > 65535)
      throw new SimHttpError(422, "Validation Failed", {
        errors: [
          {
            resource: "CheckRun",
            code: "custom",
            field: "summary",
            message: "summary is too long (maximum is 65535 characters)",
          },
        ],
      });
    if (typeof output.text === "string" && output.text.length > 65535)
      throw new SimHttpError(422, "Validation Failed", {
        errors: [
          {
            resource: "CheckRun",
            code: "custom",
            field: "text",
            message: "text is too long (maximum is 65535 characters)",
          },
        ],
      });
  }
  const actions = body.actions as
    { label?: unknown; description?: unknown; identifier?: unknown }[] | undefined;
  if (actions !== undefined) {
    if (!Array.isArray(actions) || actions.length > 3) bad("actions: maximum is 3 items");
    for (const a of actions) {
      if (typeof a.label !== "string" || a.label.length > 20)
        bad("actions.label is too long (maximum is 20 characters)");
      if (typeof a.description !== "string" || a.description.length > 40)
        bad("actions.description is too long (maximum is 40 characters)");
      if (typeof a.identifier !== "string" || a.identifier.length > 20)
        bad("actions.identifier is too long (maximum is 20 characters)");
    }
  }
  return {
    name: body.name as string | undefined,
    status: status as CheckStatus | undefined,
    conclusion: (conclusion ?? undefined) as CheckConclusion | undefined,
    title: output ? (output.title as string) : undefined,
    summary: output ? (output.summary as string) : undefined,
    text: output && typeof output.text === "string" ? output.text : undefined,
    detailsUrl: typeof body.details_url === "string" ? body.details_url : undefined,
    externalId: typeof body.external_id === "string" ? body.external_id : undefined,
    actions: actions as { label: string; description: string; identifier: string }[] | undefined,
    completedAt: typeof body.completed_at === "string" ? body.completed_at : undefined,
  };
}
