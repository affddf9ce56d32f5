/**
 * A throw-away redis-server for one test file: a free port on 127.0.0.1, no persistence
 * (--save "" --appendonly no). Without redis-server the tests say why and are left out locally;
 * with CI set they fail instead (CI installs redis-server in .ci/run).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export function redisAvailable(): boolean {
  return spawnSync("sh", ["-c", "command -v redis-server"], { stdio: "ignore" }).status === 0;
}

/** Throws in CI when redis-server is missing; locally, says so and returns false. */
export function requireRedis(suite: string): boolean {
  if (redisAvailable()) return true;
  if (process.env.CI) throw new Error(`${suite}: redis-server is not installed (CI must install it: .ci/run)`);
  console.warn(`${suite}: left out, redis-server is not installed (apt-get install redis-server)`);
  return false;
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
    const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
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
