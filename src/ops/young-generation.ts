/**
 * young-generation: a cap on V8's young generation (the "new space", where every short-lived object
 * of an evaluation is born). V8 doubles its two semi-spaces whenever many objects survive a
 * scavenge, up to 16 MB each on 64-bit: loading the app's modules alone grew it to 32 MB committed,
 * a quarter of the process's RSS at rest, and it stays that size. `--max-semi-space-size` can only be
 * given on the command line, but `--semi-space-growth-factor` is read at each growth: this module keeps
 * it at 2 while the new space is below the cap and sets it to 1 (no growth) once it reaches it,
 * looking again after every scavenge. Imported first by main.ts (a side effect on import), so it
 * applies before the app's modules are loaded. An operator's own `--max-semi-space-size` or
 * `--semi-space-growth-factor` (NODE_OPTIONS or the command line) wins: `npm start` and the
 * Dockerfile give `--max-semi-space-size=4` (the same cap from the first byte: the static import graph
 * is parsed before any module runs, and that alone grew the young generation to 16 MB), so this
 * module is the fallback for `node lib/main.js` run bare. Measured in bench/RESULTS.md.
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** The young generation's committed size is held at or under this (both semi-spaces: 2 × 4 MB). */
export const YOUNG_GENERATION_CAP_BYTES = 8 * 1024 * 1024;

export interface YoungGenerationCap {
  /** One line for the start-up log. */
  description: string;
  /** Let it grow again, up to the cap (main.ts, once the app's modules are loaded). */
  start(): void;
  /** Stop watching (the factor stays as last set). */
  stop(): void;
}

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/**
 * Hold the young generation at its initial size now (while modules load: growth during the load
 * would outrun the observer) and, from start(), let it double only while it stays within `capBytes`.
 * Nothing when the process was started with its own sizing.
 */
export function capYoungGeneration(
  capBytes: number = YOUNG_GENERATION_CAP_BYTES,
  execArgv: string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? "",
): YoungGenerationCap {
  if (
    [...execArgv, nodeOptions].some((a) =>
      /--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)/.test(a),
    )
  )
    return { description: "young generation: the operator's own sizing", start: () => {}, stop: () => {} };
  let growing = false;
  setFlagsFromString("--semi-space-growth-factor=1");
  const steer = () => {
    // The next growth doubles it: allowed only while the doubled size stays within the cap.
    const grow = newSpaceBytes() * 2 <= capBytes;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  const observer = new PerformanceObserver((list) => {
    if (
      list
        .getEntries()
        .some(
          (e) =>
            (e as unknown as { detail?: { kind?: number } }).detail?.kind ===
            constants.NODE_PERFORMANCE_GC_MINOR,
        )
    )
      steer();
  });
  let started = false;
  return {
    description: `young generation held at ≤ ${Math.round(capBytes / 1024 / 1024)} MB`,
    start: () => {
      if (started) return;
      started = true;
      steer();
      observer.observe({ entryTypes: ["gc"] });
    },
    stop: () => observer.disconnect(),
  };
}

/** The process's cap, applied on import (main.ts imports this module before any other). */
export const youngGeneration: YoungGenerationCap = capYoungGeneration();
