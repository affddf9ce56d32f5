/**
 * write-metrics: the write scheduler's figures in the metrics, read at scrape time — the writes
 * queued (write_queue_depth), whether any installation is near GitHub's hourly cap of
 * content-creating writes (write_near_hourly_cap, 0/1), and how many times one came near it
 * (write_cap_warnings_total, the warnings logged).
 */
import type { WriteScheduler } from "../github/write-scheduler.js";
import type { Metrics } from "./metrics.js";

export function wireWriteMetrics(
  metrics: Metrics,
  writes: Pick<WriteScheduler, "depth" | "nearHourlyCap" | "counts">,
): void {
  metrics.setSource("write_queue_depth", () => writes.depth());
  metrics.setSource("write_near_hourly_cap", () => (writes.nearHourlyCap() ? 1 : 0));
  metrics.setCounterSource("write_cap_warnings_total", () => writes.counts.nearCapWarnings);
}
