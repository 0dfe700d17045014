/*
 * npm run bench [-- --duration N] [--connections N] [--json] [--fallback] [--no-worker]
 * Starts the server on a throw-away embedded Postgres, drives it with autocannon from a separate
 * process, then runs pgbench TPC-B on the same Postgres so that each scenario is reported as a
 * ratio to that floor (ratios travel across machines, absolute numbers do not).
 * Scenarios: create customer, get customer by id, place new-line order (its set-up in orders.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { POOL, setupOrders, waitForFulfilment } from './orders.js';
import { pgbenchFloor } from './pgbench.js';
import { toJson, toTable } from './report.js';
import { log, root, startServer, type BenchServer } from './server.js';
import type { LoadResult, LoadSpec, Row } from './types.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
    fallback: { type: 'boolean', default: false }, // exercise the postgres.js TPC-B path even where pgbench exists
    'no-worker': { type: 'boolean', default: false }, // the server without its job worker: orders are accepted, not fulfilled
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
if (!(duration > 0) || !(connections > 0)) {
  console.error('--duration and --connections must be positive numbers');
  process.exit(2);
}

const SEED = 100;
const customerBody = JSON.stringify({ type: 'individual', givenName: 'Bench', familyName: 'User', contactPoints: [{ kind: 'email', value: 'bench@example.com' }] });

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/bench/load-runner.ts')], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_LOAD: JSON.stringify(spec) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`load runner exited with ${code ?? signal}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch {
        reject(new Error(`load runner printed no JSON: ${out}`));
      }
    });
  });
}

/** Creates the customers the read scenario cycles over; it also warms the server's write path. */
async function seed(server: BenchServer, headers: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let batch = 0; batch < SEED; batch += 10) {
    await Promise.all(Array.from({ length: 10 }, async () => {
      const res = await fetch(`${server.baseUrl}/v1/customers`, { method: 'POST', headers, body: customerBody });
      if (res.status !== 201) throw new Error(`seeding: POST /v1/customers answered ${res.status}: ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }));
  }
  return ids;
}

async function scenario(name: string, spec: Omit<LoadSpec, 'connections' | 'duration'>): Promise<Row> {
  log(`${name}: ${connections} connections, ${duration} s`);
  const r = await runLoad({ ...spec, connections, duration });
  if (r.non2xx || r.errors || r.timeouts) {
    log(`${name}: ${r.non2xx} ${spec.expectStatus ? `not ${spec.expectStatus}` : 'non-2xx'}, ${r.errors} errors, ${r.timeouts} timeouts; status codes ${JSON.stringify(r.statusCodes)}`);
  }
  if (spec.maxRequests && r.completed + r.errors + r.timeouts >= spec.maxRequests) {
    log(`${name}: stopped after ${spec.maxRequests} requests (${r.durationSec} s), before the ${duration} s were up`);
  }
  // Only successful responses count as throughput: fast 4xx/5xx must not flatter a scenario.
  return { scenario: name, throughputPerSec: r.ok / r.durationSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

let server: BenchServer | undefined;
// Ctrl-C reaches the server too (same process group); wait for it and remove the temp dir.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  log('starting the server on a fresh embedded Postgres');
  server = await startServer({ worker: !args['no-worker'] });
  const headers = { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' };
  const ids = await seed(server, headers);
  const rows: Row[] = [];
  rows.push(await scenario('create customer', { url: server.baseUrl, headers, method: 'POST', body: customerBody, paths: ['/v1/customers'] }));
  rows.push(await scenario('get customer by id', { url: server.baseUrl, headers, method: 'GET', paths: ids.map((id) => `/v1/customers/${id}`) }));
  const orders = await setupOrders(server.baseUrl, headers);
  // Each 201 takes a number and a SIM: never ask for more than the pool holds (the set-up placed one order too).
  rows.push(await scenario('place new-line order', {
    url: server.baseUrl, headers, method: 'POST', body: orders.body, paths: ['/v1/orders'], expectStatus: 201, maxRequests: POOL - 100,
  }));
  if (args['no-worker']) log('orders: --no-worker, so the accepted orders stay acknowledged');
  else await waitForFulfilment(server.baseUrl, headers, Math.max(120, duration * 20));
  const floor = await pgbenchFloor({ port: server.pgPort, password: server.pgPassword, dataDir: server.dataDir }, duration, args.fallback);
  rows.push(floor);
  if (args.json) process.stdout.write(JSON.stringify(toJson(rows, floor.throughputPerSec), null, 2) + '\n');
  else process.stdout.write(`\n${toTable(rows, floor.throughputPerSec)}\n`);
} catch (err) {
  log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  exitCode = 1;
} finally {
  log('stopping the server');
  await server?.stop();
}
process.exit(exitCode);
