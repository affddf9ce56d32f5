import { generateKeyPairSync } from "node:crypto";
import { describe, expect, test } from "@jest/globals";
import { redact } from "../../src/report/redact.js";
import { secretValues } from "../../src/ops/secrets.js";

const PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const BODY = PEM.split("\n")
  .filter((l) => l && !l.startsWith("-----"))
  .join("\n");
const BODY_LINES = BODY.split("\n");

describe("URL credentials", () => {
  test.each<[string, string]>([
    ["redis://:pw-Secret9@cache.internal:6379/0", "redis://[REDACTED]@cache.internal:6379/0"],
    ["rediss://:pw-Secret9@cache.internal:6380", "rediss://[REDACTED]@cache.internal:6380"],
    ["postgres://u:pa/ss@h/db", "postgres://[REDACTED]@h/db"],
    [
      "postgres://audit:a/b/c@db.internal:5432/changegate",
      "postgres://[REDACTED]@db.internal:5432/changegate",
    ],
    ["postgres://audit:p@ss/w@rd@db.internal/x", "postgres://[REDACTED]@db.internal/x"],
    ['{"msg":"postgres://u:pa/ss@h/db failed"}', '{"msg":"postgres://[REDACTED]@h/db failed"}'],
    ["postgres://user:pass@db.example.com:5432/x", "postgres://[REDACTED]@db.example.com:5432/x"],
  ])("%s", (input, output) => {
    expect(redact(input, [])).toBe(output);
  });
});

describe("password= in query strings and connection strings", () => {
  test.each<[string, string]>([
    ["GET /x?user=a&password=hunter2&db=y", "GET /x?user=a&password=[REDACTED]&db=y"],
    [
      "postgres://h/db?sslmode=require&password=hunter2",
      "postgres://h/db?sslmode=require&password=[REDACTED]",
    ],
    ["host=x password=secret user=y", "host=x password=[REDACTED] user=y"],
    ["host=x password = secret user=y", "host=x password = [REDACTED] user=y"],
    ["host=x password='se cr\\'et' user=y", "host=x password=[REDACTED] user=y"],
    ['host=x password="se cret" user=y', "host=x password=[REDACTED] user=y"],
    ["host=x PASSWORD=Secret dbname=z", "host=x PASSWORD=[REDACTED] dbname=z"],
    ["host=x sslpassword=keypass", "host=x sslpassword=[REDACTED]"],
    ["passwd=ab;c12 x", "passwd=[REDACTED] x"],
    ["?pwd=abc123", "?pwd=[REDACTED]"],
    ["client_secret=abc123&grant=x", "client_secret=[REDACTED]&grant=x"],
    ["access_token=abc123", "access_token=[REDACTED]"],
    ['{"msg":"host=x password=hunter2 user=y"}', '{"msg":"host=x password=[REDACTED] user=y"}'],
  ])("%s", (input, output) => {
    expect(redact(input, [])).toBe(output);
  });
});

describe("password= in a JSON log line keeps the line valid JSON", () => {
  test.each<[string]>([
    ["password=abc\\"],
    ['password=abc\\" next'],
    ['password="q u o" next'],
    ["password=a\\\\b next"],
  ])("%s", (msg) => {
    const out = redact(JSON.stringify({ msg }), []);
    const parsed = JSON.parse(out) as { msg: string };
    expect(parsed.msg).toContain("password=[REDACTED]");
    expect(parsed.msg).not.toMatch(/abc|q u o|a\\/);
  });
});

