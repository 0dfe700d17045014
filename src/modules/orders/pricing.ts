import { inArray } from 'drizzle-orm';
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import type { FeeStep, OrderItem, UsageShares, UsageType } from './order-schemas.js';
import { FULL, USAGE_TYPES } from './rules.js';
import { addOns, pricePlans } from './tables.js';

/** An order's fee as the discounts see it; or a plan's usage rate (`rate`), priced as 10,000 to learn the share still charged. */
export interface PriceableItem {
  ref: string; charge: 'recurring_fee' | 'one_off' | 'usage'; amount: number; currency: string; planCode?: string; addOnCode?: string; usageType?: UsageType; rate?: boolean;
}
export interface PriceRequest { customerId: string; orderRef: string; channel: 'web' | 'app' | 'shop' | 'partner' | 'csr'; promotionCodes: string[]; items: PriceableItem[] }

/**
 * Prices an order's fees under the discounts, taking their budgets, inside the order's
 * transaction: given to this module by whoever owns discounts (the vouchers module), so that
 * orders never depends on it. Null: nothing to change.
 */
export type OrderPricer = (tx: Tx, ctx: Ctx, r: PriceRequest) => Promise<Priced | null>;
/** Each item's price in the first cycle, and (recurring fees and rates) in the cycles after it while discounts last. */
export interface Priced { applicationId: string; finals: Record<string, number>; later: Record<string, FeeStep[]> }



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
    if (item.kind === 'plan') {
      const planCode = plans.get(item.planId);
      return [{ ref: String(i), charge: 'recurring_fee', amount: item.fee.amount, currency: item.fee.currency, planCode },
        ...USAGE_TYPES.map((usageType): PriceableItem => ({ ref: `${i}:${usageType}`, charge: 'usage', amount: FULL, currency: item.fee.currency, planCode, usageType, rate: true }))];
    }
    if (item.kind !== 'add_on') return [];
    const pack = packs.get(item.addOnId)!;
    return [{ ref: String(i), charge: pack.kind === 'recurring' ? 'recurring_fee' : 'one_off', amount: item.fee.amount, currency: item.fee.currency, addOnCode: pack.code }];
  });
}

/** The items with the discounted fees charged (the catalog's kept beside them), later cycles' fees and a plan's usage shares. */
export function withPrices(items: OrderItem[], priced: Priced): OrderItem[] {
  return items.map((item, i) => {
    if (item.kind !== 'plan' && item.kind !== 'add_on') return item;
    const final = priced.finals[String(i)] ?? item.fee.amount;
    const laterFees = priced.later[String(i)];
    const shares: UsageShares = {};
    if (item.kind === 'plan') {
      for (const t of USAGE_TYPES) {
        const share = priced.finals[`${i}:${t}`] ?? FULL;
        const later = priced.later[`${i}:${t}`] ?? [];
        if (share < FULL || later.length) shares[t] = { share, later };
      }
    }
    const usage = Object.keys(shares).length > 0;
    if (final === item.fee.amount && !laterFees && !usage) return item;
    return {
      ...item, fee: { ...item.fee, amount: final }, ...(final !== item.fee.amount ? { listFee: item.fee } : {}), discountApplicationId: priced.applicationId,
      ...(laterFees ? { laterFees } : {}), ...(usage ? { usageShares: shares } : {}),
    };
  });
}
