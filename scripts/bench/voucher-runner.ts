/*
 * The "redeem voucher" load, in its own process (as load-runner.ts is for autocannon): `connections`
 * loops, each on its own keep-alive connection, posting to POST /v1/voucher-redemptions as soon as
 * its previous answer is read, until `duration` seconds are up; the requests in flight then finish.
 * Every request takes the next unused PIN of the downloaded batch (one shared index: no PIN is ever
 * sent twice, so no request is a wrong PIN or a second redemption), the next account round-robin
 * and a fresh Idempotency-Key. Prints one JSON line (VoucherResult) on stdout.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { latencySummary, runFor } from './stats.js';
import type { VoucherResult, VoucherSpec } from './types.js';

const spec = JSON.parse(process.env.BENCH_VOUCHERS ?? '') as VoucherSpec;
const REQUEST_TIMEOUT_MS = 30_000;

const lines = readFileSync(spec.pinsFile, 'utf8').trimEnd().split('\n');
lines.shift(); // "serial,pin"
const serials = new Array<number>(lines.length);
const pins = new Array<string>(lines.length);
for (let i = 0; i < lines.length; i++) {
  const comma = lines[i]!.indexOf(',');
  serials[i] = Number(lines[i]!.slice(0, comma));
  pins[i] = lines[i]!.slice(comma + 1);
}
lines.length = 0;

const target = new URL('/v1/voucher-redemptions', spec.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });

/** One POST on a pooled keep-alive connection; lighter on the runner's CPU than fetch. */
function redeem(i: number, account: string): Promise<{ status: number; text: string }> {
  const body = `{"pin":"${pins[i]}","billingAccountId":"${account}"}`;
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { ...spec.headers, 'idempotency-key': `${spec.runId}-${i}`, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const out: VoucherResult = {
  redeemed: 0, statusCodes: {}, non201: 0, mismatched: 0, errors: 0, pinsUsed: 0, exhausted: false,
  perAccount: new Array<number>(spec.accounts.length).fill(0), durationSec: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, runnerCpuSec: 0,
};
const latencies: number[] = [];
const problem = (what: string) => { out.firstProblem ??= what; };
let next = 0;

/** Sends the next PIN; true when it was answered 201 for that voucher and account. */
async function one(timed: boolean): Promise<boolean> {
  const i = next++;
  const a = i % spec.accounts.length;
  const t0 = performance.now();
  try {
    const res = await redeem(i, spec.accounts[a]!);
    const ms = performance.now() - t0;
    if (res.status !== 201) {
      out.non201++;
      out.statusCodes[res.status] = (out.statusCodes[res.status] ?? 0) + 1;
      problem(`${res.status} for serial ${serials[i]}: ${res.text.slice(0, 300)}`);
      return false;
    }
    const body = JSON.parse(res.text) as { serial: number; billingAccountId: string };
    if (body.serial !== serials[i] || body.billingAccountId !== spec.accounts[a]) {
      out.mismatched++;
      problem(`201 for serial ${serials[i]} and account ${spec.accounts[a]} answered ${res.text.slice(0, 300)}`);
      return false;
    }
    out.perAccount[a]!++;
    if (timed) {
      out.redeemed++;
      latencies.push(ms);
    }
    return true;
  } catch (err) {
    out.errors++;
    problem(err instanceof Error ? err.message : String(err));
    return false;
  }
}

for (let w = 0; w < spec.warmup; w++) {
  if (!(await one(false))) {
    process.stderr.write(`[bench] voucher warm-up redemption failed: ${out.firstProblem}\n`);
    process.exit(1);
  }
}

const run = await runFor(spec.duration, spec.connections, async () => {
  if (next >= pins.length) {
    out.exhausted = true;
    return false;
  }
  await one(true);
});
Object.assign(out, run, latencySummary(latencies), { pinsUsed: next });
agent.destroy();
process.stdout.write(JSON.stringify(out) + '\n');
