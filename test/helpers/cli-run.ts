/** Run the `changegate` command line in process (`main(argv, io)`), capturing stdout and stderr (not a terminal). */
import { main, type CliIo } from "../../src/cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string = process.cwd(),
  now: () => Date = () => new Date(),
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env,
    cwd,
    now,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
