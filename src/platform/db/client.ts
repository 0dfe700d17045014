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
 * so the statements a connection keeps stay bounded). Transactions hand drizzle clients of their
 * own, wrapped the same way. Queries without parameters (COPY, SET) go as they are.
 */
export function preparing(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return preparedUnsafe(target);
      if (prop === 'begin') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          return pipelinedTransaction(target, typeof args[0] === 'string' ? args[0] : '', fn);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

const preparedUnsafe = (target: Sql) => (query: string, params?: unknown[], opts?: Record<string, unknown>) =>
  target.unsafe(query, params as never, { ...opts, prepare: Boolean(params?.length) || Boolean(opts?.prepare) });

/**
 * Statements of one transaction sent side by side (one socket write, one round trip), awaited
 * all. If any failed, the error is the one that aborted the transaction, not those of the
 * statements refused because it was aborted (25P02).
 */
export async function together<T extends readonly unknown[]>(...statements: { [K in keyof T]: PromiseLike<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length) throw failures.find((e) => postgresCode(e) !== '25P02') ?? failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** The SQLSTATE of a failed query (drizzle wraps postgres.js's error), if any. */
export function postgresCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown; name?: string }; name?: string };
  if (e.name === 'PostgresError' && typeof e.code === 'string') return e.code;
  if (e.cause?.name === 'PostgresError' && typeof e.cause.code === 'string') return e.cause.code;
  return undefined;
}

/** The constraint a failed query broke (a unique violation's index, say), if any. */
export function postgresConstraint(err: unknown): string | undefined {
  if (!postgresCode(err)) return undefined;
  const e = err as { constraint_name?: unknown; cause?: { constraint_name?: unknown } };
  const name = e.cause?.constraint_name ?? e.constraint_name;
  return typeof name === 'string' ? name : undefined;
}

/** postgres.js's errors for a connection that went away, and Postgres ending the session. */
export function connectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : '';
  return /^CONNECT|^08|^57P0/.test(code);
}

/**
 * A transaction's, or a savepoint's, first failed statement, as postgres.js's begin() keeps it: a
 * failure the callback swallowed still fails the transaction (Postgres would answer its COMMIT
 * with a silent ROLLBACK). `link.lost`: the connection went away.
 */
interface Scope { failure?: unknown; link: { lost: boolean; error?: unknown } }

/**
 * A statement refused without being sent: postgres.js would write it to the closed socket of a
 * connection that went away (a TypeError thrown where nobody can catch it, and a query that never
 * settles). Shaped enough like a postgres.js query for drizzle and COPY.
 */
function refused(err: unknown): ReturnType<Sql['unsafe']> {
  const p = Promise.reject(err);
  p.catch(() => {});
  const self = () => p;
  return Object.assign(p, { values: self, raw: self, execute: self, writable: self, readable: self }) as unknown as ReturnType<Sql['unsafe']>;
}

function track<Q extends PromiseLike<unknown>>(scope: Scope, q: Q): Q {
  // Only a handler: postgres.js starts the query a microtask later, after the caller's .values() or .writable().
  (q as unknown as Promise<unknown>).catch((err: unknown) => {
    scope.failure ??= err;
    if (connectionLost(err)) scope.link.lost = true;
  });
  return q;
}

/** The error to throw for a failed scope: the statement that failed first, not the 25P02 of those after it. */
const cause = (scope: Scope, err: unknown) => (postgresCode(err) === '25P02' && scope.failure ? scope.failure : err);

/**
 * A transaction whose BEGIN (and each SAVEPOINT) goes out in the same socket write as its first
 * statement: postgres.js's own begin() waits for BEGIN's answer before running the transaction,
 * and every round trip costs a socket write and a wake-up on each side, which on a busy
 * two-core machine is more CPU than most statements. Queries of one connection run in order, so
 * the first statement still runs inside the transaction.
 *
 * A connection that went away is neither sent a ROLLBACK (postgres.js would write to its closed
 * socket) nor released (postgres.js has taken it back as closed); Postgres has rolled back.
 */
