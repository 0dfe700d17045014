/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Runs `workers` loops of `step` side by side until `seconds` have passed (a step that returns
 * false ends its own loop); the requests in flight then finish. The run's wall time and the CPU
 * this process used for it.
 */
export async function runFor(seconds: number, workers: number, step: () => Promise<boolean | void>) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < deadline) if ((await step()) === false) return;
  }));
  const used = process.cpuUsage(cpu);
  return { durationSec: (performance.now() - started) / 1000, runnerCpuSec: (used.user + used.system) / 1e6 };
}

/** p50, p99 and the slowest of a run's latencies (sorted in place). */
export function latencySummary(latencies: number[]) {
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) ?? NaN };
}
