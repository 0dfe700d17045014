import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { FeeStep, OrderItem, TimeWindow, UsageShares } from './order-schemas.js';
import { addOns, addOnVersions, ordersSchema, pricePlans, pricePlanVersions } from './tables.js';

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const at = () => timestamp({ withTimezone: true });

export const orderTypes = ['new_line', 'change_plan', 'add_add_on', 'remove_add_on', 'suspend', 'resume', 'terminate', 'replace_sim', 'buy_device'] as const;
export const orderStatuses = ['acknowledged', 'in_progress', 'completed', 'failed', 'cancelled'] as const;

/**
 * A customer's request to change what they have. Items say what it takes (plan version, add-on,
 * the number, SIM and device units reserved for it); history records every transition and why.
 */
export const orders = ordersSchema.table('orders', {
  id: uuid().primaryKey(),
  type: text({ enum: orderTypes }).notNull(),
  status: text({ enum: orderStatuses }).notNull().default('acknowledged'),
  customerId: uuid().notNull(),
  billingAccountId: uuid().notNull(),
  lineId: uuid(),
  items: jsonb().$type<OrderItem[]>().notNull(),
  /** When the change takes effect: now, or at the line's next cycle boundary. */
  effective: text({ enum: ['now', 'next_cycle'] }).notNull().default('now'),
  scheduledFor: at(),
  reason: text(),
  history: jsonb().$type<{ status: string; at: string; reason?: string }[]>().notNull(),
  placedBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
  completedAt: at(),
}, (t) => [
  index('orders_customer_idx').on(t.customerId, t.id),
  index('orders_line_idx').on(t.lineId, t.id),
  // One plan change in flight per line: a second one waits until the first is done or cancelled.
  uniqueIndex('orders_one_plan_change_key').on(t.lineId).where(sql`type = 'change_plan' and status in ('acknowledged', 'in_progress')`),
  check('orders_type_check', sql`${t.type} in ('new_line', 'change_plan', 'add_add_on', 'remove_add_on', 'suspend', 'resume', 'terminate', 'replace_sim', 'buy_device')`),
  check('orders_status_check', sql`${t.status} in ('acknowledged', 'in_progress', 'completed', 'failed', 'cancelled')`),
  check('orders_effective_check', sql`(${t.effective} = 'next_cycle') = (${t.scheduledFor} is not null)`),
]);

/** A subscription: one MSISDN and SIM on one plan version, billed to one account. */
export const lines = ordersSchema.table('lines', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull(),
  billingAccountId: uuid().notNull(),
  kind: text({ enum: ['prepaid', 'postpaid'] }).notNull(),
  currency: text().notNull(),
  msisdn: text().notNull(),
  iccid: text().notNull(),
  planId: uuid().notNull().references(() => pricePlans.id),
  planVersionId: uuid().notNull().references(() => pricePlanVersions.id),
  /** The plan fee this cycle was charged on (a discount lowers it): what unused days are credited from. Null: the version's fee. */
  cycleFee: bigint({ mode: 'number' }),
  /** The plan fees of the cycles after this one while a discount lasts (then the list fee); null: the list fee. */
  feeSteps: jsonb().$type<FeeStep[]>(),
  /** Usage discounts the plan was sold with: the share of a rated charge still charged, per usage type. */
  usageShares: jsonb().$type<UsageShares>(),
  status: text({ enum: ['active', 'suspended', 'barred', 'terminated'] }).notNull().default('active'),
  statusReason: text(),
  /** Why usage limits bar or slow the line; the next cycle (caps) or a recharge (balance) lifts it. */
  restriction: text({ enum: ['balance', 'usage_cap', 'spend_cap', 'dunning'] }),
  /** Set while the plan's usage cap slows the line instead of barring it. */
  throttleKbps: integer(),
  /** Postpaid: the account's bill-cycle day; prepaid: the day of activation. */
  billCycleDay: integer().notNull(),
  /** The account's new bill-cycle day, taken at the next renewal (which prorates the shorter cycle it makes). */
  nextBillCycleDay: integer(),
  cycleStart: timestamp({ withTimezone: true }).notNull(),
  cycleEnd: timestamp({ withTimezone: true }).notNull(),
  activatedAt: ts(),
  terminatedAt: at(),
  orderId: uuid().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  uniqueIndex('lines_msisdn_key').on(t.msisdn).where(sql`status <> 'terminated'`),
  uniqueIndex('lines_iccid_key').on(t.iccid).where(sql`status <> 'terminated'`),
  index('lines_customer_idx').on(t.customerId, t.id),
  index('lines_cycle_end_idx').on(t.cycleEnd).where(sql`status <> 'terminated'`),
  check('lines_status_check', sql`${t.status} in ('active', 'suspended', 'barred', 'terminated')`),
  check('lines_kind_check', sql`${t.kind} in ('prepaid', 'postpaid')`),
  check('lines_cycle_check', sql`${t.cycleEnd} > ${t.cycleStart} and ${t.billCycleDay} between 1 and 31`),
  check('lines_terminated_check', sql`(${t.status} = 'terminated') = (${t.terminatedAt} is not null)`),
  check('lines_restriction_check', sql`${t.restriction} is null or ${t.restriction} in ('balance', 'usage_cap', 'spend_cap', 'dunning')`),
]);

