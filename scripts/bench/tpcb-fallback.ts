/*
 * pgbench's built-in TPC-B script, run through postgres.js when no pgbench binary exists, so that
 * the ratio column still has a floor. Tables and transaction follow pgbench's own definitions.
 */
import postgres from 'postgres';
import { percentile } from './stats.js';
import { log } from './server.js';
import type { Row } from './types.js';

export const FALLBACK_LABEL = 'pgbench-tpcb (postgres.js fallback)';

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

async function initialise(sql: postgres.Sql, scale: number) {
  await sql.unsafe(`
    drop table if exists pgbench_history, pgbench_tellers, pgbench_accounts, pgbench_branches;
    create table pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
    create table pgbench_tellers (tid int not null, bid int, tbalance int, filler char(84)) with (fillfactor = 100);
    create table pgbench_accounts (aid int not null, bid int, abalance int, filler char(84)) with (fillfactor = 100);
    create table pgbench_branches (bid int not null, bbalance int, filler char(88)) with (fillfactor = 100);
    insert into pgbench_branches (bid, bbalance) select b, 0 from generate_series(1, ${scale}) b;
    insert into pgbench_tellers (tid, bid, tbalance) select t, (t - 1) / 10 + 1, 0 from generate_series(1, ${10 * scale}) t;
    insert into pgbench_accounts (aid, bid, abalance, filler) select a, (a - 1) / 100000 + 1, 0, '' from generate_series(1, ${100_000 * scale}) a;
    alter table pgbench_branches add primary key (bid);
    alter table pgbench_tellers add primary key (tid);
    alter table pgbench_accounts add primary key (aid);
  `);
  await sql.unsafe('vacuum analyze pgbench_branches, pgbench_tellers, pgbench_accounts, pgbench_history');
}

export async function tpcbFallback(url: string, o: { scale: number; clients: number; duration: number }): Promise<Row> {
  const sql = postgres(url, { max: o.clients, onnotice: () => {} });
  try {
    log(`fallback: initialising scale ${o.scale}`);
    await initialise(sql, o.scale);
    log(`fallback: TPC-B, ${o.clients} clients, ${o.duration} s`);
    const latencies: number[] = [];
    const started = performance.now();
    const end = started + o.duration * 1000;
    const client = async () => {
      while (performance.now() < end) {
        const aid = rand(1, 100_000 * o.scale), bid = rand(1, o.scale), tid = rand(1, 10 * o.scale), delta = rand(-5000, 5000);
        const t0 = performance.now();
        await sql.begin(async (tx) => {
          await tx`update pgbench_accounts set abalance = abalance + ${delta} where aid = ${aid}`;
          await tx`select abalance from pgbench_accounts where aid = ${aid}`;
          await tx`update pgbench_tellers set tbalance = tbalance + ${delta} where tid = ${tid}`;
          await tx`update pgbench_branches set bbalance = bbalance + ${delta} where bid = ${bid}`;
          await tx`insert into pgbench_history (tid, bid, aid, delta, mtime) values (${tid}, ${bid}, ${aid}, ${delta}, current_timestamp)`;
        });
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: o.clients }, client));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { scenario: FALLBACK_LABEL, throughputPerSec: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
