import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { events } from './tables.js';

/**
 * A page of the event feed after (txid, id). Only transactions older than every transaction still
 * open anywhere in the cluster are served, so an event can never become visible behind a reader's
 * cursor; the price is that one long-open transaction holds the feed back until it ends.
 */
export async function readFeed(db: Db, q: { after?: [number, string]; type?: string; limit: number }) {
  const where: SQL[] = [sql`${events.txid} < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`];
  if (q.after) where.push(sql`(${events.txid}, ${events.id}) > (${q.after[0]}, ${q.after[1]}::uuid)`);
  if (q.type) where.push(eq(events.type, q.type));
  return db.select({ id: events.id, type: events.type, aggregateId: events.aggregateId, payload: events.payload, occurredAt: events.occurredAt, txid: events.txid })
    .from(events).where(and(...where)).orderBy(asc(events.txid), asc(events.id)).limit(q.limit + 1);
}
