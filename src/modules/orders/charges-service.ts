import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { chargeLines } from './lines-tables.js';

export type ChargeLine = typeof chargeLines.$inferSelect;

/** The account's charge lines written before `before` and not yet billed, locked for the bill run. */
export async function unbilledCharges(tx: Tx, billingAccountId: string, before: Date): Promise<ChargeLine[]> {
  return tx.select().from(chargeLines)
    .where(and(eq(chargeLines.billingAccountId, billingAccountId), isNull(chargeLines.billedAt), lt(chargeLines.createdAt, before)))
    .orderBy(chargeLines.id).for('update');
}

export async function markChargesBilled(tx: Tx, ids: string[]) {
  if (ids.length) await tx.update(chargeLines).set({ billedAt: sql`now()` }).where(and(inArray(chargeLines.id, ids), isNull(chargeLines.billedAt)));
}