async function pipelinedTransaction(pool: Sql, options: string, fn: (tx: Sql) => unknown) {
  const conn = await pool.reserve();
  const scope: Scope = { link: { lost: false } };
  // postgres.js hands BEGIN's executor the connection itself: its onclose is how we hear it went away.
  let connection: { onclose?: ((e: unknown) => void) | null } | undefined;
  const onexecute = (c: NonNullable<typeof connection>) => {
    connection = c;
    c.onclose = (e) => Object.assign(scope.link, { lost: true, error: e });
    return true; // more statements may follow at once (pipelined)
  };
  const release = () => {
    if (connection) connection.onclose = null;
    conn.release();
  };
  try {
    const begun = track(scope, conn.unsafe(`begin ${options.replace(/[^a-z ]/gi, '')}`, [], { onexecute } as never).execute());
    const result = await fn(transactionClient(conn, scope));
    await begun;
    if (scope.failure) throw scope.failure;
    const ended = await statement(conn, scope, 'commit');
    // A statement sent without being awaited (it went out with the COMMIT) failed: its error says why.
    if (ended.command !== 'COMMIT') throw scope.failure ?? new Error(`COMMIT answered ${ended.command}: the transaction was rolled back`);
    release();
    return result;
  } catch (err) {
    if (scope.link.lost || connectionLost(err)) throw connectionLost(err) ? err : scope.link.error;
    await conn.unsafe('rollback').catch(() => {});
    release();
    throw cause(scope, err);
  }
}

/** A statement of the transaction, unless its connection has gone away. */
function statement(conn: postgres.ReservedSql, scope: Scope, query: string, params?: unknown[], opts?: Record<string, unknown>) {
  return scope.link.lost ? refused(scope.link.error) : track(scope, preparedUnsafe(conn)(query, params, opts));
}

/** The client a transaction's statements go through: prepared statements, tracked; savepoints sent like BEGIN. */
function transactionClient(conn: postgres.ReservedSql, scope: Scope, counter = { savepoints: 0 }): Sql {
  const client: Sql = new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return (query: string, params?: unknown[], opts?: Record<string, unknown>) => statement(conn, scope, query, params, opts);
      if (prop === 'savepoint') {
        return async (fn: (tx: Sql) => unknown) => {
          const name = `s${counter.savepoints++}`;
          const inner: Scope = { link: scope.link };
          const saved = statement(conn, inner, `savepoint ${name}`);
          try {
            const result = await fn(transactionClient(conn, inner, counter));
            await saved;
            if (inner.failure) throw inner.failure;
            return result;
          } catch (err) {
            if (scope.link.lost) throw err;
            // Failing, the transaction itself is lost (the savepoint never began): the statement that failed says why.
            await statement(conn, scope, `rollback to savepoint ${name}`).catch(() => {});
            throw cause(inner, err);
          }
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return client;
}

/**
 * postgres.js leaves Nagle's algorithm on; with pipelined small queries on loopback that adds
 * delayed-ACK stalls of tens of milliseconds per round trip. Postgres disables it on its side too.
 */
function noDelaySocket(o: { host: string[]; port: number[]; path?: string | false }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = o.path ? netConnect({ path: o.path }) : netConnect({ host: o.host[0], port: o.port[0], noDelay: true });
    socket.once('connect', () => resolve(coalescing(socket))).once('error', reject);
  });
}

/**
 * postgres.js gathers the statements sent in one tick into one socket write, except that it
 * writes at once whatever has gathered as soon as it reaches 1 KB: a pipelined transaction's
 * statements then go out in two or three writes, and each write wakes the backend again. Here
 * the socket is corked from a tick's first write until after postgres.js's own deferred write
 * (setImmediate, so the second one), and sends the tick's writes as one.
 */
function coalescing(socket: Socket) {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: unknown[]) {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(() => setImmediate(uncork));
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
  return socket;
}
