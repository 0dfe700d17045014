import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { postpaidAccount, postpaidAccounts } from '../customers/index.js';
import { markChargesBilled, unbilledCharges } from '../orders/index.js';
import { lastClosedCycle, taxOf, taxRateFor } from './invoice-rules.js';
import { invoiceCounters, invoiceLines, invoices, paymentAllocations, payments } from './invoice-tables.js';
import { usageRecords } from './usage-tables.js';

export interface BillRunSettings { taxRates: string; defaultTaxBp: number; paymentTermsDays: number }

type Account = Awaited<ReturnType<typeof postpaidAccounts>>[number];
const DAY = 86_400_000;

/**
 * The bill run: every postpaid account whose last cycle has ended and is not invoiced gets one
 * invoice for it — the cycle's charge lines from orders (fees, prorations, one-offs), its rated
 * usage per line and type, tax by the account's country — numbered without gaps in the year of
 * issue, and paid at once from any credit the account holds. Each account in its own transaction;
 * a re-run finds the invoice there and moves on.
 */
export async function billRun(db: Db, settings: BillRunSettings, log: { error(meta: Record<string, unknown>, message: string): void }) {
  const now = await databaseNow(db);
  let issued = 0;
  let failed = 0;
  for (const account of await postpaidAccounts(db)) {
    const period = lastClosedCycle(account.billCycleDay, now);
    const [done] = await db.select({ id: invoices.id }).from(invoices)
      .where(and(eq(invoices.billingAccountId, account.id), eq(invoices.periodStart, period.start)));
    if (done) continue;
    // One account that cannot be invoiced is logged and retried next run; it never holds up the others.
    try {
      if (await db.transaction((tx) => invoiceAccount(tx, settings, account, period))) issued++;
    } catch (err) {
      failed++;
      log.error({ err, billingAccountId: account.id }, 'invoicing an account failed; it is retried on the next run');
    }
  }
  return { issued, failed };
}

/**
 * A closed postpaid account's last invoices, at once: the last ended cycle if the bill run has not
 * got to it, then the current cycle so far (its charges and the usage rated up to now), marked
 * final. The account's lines were terminated before it could close, so nothing is rated for it
 * after this (a record for a terminated line's number is kept as unknown).
 */
export async function finalInvoice(tx: Tx, settings: BillRunSettings, billingAccountId: string) {
  const account = await postpaidAccount(tx, billingAccountId);
  if (!account) return;
  const now = await databaseNow(tx);
  const last = lastClosedCycle(account.billCycleDay, now);
  await invoiceAccount(tx, settings, account, last);
  if (now > last.end) await invoiceAccount(tx, settings, account, { start: last.end, end: now }, true);
}

