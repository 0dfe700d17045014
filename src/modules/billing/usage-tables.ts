import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { billingSchema } from './tables.js';

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

/**
 * Every usage record id received in the last USAGE_ID_RETENTION_DAYS: a record delivered twice is
 * rated once. A BRIN index finds the old ones to forget: ids arrive in time order, and it costs
 * rating next to nothing to keep.
 */
export const usageRecordIds = billingSchema.table('usage_record_ids', {
  recordId: text().primaryKey(),
  batchId: uuid().notNull(),
  receivedAt: ts(),
}, (t) => [index('usage_record_ids_received_idx').using('brin', t.receivedAt)]);

/**
 * Rated usage, partitioned by month of `startedAt` (migration 0018): what each record drew from
 * which buckets, what was left to charge and its price. Postpaid usage waits here for the bill run.
 */
export const usageRecords = billingSchema.table('usage_records', {
  id: uuid().notNull(),
  recordId: text().notNull(),
  batchId: uuid().notNull(),
  lineId: uuid().notNull(),
  billingAccountId: uuid().notNull(),
  msisdn: text().notNull(),
  usageType: text({ enum: ['data', 'voice', 'sms'] }).notNull(),
  zone: text().notNull(),
  quantity: bigint({ mode: 'number' }).notNull(),
  startedAt: timestamp({ withTimezone: true }).notNull(),
  cycleStart: timestamp({ withTimezone: true }).notNull(),
  draws: jsonb().$type<{ bucketId: string; quantity: number }[]>().notNull(),
  chargeable: bigint({ mode: 'number' }).notNull(),
  // bigint: a record of a huge quantity at a high tier price must be stored, not overflow.
  amount: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  ratedAt: ts(),
  billedAt: timestamp({ withTimezone: true }),
}, (t) => [
  primaryKey({ columns: [t.id, t.startedAt] }),
  index('usage_records_line_idx').on(t.lineId, t.startedAt),
  index('usage_records_unbilled_idx').on(t.billingAccountId).where(sql`billed_at is null and amount > 0`),
  check('usage_records_quantity_check', sql`${t.quantity} > 0 and ${t.chargeable} >= 0 and ${t.chargeable} <= ${t.quantity} and ${t.amount} >= 0`),
]);

/** Records not rated, with why: kept for an operator to fix and send again, never dropped. */
export const rejectedUsage = billingSchema.table('rejected_usage', {
  id: uuid().primaryKey(),
  recordId: text().notNull(),
  batchId: uuid().notNull(),
  reason: text({ enum: ['unknown_line', 'late_record', 'future_record', 'charge_out_of_range'] }).notNull(),
  record: jsonb().$type<Record<string, unknown>>().notNull(),
  receivedAt: ts(),
}, (t) => [
  index('rejected_usage_received_idx').on(t.id),
  check('rejected_usage_reason_check', sql`${t.reason} in ('unknown_line', 'late_record', 'future_record', 'charge_out_of_range')`),
]);

/** A line's chargeable usage so far in a cycle, per type: where the next record falls in the tiers. */
export const usageCounters = billingSchema.table('usage_counters', {
  lineId: uuid().notNull(),
  cycleStart: timestamp({ withTimezone: true }).notNull(),
  usageType: text({ enum: ['data', 'voice', 'sms'] }).notNull(),
  chargeable: bigint({ mode: 'number' }).notNull().default(0),
  amount: bigint({ mode: 'number' }).notNull().default(0),
}, (t) => [primaryKey({ columns: [t.lineId, t.cycleStart, t.usageType] })]);

/** Most a line may spend on usage in a cycle: the customer's own cap and the operator's; the lower holds. */
export const spendCaps = billingSchema.table('spend_caps', {
  lineId: uuid().notNull(),
  setBy: text({ enum: ['customer', 'operator'] }).notNull(),
  amount: integer().notNull(),
  currency: text().notNull(),
  updatedAt: ts(),
}, (t) => [
  primaryKey({ columns: [t.lineId, t.setBy] }),
  check('spend_caps_amount_check', sql`${t.amount} >= 0`),
  check('spend_caps_set_by_check', sql`${t.setBy} in ('customer', 'operator')`),
]);
