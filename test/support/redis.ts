/**
 * A throw-away redis-server for one test file: a free port on 127.0.0.1, no persistence
 * (--save "" --appendonly no). Without redis-server the tests are left out locally, and the end of
 * the run says so; with CI set they fail instead (CI installs redis-server in .ci/run). See tools.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { REDIS, requireTool, suiteName } from "./tools.js";

/** redis-server is here; else CI: throws, locally: the suite (its file's import.meta.url) is noted as left out. */
export function requireRedis(fileUrl: string): boolean {
  return requireTool(REDIS, suiteName(fileUrl)) !== null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const ready = await new Promise<boolean>((resolve) => {
      let out = "";
      const t = setTimeout(() => resolve(false), 10_000);
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (/ready to accept connections/i.test(out)) {
          clearTimeout(t);
          resolve(true);
        }
      });
      child.once("exit", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      };
    }
    child.kill("SIGKILL");
    if (attempt >= 2) throw new Error("could not start redis-server");
  }
}