async function invoiceAccount(tx: Tx, settings: BillRunSettings, account: Account, period: { start: Date; end: Date }, final = false) {
  // Two runs of the same cycle queue here, and the second finds the first's invoice.
  await lockAccountInvoices(tx, account.id);
  const [again] = await tx.select({ id: invoices.id }).from(invoices).where(and(eq(invoices.billingAccountId, account.id), eq(invoices.periodStart, period.start)));
  if (again) return false;
  const charges = await unbilledCharges(tx, account.id, period.end);
  // Marked and summed in one statement: a record that commits meanwhile is either on this invoice or left for the next.
  const usage = await tx.execute<{ line_id: string; msisdn: string; usage_type: string; quantity: string; amount: string }>(sql`
    with billed as (
      update ${usageRecords} set billed_at = now()
      where billing_account_id = ${account.id} and billed_at is null and amount > 0 and started_at < ${period.end.toISOString()}::timestamptz
      returning line_id, msisdn, usage_type, quantity, amount)
    select line_id, msisdn, usage_type, sum(quantity)::text as quantity, sum(amount)::text as amount from billed
    group by line_id, msisdn, usage_type order by msisdn, usage_type`);
  const id = uuidv7();
  const lines = [
    ...charges.map((c) => ({ id: uuidv7(), invoiceId: id, kind: c.kind, description: c.description, amount: c.amount, ref: c.id })),
    ...usage.map((u) => ({ id: uuidv7(), invoiceId: id, kind: 'usage' as const, description: `${u.usage_type} usage, ${u.msisdn}`, amount: Number(u.amount), ref: u.line_id })),
  ];
  // Nothing happened in the cycle (no line yet, say): no invoice, and no number spent on one.
  if (!lines.length) return false;
  const subtotal = lines.reduce((s, l) => s + l.amount, 0);
  const taxRateBp = taxRateFor(account.country, settings.taxRates, settings.defaultTaxBp);
  const tax = taxOf(subtotal, taxRateBp);
  // The database's clock decides the issue date and the number's year, whichever server runs the job.
  const issuedAt = await databaseNow(tx);
  const year = issuedAt.getUTCFullYear();
  await tx.insert(invoiceCounters).values({ year, last: 0 }).onConflictDoNothing();
  const [counter] = await tx.update(invoiceCounters).set({ last: sql`${invoiceCounters.last} + 1` }).where(eq(invoiceCounters.year, year)).returning();
  const number = `${year}-${String(counter!.last).padStart(6, '0')}`;
  const [invoice] = await tx.insert(invoices).values({
    id, number, billingAccountId: account.id, customerId: account.customerId, currency: account.currency, periodStart: period.start, periodEnd: period.end,
    country: account.country, taxRateBp, subtotal, tax, total: subtotal + tax, issuedAt, dueAt: new Date(issuedAt.getTime() + settings.paymentTermsDays * DAY),
  }).returning();
  if (lines.length) await tx.insert(invoiceLines).values(lines);
  await markChargesBilled(tx, charges.map((c) => c.id));
  // A period whose credits outweigh its charges owes the customer: the difference is account credit.
  if (invoice!.total < 0) {
    await tx.insert(payments).values({ id: uuidv7(), billingAccountId: account.id, invoiceId: id, amount: -invoice!.total, currency: account.currency, applied: 0, processorRef: `invoice-credit:${number}` });
  }
  await emit(tx, 'invoice.issued', {
    invoiceId: id, number, billingAccountId: account.id, customerId: account.customerId, total: { amount: invoice!.total, currency: account.currency }, dueAt: invoice!.dueAt, final,
  }, { aggregateId: account.id });
  await applyCredit(tx, invoice!);
  return true;
}

/**
 * The account's invoicing lock, taken first by the bill run, payments and credit notes: they queue
 * rather than deadlock, and a payment never misses an invoice being issued beside it.
 */
export async function lockAccountInvoices(tx: Tx, billingAccountId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`bill-run:${billingAccountId}`}))`);
}

/** What is still to pay on an invoice. */
export const dueOn = (i: { total: number; paid: number; credited: number }) => i.total - i.paid - i.credited;
/** SQL for "money is still due on the invoice". */
export const stillDue = sql`${invoices.paid} + ${invoices.credited} < ${invoices.total}`;

/** What the account's earlier payments left over pays the new invoice, oldest first. */
async function applyCredit(tx: Tx, invoice: typeof invoices.$inferSelect) {
  let due = dueOn(invoice);
  if (due <= 0) return;
  const open = await tx.select().from(payments)
    .where(and(eq(payments.billingAccountId, invoice.billingAccountId), eq(payments.currency, invoice.currency), lt(payments.applied, payments.amount)))
    .orderBy(asc(payments.receivedAt)).for('update');
  for (const p of open) {
    if (due <= 0) break;
    const take = Math.min(due, p.amount - p.applied);
    await allocate(tx, p.id, invoice.id, take);
    due -= take;
  }
}

/** Part of a payment settles part of an invoice; the invoice says paid when nothing is due. */
export async function allocate(tx: Tx, paymentId: string, invoiceId: string, amount: number) {
  await tx.update(payments).set({ applied: sql`${payments.applied} + ${amount}` }).where(eq(payments.id, paymentId));
  await tx.insert(paymentAllocations).values({ paymentId, invoiceId, amount })
    .onConflictDoUpdate({ target: [paymentAllocations.paymentId, paymentAllocations.invoiceId], set: { amount: sql`${paymentAllocations.amount} + ${amount}` } });
  const [inv] = await tx.update(invoices).set({ paid: sql`${invoices.paid} + ${amount}` }).where(eq(invoices.id, invoiceId)).returning();
  if (dueOn(inv!) <= 0) {
    await emit(tx, 'invoice.paid', { invoiceId, number: inv!.number, billingAccountId: inv!.billingAccountId, customerId: inv!.customerId }, { aggregateId: inv!.billingAccountId });
  }
}

/** Invoices with money still due, oldest first (for payments and dunning). */
export const openInvoicesOf = (tx: Tx, billingAccountId: string) => tx.select().from(invoices)
  .where(and(eq(invoices.billingAccountId, billingAccountId), stillDue)).orderBy(asc(invoices.issuedAt)).for('update');

