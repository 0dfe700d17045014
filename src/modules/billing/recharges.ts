import { and, eq, gte } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { emit } from '../../platform/events/events.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { findBillingAccount } from '../customers/index.js';
import { billingErrors } from './errors.js';
import { credit, debit, getBalance } from './ledger.js';
import { balances } from './tables.js';

export interface BillingSettings { adjustmentSupervisorAbove: number; rechargeValidityDays: number }

const senior = (ctx: Ctx) => ctx.principal.kind === 'staff' && (ctx.principal.role === 'supervisor' || ctx.principal.role === 'admin');

/** Money moved by hand above the configured size (adjustments, credit notes) needs a supervisor. */
export function requireSupervisorAbove(ctx: Ctx, settings: BillingSettings, amount: number, what: string) {
  if (Math.abs(amount) > settings.adjustmentSupervisorAbove && !senior(ctx)) {
    throw billingErrors.supervisor_required(`${what} above ${settings.adjustmentSupervisorAbove} minor units need a supervisor`);
  }
}

/** Money moves by hand only on an open account the caller may see. */
async function visibleAccount(db: Db, ctx: Ctx, id: string) {
  const account = await findBillingAccount(db, ctx, id);
  if (!account) throw billingErrors.billing_account_not_found();
  if (account.status !== 'active') throw billingErrors.account_closed();
}

/**
 * Money in from a CSR's till or an external payment. A processor's transaction id is the cause:
 * the same payment reported twice is refused (duplicate_entry), whatever Idempotency-Key it came with.
 */
export async function recharge(db: Db, ctx: Ctx, settings: BillingSettings, id: string, input: { amount: { amount: number; currency: string }; paymentRef?: string }) {
  await visibleAccount(db, ctx, id);
  return db.transaction(async (tx) => {
    const entry = await credit(tx, {
      billingAccountId: id, amount: input.amount.amount, currency: input.amount.currency, type: 'recharge',
      refType: input.paymentRef ? 'payment' : 'recharge', refId: input.paymentRef ?? uuidv7(), actor: actorOf(ctx), extendValidityDays: settings.rechargeValidityDays,
    });
    await audit(tx, ctx, { action: 'balance.recharged', entityType: 'billing_account', entityId: id, details: { entryId: entry.id, amount: input.amount.amount } });
    return entry;
  });
}

/** A CSR's correction, either way, always with a reason; above the configured size only a supervisor may. */
export async function adjust(db: Db, ctx: Ctx, settings: BillingSettings, id: string, input: { amount: number; currency: string; reason: string }) {
  requireSupervisorAbove(ctx, settings, input.amount, 'Adjustments');
  await visibleAccount(db, ctx, id);
  return db.transaction(async (tx) => {
    const m = { billingAccountId: id, amount: Math.abs(input.amount), currency: input.currency, type: 'adjustment' as const, refType: 'adjustment', refId: uuidv7(), reason: input.reason, actor: actorOf(ctx) };
    // Adjustments, unlike recharges and usage, do not carry the balance's validity: an expired balance is recharged, not adjusted.

    const entry = input.amount > 0 ? await credit(tx, m) : await debit(tx, m);
    await audit(tx, ctx, { action: 'balance.adjusted', entityType: 'billing_account', entityId: id, details: { entryId: entry.id, amount: input.amount, reason: input.reason } });
    return entry;
  });
}

/**
 * Prepaid money moved from one account to another (a family sharing credit, a CSR moving a
 * recharge made to the wrong account): a debit and a credit under one transfer id, in one
 * transaction, all or nothing. The two balances are moved in account order, so two opposite
 * transfers never wait on each other in a circle. A customer moves money only between its own
 * accounts; staff between any, a supervisor above the adjustment limit.
 */
export async function transfer(db: Db, ctx: Ctx, settings: BillingSettings, fromId: string, input: { toBillingAccountId: string; amount: { amount: number; currency: string }; reason?: string }) {
  const toId = input.toBillingAccountId;
  if (toId === fromId) throw billingErrors.same_account();
  if (ctx.principal.kind === 'staff') requireSupervisorAbove(ctx, settings, input.amount.amount, 'Transfers');
  await visibleAccount(db, ctx, fromId);
  await visibleAccount(db, ctx, toId);
  const id = uuidv7();
  return db.transaction(async (tx) => {
    const m = { amount: input.amount.amount, currency: input.amount.currency, type: 'transfer' as const, refType: 'transfer', refId: id, reason: input.reason, actor: actorOf(ctx) };
    // Only money the sender has moves (never the operator's loan), and the receiver's balance takes
    // it as a recharge does: expired money first expires, then the validity is extended, so that
    // what was given is not taken by the next expiry run.
    const moves = [
      { side: 'from' as const, run: () => debit(tx, { ...m, billingAccountId: fromId, ownMoneyOnly: true }) },
      { side: 'to' as const, run: () => credit(tx, { ...m, billingAccountId: toId, extendValidityDays: settings.rechargeValidityDays }) },
    ].sort((a, b) => ((a.side === 'from' ? fromId : toId) < (b.side === 'from' ? fromId : toId) ? -1 : 1));
    const entries: Record<'from' | 'to', Awaited<ReturnType<typeof debit>>> = {} as never;
    for (const move of moves) entries[move.side] = await move.run();
    await emit(tx, 'balance.transferred', { transferId: id, from: fromId, to: toId, amount: input.amount, by: actorOf(ctx) }, { aggregateId: fromId });
    await audit(tx, ctx, { action: 'balance.transferred', entityType: 'billing_account', entityId: fromId, details: { transferId: id, to: toId, amount: input.amount.amount } });
    return { id, amount: input.amount, from: entries.from, to: entries.to };
  });
}

/** The warning threshold any CSR may set; a credit limit (money the operator lends) only a supervisor. */
export async function updateBalanceSettings(db: Db, ctx: Ctx, id: string, patch: { creditLimit?: number; lowBalanceThreshold?: number | null }) {
  if (patch.creditLimit !== undefined && !senior(ctx)) throw billingErrors.supervisor_required('Only a supervisor sets a credit limit');
  await getBalance(db, ctx, id); // scope, prepaid, and the row exists
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(balances).where(eq(balances.billingAccountId, id)).for('update');
    const [b] = await tx.update(balances).set({ ...patch, updatedAt: new Date() })
      .where(and(eq(balances.billingAccountId, id), patch.creditLimit !== undefined ? gte(balances.amount, -patch.creditLimit) : undefined)).returning();
    if (!b) throw billingErrors.credit_limit_below_debt();
    // A threshold raised above the balance warns now: the balance will not cross it on its own.
    const below = (t: number | null) => t !== null && b.amount < t;
    if (below(b.lowBalanceThreshold) && !below(before!.lowBalanceThreshold)) {
      await emit(tx, 'balance.low', { billingAccountId: id, customerId: b.customerId, balance: { amount: b.amount, currency: b.currency }, threshold: { amount: b.lowBalanceThreshold, currency: b.currency } }, { aggregateId: id });
    }
    await audit(tx, ctx, { action: 'balance.settings_changed', entityType: 'billing_account', entityId: id, details: { fields: Object.keys(patch), ...patch } });
    return b!;
  });
}
