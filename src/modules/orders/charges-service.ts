import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { chargeLines, lines } from './lines-tables.js';
import { writeCharges } from './lines.js';

export type ChargeLine = typeof chargeLines.$inferSelect;

/** The account's charge lines written before `before` and not yet billed, locked for the bill run. */
export async function unbilledCharges(tx: Tx, billingAccountId: string, before: Date): Promise<ChargeLine[]> {
  return tx.select().from(chargeLines)
    // By the period a charge is for when it has one (a cycle's fee written a moment before the cycle began is the next cycle's).
    .where(and(eq(chargeLines.billingAccountId, billingAccountId), isNull(chargeLines.billedAt), sql`coalesce(${chargeLines.periodFrom}, ${chargeLines.createdAt}) < ${before.toISOString()}::timestamptz`))
    .orderBy(chargeLines.id).for('update');
}

export async function markChargesBilled(tx: Tx, ids: string[]) {
  if (ids.length) await tx.update(chargeLines).set({ billedAt: sql`now()` }).where(and(inArray(chargeLines.id, ids), isNull(chargeLines.billedAt)));
}

/**
 * The next prepaid charge line not yet collected, locked with its line (line before balance, as
 * rating takes them); lines another worker holds, and charges that could not be collected, are skipped.
 */
export async function nextPrepaidCharge(tx: Tx, skip: string[]) {
  const [row] = await tx.execute<{ id: string; lineId: string; billingAccountId: string; kind: ChargeLine['kind']; description: string; amount: number; currency: string }>(sql`
    select c.id, c.line_id as "lineId", c.billing_account_id as "billingAccountId", c.kind, c.description, c.amount::float8 as amount, c.currency
    from ${chargeLines} c join ${lines} l on l.id = c.line_id
    where c.billed_at is null and l.kind = 'prepaid' and c.id not in (select json_array_elements_text(${JSON.stringify(skip)}::json)::uuid)
    order by c.id limit 1
    for no key update of l skip locked for update of c skip locked`);
  return row;
}

/** Another module's charge on a line (usage a prepaid balance could not cover): collected like the line's own. */
export async function addLineCharge(tx: Tx, c: { lineId: string; billingAccountId: string; ref: string; description: string; amount: number; currency: string }) {
  await writeCharges(tx, { lineId: c.lineId, billingAccountId: c.billingAccountId, orderId: null }, [{ kind: 'one_off', ...c }]);
}
