import { sql } from 'drizzle-orm';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { uuidv7 } from '../../platform/ids.js';
import { applyNow } from './changes.js';
import { orders } from './lines-tables.js';
import type { OrderItem } from './order-schemas.js';
import { emitOrder, isoNow, prepare, transition } from './orders.js';

/**
 * A pack given, not sold (a bundle voucher, a promotion's reward): an add-on order checked like any
 * other, at no charge (the list fee kept beside it), fulfilled in the caller's transaction.
 */
export async function grantAddOn(tx: Tx, ctx: Ctx, g: { lineId: string; addOnId: string; reason: string }) {
  const id = uuidv7();
  const draft = await prepare.add_add_on(tx, ctx, id, { type: 'add_add_on', lineId: g.lineId, addOnId: g.addOnId, promotionCodes: [] });
  const items = draft.items.map((i): OrderItem => (i.kind === 'add_on' ? { ...i, fee: { ...i.fee, amount: 0 }, listFee: i.fee } : i));
  const [order] = await tx.insert(orders).values({
    id, type: 'add_add_on', customerId: draft.customerId, billingAccountId: draft.billingAccountId, lineId: g.lineId, items, reason: g.reason,
    history: sql`jsonb_build_array(jsonb_build_object('status', 'acknowledged', 'at', ${isoNow}))`, placedBy: actorOf(ctx),
  }).returning();
  await emitOrder(tx, order!, ctx.requestId);
  const started = await transition(tx, id, ['acknowledged'], 'in_progress');
  await applyNow.add_add_on(tx, started!, await databaseNow(tx));
  return (await transition(tx, id, ['in_progress'], 'completed'))!;
}

