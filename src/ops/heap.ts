/**
 * heap: how far V8 lets the old generation grow before its next full collection. V8's default
 * grows it up to 4× what survived the last one, so a webhook burst (payloads parsed, clients built,
 * answers rendered — nearly all of it garbage within a second) lifted the process from ~45 MB of
 * live heap to ~150 MB committed before the first full collection: peak RSS ~240 MB under the
 * bench's 200-PR bursts for ~45 MB that was ever live. A growing factor of 1.5× keeps the peak near
 * 170 MB (2×: ~180 MB) at no throughput cost the bench can tell from its noise (bench/RESULTS.md).
 * Set before the app allocates; an operator's own `--heap-growing-percent` (NODE_OPTIONS or the
 * command line) wins. (The young generation's size cannot be changed this late: `--max-semi-space-size`
 * would have to be on the command line.)
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 50;

/** Applies the growing factor unless the process was started with its own. Returns what it did. */
export function limitHeapGrowth(
  execArgv: string[] = process.execArgv,
  /** NODE_OPTIONS (settings.platform.nodeOptions). */
  nodeOptions: string,
): string {
  if ([...execArgv, nodeOptions].some((a) => /--heap[-_]growing[-_]percent/.test(a)))
    return "heap growing factor: the operator's own";
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return `heap growing factor: ${1 + HEAP_GROWING_PERCENT / 100}×`;
}
