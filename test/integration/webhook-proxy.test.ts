/**
 * smee for local development, offline: Probot loads smee-client the way it does on `npm start`
 * (npx-import-light, onlyPackageRunner) and finds the devDependency; the client we hand Probot
 * relays an event from a smee-style channel (a local server sending server-sent events) to the
 * webhook path, with GitHub's headers and the body intact.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { npxImport } from "npx-import-light";
import { loadSmeeClient } from "../../src/server/webhook-proxy.js";

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe("smee-client", () => {
  test("Probot's loader (npxImport smee-client@5.0.0, onlyPackageRunner) finds the devDependency", async () => {
    const mod = (await npxImport("smee-client@5.0.0", { onlyPackageRunner: true })) as {
      SmeeClient?: { createChannel?: unknown };
    };
    expect(typeof mod.SmeeClient?.createChannel).toBe("function");
  });

  test("relays a channel's event to the webhook path with its headers and body", async () => {
    const received: { path: string; headers: Record<string, unknown>; body: string }[] = [];
    const target = await listen((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", headers: req.headers, body });
        res.writeHead(200).end("ok");
      });
    });
    const event = {
      "x-github-event": "ping",
      "x-github-delivery": "d-1",
      "x-hub-signature-256": "sha256=abc",
      body: { zen: "Keep it logically awesome." },
    };
    const channel = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(`event: ready\ndata: {}\n\n`);
      setTimeout(() => res.write(`data: ${JSON.stringify(event)}\n\n`), 100);
    });
    const { SmeeClient } = await loadSmeeClient();
    const logs: string[] = [];
    const logger = {
      info: (m: string) => logs.push(m),
      error: (m: unknown) => logs.push(`error ${String(m)}`),
    };
    const client = new SmeeClient!({
      source: `${channel}/channel`,
      target: `${target}/api/github/webhooks`,
      logger,
    } as never);
    await client.start();
    try {
      const deadline = Date.now() + 15_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.stop();
    }
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/api/github/webhooks");
    expect(received[0]!.headers).toMatchObject({
      "x-github-event": "ping",
      "x-github-delivery": "d-1",
      "x-hub-signature-256": "sha256=abc",
    });
    expect(JSON.parse(received[0]!.body)).toEqual(event.body);
  }, 30_000);
});
