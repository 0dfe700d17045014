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
  /** The one status that counts as success (e.g. 201); any other response counts against the scenario. Default: any 2xx. */
  expectStatus?: number;
  /** Stop after this many requests even if time remains (a scenario that uses up a finite pool). */
  maxRequests?: number;
}

/** What the load runner prints on stdout. */
export interface LoadResult {
  completed: number;
  /** Responses with the expected status (any 2xx unless `expectStatus`). */
  ok: number;
  /** Responses that were not ok (with `expectStatus`, every other status, 2xx included). */
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
