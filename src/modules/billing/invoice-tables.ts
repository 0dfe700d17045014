import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { billingSchema } from './tables.js';

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

/** The last invoice number given in a year: taken under this row's lock, so numbers have no gaps. */
export const invoiceCounters = billingSchema.table('invoice_counters', {
  year: integer().primaryKey(),
  last: integer().notNull(),
});

/** An issued invoice never changes (a correction is a credit note); only what was paid on it moves. */
export const invoices = billingSchema.table('invoices', {
  id: uuid().primaryKey(),
  number: text().notNull(),
  billingAccountId: uuid().notNull(),
  customerId: uuid().notNull(),
  currency: text().notNull(),
  periodStart: timestamp({ withTimezone: true }).notNull(),
  periodEnd: timestamp({ withTimezone: true }).notNull(),
  country: text(),
  taxRateBp: integer().notNull(),
  subtotal: bigint({ mode: 'number' }).notNull(),
  tax: bigint({ mode: 'number' }).notNull(),
  total: bigint({ mode: 'number' }).notNull(),
  paid: bigint({ mode: 'number' }).notNull().default(0),
  /** What credit notes took off this invoice (due = total − paid − credited). */
  credited: bigint({ mode: 'number' }).notNull().default(0),
  issuedAt: ts(),
  dueAt: timestamp({ withTimezone: true }).notNull(),
  /** Dunning steps already taken (reminder days, "suspended"): each happens once. */
  dunning: jsonb().$type<string[]>().notNull().default([]),
}, (t) => [
  uniqueIndex('invoices_number_key').on(t.number),
  // A re-run of the same cycle never bills twice.
  uniqueIndex('invoices_account_period_key').on(t.billingAccountId, t.periodStart),
  index('invoices_open_idx').on(t.dueAt).where(sql`paid + credited < total`),
  check('invoices_paid_check', sql`${t.paid} >= 0 and ${t.credited} >= 0 and ${t.credited} <= greatest(${t.total}, 0)`),
]);

export const invoiceLines = billingSchema.table('invoice_lines', {
  id: uuid().primaryKey(),
  invoiceId: uuid().notNull().references(() => invoices.id),
  kind: text({ enum: ['recurring', 'charge', 'credit', 'one_off', 'usage'] }).notNull(),
  description: text().notNull(),
  amount: bigint({ mode: 'number' }).notNull(),
  ref: text().notNull(),
}, (t) => [index('invoice_lines_invoice_idx').on(t.invoiceId)]);

/**
 * Money received for a postpaid account, named by the processor's transaction id (never a card
 * number). What no invoice needed (`amount - applied`) is the account's credit, used by the next.
 */
export const payments = billingSchema.table('payments', {
  id: uuid().primaryKey(),
  billingAccountId: uuid().notNull(),
  invoiceId: uuid(),
  amount: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  applied: bigint({ mode: 'number' }).notNull(),
  processorRef: text().notNull(),
  receivedAt: ts(),
}, (t) => [
  uniqueIndex('payments_processor_ref_key').on(t.processorRef),
  index('payments_account_idx').on(t.billingAccountId).where(sql`applied < amount`),
  check('payments_amount_check', sql`${t.amount} > 0 and ${t.applied} between 0 and ${t.amount}`),
]);

/** Which part of which payment settled which invoice. */
export const paymentAllocations = billingSchema.table('payment_allocations', {
  paymentId: uuid().notNull().references(() => payments.id),
  invoiceId: uuid().notNull().references(() => invoices.id),
  amount: bigint({ mode: 'number' }).notNull(),
  at: ts(),
}, (t) => [primaryKey({ columns: [t.paymentId, t.invoiceId] }), check('payment_allocations_amount_check', sql`${t.amount} > 0`)]);

/** Credit notes have their own gapless series per year. */
export const creditNoteCounters = billingSchema.table('credit_note_counters', {
  year: integer().primaryKey(),
  last: integer().notNull(),
});

/** A correction of an issued invoice, which itself never changes. */
export const creditNotes = billingSchema.table('credit_notes', {
  id: uuid().primaryKey(),
  number: text().notNull(),
  invoiceId: uuid().notNull().references(() => invoices.id),
  billingAccountId: uuid().notNull(),
  subtotal: bigint({ mode: 'number' }).notNull(),
  tax: bigint({ mode: 'number' }).notNull(),
  total: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  reason: text().notNull(),
  issuedBy: text().notNull(),
  issuedAt: ts(),
}, (t) => [
  uniqueIndex('credit_notes_number_key').on(t.number),
  index('credit_notes_invoice_idx').on(t.invoiceId),
  check('credit_notes_total_check', sql`${t.total} > 0 and ${t.subtotal} > 0`),
]);
