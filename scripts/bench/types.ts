/** What the parent asks of the load runner (passed as JSON in BENCH_LOAD). */
export interface LoadSpec {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  method: 'GET' | 'POST';
  body?: string;
  /** Paths to cycle through; each connection walks the list in order. */
  paths: string[];
}

/** What the load runner prints on stdout. */
export interface LoadResult {
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  p50Ms: number;
  p99Ms: number;
  statusCodes: Record<string, number>;
}

/** One line of the report. */
export interface Row {
  scenario: string;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx?: number;
  errors?: number;
}
