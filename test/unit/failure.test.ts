import { describe, expect, test } from "@jest/globals";
import { hideHosts, renderFailure } from "../../src/report/failure.js";
import type { Report } from "../../src/report/types.js";

function fail(error: unknown): Report {
  return renderFailure({ stage: "record", error, headSha: null, deliveryId: "delivery-1" }, []);
}

/** The comment without the stack's code block: what the **Error:** line says. */
function errorLine(r: Report): string {
  return r.comment.split("\n").find((l) => l.startsWith("**Error:**"))!;
}

describe("the failure report names no internal host or address", () => {
  test.each<[string, string, string]>([
    ["connect ECONNREFUSED 10.0.3.7:5432", "10.0.3.7", "connect ECONNREFUSED <host>:5432"],
    ["getaddrinfo ENOTFOUND db.internal.corp", "db.internal.corp", "getaddrinfo ENOTFOUND <host>"],
    ["getaddrinfo EAI_AGAIN db.internal.corp", "db.internal", "getaddrinfo EAI_AGAIN <host>"],
    ["connect ETIMEDOUT 172.16.4.20:443", "172.16.4.20", "connect ETIMEDOUT <host>:443"],
    ["connect EHOSTUNREACH 192.168.10.3:6379", "192.168.10.3", "connect EHOSTUNREACH <host>:6379"],
    ["connect ECONNRESET 10.9.8.7:5432", "10.9.8.7", "connect ECONNRESET <host>:5432"],
    ["connect ECONNREFUSED ::1:5432", "::1", "connect ECONNREFUSED <host>:5432"],
    ["connect ECONNREFUSED fd00:ec2::254:443", "fd00:ec2", "connect ECONNREFUSED <host>:443"],
    [
      "fetch failed calling https://jira.internal.acme:8443/rest/api/2/search?jql=x",
      "jira.internal.acme",
      "https://<host>:8443/rest/api/2/search?jql=x",
    ],
    [
      "cannot reach the audit database postgres://audit@db.internal:5432/changegate: timeout",
      "db.internal",
      "postgres://audit@<host>:5432/changegate",
    ],
    [
      "cannot reach postgres://[REDACTED]@pg-primary/changegate",
      "pg-primary",
      "postgres://[REDACTED]@<host>/changegate",
    ],
    ["redis://cache:6379 is down", "cache", "redis://<host>:6379 is down"],
    [
      "Connect Timeout Error (attempted address: jira.internal.acme:8443, timeout: 10000ms)",
      "jira.internal.acme",
      "(attempted address: <host>:8443, timeout: 10000ms)",
    ],
    [
      "Connect Timeout Error (attempted addresses: 10.0.0.1:443, 10.0.0.2:443, timeout: 10000ms)",
      "10.0.0.",
      "(attempted addresses: <host>:443, <host>:443, timeout",
    ],
    ['no pg_hba.conf entry for host "10.1.2.3", user "audit"', "10.1.2.3", 'for host "<host>", user "audit"'],
    [
      "ping 2001:db8:0:0:1:0:0:1 and fe80::1%eth0 and [2001:db8::42]:443",
      "db8",
      "ping <host> and <host> and [<host>]:443",
    ],
    [
      "Hostname/IP does not match certificate's altnames: Host: jira.internal.acme. is not in the cert's altnames: DNS:*.corp.acme, DNS:corp.acme",
      "acme",
      "Host: <host> is not in the cert's altnames: DNS:<host>, DNS:<host>",
    ],
    [
      "the cache at cache-01.eu-west.internal:6379 did not answer",
      "cache-01",
      "the cache at <host>:6379 did not answer",
    ],
    [
      "GitHub Enterprise at https://github.acme.internal/api/graphql failed",
      "acme.internal",
      "https://<host>/api/graphql",
    ],
  ])("%s", (message, hidden, shown) => {
    const r = fail(new Error(message));
    for (const text of [r.comment, r.check.title, r.check.summary]) expect(text).not.toContain(hidden);
    expect(r.comment).toContain(shown); // in the stack's code block, verbatim
    expect(r.check.title).toContain(shown);
    expect(errorLine(r)).toContain("host");
  });

  test("the stack and its causes are stripped too", () => {
    const root = Object.assign(new Error("connect ECONNREFUSED 10.0.3.7:5432"), { code: "ECONNREFUSED" });
    root.stack =
      "Error: connect ECONNREFUSED 10.0.3.7:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)";
    const top = new Error("fetch failed", { cause: root });
    const r = fail(top);
    expect(r.comment).not.toContain("10.0.3.7");
    expect(r.comment).toContain(
      "Caused by: Error: connect ECONNREFUSED <host>:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
    );
  });

  test("hosts are stripped after redaction: credentials and hosts both go", () => {
    const r = fail(new Error("postgres://audit:hunter2@db.internal:5432/x refused"));
    expect(r.comment).toContain("postgres://[REDACTED]@<host>:5432/x refused");
    expect(r.comment).not.toContain("hunter2");
  });
});

describe("hideHosts leaves the rest alone", () => {
  test.each<[string]>([
    ["    at runEvaluation (/app/lib/flows/evaluate-pr.js:120:15)"],
    ["    at file:///app/lib/main.js:82:11"],
    ["    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"],
    ["    at async Promise.all (index 0)"],
    ["    at Object.<anonymous> (C:\\app\\lib\\x.js:10:5)"],
    ["    at new Pool (webpack-internal:///./src/db.ts:10:5)"],
    ["    at x (/app/node_modules/.pnpm/pg@8.11.3/node_modules/pg/lib/client.js:10:5)"],
    ["at 2026-01-02T10:20:30.123Z on node v20.20.2 (zod 4.1.12)"],
    ["commit 9f6f47c992f459ad2c587ba749ae87b2e9e1a2b3 and sha-256 ab12cd34"],
    ["reading acme/payments:.github/changegate.yml failed"],
    ["GET https://api.github.com/repos/acme/x/pulls/12 answered 502"],
    ["see https://docs.github.com/rest/checks/runs and https://github.com/acme/x/pull/1"],
    ["GitHub did not answer the GraphQL read within 30 s"],
    ["read ECONNRESET"],
    ["attempt 3: 12:30:45 retry in 2.5 s, status 503, 5:1 ratio"],
    ["checks (5,000) on acme/x#12"],
  ])("%s", (text) => {
    expect(hideHosts(text)).toBe(text);
  });
});