/** An add-on on a line, from purchase to expiry or removal. */
export const lineAddOns = ordersSchema.table('line_add_ons', {
  id: uuid().primaryKey(),
  lineId: uuid().notNull().references(() => lines.id),
  addOnId: uuid().notNull().references(() => addOns.id),
  addOnVersionId: uuid().notNull().references(() => addOnVersions.id),
  /** The fee the pack's current period was charged on (given or discounted: less than the list's). Null: the version's fee. */
  feeAmount: bigint({ mode: 'number' }),
  /** The fees of the periods after this one while a discount lasts (then the list fee). */
  feeSteps: jsonb().$type<FeeStep[]>(),
  kind: text({ enum: ['one_off', 'recurring'] }).notNull(),
  exclusiveGroup: text(),
  status: text({ enum: ['active', 'expired', 'removed'] }).notNull().default('active'),
  startsAt: timestamp({ withTimezone: true }).notNull(),
  expiresAt: timestamp({ withTimezone: true }).notNull(),
  endedAt: at(),
  orderId: uuid().notNull(),
}, (t) => [
  index('line_add_ons_line_idx').on(t.lineId),
  index('line_add_ons_expiry_idx').on(t.expiresAt).where(sql`status = 'active'`),
  // The database keeps mutually exclusive packs exclusive, and a recurring pack single.
  uniqueIndex('line_add_ons_exclusive_key').on(t.lineId, t.exclusiveGroup).where(sql`status = 'active' and exclusive_group is not null`),
  uniqueIndex('line_add_ons_recurring_key').on(t.lineId, t.addOnId).where(sql`status = 'active' and kind = 'recurring'`),
  check('line_add_ons_status_check', sql`${t.status} in ('active', 'expired', 'removed')`),
  check('line_add_ons_ended_check', sql`(${t.status} = 'active') = (${t.endedAt} is null)`),
]);

/**
 * What a line may use before rating charges it: the plan's allowance of the current cycle and each
 * pack's. Billing consumes them (add-on packs first, by earliest expiry). `total` null = unlimited.
 */
export const allowanceBuckets = ordersSchema.table('allowance_buckets', {
  id: uuid().primaryKey(),
  lineId: uuid().notNull().references(() => lines.id),
  lineAddOnId: uuid().references(() => lineAddOns.id),
  usageType: text({ enum: ['data', 'voice', 'sms'] }).notNull(),
  zone: text().notNull().default('home'),
  total: bigint({ mode: 'number' }),
  used: bigint({ mode: 'number' }).notNull().default(0),
  timeWindow: jsonb().$type<TimeWindow>(),
  validFrom: timestamp({ withTimezone: true }).notNull(),
  validUntil: timestamp({ withTimezone: true }).notNull(),
}, (t) => [
  // Rating finds a record's buckets by line, type and zone: one index probe, not every bucket of the line.
  index('allowance_buckets_line_idx').on(t.lineId, t.usageType, t.zone, t.validUntil),
  index('allowance_buckets_pack_idx').on(t.lineAddOnId).where(sql`line_add_on_id is not null`),
  check('allowance_buckets_usage_check', sql`${t.usageType} in ('data', 'voice', 'sms')`),
  check('allowance_buckets_used_check', sql`${t.used} >= 0`),
  check('allowance_buckets_validity_check', sql`${t.validUntil} > ${t.validFrom}`),
]);

/**
 * Money a line's orders and cycles moved, for billing to pick up: prorated credits (negative) and
 * charges, one-off prices of packs and devices, and each cycle's fees (plan and recurring packs,
 * in advance, written at renewal). Billing sums what is unbilled; it never prices a line itself.
 */
export const chargeLines = ordersSchema.table('charge_lines', {
  id: uuid().primaryKey(),
  lineId: uuid(),
  billingAccountId: uuid().notNull(),
  orderId: uuid(),
  kind: text({ enum: ['charge', 'credit', 'one_off', 'recurring'] }).notNull(),
  ref: text().notNull(),
  description: text().notNull(),
  amount: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  periodFrom: at(),
  periodTo: at(),
  createdAt: ts(),
  billedAt: at(),
}, (t) => [
  index('charge_lines_unbilled_idx').on(t.billingAccountId, t.id).where(sql`billed_at is null`),
  index('charge_lines_line_idx').on(t.lineId, t.id),
  // A cycle's fee is charged once, however often renewal is attempted.
  uniqueIndex('charge_lines_cycle_fee_key').on(t.lineId, t.ref, t.periodFrom).where(sql`kind = 'recurring'`),
  check('charge_lines_kind_check', sql`${t.kind} in ('charge', 'credit', 'one_off', 'recurring')`),
  check('charge_lines_sign_check', sql`(${t.kind} = 'credit') = (${t.amount} < 0)`),
]);
