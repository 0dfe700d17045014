import { sql } from 'drizzle-orm';
import { bigint, check, index, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const billingSchema = pgSchema('billing');

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

export const entryTypes = ['recharge', 'voucher', 'usage', 'fee', 'refund', 'adjustment', 'transfer', 'expiry'] as const;

/**
 * The prepaid balance of a billing account: the running total of its ledger, kept on one row so
 * that a debit is one conditional UPDATE (the row lock orders concurrent debits; the check makes
 * the floor a database rule, not an application hope).
 */
export const balances = billingSchema.table('balances', {
  billingAccountId: uuid().primaryKey(),
  customerId: uuid().notNull(),
  currency: text().notNull(),
  amount: bigint({ mode: 'number' }).notNull().default(0),
  /** How far below zero the balance may go (0: not at all). */
  creditLimit: bigint({ mode: 'number' }).notNull().default(0),
  /** Crossing below it emits balance.low, once per crossing; null: no warning. */
  lowBalanceThreshold: bigint({ mode: 'number' }).default(500),
  validUntil: timestamp({ withTimezone: true }),
  /** How many entries the ledger holds: the next entry's sequence number is this plus one. */
  entries: bigint({ mode: 'number' }).notNull().default(0),
  /** Its account was closed: it takes no credit (what it holds may still be paid out). */
  closedAt: timestamp({ withTimezone: true }),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  check('balances_floor_check', sql`${t.amount} >= -${t.creditLimit}`),
  check('balances_credit_limit_check', sql`${t.creditLimit} >= 0`),
  check('balances_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  index('balances_customer_idx').on(t.customerId),
  index('balances_validity_idx').on(t.validUntil).where(sql`amount > 0`),
]);

/**
 * Every movement of a balance, append-only (a trigger refuses updates and deletes): the balance is
 * always the sum of its entries, and `balanceAfter` shows it at each step. A cause (a voucher, a
 * payment, a usage record) moves a balance at most once per type: the unique reference says so.
 */
export const ledgerEntries = billingSchema.table('ledger_entries', {
  id: uuid().primaryKey(),
  billingAccountId: uuid().notNull().references(() => balances.billingAccountId),
  /** The entry's place in its account's ledger, given under the balance's row lock: gapless, in the order applied. */
  seq: bigint({ mode: 'number' }).notNull(),
  type: text({ enum: entryTypes }).notNull(),
  amount: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  balanceAfter: bigint({ mode: 'number' }).notNull(),
  refType: text().notNull(),
  refId: text().notNull(),
  reason: text(),
  actor: text().notNull(),
  createdAt: ts(),
}, (t) => [
  uniqueIndex('ledger_entries_seq_key').on(t.billingAccountId, t.seq),
  uniqueIndex('ledger_entries_cause_key').on(t.billingAccountId, t.type, t.refType, t.refId),
  // A processor's payment pays one account, once.
  uniqueIndex('ledger_entries_payment_key').on(t.refId).where(sql`ref_type = 'payment'`),
  check('ledger_entries_sign_check', sql`case ${t.type} when 'recharge' then ${t.amount} > 0 when 'voucher' then ${t.amount} > 0 when 'refund' then ${t.amount} > 0
    when 'usage' then ${t.amount} < 0 when 'fee' then ${t.amount} < 0 when 'expiry' then ${t.amount} < 0 else true end`),
  check('ledger_entries_adjustment_reason_check', sql`${t.type} <> 'adjustment' or ${t.reason} is not null`),
  check('ledger_entries_type_check', sql`${t.type} in ('recharge', 'voucher', 'usage', 'fee', 'refund', 'adjustment', 'transfer', 'expiry')`),
  check('ledger_entries_amount_check', sql`${t.amount} <> 0`),
]);
