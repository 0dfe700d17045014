/*
 * Runs autocannon in its own process so that the load generator's CPU work never shares an event
 * loop with the server; the parent reads one JSON line (LoadResult) from stdout.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './types.js';

const spec = JSON.parse(process.env.BENCH_LOAD ?? '') as LoadSpec;
if (spec.pathsFile) spec.paths = readFileSync(spec.pathsFile, 'utf8').trim().split('\n');

// Static requests (not setupRequest) so autocannon builds each buffer once, not on every request;
// random paths need a request built each time (a few microseconds).
const random = { method: spec.method, path: spec.paths[0], body: spec.body, headers: spec.headers, setupRequest: (req: { path?: string }) => ({ ...req, path: spec.paths[Math.floor(Math.random() * spec.paths.length)] }) };
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.duration,
  headers: spec.headers,
  requests: spec.randomPaths ? [random] : spec.paths.map((path) => ({ method: spec.method, path, body: spec.body, headers: spec.headers })),
  // Unlike `amount`, which overrides `duration`, this caps the count and keeps the time limit.
  ...(spec.maxRequests ? { maxOverallRequests: spec.maxRequests } : {}),
});

const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
const ok = spec.expectStatus === undefined ? result['2xx'] : statusCodes[String(spec.expectStatus)] ?? 0;

const out: LoadResult = {
  completed: result.requests.total,
  ok,
  non2xx: spec.expectStatus === undefined ? result.non2xx : Object.values(statusCodes).reduce((a, b) => a + b, 0) - ok,
  errors: result.errors,
  timeouts: result.timeouts,
  durationSec: result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  statusCodes,
};
process.stdout.write(JSON.stringify(out) + '\n');
