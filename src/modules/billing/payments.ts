import { and, eq, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { findBillingAccount } from '../customers/index.js';
import { barAccountLines, liftRestriction } from '../orders/index.js';
import { allocate, dueOn, lockAccountInvoices, openInvoicesOf, stillDue } from './bill-run.js';
import { billingErrors } from './errors.js';
import { dunningDue } from './invoice-rules.js';
import { creditNotes, invoiceLines, invoices, payments } from './invoice-tables.js';

export interface DunningSettings { reminderDays: number[]; suspendDays: number }

/** An invoice the caller may see (through its billing account), or 404. */
export async function visibleInvoice(db: Db, ctx: Ctx, id: string) {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!invoice || !(await findBillingAccount(db, ctx, invoice.billingAccountId))) throw billingErrors.invoice_not_found();
  const lines = await db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(invoiceLines.id);
  const notes = await db.select().from(creditNotes).where(eq(creditNotes.invoiceId, id)).orderBy(creditNotes.id);
  return { ...invoice, lines, creditNotes: notes, due: Math.max(0, dueOn(invoice)) };
}

export async function listInvoices(db: Db, ctx: Ctx, billingAccountId: string, q: { limit: number; after?: string }) {
  if (!(await findBillingAccount(db, ctx, billingAccountId))) throw billingErrors.billing_account_not_found();
  return db.select().from(invoices).where(and(eq(invoices.billingAccountId, billingAccountId), q.after ? lt(invoices.id, q.after) : undefined))
    .orderBy(sql`${invoices.id} desc`).limit(q.limit + 1);
}

/**
 * A payment against an invoice, named by the processor's transaction id (the same payment twice is
 * refused). It settles that invoice first, then the account's other open invoices oldest first;
 * what is left is the account's credit for the next invoice. Paying what was overdue lifts the
 * dunning bar.
 */
export async function recordPayment(db: Db, ctx: Ctx, invoiceId: string, input: { amount: number; currency: string; processorRef: string }) {
  const target = await visibleInvoice(db, ctx, invoiceId);
  if (input.currency !== target.currency) throw billingErrors.currency_mismatch(`The invoice is in ${target.currency}`);
  return db.transaction(async (tx) => {
    await lockAccountInvoices(tx, target.billingAccountId);
    const open = await openInvoicesOf(tx, target.billingAccountId);
    const id = uuidv7();
    const [payment] = await tx.insert(payments).values({ id, billingAccountId: target.billingAccountId, invoiceId, amount: input.amount, currency: input.currency, applied: 0, processorRef: input.processorRef })
      .onConflictDoNothing().returning();
    if (!payment) throw billingErrors.duplicate_payment();
    let left = input.amount;
    for (const inv of [...open.filter((i) => i.id === invoiceId), ...open.filter((i) => i.id !== invoiceId)]) {
      if (left <= 0) break;
      const take = Math.min(left, dueOn(inv));
      await allocate(tx, id, inv.id, take);
      left -= take;
    }
    await liftDunningIfSettled(tx, target.billingAccountId);
    await emit(tx, 'payment.received', {
      paymentId: id, invoiceId, billingAccountId: target.billingAccountId, customerId: target.customerId, amount: { amount: input.amount, currency: input.currency }, credit: left,
    }, { aggregateId: target.billingAccountId });
    await audit(tx, ctx, { action: 'payment.recorded', entityType: 'invoice', entityId: invoiceId, details: { paymentId: id, amount: input.amount } });
    return { id, invoiceId, amount: input.amount, currency: input.currency, applied: input.amount - left, credit: left, processorRef: input.processorRef };
  });
}

/** Once nothing overdue is left on the account (paid or credited), its lines run again. */
export async function liftDunningIfSettled(tx: Tx, billingAccountId: string) {
  const now = await databaseNow(tx);
  if (!(await openInvoicesOf(tx, billingAccountId)).some((i) => i.dueAt < now)) await liftRestriction(tx, { billingAccountIds: [billingAccountId] }, 'dunning');
}

/** Scheduled: reminders for overdue invoices on the configured days, then the account's lines barred; each step once. */
export async function dunningRun(db: Db, settings: DunningSettings) {
  const now = await databaseNow(db);
  const overdue = await db.select({ id: invoices.id }).from(invoices)
    // Invoices whose every step is taken (suspended) are left out, so that they never crowd out newer ones.
    .where(and(stillDue, lt(invoices.dueAt, now), sql`not (${invoices.dunning} ? 'suspend')`)).orderBy(invoices.dueAt).limit(1000);
  let reminders = 0;
  let suspended = 0;
  for (const { id } of overdue) {
    await db.transaction(async (tx) => {
      const [inv] = await tx.select().from(invoices).where(and(eq(invoices.id, id), stillDue)).for('update');
      if (!inv) return;
      const steps = dunningDue(inv.dueAt, now, settings.reminderDays, settings.suspendDays, inv.dunning);
      if (!steps.length) return;
      for (const step of steps) {
        const base = { invoiceId: inv.id, number: inv.number, billingAccountId: inv.billingAccountId, customerId: inv.customerId, due: { amount: dueOn(inv), currency: inv.currency } };
        if (step === 'suspend') {
          await barAccountLines(tx, inv.billingAccountId, 'dunning', `Invoice ${inv.number} is unpaid`);
          await emit(tx, 'invoice.lines_suspended', base, { aggregateId: inv.billingAccountId });
          suspended++;
        } else {
          await emit(tx, 'invoice.reminder', { ...base, daysLate: Number(step.split(':')[1]) }, { aggregateId: inv.billingAccountId });
          reminders++;
        }
      }
      await tx.update(invoices).set({ dunning: sql`${invoices.dunning} || ${JSON.stringify(steps)}::jsonb` }).where(eq(invoices.id, inv.id));
    });
  }
  return { reminders, suspended };
}
