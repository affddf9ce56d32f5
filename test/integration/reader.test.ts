import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import nock from "nock";
import { createReader, secondaryLimitWait, type ReaderOptions } from "../../src/github/reader.js";

const source = (token = "ghs_x") => ({
  auth: async () => ({ token }),
  request: { endpoint: { DEFAULTS: { baseUrl: "https://api.github.com" } } },
});
const QUERY = "query($n: Int!) { viewer { login } }";
const noRetry: ReaderOptions = { retries: 0, maxRetryAfterSeconds: 0 };
const oneRetry: ReaderOptions = { retries: 1, maxRetryAfterSeconds: 0 };

let installation = 1000;
/** A fresh installation id per test: the serial queue is per installation and module-wide. */
const nextInstallation = () => ++installation;

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("secondaryLimitWait", () => {
  const err = (status: number, headers: Record<string, string> = {}, message = "") => ({
    status,
    response: { headers },
    message,
  });
  const now = () => Math.floor(Date.now() / 1000);

  test.each<[string, unknown, number, number | null]>([
    ["403 retry-after", err(403, { "retry-after": "30" }), 60, 30],
    ["429 retry-after", err(429, { "retry-after": "5" }), 60, 5],
    ["retry-after 0", err(403, { "retry-after": "0" }), 60, 0],
    ["retry-after capped at max", err(403, { "retry-after": "120" }), 60, 60],
    ["retry-after with max 0", err(403, { "retry-after": "120" }), 0, 0],
    ["empty retry-after is no instruction", err(403, { "retry-after": "" }), 60, null],
    ["garbage retry-after is no instruction", err(403, { "retry-after": "soon" }), 60, null],
    ["negative retry-after is no instruction", err(403, { "retry-after": "-5" }), 60, null],
    ["retry-after date in the past", err(403, { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }), 60, 0],
    [
      "remaining 0, reset passed",
      err(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now() - 100) }),
      60,
      0,
    ],
    [
      "remaining 0, reset far away: capped",
      err(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now() + 3600) }),
      60,
      60,
    ],
    ["remaining 0 without reset, no message", err(403, { "x-ratelimit-remaining": "0" }), 60, null],
    [
      "remaining 1: not limited",
      err(403, { "x-ratelimit-remaining": "1", "x-ratelimit-reset": String(now() + 10) }),
      60,
      null,
    ],
    [
      "message only",
      err(403, {}, "You have exceeded a secondary rate limit. Please wait a few minutes."),
      60,
      60,
    ],
    ["message only, capped", err(403, {}, "You have exceeded a Secondary Rate Limit"), 7, 7],
    ["403 for another reason", err(403, {}, "Resource not accessible by integration"), 60, null],
    ["404", err(404, { "retry-after": "5" }), 60, null],
    ["500 with retry-after", err(500, { "retry-after": "5" }), 60, null],
    ["401", err(401, {}, "Bad credentials"), 60, null],
    ["no response at all", { status: 403, message: "secondary rate limit" }, 60, 60],
    ["a plain Error", new Error("secondary rate limit"), 60, null],
    ["a string", "secondary rate limit", 60, null],
    ["null", null, 60, null],
    ["undefined", undefined, 60, null],
  ])("%s", (_name, e, max, expected) => {
    expect(secondaryLimitWait(e, max)).toBe(expected);
  });

  test("remaining 0 with reset in 10 s waits until the reset", () => {
    const w = secondaryLimitWait(
      err(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Date.now() / 1000 + 10) }),
      60,
    )!;
    expect(w).toBeGreaterThan(8);
    expect(w).toBeLessThanOrEqual(10);
  });

  test("a retry-after date in the future waits until then, capped", () => {
    const date = new Date(Date.now() + 3600_000).toUTCString();
    expect(secondaryLimitWait(err(429, { "retry-after": date }), 60)).toBe(60);
  });
});