describe("PEM bodies without their header", () => {
  test("a real key's wrapped body", () => {
    const out = redact(`key material:\n${BODY}\nend`, []);
    for (const l of BODY_LINES) expect(out).not.toContain(l);
    expect(out).toBe("key material:\n[REDACTED]\nend");
  });

  test("the body unwrapped onto one line", () => {
    const out = redact(`key=${BODY.replace(/\n/g, "")} trailing`, []);
    expect(out).not.toContain(BODY_LINES[3]!);
    expect(out).toContain("[REDACTED]");
    expect(out).toContain(" trailing");
  });

  test("the body JSON-escaped in a log line", () => {
    const line = JSON.stringify({ level: 50, msg: `bad key ${BODY}` });
    const out = redact(line, []);
    for (const l of BODY_LINES) expect(out).not.toContain(l);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
  });

  test("the body with its END line but no BEGIN line", () => {
    const out = redact(`${BODY}\n-----END RSA PRIVATE KEY-----`, []);
    for (const l of BODY_LINES) expect(out).not.toContain(l);
  });

  test("the short last line goes with the body unless it could be a word on the next line", () => {
    const full = [
      "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu",
      "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm",
    ];
    expect(redact(`${full.join("\n")}\no/BDe1Kq==`, [])).toBe("[REDACTED]");
    expect(redact(`${full.join("\n")}\nAbCdEfGhIjKlMnOpQr`, [])).toBe("[REDACTED]");
    expect(redact(`${full.join("\n")}\nend`, [])).toBe("[REDACTED]\nend");
  });

  test("a two-line fragment of the body", () => {
    const out = redact(`…${BODY_LINES.slice(5, 7).join("\n")}…`, []);
    expect(out).not.toContain(BODY_LINES[5]!);
    expect(out).not.toContain(BODY_LINES[6]!);
  });

  test.each<[string, string]>([
    ["a git sha", "commit 9f6f47c992f459ad2c587ba749ae87b2e9e1a2b3 is not on the branch"],
    ["two git shas", "9f6f47c992f459ad2c587ba749ae87b2e9e1a2b3\n992f459ad2c587ba749ae87b2e9e1a2b39f6f47c"],
    ["sha-256 lines", `${"ab12".repeat(16)}\n${"cd34".repeat(16)}\n${"ef56".repeat(16)}`],
    ["upper-case hex", `${"AB12CD34".repeat(8)}\n${"EF56AB12".repeat(8)}`],
    [
      "a stack frame",
      "    at runEvaluation (/home/runner/work/changegate/changegate/lib/flows/evaluate-pr.js:120:15)",
    ],
    [
      "a long path",
      "/srv/apps/ChangeGate/releases/2026/build/lib/flows/evaluate-pr/Evaluate/Stage/Runner/x.js",
    ],
    ["a GraphQL node id", "PR_kwDOABCDEF4567890abcdefghijABCDEFGH and MDExOlB1bGxSZXF1ZXN0MTIzNDU2Nzg5"],
    ["a short base64 value", "dGhpcyBpcyBzaG9ydA=="],
    ["prose", "Something went wrong while reading the pull request from GitHub, try again later please"],
  ])("%s is left alone", (_name, text) => {
    expect(redact(text, [])).toBe(text);
  });
});

describe("known secret values in escaped forms", () => {
  test.each<[string, string]>([
    ["a quote", 'pa"ss-word-1'],
    ["a backslash", "pa\\ss-word-2"],
    ["a newline", "pass\nword-3"],
    ["a tab and a quote", 'pa\t"ss-4'],
  ])("a secret with %s, JSON-escaped in a log line", (_name, secret) => {
    const line = JSON.stringify({ msg: `login failed with ${secret} for x` });
    expect(line).not.toContain(secret); // the escaped form differs from the value
    const out = redact(line, [secret]);
    expect(out).toContain("[REDACTED]");
    expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(JSON.parse(out)).toEqual({ msg: "login failed with [REDACTED] for x" });
  });

  test("a secret JSON-escaped twice (a log line quoting a JSON body)", () => {
    const secret = 'q"uo\\te-secret';
    const twice = JSON.stringify(JSON.stringify({ token: secret }));
    expect(redact(twice, [secret])).not.toContain("uo");
  });

  test("the private key's \\n-escaped form", () => {
    const escaped = PEM.replace(/\n/g, "\\n");
    const out = redact(`PRIVATE_KEY="${escaped}"`, [PEM]);
    expect(out).toBe('PRIVATE_KEY="[REDACTED]"');
  });

  test("the real-newline form of a secret configured with \\n escapes (as PRIVATE_KEY often is)", () => {
    const configured = "first-line-of-it\\nsecond-line-of-it";
    const out = redact("key:\nfirst-line-of-it\nsecond-line-of-it\n", [configured]);
    expect(out).toBe("key:\n[REDACTED]\n");
  });

  test("a single line of a multi-line secret", () => {
    const out = redact(`line ${BODY_LINES[10]!} only`, [PEM]);
    expect(out).toBe("line [REDACTED] only");
  });

  test("a percent-encoded secret in a URL", () => {
    const secret = "p@ss w/rd+1";
    expect(redact(`https://x.example/cb?key=${encodeURIComponent(secret)}`, [secret])).toBe(
      "https://x.example/cb?key=[REDACTED]",
    );
  });
});

describe("secretValues", () => {
  test.each([
    "PRIVATE_KEY",
    "WEBHOOK_SECRET",
    "JIRA_API_TOKEN",
    "JIRA_PAT",
    "JIRA_WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "SENTRY_DSN",
    "WEBHOOK_PROXY_URL",
    "METRICS_TOKEN",
  ])("%s is a secret", (name) => {
    expect(secretValues({ [name]: "value-of-the-variable" })).toEqual(["value-of-the-variable"]);
  });

  test("REDIS_URL, SENTRY_DSN and WEBHOOK_PROXY_URL values are redacted from log lines", () => {
    const env = {
      REDIS_URL: "redis://cache.internal:6379/3",
      SENTRY_DSN: "https://abc123def456@o1.ingest.sentry.io/42",
      WEBHOOK_PROXY_URL: "https://smee.io/AbCdEf123456",
    };
    const line = `starting with ${env.REDIS_URL}, ${env.SENTRY_DSN} and ${env.WEBHOOK_PROXY_URL}`;
    expect(redact(line, secretValues(env))).toBe("starting with [REDACTED], [REDACTED] and [REDACTED]");
  });
});
