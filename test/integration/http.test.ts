import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createServer, type Server } from "node:http";
import { fetchWithTimeout } from "../../src/github/http.js";

let server: Server;
let base = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/hang") return; // accepts and never answers
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("fetchWithTimeout", () => {
  test("a server that never answers fails after the deadline, saying so", async () => {
    await expect(fetchWithTimeout(100)(`${base}/hang`)).rejects.toThrow("GitHub did not answer within 0.1 s");
  });

  test("an answer in time passes through", async () => {
    const res = await fetchWithTimeout(2000)(`${base}/ok`);
    expect(await res.json()).toEqual({ ok: true });
  });

  test("the caller's own abort still works and is not reported as a timeout", async () => {
    const ctl = new AbortController();
    const p = fetchWithTimeout(5000)(`${base}/hang`, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toThrow(/abort/i);
  });
});
