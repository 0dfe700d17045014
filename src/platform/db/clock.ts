import { sql } from 'drizzle-orm';
import type { Db, Tx } from './client.js';

/** The database's clock: what a service records as "now" comes from one place, whichever server runs it. */
export async function databaseNow(db: Db | Tx) {
  const [row] = await db.execute<{ now: string | Date }>(sql`select clock_timestamp() as now`);
  return new Date(row!.now);
}