describe("createReader", () => {
  test("returns the data, authenticated with the installation token, and counts the read", async () => {
    const scope = nock("https://api.github.com")
      .post(
        "/graphql",
        (body: { query: string; variables: { n: number } }) => body.query === QUERY && body.variables.n === 1,
      )
      .matchHeader("authorization", /ghs_x/)
      .reply(200, { data: { viewer: { login: "changegate[bot]" } } });
    const reader = createReader(nextInstallation(), source(), noRetry);
    expect(reader.reads).toBe(0);
    const answer = await reader.query(QUERY, { n: 1 });
    expect(answer).toEqual({ data: { viewer: { login: "changegate[bot]" } }, errors: [] });
    expect(reader.reads).toBe(1);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a read that hangs is aborted after timeoutMs instead of holding the evaluation", async () => {
    const scope = nock("https://api.github.com").post("/graphql").delay(2000).reply(200, { data: {} });
    const reader = createReader(nextInstallation(), source(), { ...noRetry, timeoutMs: 50 });
    await expect(reader.query(QUERY, { n: 1 })).rejects.toThrow(
      "GitHub did not answer the GraphQL read within 0.05 s",
    );
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("partial data with errors (GraphqlResponseError) is returned with the errors", async () => {
    const errors = [
      {
        type: "NOT_FOUND",
        path: ["org"],
        message: "Could not resolve to a Repository with the name 'acme/.github'.",
      },
    ];
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(200, { data: { repository: { name: "x" }, org: null }, errors });
    const reader = createReader(nextInstallation(), source(), noRetry);
    const answer = await reader.query(QUERY, { n: 1 });
    expect(answer.data).toEqual({ repository: { name: "x" }, org: null });
    expect(answer.errors).toEqual([expect.objectContaining({ type: "NOT_FOUND", path: ["org"] })]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("errors without data are thrown", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(200, { data: null, errors: [{ message: "Something went wrong" }] });
    const reader = createReader(nextInstallation(), source(), noRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toThrow(/Something went wrong/);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("reads counts every request", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .times(3)
      .reply(200, { data: { ok: true } });
    const reader = createReader(nextInstallation(), source(), noRetry);
    for (let i = 0; i < 3; i++) await reader.query(QUERY, { n: i });
    expect(reader.reads).toBe(3);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a 403 with retry-after is retried once when retries ≥ 1", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "30" })
      .post("/graphql")
      .reply(200, { data: { viewer: { login: "x" } } });
    const reader = createReader(nextInstallation(), source(), oneRetry);
    const answer = await reader.query(QUERY, { n: 1 });
    expect(answer.data).toEqual({ viewer: { login: "x" } });
    expect(reader.reads).toBe(2);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a rate-limit pause gives the evaluation's slot back: the sleep and the turns of reads queued behind it", async () => {
    const id = nextInstallation();
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "1" })
      .post("/graphql")
      .times(2)
      .reply(200, { data: { viewer: { login: "x" } } });
    const log: string[] = [];
    const pauseOf =
      (who: string) =>
      async <T>(fn: () => Promise<T>): Promise<T> => {
        log.push(`${who} gives its slot back`);
        try {
          return await fn();
        } finally {
          log.push(`${who} takes a slot again`);
        }
      };
    const options: ReaderOptions = { retries: 1, maxRetryAfterSeconds: 1 };
    const first = createReader(id, source(), { ...options, pause: pauseOf("first") });
    const second = createReader(id, source(), { ...options, pause: pauseOf("second") });
    const a = first.query(QUERY, { n: 1 });
    // Queued behind the first read before its pause starts: it gives its slot back once the pause begins.
    const b = second.query(QUERY, { n: 2 });
    await Promise.all([a, b]);
    expect(log).toEqual([
      "first gives its slot back",
      "second gives its slot back",
      "first takes a slot again",
      "second takes a slot again",
    ]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("reads of one installation taking turns without a pause keep their slots", async () => {
    const id = nextInstallation();
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .times(2)
      .reply(200, { data: { viewer: { login: "x" } } });
    const log: string[] = [];
    const pause = async <T>(fn: () => Promise<T>): Promise<T> => {
      log.push("paused");
      return fn();
    };
    await Promise.all([
      createReader(id, source(), { ...noRetry, pause }).query(QUERY, { n: 1 }),
      createReader(id, source(), { ...noRetry, pause }).query(QUERY, { n: 2 }),
    ]);
    expect(log).toEqual([]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a second secondary limit after the one retry is thrown", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .times(2)
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "1" });
    const reader = createReader(nextInstallation(), source(), oneRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toMatchObject({ status: 403 });
    expect(reader.reads).toBe(2);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("with retries 0 a secondary limit is thrown at once", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "1" });
    const reader = createReader(nextInstallation(), source(), noRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toMatchObject({ status: 403 });
    expect(reader.reads).toBe(1);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a 403 that is not a rate limit is not retried", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(403, { message: "Resource not accessible by integration" });
    const reader = createReader(nextInstallation(), source(), oneRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toMatchObject({ status: 403 });
    expect(reader.reads).toBe(1);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("a 5xx is retried by plugin-retry when retries ≥ 1 (one read, two requests)", async () => {
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(502, { message: "Bad Gateway" })
      .post("/graphql")
      .reply(200, { data: { ok: true } });
    const reader = createReader(nextInstallation(), source(), oneRetry);
    await expect(reader.query(QUERY, { n: 1 })).resolves.toEqual({ data: { ok: true }, errors: [] });
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test.each([401, 404, 422])("a %i is never retried, even with retries ≥ 1", async (status) => {
    const scope = nock("https://api.github.com").post("/graphql").reply(status, { message: "no" });
    const reader = createReader(nextInstallation(), source(), { retries: 3, maxRetryAfterSeconds: 0 });
    await expect(reader.query(QUERY, { n: 1 })).rejects.toMatchObject({ status });
    expect(reader.reads).toBe(1);
    expect(scope.pendingMocks()).toStrictEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  test("no token: a clear error, no request", async () => {
    const reader = createReader(nextInstallation(), { ...source(), auth: async () => ({}) }, noRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toThrow(/installation token/);
    expect(reader.reads).toBe(0);
  });

  test("a failed read does not block the next one of the installation", async () => {
    const id = nextInstallation();
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .reply(502, { message: "Bad Gateway" })
      .post("/graphql")
      .reply(200, { data: { ok: 1 } });
    const reader = createReader(id, source(), noRetry);
    await expect(reader.query(QUERY, { n: 1 })).rejects.toMatchObject({ status: 502 });
    await expect(reader.query(QUERY, { n: 2 })).resolves.toEqual({ data: { ok: 1 }, errors: [] });
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("serial per installation: two concurrent queries do not overlap", async () => {
    const id = nextInstallation();
    const events: string[] = [];
    const scope = nock("https://api.github.com")
      .post("/graphql", (b: { variables: { n: number } }) => b.variables.n === 1)
      .delay(150)
      .reply(() => {
        events.push("start 1");
        return [200, { data: { n: 1 } }];
      })
      .post("/graphql", (b: { variables: { n: number } }) => b.variables.n === 2)
      .reply(() => {
        events.push("start 2");
        return [200, { data: { n: 2 } }];
      });
    // two readers of one installation share the queue (one per evaluation in production)
    const r1 = createReader(id, source(), noRetry);
    const r2 = createReader(id, source(), noRetry);
    const q1 = r1.query(QUERY, { n: 1 }).then((a) => {
      events.push("end 1");
      return a;
    });
    const q2 = r2.query(QUERY, { n: 2 }).then((a) => {
      events.push("end 2");
      return a;
    });
    const [a1, a2] = await Promise.all([q1, q2]);
    expect(a1.data).toEqual({ n: 1 });
    expect(a2.data).toEqual({ n: 2 });
    expect(events).toEqual(["start 1", "end 1", "start 2", "end 2"]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  });

  test("different installations are not serialised against each other", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const scope = nock("https://api.github.com")
      .post("/graphql", (b: { variables: { n: number } }) => b.variables.n === 1)
      .reply(async () => {
        await gate; // only the other installation's read can open this
        return [200, { data: { n: 1 } }];
      })
      .post("/graphql", (b: { variables: { n: number } }) => b.variables.n === 2)
      .reply(() => {
        release();
        return [200, { data: { n: 2 } }];
      });
    const q1 = createReader(nextInstallation(), source(), noRetry).query(QUERY, { n: 1 });
    const q2 = createReader(nextInstallation(), source(), noRetry).query(QUERY, { n: 2 });
    const [a1, a2] = await Promise.all([q1, q2]);
    expect([a1.data, a2.data]).toEqual([{ n: 1 }, { n: 2 }]);
    expect(scope.pendingMocks()).toStrictEqual([]);
  }, 10_000);

  test("a new token makes a new client", async () => {
    let token = "ghs_first";
    const src = { ...source(), auth: async () => ({ token }) };
    const scope = nock("https://api.github.com")
      .post("/graphql")
      .matchHeader("authorization", /ghs_first/)
      .reply(200, { data: { a: 1 } })
      .post("/graphql")
      .matchHeader("authorization", /ghs_second/)
      .reply(200, { data: { a: 2 } });
    const reader = createReader(nextInstallation(), src, noRetry);
    await reader.query(QUERY, { n: 1 });
    token = "ghs_second";
    await reader.query(QUERY, { n: 1 });
    expect(scope.pendingMocks()).toStrictEqual([]);
  });
});
