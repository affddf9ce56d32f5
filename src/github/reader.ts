/**
 * GraphQL reads for gather, kept off Probot's write queue.
 *
 * Probot's throttling puts every GraphQL POST in the 1-second write queue of its installation, so a
 * read would wait behind the writes of other PRs. A read is not a write: reads go through a plain
 * @octokit/core client authenticated with the same installation token, serial per installation
 * (GitHub's guidance against concurrent requests), retried on 5xx by plugin-retry and on secondary
 * rate limits (403/429 with retry-after) here, a bounded number of times.
 */
import { Octokit } from "@octokit/core";
import { retry } from "@octokit/plugin-retry";

const ReadOctokit = Octokit.plugin(retry);

export interface ReaderOptions {
  /** Retries of a failed read (5xx and secondary rate limits); 0 in unit tests. */
  retries: number;
  /** Longest wait honoured for a secondary rate limit's retry-after, in seconds. */
  maxRetryAfterSeconds: number;
  /** A read that has not answered by then is aborted (and fails the evaluation), in ms. */
  timeoutMs?: number;
  /** Called once with each client made (metrics hook its requests). */
  instrument?: (client: unknown) => void;
  /**
   * Clients kept by installation (one app's own map), reused while the installation's token is the
   * same: building an Octokit per evaluation cost more CPU under load than the read's own request.
   * Absent: a client per reader.
   */
  clients?: Map<number, unknown>;
  /**
   * The evaluation's scheduler slot: while this read waits out a rate-limit pause (its own sleep, or
   * its turn behind an installation's read that sleeps), the slot is given back so that another
   * installation's PR runs meanwhile. Absent: the wait holds the slot.
   */
  pause?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export const defaultReaderOptions: ReaderOptions = {
  retries: 3,
  maxRetryAfterSeconds: 60,
  timeoutMs: 30_000,
};

/** The GraphQL answer: data, and the errors GitHub returned beside it (partial results are normal). */
export interface GraphqlAnswer {
  data: unknown;
  errors: { type?: string; path?: (string | number)[]; message: string }[];
}

export interface GraphqlReader {
  query(query: string, variables: Record<string, unknown>): Promise<GraphqlAnswer>;
  /** Reads made through this reader so far (the API budget is asserted on it). */
  readonly reads: number;
}

interface TokenSource {
  auth(options: { type: "installation" }): Promise<unknown>;
  request: { endpoint: { DEFAULTS: { baseUrl: string } } };
}

const queues = new Map<string, Promise<unknown>>();
/** Installations whose reads wait out a secondary rate limit now (a read sleeping on retry-after). */
const pausedInstallations = new Map<string, number>();

/**
 * Run `fn` after every earlier read of the same installation has finished. While this waits for
 * its turn behind an installation that is paused by a rate limit, the wait goes through `pause`.
 */
function serial<T>(
  key: string,
  fn: () => Promise<T>,
  pause?: <U>(w: () => Promise<U>) => Promise<U>,
): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const turn = prev.then(
    () => undefined,
    () => undefined,
  );
  const next = waitTurn(key, turn, pause).then(fn);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) !== settled) return;
    queues.delete(key);
    // Nobody waits for a turn any more: the pause signal (and the reactions of earlier waits) goes too.
    pauseStarts.delete(key);
  });
  return next;
}

/** Resolved when a pause of the installation starts (reads waiting for their turn then give their slots back). */
const pauseStarts = new Map<string, { started: Promise<void>; start(): void }>();

function pauseStarted(key: string): Promise<void> {
  let held = pauseStarts.get(key);
  if (!held) {
    let start!: () => void;
    const started = new Promise<void>((r) => (start = r));
    held = { started, start };
    pauseStarts.set(key, held);
  }
  return held.started;
}

/**
 * Wait for this read's turn. Holding the slot while the installation's reads simply take turns; once
 * the installation is paused by a rate limit (now or while waiting), the rest of the wait gives the slot back.
 */
async function waitTurn(
  key: string,
  turn: Promise<void>,
  pause?: <U>(w: () => Promise<U>) => Promise<U>,
): Promise<void> {
  if (!pause) return turn;
  if (!pausedInstallations.has(key)) {
    let done = false;
    const first = await Promise.race([turn.then(() => (done = true)), pauseStarted(key)]);
    if (first === true || done) return;
  }
  await pause(() => turn);
}

