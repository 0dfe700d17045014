import { inArray } from 'drizzle-orm';
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import type { OrderItem } from './order-schemas.js';
import { addOns, pricePlans } from './tables.js';

/** An order's fee as the discounts see it. */
export interface PriceableItem { ref: string; charge: 'recurring_fee' | 'one_off'; amount: number; currency: string; planCode?: string; addOnCode?: string }
export interface PriceRequest { customerId: string; orderRef: string; channel: 'web' | 'app' | 'shop' | 'partner' | 'csr'; promotionCodes: string[]; items: PriceableItem[] }

/**
 * Prices an order's fees under the discounts, taking their budgets, inside the order's
 * transaction: given to this module by whoever owns discounts (the vouchers module), so that
 * orders never depends on it. Null: nothing to change.
 */
export type OrderPricer = (tx: Tx, ctx: Ctx, r: PriceRequest) => Promise<{ applicationId: string; finals: Record<string, number> } | null>;

/** The channel an order came through, as promotions restrict it. */
export const channelOf = (ctx: Ctx): PriceRequest['channel'] =>
  ({ customer: 'app', partner: 'partner', staff: 'csr', integration: 'web' } as const)[ctx.principal.kind];

/** The plan and pack fees of an order, each named by its place among the items. */
export async function priceable(tx: Tx, items: OrderItem[]): Promise<PriceableItem[]> {
  const planIds = items.flatMap((i) => (i.kind === 'plan' ? [i.planId] : []));
  const addOnIds = items.flatMap((i) => (i.kind === 'add_on' ? [i.addOnId] : []));
  const plans = new Map((planIds.length ? await tx.select({ id: pricePlans.id, code: pricePlans.code }).from(pricePlans).where(inArray(pricePlans.id, planIds)) : []).map((p) => [p.id, p.code]));
  const packs = new Map((addOnIds.length ? await tx.select({ id: addOns.id, code: addOns.code, kind: addOns.kind }).from(addOns).where(inArray(addOns.id, addOnIds)) : []).map((a) => [a.id, a]));
  return items.flatMap((item, i): PriceableItem[] => {
    if (item.kind === 'plan') return [{ ref: String(i), charge: 'recurring_fee', amount: item.fee.amount, currency: item.fee.currency, planCode: plans.get(item.planId) }];
    if (item.kind !== 'add_on') return [];
    const pack = packs.get(item.addOnId)!;
    return [{ ref: String(i), charge: pack.kind === 'recurring' ? 'recurring_fee' : 'one_off', amount: item.fee.amount, currency: item.fee.currency, addOnCode: pack.code }];
  });
}

/** The items with the discounted fees charged, the catalog's kept beside them. */
export function withPrices(items: OrderItem[], priced: { applicationId: string; finals: Record<string, number> }): OrderItem[] {
  return items.map((item, i) => {
    const final = priced.finals[String(i)];
    if ((item.kind !== 'plan' && item.kind !== 'add_on') || final === undefined || final === item.fee.amount) return item;
    return { ...item, fee: { ...item.fee, amount: final }, listFee: item.fee, discountApplicationId: priced.applicationId };
  });
}
