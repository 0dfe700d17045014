import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { percentile } from './stats.js';
import { log } from './server.js';
import { tpcbFallback } from './tpcb-fallback.js';
import type { Row } from './types.js';

export const PGBENCH_DB = 'bench_pgbench';
const SCALE = 10;
const CLIENTS = 16;

export interface PgTarget { port: number; password: string; dataDir: string }

export function pgUrl(t: PgTarget, db: string) {
  return `postgres://postgres:${encodeURIComponent(t.password)}@127.0.0.1:${t.port}/${db}`;
}

function findPgbench(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pgbench'))) return path.join(dir, 'pgbench');
  }
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  // Newest major first: it speaks to the newest servers.
  const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => path.join(base, v, 'bin', 'pgbench')).find((p) => existsSync(p));
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

async function createDatabase(t: PgTarget) {
  const admin = postgres(pgUrl(t, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${PGBENCH_DB}`);
    await admin.unsafe(`create database ${PGBENCH_DB}`);
  } finally {
    await admin.end();
  }
}

/** Per-transaction latencies (µs, third column) from pgbench's -l logs, one file per thread. */
function readLatencies(dir: string, prefix: string): number[] {
  const lat: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith(prefix + '.'))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) lat.push(us / 1000);
    }
  }
  return lat;
}

/** The floor every HTTP scenario is compared with: plain TPC-B on the very same Postgres. */
export async function pgbenchFloor(t: PgTarget, duration: number, forceFallback: boolean): Promise<Row> {
  await createDatabase(t);
  const bin = forceFallback ? undefined : findPgbench();
  if (!bin) {
    log(forceFallback ? 'using the postgres.js TPC-B fallback (--fallback)' : 'pgbench not found; using the postgres.js TPC-B fallback');
    return tpcbFallback(pgUrl(t, PGBENCH_DB), { scale: SCALE, clients: CLIENTS, duration });
  }
  const env = { ...process.env, PGPASSWORD: t.password };
  const conn = ['-h', '127.0.0.1', '-p', String(t.port), '-U', 'postgres'];
  log(`pgbench (${bin}): initialising scale ${SCALE}`);
  await run(bin, ['-i', '-s', String(SCALE), '-q', ...conn, PGBENCH_DB], env, t.dataDir);
  log(`pgbench: TPC-B, ${CLIENTS} clients, ${duration} s`);
  const prefix = 'pgbench_log';
  const out = await run(bin, ['-c', String(CLIENTS), '-j', '2', '-T', String(duration), '-l', `--log-prefix=${prefix}`, ...conn, PGBENCH_DB], env, t.dataDir);
  const tps = /tps = ([\d.]+)/.exec(out);
  if (!tps) throw new Error(`no "tps = " in pgbench output:\n${out}`);
  const lat = readLatencies(t.dataDir, prefix).sort((a, b) => a - b);
  return { scenario: 'pgbench tpc-b', throughputPerSec: Number(tps[1]), p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99) };
}
