import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { platform } from '../db/tables.js';

/** The outbox: every domain event, written in the transaction that caused it. Partitioned by month. */
export const events = platform.table('events', {
  id: uuid().notNull(),
  type: text().notNull(),
  aggregateId: text(),
  payload: jsonb().$type<Record<string, unknown>>().notNull(),
  occurredAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  requestId: text(),
  /**
   * The writing transaction's id. Feed readers page by (txid, id) and see only transactions older
   * than every one still running, so an event that commits late can never fall behind a cursor.
   */
  txid: bigint({ mode: 'number' }).notNull().default(sql`pg_current_xact_id()::text::bigint`),
  /** Set by the outbox relay once the event's deliveries are enqueued. */
  dispatchedAt: timestamp({ withTimezone: true }),
}, (t) => [
  primaryKey({ columns: [t.id, t.occurredAt] }),
  index('events_feed_idx').on(t.txid, t.id),
  index('events_type_idx').on(t.type, t.txid, t.id),
  index('events_undispatched_idx').on(t.txid, t.id).where(sql`dispatched_at is null`),
]);

/** One row per (event, subscriber) handled: the dispatcher skips a redelivery, so effects happen once. */
export const eventDeliveries = platform.table('event_deliveries', {
  eventId: uuid().notNull(),
  subscriber: text().notNull(),
  deliveredAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.eventId, t.subscriber] })]);
