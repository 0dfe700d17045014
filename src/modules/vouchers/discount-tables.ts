import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { DiscountDef, Priced } from './discount-rules.js';
import { vouchersSchema } from './tables.js';

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

/**
 * A discount or promotion as marketing defines it. `redemptions` counts the orders that took it,
 * raised under the row's lock when one is applied, so the budget holds under any concurrency.
 */
export const discounts = vouchersSchema.table('discounts', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  code: text(),
  kind: text({ enum: ['percentage', 'fixed'] }).notNull(),
  value: integer().notNull(),
  currency: text(),
  target: jsonb().$type<DiscountDef['target']>().notNull(),
  eligibility: jsonb().$type<DiscountDef['eligibility']>().notNull(),
  validFrom: timestamp({ withTimezone: true }),
  validUntil: timestamp({ withTimezone: true }),
  cycles: integer(),
  stacking: text({ enum: ['exclusive', 'stackable'] }).notNull(),
  groupName: text(),
  priority: integer().notNull().default(0),
  maxRedemptions: integer(),
  redemptions: integer().notNull().default(0),
  maxPerCustomer: integer(),
  status: text({ enum: ['active', 'retired'] }).notNull().default('active'),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [
  uniqueIndex('discounts_code_key').on(sql`lower(${t.code})`).where(sql`code is not null`),
  check('discounts_value_check', sql`(${t.kind} = 'percentage' and ${t.value} between 1 and 10000 and ${t.currency} is null)
    or (${t.kind} = 'fixed' and ${t.value} > 0 and ${t.currency} ~ '^[A-Z]{3}$')`),
  check('discounts_budget_check', sql`${t.redemptions} >= 0 and (${t.maxRedemptions} is null or ${t.redemptions} <= ${t.maxRedemptions})`),
  check('discounts_window_check', sql`${t.validUntil} is null or ${t.validFrom} is null or ${t.validUntil} > ${t.validFrom}`),
]);

/** How many times each customer took each discount: the per-customer budget. */
export const discountUses = vouchersSchema.table('discount_uses', {
  discountId: uuid().notNull().references(() => discounts.id),
  customerId: uuid().notNull(),
  uses: integer().notNull(),
}, (t) => [primaryKey({ columns: [t.discountId, t.customerId] })]);

/**
 * A priced order as the discounts left it, with every decision and its reason: the answer to
 * "why did I get this price", kept.
 */
export const discountApplications = vouchersSchema.table('discount_applications', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull(),
  orderRef: text().notNull(),
  channel: text().notNull(),
  codes: jsonb().$type<string[]>().notNull(),
  items: jsonb().$type<Priced[]>().notNull(),
  total: bigint({ mode: 'number' }).notNull(),
  discount: bigint({ mode: 'number' }).notNull(),
  discountIds: jsonb().$type<string[]>().notNull(),
  createdBy: text().notNull(),
  createdAt: ts(),
  /** The order failed or was cancelled: its discounts went back to their budgets. */
  releasedAt: timestamp({ withTimezone: true }),
}, (t) => [
  uniqueIndex('discount_applications_order_key').on(t.orderRef),
  index('discount_applications_customer_idx').on(t.customerId, t.id),
]);

/**
 * An automatic promotion on top-ups: a recharge or voucher of at least `minAmount` earns a pack
 * (on the account's longest-standing active line) or bonus credit; `firstOnly`: once per account.
 */
export const topUpPromotions = vouchersSchema.table('top_up_promotions', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  minAmount: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  firstOnly: boolean().notNull(),
  rewardAddOnId: uuid(),
  rewardCredit: bigint({ mode: 'number' }),
  validFrom: timestamp({ withTimezone: true }),
  validUntil: timestamp({ withTimezone: true }),
  maxRewards: integer(),
  rewards: integer().notNull().default(0),
  status: text({ enum: ['active', 'retired'] }).notNull().default('active'),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [
  check('top_up_promotions_reward_check', sql`(${t.rewardAddOnId} is null) <> (${t.rewardCredit} is null) and (${t.rewardCredit} is null or ${t.rewardCredit} > 0)`),
  check('top_up_promotions_budget_check', sql`${t.maxRewards} is null or ${t.rewards} <= ${t.maxRewards}`),
]);

/** Each reward given (or refused, with why), once per promotion and top-up; `firstOnly` looks here per account. */
export const topUpRewards = vouchersSchema.table('top_up_rewards', {
  promotionId: uuid().notNull().references(() => topUpPromotions.id),
  entryId: uuid().notNull(),
  billingAccountId: uuid().notNull(),
  outcome: text({ enum: ['given', 'skipped'] }).notNull(),
  detail: text().notNull(),
  createdAt: ts(),
}, (t) => [
  primaryKey({ columns: [t.promotionId, t.entryId] }),
  index('top_up_rewards_account_idx').on(t.promotionId, t.billingAccountId).where(sql`outcome = 'given'`),
]);
