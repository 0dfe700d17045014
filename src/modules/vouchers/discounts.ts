import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerVisible } from '../customers/index.js';
import { customerHasLines, type OrderPricer } from '../orders/index.js';
import { type Channel, type Context, type DiscountDef, laterSteps, priceOrder, type PricedItem } from './discount-rules.js';
import { discountApplications, discounts, discountUses } from './discount-tables.js';
import { voucherErrors } from './errors.js';

type DiscountRow = typeof discounts.$inferSelect;
export type NewDiscount = Omit<DiscountRow, 'id' | 'redemptions' | 'status' | 'createdBy' | 'createdAt'>;
export interface PriceRequest { customerId: string; channel: Channel; promotionCodes: string[]; items: PricedItem[] }

export async function createDiscount(db: Db, ctx: Ctx, input: NewDiscount) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(discounts).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).onConflictDoNothing().returning();
    if (!row) throw voucherErrors.discount_code_taken(`Another promotion already uses the code ${input.code}`);
    await audit(tx, ctx, { action: 'discount.created', entityType: 'discount', entityId: row.id, details: { name: row.name, code: row.code } });
    return row;
  });
}

export async function getDiscount(db: Db, id: string) {
  const [row] = await db.select().from(discounts).where(eq(discounts.id, id));
  if (!row) throw voucherErrors.discount_not_found();
  return row;
}

export async function listDiscounts(db: Db, q: { status?: DiscountRow['status']; limit: number; before?: string }) {
  return db.select().from(discounts).where(and(q.status ? eq(discounts.status, q.status) : undefined, q.before ? lt(discounts.id, q.before) : undefined))
    .orderBy(desc(discounts.id)).limit(q.limit + 1);
}

/** A retired discount applies to no new order; what it gave stays given (and its code stays taken). */
export async function retireDiscount(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(discounts).set({ status: 'retired' }).where(eq(discounts.id, id)).returning();
    if (!row) throw voucherErrors.discount_not_found();
    await audit(tx, ctx, { action: 'discount.retired', entityType: 'discount', entityId: id });
    return row;
  });
}

const asDef = (r: DiscountRow): DiscountDef => ({
  id: r.id, name: r.name, code: r.code, kind: r.kind, value: r.value, currency: r.currency, target: r.target, eligibility: r.eligibility,
  window: { from: r.validFrom, until: r.validUntil, cycles: r.cycles }, stacking: r.stacking, group: r.groupName, priority: r.priority,
  budget: { maxRedemptions: r.maxRedemptions, redemptions: r.redemptions, maxPerCustomer: r.maxPerCustomer },
});

/** The active automatic discounts and those whose code was entered; locked (in id order) when applying. */
async function candidates(tx: Tx, codes: string[], lock: boolean) {
  const lower = codes.map((c) => c.toLowerCase());
  const q = tx.select().from(discounts)
    .where(and(eq(discounts.status, 'active'), or(isNull(discounts.code), lower.length ? inArray(sql`lower(${discounts.code})`, lower) : sql`false`)))
    .orderBy(discounts.id);
  return lock ? q.for('update') : q;
}

async function contextOf(tx: Tx, ctx: Ctx, r: PriceRequest, rows: DiscountRow[]): Promise<Context> {
  const customer = await customerVisible(tx, ctx, r.customerId);
  if (!customer) throw voucherErrors.customer_not_found();
  if (customer.status === 'erased') throw voucherErrors.customer_erased();
  const uses = rows.length ? await tx.select().from(discountUses)
    .where(and(eq(discountUses.customerId, r.customerId), inArray(discountUses.discountId, rows.map((d) => d.id)))) : [];
  // New: no line yet, and no order priced before (lines appear only at fulfilment; two first orders must not both be "first").
  const [earlier] = await tx.select({ id: discountApplications.id }).from(discountApplications)
    .where(and(eq(discountApplications.customerId, r.customerId), isNull(discountApplications.releasedAt))).limit(1);
  return {
    at: new Date(), segment: customer.segment, newCustomer: !earlier && !(await customerHasLines(tx, r.customerId)), channel: r.channel, codes: r.promotionCodes,
    customerUses: Object.fromEntries(uses.map((u) => [u.discountId, u.uses])), cycle: 1,
  };
}

/** Codes the customer typed that name no current promotion: said so, not silently ignored. */
function unknownCodes(codes: string[], rows: DiscountRow[]) {
  return codes.filter((c) => !rows.some((d) => d.code && d.code.toLowerCase() === c.toLowerCase()));
}

/** What the items would cost under the current discounts, with every decision explained. Changes nothing. */
export async function quote(db: Db, ctx: Ctx, r: PriceRequest) {
  return db.transaction(async (tx) => {
    const rows = await candidates(tx, r.promotionCodes, false);
    const priced = priceOrder(r.items, rows.map(asDef), await contextOf(tx, ctx, r, rows));
    return { ...priced, unknownCodes: unknownCodes(r.promotionCodes, rows) };
  });
}

