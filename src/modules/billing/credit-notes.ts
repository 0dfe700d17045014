import { eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { dueOn, lockAccountInvoices } from './bill-run.js';
import { billingErrors } from './errors.js';
import { taxOf } from './invoice-rules.js';
import { creditNoteCounters, creditNotes, invoices, payments } from './invoice-tables.js';
import { liftDunningIfSettled, visibleInvoice } from './payments.js';
import { type BillingSettings, requireSupervisorAbove } from './recharges.js';

/**
 * Corrects an issued invoice without touching it: a credit note (own gapless series) for a net
 * amount plus the invoice's tax rate on it. It takes that much off what is due; what the invoice
 * no longer needs (it was already paid) becomes the account's credit for the next invoice. Large
 * ones need a supervisor, like balance adjustments.
 */
export async function issueCreditNote(db: Db, ctx: Ctx, settings: BillingSettings, invoiceId: string, input: { amount: number; reason: string }) {
  const inv = await visibleInvoice(db, ctx, invoiceId);
  requireSupervisorAbove(ctx, settings, input.amount, 'Credit notes');
  return db.transaction(async (tx) => {
    await lockAccountInvoices(tx, inv.billingAccountId);
    const [locked] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
    const tax = taxOf(input.amount, locked!.taxRateBp);
    const total = input.amount + tax;
    if (locked!.credited + total > locked!.total) throw billingErrors.credit_exceeds_invoice(`At most ${locked!.total - locked!.credited} can still be credited`, { creditable: locked!.total - locked!.credited });
    const year = new Date().getUTCFullYear();
    await tx.insert(creditNoteCounters).values({ year, last: 0 }).onConflictDoNothing();
    const [counter] = await tx.update(creditNoteCounters).set({ last: sql`${creditNoteCounters.last} + 1` }).where(eq(creditNoteCounters.year, year)).returning();
    const number = `CN-${year}-${String(counter!.last).padStart(6, '0')}`;
    const id = uuidv7();
    const [note] = await tx.insert(creditNotes).values({
      id, number, invoiceId, billingAccountId: inv.billingAccountId, subtotal: input.amount, tax, total, currency: inv.currency, reason: input.reason, issuedBy: actorOf(ctx),
    }).returning();
    const takenOff = Math.min(total, Math.max(0, dueOn(locked!)));
    const [after] = await tx.update(invoices).set({ credited: sql`${invoices.credited} + ${total}` }).where(eq(invoices.id, invoiceId)).returning();
    // The note settled what was still due: the invoice is paid, as a payment would have made it.
    if (dueOn(locked!) > 0 && dueOn(after!) <= 0) {
      await emit(tx, 'invoice.paid', { invoiceId, number: after!.number, billingAccountId: after!.billingAccountId, customerId: after!.customerId }, { aggregateId: after!.billingAccountId });
    }
    if (total > takenOff) {
      await tx.insert(payments).values({
        id: uuidv7(), billingAccountId: inv.billingAccountId, invoiceId, amount: total - takenOff, currency: inv.currency, applied: 0, processorRef: `credit-note:${number}`,
      });
    }
    await liftDunningIfSettled(tx, inv.billingAccountId);
    await emit(tx, 'credit_note.issued', { creditNoteId: id, number, invoiceId, billingAccountId: inv.billingAccountId, customerId: inv.customerId, total: { amount: total, currency: inv.currency } }, { aggregateId: inv.billingAccountId });
    await audit(tx, ctx, { action: 'credit_note.issued', entityType: 'invoice', entityId: invoiceId, details: { number, total, reason: input.reason } });
    return { ...note!, accountCredit: total - takenOff };
  });
}

export const creditNotesOf = (db: Db, invoiceId: string) => db.select().from(creditNotes).where(eq(creditNotes.invoiceId, invoiceId)).orderBy(creditNotes.id);
