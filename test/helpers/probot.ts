/**
 * A real Probot instance running changegate, with Octokit's retry and throttling off, fed
 * real-shaped payloads. GitHub is nock (nock 14 sees Probot's fetch); tests assert that every mock
 * was used and count the requests an evaluation made.
 */
import { generateKeyPairSync } from "node:crypto";
import nock from "nock";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { createChangegate, type Changegate, type ChangegateOptions } from "../../src/index.js";
import { APP_ID, INSTALLATION_ID } from "./fixtures.js";

export const privateKey = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;

export const API = "https://api.github.com";
export const TOKEN = "ghs_testinstallationtoken1234567890";

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface Harness {
  probot: Probot;
  changegate: Changegate;
  logs: LogLine[];
  /** Deliver a webhook and wait until every evaluation it caused has finished. */
  deliver(name: string, payload: unknown, id?: string): Promise<void>;
}

let seq = 0;

export async function harness(options: Partial<ChangegateOptions> = {}): Promise<Harness> {
  const logs: LogLine[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const probot = new Probot({
    appId: APP_ID,
    privateKey,
    log,
    // The function form runs after Probot's own defaults, so these settings win over them.
    Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({
      ...o,
      retry: { enabled: false },
      throttle: { enabled: false },
    })),
  });
  const changegate = createChangegate({
    appId: APP_ID,
    reader: { retries: 0, maxRetryAfterSeconds: 0 },
    publishBackoffMs: [],
    staleHeadBackoffMs: [],
    laterRetryMs: [],
    sleep: async () => {},
    ...options,
  });
  await probot.load(changegate.appFn);
  return {
    probot,
    changegate,
    logs,
    async deliver(name, payload, id) {
      await probot.receive({ id: id ?? `delivery-${++seq}`, name, payload } as never);
      await changegate.idle();
    },
  };
}

/** The installation token exchange Probot makes once per installation. */
export function mockToken(scope: nock.Scope = nock(API)): nock.Scope {
  // Optional: Probot caches the token, so only the first evaluation of a harness asks for it.
  return scope
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .optionally()
    .reply(201, {
      token: TOKEN,
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
      permissions: { checks: "write", pull_requests: "write", issues: "write", contents: "read" },
      repository_selection: "all",
    });
}

export interface Recorded {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/** Record every request the scopes answered, in order, to count reads and writes per evaluation. */
export function recordRequests(...scopes: nock.Scope[]): Recorded[] {
  const requests: Recorded[] = [];
  for (const scope of scopes) {
    scope.on("request", (req: { method: string; path: string }, _interceptor: unknown, body: string) => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        parsed = {};
      }
      if (!req.path.includes("/access_tokens"))
        requests.push({ method: req.method, path: req.path, body: parsed });
    });
  }
  return requests;
}
