import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerVisible, findBillingAccount } from '../customers/index.js';
import { channelOf, type OrderPricer, priceable, withPrices } from './pricing.js';
import { sellableAddOn } from './addons.js';
import { planVersion, sellablePlan } from './catalog.js';
import { sellableDevice } from './devices.js';
import { orderErrors } from './errors.js';
import { release, reserve } from './inventory.js';
import { lineAddOns, lines, orders, type orderStatuses } from './lines-tables.js';
import { billingCycle } from './rules.js';
import type { OrderItem, SubmitOrder } from './order-schemas.js';

type OrderRow = typeof orders.$inferSelect;
type LineRow = typeof lines.$inferSelect;
type Status = (typeof orderStatuses)[number];

/** Reservations outlive fulfilment by far; a lapsed one fails the order rather than take another's. */
const HOLD_SECONDS = 3600;
/** Self-care may change its plan and packs; everything else goes through a CSR or a partner. */
const CUSTOMER_TYPES: SubmitOrder['type'][] = ['change_plan', 'add_add_on', 'remove_add_on'];
/** The transaction's time as the API writes every instant: ISO 8601 in UTC with milliseconds. */
export const isoNow = sql`to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

interface Draft { customerId: string; billingAccountId: string; lineId?: string; items: OrderItem[]; effective?: 'now' | 'next_cycle'; scheduledFor?: Date }

/** Only an active customer buys: a suspended, closed or erased one can still suspend or end lines. */
async function eligible(tx: Tx, ctx: Ctx, customerId: string) {
  const customer = await customerVisible(tx, ctx, customerId);
  if (customer && customer.status !== 'active') throw orderErrors.customer_not_eligible(`The customer is ${customer.status}`);
}

async function account(tx: Tx, ctx: Ctx, id: string) {
  const acc = await findBillingAccount(tx, ctx, id);
  if (!acc) throw orderErrors.billing_account_not_found();
  if (acc.status !== 'active') throw orderErrors.billing_account_closed();
  await eligible(tx, ctx, acc.customerId);
  return acc;
}

/** Locks a line the caller may act on: out of scope is the same 404 as unknown. */
export async function lockLine(tx: Tx, ctx: Ctx, id: string) {
  const [line] = await tx.select().from(lines).where(eq(lines.id, id)).for('update');
  if (!line || !(await customerVisible(tx, ctx, line.customerId))) throw orderErrors.line_not_found();
  return line;
}

const planItem = (p: Awaited<ReturnType<typeof sellablePlan>>): OrderItem => ({
  kind: 'plan', planId: p.plan.id, planVersionId: p.version.id, version: p.version.version, fee: { amount: p.version.feeAmount, currency: p.version.currency },
});

/** Whether a plan (by code) may take an add-on, given the packs already chosen or held. */
export function checkAddOn(a: Awaited<ReturnType<typeof sellableAddOn>>, planCode: string, currency: string, heldGroups: (string | null)[]) {
  const { compatiblePlans, exclusiveGroup } = a.version.terms;
  if (compatiblePlans.length && !compatiblePlans.includes(planCode)) throw orderErrors.add_on_incompatible(`${a.addOn.code} is not available on ${planCode}`);
  if (a.version.currency !== currency) throw orderErrors.plan_account_mismatch(`${a.addOn.code} is priced in ${a.version.currency}`);
  if (exclusiveGroup && heldGroups.includes(exclusiveGroup)) throw orderErrors.add_on_exclusive(`Only one pack of group "${exclusiveGroup}" per line`);
}

const addOnItem = (a: Awaited<ReturnType<typeof sellableAddOn>>): OrderItem => ({
  kind: 'add_on', addOnId: a.addOn.id, addOnVersionId: a.version.id, version: a.version.version, fee: { amount: a.version.feeAmount, currency: a.version.currency },
});

async function reserveDevice(tx: Tx, orderId: string, sku: string, currency: string): Promise<OrderItem> {
  const device = await sellableDevice(tx, sku);
  if (device.currency !== currency) throw orderErrors.plan_account_mismatch(`${sku} is priced in ${device.currency}`);
  const unit = await reserve(tx, 'device', { reservedFor: orderId, ttlSeconds: HOLD_SECONDS, within: sku });
  return { kind: 'device', sku, serial: unit.id, price: { amount: device.priceAmount, currency: device.currency } };
}

const onLine = (line: LineRow, items: OrderItem[] = []): Draft => ({ customerId: line.customerId, billingAccountId: line.billingAccountId, lineId: line.id, items });

function requireStatus(line: LineRow, allowed: LineRow['status'][], what: string) {
  if (!allowed.includes(line.status)) throw orderErrors.line_state(`A ${line.status} line cannot ${what}`);
}

/**
 * Validates an order against the catalog, the line and the stock, and reserves what it takes,
 * all inside the submitting transaction: a refused order leaves nothing behind.
 */
export const prepare: { [T in SubmitOrder['type']]: (tx: Tx, ctx: Ctx, orderId: string, body: Extract<SubmitOrder, { type: T }>) => Promise<Draft> } = {
  async new_line(tx, ctx, orderId, b) {
    const acc = await account(tx, ctx, b.billingAccountId);
    const plan = await sellablePlan(tx, b.planId);
    if (plan.plan.kind !== acc.type || plan.version.currency !== acc.currency) throw orderErrors.plan_account_mismatch();
    const items = [planItem(plan)];
    const groups: (string | null)[] = [];
    for (const addOnId of new Set(b.addOnIds)) {
      const a = await sellableAddOn(tx, addOnId);
      checkAddOn(a, plan.plan.code, acc.currency, groups);
      groups.push(a.version.terms.exclusiveGroup);
      items.push(addOnItem(a));
    }
    const hold = { reservedFor: orderId, ttlSeconds: HOLD_SECONDS };
    const number = await reserve(tx, 'msisdn', b.msisdn ? { ...hold, id: b.msisdn } : { ...hold, within: b.numberCategory });
    const sim = await reserve(tx, 'sim', { ...hold, id: b.iccid });
    items.push({ kind: 'msisdn', msisdn: number.id }, { kind: 'sim', iccid: sim.id });
    if (b.deviceSku) items.push(await reserveDevice(tx, orderId, b.deviceSku, acc.currency));
    return { customerId: acc.customerId, billingAccountId: acc.id, items };
  },
  async change_plan(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['active', 'suspended', 'barred'], 'change plan');
    await eligible(tx, ctx, line.customerId);
    const plan = await sellablePlan(tx, b.planId);
    if (plan.version.id === line.planVersionId) throw orderErrors.same_plan();
    if (plan.plan.kind !== line.kind || plan.version.currency !== line.currency) throw orderErrors.plan_account_mismatch();
    const [pending] = await tx.select({ id: orders.id }).from(orders)
      .where(and(eq(orders.lineId, line.id), eq(orders.type, 'change_plan'), inArray(orders.status, ['acknowledged', 'in_progress'])));
    if (pending) throw orderErrors.plan_change_pending(undefined, { orderId: pending.id });
    // Packs the new plan cannot take must go first: a plan change never drops what was paid for.
    const held = await activeAddOns(tx, line.id);
    for (const h of held) {
      const allowed = h.compatiblePlans;
      if (allowed.length && !allowed.includes(plan.plan.code)) throw orderErrors.add_on_incompatible(`Remove ${h.code} first: ${plan.plan.code} cannot take it`);
    }
    return { ...onLine(line, [planItem(plan)]), effective: b.effective, scheduledFor: b.effective === 'next_cycle' ? await nextBoundary(tx, line) : undefined };
  },
  async add_add_on(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['active'], 'take a pack');
    await eligible(tx, ctx, line.customerId);
    const a = await sellableAddOn(tx, b.addOnId);
    const { plan } = await planVersion(tx, line.planVersionId);
    const held = await activeAddOns(tx, line.id);
    checkAddOn(a, plan.code, line.currency, held.map((h) => h.exclusiveGroup));
    // A plan change on its way must be able to take the pack too.
    const [scheduled] = await tx.select({ items: orders.items }).from(orders)
      .where(and(eq(orders.lineId, line.id), eq(orders.type, 'change_plan'), inArray(orders.status, ['acknowledged', 'in_progress'])));
    const next = scheduled?.items.find((i) => i.kind === 'plan');
    if (next?.kind === 'plan') checkAddOn(a, (await planVersion(tx, next.planVersionId)).plan.code, line.currency, []);
    if (a.addOn.kind === 'recurring' && held.some((h) => h.addOnId === a.addOn.id)) throw orderErrors.add_on_already_active();
    return onLine(line, [addOnItem(a)]);
  },
  // A recurring pack is paid for the cycle and leaves at its end; a one-off pack leaves at once, unrefunded.
  async remove_add_on(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    const pack = (await activeAddOns(tx, line.id)).find((h) => h.id === b.lineAddOnId);
    if (!pack) throw orderErrors.add_on_not_found('The line holds no such active pack');
    const draft = onLine(line, [{ kind: 'line_add_on', lineAddOnId: b.lineAddOnId }]);
    return pack.kind === 'recurring' ? { ...draft, effective: 'next_cycle', scheduledFor: await nextBoundary(tx, line) } : draft;
  },
  async suspend(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['active', 'barred'], 'be suspended');
    return onLine(line);
  },
  async resume(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['suspended'], 'be resumed');
    return onLine(line);
  },
  async terminate(tx, ctx, _id, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['active', 'suspended', 'barred'], 'be terminated');
    return onLine(line);
  },
  async replace_sim(tx, ctx, orderId, b) {
    const line = await lockLine(tx, ctx, b.lineId);
    requireStatus(line, ['active', 'suspended', 'barred'], 'get a new SIM');
    const sim = await reserve(tx, 'sim', { reservedFor: orderId, ttlSeconds: HOLD_SECONDS, id: b.iccid });
    return onLine(line, [{ kind: 'sim', iccid: sim.id }]);
  },
  async buy_device(tx, ctx, orderId, b) {
    const acc = await account(tx, ctx, b.billingAccountId);
    if (b.lineId) {
      const line = await lockLine(tx, ctx, b.lineId);
      if (line.billingAccountId !== acc.id) throw orderErrors.line_not_found('The line is not on this billing account');
    }
    return { customerId: acc.customerId, billingAccountId: acc.id, lineId: b.lineId, items: [await reserveDevice(tx, orderId, b.sku, acc.currency)] };
  },
};

/** The first cycle boundary still ahead (the line's cycle may not have been renewed yet). */
async function nextBoundary(tx: Tx, line: LineRow) {
  const now = await databaseNow(tx);
  return line.cycleEnd > now ? line.cycleEnd : billingCycle(line.billCycleDay, now).end;
}

/** Active packs of a line, with the terms that decide compatibility. */
export async function activeAddOns(tx: Tx, lineId: string) {
  const rows = await tx.execute<{ id: string; addOnId: string; code: string; kind: 'one_off' | 'recurring'; exclusiveGroup: string | null; compatiblePlans: string[] }>(sql`
    select la.id, la.add_on_id as "addOnId", a.code, la.kind, la.exclusive_group as "exclusiveGroup", v.terms->'compatiblePlans' as "compatiblePlans"
    from ${lineAddOns} la join orders.add_ons a on a.id = la.add_on_id join orders.add_on_versions v on v.id = la.add_on_version_id
    where la.line_id = ${lineId} and la.status = 'active' and la.expires_at > now()`);
  return rows.map((r) => ({ ...r, compatiblePlans: r.compatiblePlans ?? [] }));
}

const reasonOf = (b: SubmitOrder) => ('reason' in b ? b.reason : undefined) ?? null;

export async function submitOrder(db: Db, ctx: Ctx, body: SubmitOrder, pricer?: OrderPricer) {
  if (ctx.principal.kind === 'customer' && !CUSTOMER_TYPES.includes(body.type)) throw orderErrors.order_type_not_allowed();
  return db.transaction(async (tx) => {
    const id = uuidv7();
    const draft = await (prepare[body.type] as (tx: Tx, ctx: Ctx, id: string, b: SubmitOrder) => Promise<Draft>)(tx, ctx, id, body);
    const codes = 'promotionCodes' in body ? body.promotionCodes : [];
    const items = await priceable(tx, draft.items);
    // Fees go through the discounts (automatic ones apply to every order); the fees charged at fulfilment are the discounted ones.
    const priced = pricer && items.length ? await pricer(tx, ctx, { customerId: draft.customerId, orderRef: id, channel: channelOf(ctx), promotionCodes: codes, items }) : null;
    if (priced) draft.items = withPrices(draft.items, priced);
    const [order] = await tx.insert(orders).values({
      id, type: body.type, customerId: draft.customerId, billingAccountId: draft.billingAccountId, lineId: draft.lineId ?? null,
      items: draft.items, effective: draft.effective ?? 'now', scheduledFor: draft.scheduledFor ?? null, reason: reasonOf(body),
      history: sql`jsonb_build_array(jsonb_build_object('status', 'acknowledged', 'at', ${isoNow}))`, placedBy: actorOf(ctx),
    }).returning();
    await emitOrder(tx, order!, ctx.requestId);
    await audit(tx, ctx, { action: 'order.submitted', entityType: 'order', entityId: id, details: { type: body.type } });
    return order!;
  });
}

export async function emitOrder(tx: Tx, o: OrderRow, requestId?: string) {
  await emit(tx, `order.${o.status}`, {
    orderId: o.id, type: o.type, customerId: o.customerId, billingAccountId: o.billingAccountId, lineId: o.lineId, reason: o.reason, scheduledFor: o.scheduledFor,
  }, { aggregateId: o.id, requestId });
}

const FINAL: Status[] = ['completed', 'failed', 'cancelled'];

/**
 * Moves an order from one of `from` to `to` (a conditional update: of two racing transitions, one
 * wins), appends the history and emits `order.<to>`. Undefined when the order was not in `from`.
 */
export async function transition(tx: Tx, id: string, from: Status[], to: Status, extra: { reason?: string; lineId?: string } = {}) {
  const [row] = await tx.update(orders).set({
    status: to,
    reason: extra.reason ?? sql`${orders.reason}`,
    lineId: extra.lineId ?? sql`${orders.lineId}`,
    history: sql`${orders.history} || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('status', ${to}::text, 'at', ${isoNow}, 'reason', ${extra.reason ?? null}::text)))`,
    updatedAt: sql`now()`,
    completedAt: FINAL.includes(to) ? sql`now()` : null,
  }).where(and(eq(orders.id, id), inArray(orders.status, from))).returning();
  if (row) await emitOrder(tx, row);
  return row;
}

/** Gives back whatever the order still holds in reserve (nothing, once it has been assigned). */
export async function releaseHeld(tx: Tx, order: OrderRow) {
  for (const item of order.items) {
    const held = item.kind === 'msisdn' ? ['msisdn', item.msisdn] as const : item.kind === 'sim' ? ['sim', item.iccid] as const : item.kind === 'device' ? ['device', item.serial] as const : null;
    if (held) await release(tx, held[0], held[1], order.id).catch(() => undefined);
  }
}

/** Stops an order that has not started; what it reserved goes back to the pools. */
export async function cancelOrder(db: Db, ctx: Ctx, id: string, reason: string) {
  return db.transaction(async (tx) => {
    const order = await getOrderIn(tx, ctx, id, true);
    // A customer cancels only what they could have placed: not a CSR's suspension, say.
    if (ctx.principal.kind === 'customer' && !CUSTOMER_TYPES.includes(order.type)) throw orderErrors.order_type_not_allowed();
    const cancelled = await transition(tx, id, ['acknowledged'], 'cancelled', { reason });
    if (!cancelled) throw orderErrors.order_not_cancellable(`The order is ${order.status}`);
    await releaseHeld(tx, cancelled);
    await audit(tx, ctx, { action: 'order.cancelled', entityType: 'order', entityId: id });
    return cancelled;
  });
}

async function getOrderIn(tx: Tx, ctx: Ctx, id: string, lock = false) {
  const q = tx.select().from(orders).where(eq(orders.id, id));
  const [order] = lock ? await q.for('update') : await q;
  if (!order || !(await customerVisible(tx, ctx, order.customerId))) throw orderErrors.order_not_found();
  return order;
}

export const getOrder = (db: Db, ctx: Ctx, id: string) => getOrderIn(db, ctx, id);

/** Staff list across customers; partners and customers name a customer of theirs (their own, for a customer). */
export async function listOrders(db: Db, ctx: Ctx, q: { customerId?: string; lineId?: string; status?: Status; limit: number; after?: string }) {
  const customerId = ctx.principal.kind === 'customer' ? ctx.principal.customerId : q.customerId;
  if (ctx.principal.kind !== 'staff' && ctx.principal.kind !== 'integration' && !customerId) throw orderErrors.customer_required();
  if (customerId && !(await customerVisible(db, ctx, customerId))) return [];
  const where: (SQL | undefined)[] = [
    customerId ? eq(orders.customerId, customerId) : undefined,
    q.lineId ? eq(orders.lineId, q.lineId) : undefined,
    q.status ? eq(orders.status, q.status) : undefined,
    q.after ? lt(orders.id, q.after) : undefined,
  ];
  return db.select().from(orders).where(and(...where)).orderBy(desc(orders.id)).limit(q.limit + 1);
}
