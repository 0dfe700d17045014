import { and, eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { liftRestriction, visibleLine } from '../orders/index.js';
import { billingErrors } from './errors.js';
import { spendCaps, usageCounters } from './usage-tables.js';

type SetBy = 'customer' | 'operator';

/** A customer sets their own cap; staff set the operator's (and the customer's, on their behalf). */
function mayset(ctx: Ctx, setBy: SetBy) {
  if (ctx.principal.kind === 'customer' && setBy !== 'customer') throw billingErrors.forbidden_cap('A customer sets the customer cap only');
}

async function line(db: Db, ctx: Ctx, lineId: string) {
  const found = await visibleLine(db, ctx, lineId);
  if (!found) throw billingErrors.line_not_found();
  return found;
}

export async function listSpendCaps(db: Db, ctx: Ctx, lineId: string) {
  await line(db, ctx, lineId);
  return db.select().from(spendCaps).where(eq(spendCaps.lineId, lineId));
}

/** A cap raised or removed above what the cycle has cost lets the line it barred run again. */
async function liftIfBelow(tx: Tx, l: NonNullable<Awaited<ReturnType<typeof visibleLine>>>) {
  if (l.restriction !== 'spend_cap') return;
  const [cap] = await tx.select({ amount: sql<number | null>`min(${spendCaps.amount})` }).from(spendCaps).where(eq(spendCaps.lineId, l.id));
  const [spent] = await tx.select({ amount: sql<number>`coalesce(sum(${usageCounters.amount}), 0)::float8` }).from(usageCounters)
    .where(and(eq(usageCounters.lineId, l.id), eq(usageCounters.cycleStart, l.cycleStart)));
  if (cap?.amount === null || cap === undefined || spent!.amount < Number(cap.amount)) await liftRestriction(tx, { lineId: l.id }, 'spend_cap');
}

export async function setSpendCap(db: Db, ctx: Ctx, lineId: string, setBy: SetBy, amount: { amount: number; currency: string }) {
  mayset(ctx, setBy);
  const l = await line(db, ctx, lineId);
  // A terminated line runs up nothing more: a cap on it would only mislead whoever reads it.
  if (l.status === 'terminated') throw billingErrors.line_terminated();
  if (amount.currency !== l.currency) throw billingErrors.currency_mismatch(`The line is billed in ${l.currency}`);
  return db.transaction(async (tx) => {
    const [cap] = await tx.insert(spendCaps).values({ lineId, setBy, amount: amount.amount, currency: amount.currency })
      .onConflictDoUpdate({ target: [spendCaps.lineId, spendCaps.setBy], set: { amount: amount.amount, updatedAt: sql`now()` } }).returning();
    await audit(tx, ctx, { action: 'spend_cap.set', entityType: 'line', entityId: lineId, details: { setBy, amount: amount.amount } });
    await liftIfBelow(tx, l);
    return cap!;
  });
}

export async function removeSpendCap(db: Db, ctx: Ctx, lineId: string, setBy: SetBy) {
  mayset(ctx, setBy);
  const l = await line(db, ctx, lineId);
  await db.transaction(async (tx) => {
    await tx.delete(spendCaps).where(and(eq(spendCaps.lineId, lineId), eq(spendCaps.setBy, setBy)));
    await audit(tx, ctx, { action: 'spend_cap.removed', entityType: 'line', entityId: lineId, details: { setBy } });
    await liftIfBelow(tx, l);
  });
}
