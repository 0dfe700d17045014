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
    db: drizzle(preparing(sql), { casing: 'snake_case' }),
    relaxed: drizzle(preparing(relaxedSql), { casing: 'snake_case' }),
    url,
    close: async () => {
      await Promise.all([sql.end({ timeout: 2 }), relaxedSql.end({ timeout: 2 })]);
    },
  };
}

/**
 * drizzle sends every query unnamed, and postgres.js then spends a round trip of its own asking
 * Postgres for the parameter types before it can bind them, while Postgres parses and plans the
 * statement every time. Through this wrapper a query with parameters is a named prepared statement
 * of its connection instead: one round trip, parsed once per connection (connections are recycled,
 * so the statements a connection keeps stay bounded). Transactions and savepoints hand drizzle
 * clients of their own, which are wrapped the same way. Queries without parameters (COPY, SET)
 * go as they are.
 */
export function preparing(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], opts?: Record<string, unknown>) =>
          target.unsafe(query, params as never, { ...opts, prepare: Boolean(params?.length) || Boolean(opts?.prepare) });
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const callback = args.pop() as (inner: Sql) => unknown;
          return (Reflect.get(target, prop) as (...a: unknown[]) => unknown)(...args, (inner: Sql) => callback(preparing(inner)));
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
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
