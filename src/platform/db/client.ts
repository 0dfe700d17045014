import { connect as netConnect, type Socket } from 'node:net';
import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase;
/**
 * A drizzle handle that is either the pool or an open transaction: services take this, and open
 * transactions with `db.transaction(async (tx) => ...)` so that callers can pass `tx` along.
 */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db;

export interface Database {
  sql: Sql;
  db: Db;
  /**
   * A small pool whose commits do not wait for the WAL flush (synchronous_commit=off): for records
   * that may be lost in a database crash's last fraction of a second but must not cost a disk
   * flush on every read, such as the audit of a read. Never for business data.
   */
  relaxed: Db;
  url: string;
  close(): Promise<void>;
}

/** `?host=/dir` (libpq's way to name a Unix socket directory) becomes postgres.js's `path`. */
function socketOf(url: string): { target: string; path?: string } {
  const parsed = new URL(url);
  const dir = parsed.searchParams.get('host');
  if (!dir?.startsWith('/')) return { target: url };
  parsed.searchParams.delete('host');
  return { target: parsed.toString(), path: `${dir}/.s.PGSQL.${parsed.port || 5432}` };
}

/** A one-connection client for administration (CREATE DATABASE and the like). */
export function adminSql(url: string): Sql {
  const { target, path } = socketOf(url);
  return postgres(target, { max: 1, path, onnotice: () => {} });
}

export function connect(url: string, max = 10): Database {
  const { target, path } = socketOf(url);
  const options = {
    path,
    // Tests and CLIs create many schemas at once; these notices are noise.
    onnotice: () => {},
    idle_timeout: 30,
    socket: noDelaySocket,
  };
  const sql = postgres(target, { ...options, max, connection: { application_name: 'telco-crm', TimeZone: 'UTC' } });
  const relaxedSql = postgres(target, { ...options, max: Math.max(2, Math.ceil(max / 2)), connection: { application_name: 'telco-crm', TimeZone: 'UTC', synchronous_commit: 'off' } });
  return {
    sql,
    db: drizzle(sql, { casing: 'snake_case' }),
    relaxed: drizzle(relaxedSql, { casing: 'snake_case' }),
    url,
    close: async () => {
      await Promise.all([sql.end({ timeout: 2 }), relaxedSql.end({ timeout: 2 })]);
    },
  };
}

/**
 * postgres.js leaves Nagle's algorithm on; with pipelined small queries on loopback that adds
 * delayed-ACK stalls of tens of milliseconds per round trip. Postgres disables it on its side too.
 */
function noDelaySocket(o: { host: string[]; port: number[]; path?: string | false }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = o.path ? netConnect({ path: o.path }) : netConnect({ host: o.host[0], port: o.port[0], noDelay: true });
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}