/** Sleep `ms` with the installation marked as paused (reads queued behind it give their slots back). */
async function pausedSleep(
  key: string,
  ms: number,
  pause?: <U>(w: () => Promise<U>) => Promise<U>,
): Promise<void> {
  pausedInstallations.set(key, (pausedInstallations.get(key) ?? 0) + 1);
  const starts = pauseStarts.get(key);
  pauseStarts.delete(key);
  starts?.start();
  try {
    const sleep = () => new Promise<void>((r) => setTimeout(r, ms));
    await (pause ? pause(sleep) : sleep());
  } finally {
    const n = (pausedInstallations.get(key) ?? 1) - 1;
    if (n > 0) pausedInstallations.set(key, n);
    else pausedInstallations.delete(key);
  }
}

export function createReader(
  installationId: number,
  source: TokenSource,
  options: ReaderOptions = defaultReaderOptions,
): GraphqlReader {
  let client = (options.clients?.get(installationId) as InstanceType<typeof ReadOctokit> | undefined) ?? null;
  let reads = 0;

  async function getClient(): Promise<InstanceType<typeof ReadOctokit>> {
    const auth = (await source.auth({ type: "installation" })) as { token?: string };
    if (!auth?.token) throw new Error("could not obtain an installation token for the GraphQL read");
    if (!client || (client as unknown as { __token: string }).__token !== auth.token) {
      client = new ReadOctokit({
        auth: auth.token,
        baseUrl: source.request.endpoint.DEFAULTS.baseUrl,
        // Not `request: { retries }`: plugin-retry reads that back from every failed request and would
        // retry any error at once (403, 404, a secondary limit's retry-after ignored). 5xx only, here.
        retry: { enabled: options.retries > 0, retries: options.retries },
        userAgent: "changegate",
      });
      (client as unknown as { __token: string }).__token = auth.token;
      options.instrument?.(client);
      options.clients?.set(installationId, client);
    }
    return client;
  }

  async function once(query: string, variables: Record<string, unknown>): Promise<GraphqlAnswer> {
    const octokit = await getClient();
    reads++;
    try {
      const timeoutMs = options.timeoutMs ?? 30_000;
      const signal = AbortSignal.timeout(timeoutMs);
      const data = await octokit
        .graphql(query, { ...variables, request: { signal } })
        .catch((err: unknown) => {
          if (signal.aborted)
            throw new Error(`GitHub did not answer the GraphQL read within ${timeoutMs / 1000} s`, {
              cause: err,
            });
          throw err;
        });
      return { data, errors: [] };
    } catch (err) {
      const e = err as { name?: string; data?: unknown; errors?: GraphqlAnswer["errors"] };
      if (e.name === "GraphqlResponseError" && e.data) return { data: e.data, errors: e.errors ?? [] };
      throw err;
    }
  }

  return {
    get reads() {
      return reads;
    },
    query(query, variables) {
      const key = String(installationId);
      return serial(
        key,
        async () => {
          for (let attempt = 0; ; attempt++) {
            try {
              return await once(query, variables);
            } catch (err) {
              const wait = secondaryLimitWait(err, options.maxRetryAfterSeconds);
              if (wait === null || attempt >= options.retries) throw err;
              await pausedSleep(key, wait * 1000, options.pause);
            }
          }
        },
        options.pause,
      );
    },
  };
}

/** Seconds to wait if `err` is a secondary rate limit answer; null otherwise. */
export function secondaryLimitWait(err: unknown, max: number): number | null {
  if (typeof err !== "object" || err === null) return null;
  const e = err as {
    status?: number;
    response?: { headers?: Record<string, string | undefined> };
    message?: string;
  };
  if (e.status !== 403 && e.status !== 429) return null;
  const headers = e.response?.headers ?? {};
  const header = String(headers["retry-after"] ?? "").trim();
  // Seconds, or an HTTP date; an empty header is no instruction (Number("") would be 0).
  const retryAfter = /^\d+$/.test(header)
    ? Number(header)
    : /GMT$/i.test(header)
      ? (Date.parse(header) - Date.now()) / 1000
      : NaN;
  if (Number.isFinite(retryAfter)) return Math.min(Math.max(0, retryAfter), max);
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]);
    if (Number.isFinite(reset)) return Math.min(Math.max(0, reset - Date.now() / 1000), max);
  }
  if (/secondary rate limit/i.test(e.message ?? "")) return Math.min(60, max);
  return null;
}