/**
 * Prices an order for good: under the candidate discounts' row locks, so that a budget ("the first
 * 1,000 orders", "once per customer") is never overspent however many orders arrive at once; the
 * counts go up and the priced order is kept with its explanation, under the order's reference.
 */
export async function applyDiscounts(db: Db, ctx: Ctx, r: PriceRequest & { orderRef: string }) {
  const { rows: _, later: __, ...applied } = (await db.transaction((tx) => applyIn(tx, ctx, r, true)))!;
  return applied;
}

/** `keepEmpty`: keep the pricing even when no discount applied and no code was entered (an explicit request). */
async function applyIn(tx: Tx, ctx: Ctx, r: PriceRequest & { orderRef: string }, keepEmpty: boolean) {
  const rows = await candidates(tx, r.promotionCodes, true);
  const defs = rows.map(asDef);
  const context = await contextOf(tx, ctx, r, rows);
  const priced = priceOrder(r.items, defs, context);
  if (!keepEmpty && !priced.used.length && !r.promotionCodes.length) return null;
  for (const id of priced.used) {
    await tx.update(discounts).set({ redemptions: sql`${discounts.redemptions} + 1` }).where(eq(discounts.id, id));
    await tx.insert(discountUses).values({ discountId: id, customerId: r.customerId, uses: 1 })
      .onConflictDoUpdate({ target: [discountUses.discountId, discountUses.customerId], set: { uses: sql`${discountUses.uses} + 1` } });
  }
  const [application] = await tx.insert(discountApplications).values({
    id: uuidv7(), customerId: r.customerId, orderRef: r.orderRef, channel: r.channel, codes: r.promotionCodes, items: priced.items,
    total: priced.total, discount: priced.discount, discountIds: priced.used, createdBy: actorOf(ctx),
  }).onConflictDoNothing().returning();
  if (!application) throw voucherErrors.order_already_priced(`Order ${r.orderRef} was priced already`);
  await emit(tx, 'discount.applied', { applicationId: application.id, customerId: r.customerId, orderRef: r.orderRef, discountIds: priced.used, discount: priced.discount },
    { aggregateId: r.customerId, requestId: ctx.requestId });
  const later = Object.fromEntries(priced.items.map((p) => [p.item.ref, laterSteps(p, defs, context)]).filter(([, steps]) => steps!.length));
  return { ...application, unknownCodes: unknownCodes(r.promotionCodes, rows), rows, later };
}

/**
 * The orders module's pricer: an order's plan and pack fees under the discounts. A code the
 * customer entered must lower something in the order; otherwise the order is refused with the
 * reason, rather than charged the full price the customer did not expect.
 */
export const orderPricer: OrderPricer = async (tx, ctx, r) => {
  const applied = await applyIn(tx, ctx, r, false);
  if (!applied) return null;
  const [unknown] = applied.unknownCodes;
  if (unknown) throw voucherErrors.unknown_promotion_code(`${unknown} is not a current promotion`);
  for (const code of r.promotionCodes) {
    const d = applied.rows.find((x) => x.code?.toLowerCase() === code.toLowerCase())!;
    if (!applied.discountIds.includes(d.id)) {
      const reason = applied.items.map((p) => p.decisions.find((x) => x.discountId === d.id)?.reason).find(Boolean);
      throw voucherErrors.promotion_code_not_applicable(`${code}: ${reason ?? 'it lowers nothing in this order'}`);
    }
  }
  return { applicationId: applied.id, finals: Object.fromEntries(applied.items.map((p) => [p.item.ref, p.final])), later: applied.later };
};

/**
 * An order that fails or is cancelled gives its discounts back: the budget and the customer's
 * use (once, however often the event arrives).
 */
export async function releaseApplication(tx: Tx, orderRef: string) {
  const [released] = await tx.update(discountApplications).set({ releasedAt: sql`now()` })
    .where(and(eq(discountApplications.orderRef, orderRef), isNull(discountApplications.releasedAt))).returning();
  if (!released) return;
  for (const id of [...released.discountIds].sort()) {
    await tx.update(discounts).set({ redemptions: sql`greatest(${discounts.redemptions} - 1, 0)` }).where(eq(discounts.id, id));
    await tx.update(discountUses).set({ uses: sql`greatest(${discountUses.uses} - 1, 0)` })
      .where(and(eq(discountUses.discountId, id), eq(discountUses.customerId, released.customerId)));
  }
  await emit(tx, 'discount.released', { applicationId: released.id, orderRef, discountIds: released.discountIds }, { aggregateId: released.customerId });
}

/** A kept pricing, for the customer it belongs to (or staff): why the price was what it was. */
export async function getApplication(db: Db, ctx: Ctx, id: string) {
  const [row] = await db.select().from(discountApplications).where(eq(discountApplications.id, id));
  if (!row || !(await customerVisible(db, ctx, row.customerId))) throw voucherErrors.application_not_found();
  return row;
}
