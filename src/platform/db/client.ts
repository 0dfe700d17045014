import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase;
/** A drizzle handle that is either the pool or an open transaction: services take this. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db;

export interface Database {
  sql: Sql;
  db: Db;
  url: string;
  close(): Promise<void>;
}

export function connect(url: string, max = 10): Database {
  const sql = postgres(url, {
    max,
    // Tests and CLIs create many schemas at once; these notices are noise.
    onnotice: () => {},
    connection: { application_name: 'telco-crm', TimeZone: 'UTC' },
    idle_timeout: 30,
  });
  const db = drizzle(sql, { casing: 'snake_case' });
  return { sql, db, url, close: () => sql.end({ timeout: 5 }) };
}

/** Runs fn in one transaction; every service call that must be atomic takes the `tx` it is given. */
export function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(fn);
}
