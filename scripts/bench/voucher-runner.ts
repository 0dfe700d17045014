/*
 * The "redeem voucher" load, in its own process (as load-runner.ts is for autocannon): `connections`
 * loops, each on a keep-alive connection of its own (HTTP written by hand: see Connection), posting to POST /v1/voucher-redemptions as soon as
 * its previous answer is read, until `duration` seconds are up; the requests in flight then finish.
 * Every request takes the next unused PIN of the downloaded batch (one shared index: no PIN is ever
 * sent twice, so no request is a wrong PIN or a second redemption), the next account round-robin
 * and a fresh Idempotency-Key. Prints one JSON line (VoucherResult) on stdout.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
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
const fixedHeaders = Object.entries({ ...spec.headers, host: target.host, connection: 'keep-alive' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');

/**
 * One keep-alive HTTP/1.1 connection written to and read by hand: a request is one string, an
 * answer is read by its content-length. Node's http client costs the runner, which shares the
 * machine with the server and Postgres, about half a millisecond of CPU a request; pgbench's
 * client is C.
 */
class Connection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve(a: { status: number; text: string }): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;

  private open(): Socket {
    const socket = connect({ host: target.hostname, port: Number(target.port || 80), noDelay: true });
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.answer();
    });
    const fail = (err: Error) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.buffer = Buffer.alloc(0);
      this.settle()?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    return socket;
  }

  private settle() {
    const w = this.waiting;
    if (w) clearTimeout(w.timer);
    this.waiting = undefined;
    return w;
  }

  private answer() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const text = this.buffer.subarray(end + 4, end + 4 + length).toString();
    this.buffer = this.buffer.subarray(end + 4 + length);
    this.settle()?.resolve({ status: Number(head.slice(9, 12)), text });
  }

  post(body: string, idempotencyKey: string): Promise<{ status: number; text: string }> {
    this.socket ??= this.open();
    const request = `POST ${target.pathname} HTTP/1.1\r\n${fixedHeaders}idempotency-key: ${idempotencyKey}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket?.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting = { resolve, reject, timer };
      this.socket!.write(request);
    });
  }

  close() {
    this.socket?.destroy();
  }
}

const idle: Connection[] = [];

/** One POST on a keep-alive connection of its own while it is answered. */
async function redeem(i: number, account: string): Promise<{ status: number; text: string }> {
  const conn = idle.pop() ?? new Connection();
  try {
    return await conn.post(`{"pin":"${pins[i]}","billingAccountId":"${account}"}`, `${spec.runId}-${i}`);
  } finally {
    idle.push(conn);
  }
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
for (const conn of idle) conn.close();
process.stdout.write(JSON.stringify(out) + '\n');
