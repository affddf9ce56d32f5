/** A progress bar on a terminal (cli-progress) whose total grows as work is found. */
import cliProgress from "cli-progress";

export interface GrowingProgress {
  add(n: number): void;
  increment(): void;
  stop(): void;
}

export function growingProgress(
  stream: { write(s: string): unknown; isTTY?: boolean },
  what: string,
): GrowingProgress | null {
  if (!stream.isTTY) return null;
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: `${what} [{bar}] {percentage}% {value}/{total}`,
      clearOnComplete: false,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let started = false;
  return {
    add(n) {
      total += n;
      if (!started) {
        bar.start(total, 0);
        started = true;
      } else bar.setTotal(total);
    },
    increment: () => started && bar.increment(),
    stop: () => started && bar.stop(),
  };
}
