/*
 * The "rate usage batch" load, in its own process (as load-runner.ts is for autocannon): `concurrency`
 * loops, each posting a fresh batch of `batchSize` records to POST /v1/usage/batches as soon as its
 * previous answer is read, until `duration` seconds are up; the batches in flight then finish.
 * Every record has a new recordId, a random seeded line and startedAt = the time its batch is sent.
 * Prints one JSON line (UsageResult) on stdout.
 */
import { latencySummary, runFor } from './stats.js';
import type { UsageResult, UsageSpec } from './types.js';

const spec = JSON.parse(process.env.BENCH_USAGE ?? '') as UsageSpec;
const MiB = 1_048_576;
const int = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

let seq = 0;
/** 80 % data sessions of 1–8 MiB, 15 % calls of 1–600 s, 5 % single SMS; a JSON string built by hand (it is most of the runner's work). */
function body(n: number): string {
  const startedAt = new Date().toISOString();
  const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const msisdn = spec.msisdnPrefix + String(int(1, spec.lines)).padStart(spec.msisdnDigits, '0');
    const u = Math.random();
    const [type, quantity] = u < 0.8 ? ['data', int(MiB, 8 * MiB)] : u < 0.95 ? ['voice', int(1, 600)] : ['sms', 1];
    parts[i] = `{"recordId":"${spec.runId}-${seq++}","msisdn":"${msisdn}","usageType":"${type}","zone":"home","quantity":${quantity},"startedAt":"${startedAt}"}`;
  }
  return `{"records":[${parts.join(',')}]}`;
}

interface Answer { received: number; duplicates: number; rated: number; rejected: number }

const out: UsageResult = {
  batches: 0, sent: 0, rated: 0, rejected: 0, duplicates: 0, statusCodes: {}, non200: 0, errors: 0,
  durationSec: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, runnerCpuSec: 0,
};
const latencies: number[] = [];
const problem = (what: string) => { out.firstProblem ??= what; };

for (let i = 0; i < spec.warmup; i++) {
  const res = await fetch(`${spec.url}/v1/usage/batches`, { method: 'POST', headers: spec.headers, body: body(spec.batchSize) });
  const text = await res.text();
  const a = res.status === 200 ? JSON.parse(text) as Answer : undefined;
  if (!a || a.rated !== spec.batchSize) {
    process.stderr.write(`[bench] usage warm-up batch answered ${res.status}: ${text.slice(0, 500)}\n`);
    process.exit(1);
  }
}

/** One batch: posted, answered, counted. */
async function step() {
  const payload = body(spec.batchSize);
  const t0 = performance.now();
  try {
    const res = await fetch(`${spec.url}/v1/usage/batches`, { method: 'POST', headers: spec.headers, body: payload });
    const text = await res.text();
    const ms = performance.now() - t0;
    out.batches++;
    if (res.status !== 200) {
      out.non200++;
      out.statusCodes[res.status] = (out.statusCodes[res.status] ?? 0) + 1;
      problem(`${res.status}: ${text.slice(0, 300)}`);
      return;
    }
    latencies.push(ms);
    const a = JSON.parse(text) as Answer;
    out.sent += a.received;
    out.rated += a.rated;
    out.rejected += a.rejected;
    out.duplicates += a.duplicates;
    if (a.received !== spec.batchSize || a.rated !== a.received) problem(`batch answered ${text.slice(0, 300)}`);
  } catch (err) {
    out.errors++;
    problem(err instanceof Error ? err.message : String(err));
  }
}

Object.assign(out, await runFor(spec.duration, spec.concurrency, step), latencySummary(latencies));
process.stdout.write(JSON.stringify(out) + '\n');
