import { and, eq, inArray, sql } from 'drizzle-orm';
import { systemCtx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { findBillingAccount } from '../customers/index.js';
import { planVersion } from './catalog.js';
import { orderErrors } from './errors.js';
import { assign, quarantine } from './inventory.js';
import { allowanceBuckets, lineAddOns, lines, orders } from './lines-tables.js';
import { addBuckets, closeBuckets, expireLapsedPacks, type LineRow, lineEvent, renewLine, replacePlanBuckets, writeCharges } from './lines.js';
import { activeAddOns, releaseHeld, transition } from './orders.js';
import type { OrderItem, UsageShares } from './order-schemas.js';
import { billingCycle, type Cycle, FULL, prorateAllowances, prorateChange, type ProrationLine } from './rules.js';
import { addOns, addOnVersions } from './tables.js';

export type OrderRow = typeof orders.$inferSelect;
type Item<K extends OrderItem['kind']> = Extract<OrderItem, { kind: K }>;
const item = <K extends OrderItem['kind']>(o: OrderRow, kind: K) => o.items.filter((i): i is Item<K> => i.kind === kind);

/** Fulfilment acts as the system, not as whoever placed the order. */
const SYSTEM = systemCtx('orders.fulfil');

const cycleOf = (line: LineRow): Cycle => ({ start: line.cycleStart, end: line.cycleEnd });
const asCharges = (prorated: ProrationLine[], what: string) =>
  prorated.map((l) => ({ kind: l.kind, ref: l.ref, description: `${l.kind === 'credit' ? 'Unused' : 'Prorated'} ${what}`, amount: l.amount, currency: l.currency, from: l.from, to: l.to }));
const feeOf = (v: { id: string; feeAmount: number; currency: string }, charged?: number | null) => ({ ref: v.id, fee: { amount: charged ?? v.feeAmount, currency: v.currency } });

/** Locks the line, brings its cycle up to `now` (applying what was scheduled) and drops lapsed packs. */
export async function currentLine(tx: Tx, id: string, now: Date) {
  const [line] = await tx.select().from(lines).where(eq(lines.id, id)).for('update');
  if (!line) throw orderErrors.line_not_found();
  const renewed = await renewLine(tx, line, now, applyScheduled);
  await expireLapsedPacks(tx, id);
  return renewed;
}

/** Packs the plan (by code) cannot take. */
async function incompatiblePacks(tx: Tx, lineId: string, planCode: string) {
  return (await activeAddOns(tx, lineId)).filter((h) => h.compatiblePlans.length && !h.compatiblePlans.includes(planCode));
}

/** Usage shares ordered for the next cycle, held one step back so that the renewal's step lands on them. */
function deferred(shares: UsageShares | undefined): UsageShares | null {
  if (!shares) return null;
  return Object.fromEntries(Object.entries(shares).map(([t, s]) => [t, { share: FULL, later: [{ cycles: 1, amount: s.share }, ...s.later] }]));
}

/**
 * At a cycle boundary: the orders scheduled for it take effect, without proration. A plan change
 * ends the packs the new plan cannot take (one added after the change was ordered); a recurring
 * pack's removal ends it instead of renewing it.
 */
async function applyScheduled(tx: Tx, line: LineRow, at: Date): Promise<LineRow> {
  const due = await tx.select().from(orders).where(and(eq(orders.lineId, line.id), inArray(orders.type, ['change_plan', 'remove_add_on']),
    eq(orders.effective, 'next_cycle'), inArray(orders.status, ['acknowledged', 'in_progress']), sql`${orders.scheduledFor} <= ${at.toISOString()}::timestamptz`))
    .orderBy(orders.id).for('update');
  let current = line;
  for (const o of due) {
    if (o.type === 'change_plan') {
      const [plan] = item(o, 'plan');
      const { plan: next } = await planVersion(tx, plan!.planVersionId);
      for (const h of await incompatiblePacks(tx, line.id, next.code)) await endPack(tx, current, h.id, at, o.id, false);
      // The renewal that follows takes the first step: the new plan's first cycle at the fee it was ordered at.
      [current] = await tx.update(lines).set({
        planId: plan!.planId, planVersionId: plan!.planVersionId, updatedAt: sql`now()`,
        feeSteps: [{ cycles: 1, amount: plan!.fee.amount }, ...(plan!.laterFees ?? [])], usageShares: deferred(plan!.usageShares),
      }).where(eq(lines.id, line.id)).returning() as [LineRow];
      await lineEvent(tx, 'line.plan_changed', current, { orderId: o.id, fromVersionId: line.planVersionId, toVersionId: plan!.planVersionId, effective: 'next_cycle' });
    } else {
      for (const p of item(o, 'line_add_on')) await endPack(tx, current, p.lineAddOnId, at, o.id, false);
    }
    if (o.status === 'acknowledged') await transition(tx, o.id, ['acknowledged'], 'in_progress');
    await transition(tx, o.id, ['in_progress'], 'completed');
  }
  return current;
}

/**
 * A pack on a line from now, and its price: a one-off pack in full with its whole allowance; a
 * recurring one prorated to the cycle's end, fee and allowance alike.
 */
async function addPack(tx: Tx, line: LineRow, order: OrderRow, pack: Item<'add_on'>, now: Date) {
  const [v] = await tx.select({ version: addOnVersions, addOn: addOns }).from(addOnVersions).innerJoin(addOns, eq(addOns.id, addOnVersions.addOnId)).where(eq(addOnVersions.id, pack.addOnVersionId));
  const { version, addOn } = v!;
  // Re-checked under the line's lock: two orders accepted side by side must not both get an exclusive pack.
  const held = await activeAddOns(tx, line.id);
  if (version.terms.exclusiveGroup && held.some((h) => h.exclusiveGroup === version.terms.exclusiveGroup)) throw orderErrors.add_on_exclusive();
  if (addOn.kind === 'recurring' && held.some((h) => h.addOnId === addOn.id)) throw orderErrors.add_on_already_active();
  const recurring = addOn.kind === 'recurring';
  const expiresAt = recurring ? line.cycleEnd : new Date(now.getTime() + version.terms.validityHours! * 3_600_000);
  const id = uuidv7();
  await tx.insert(lineAddOns).values({
    id, lineId: line.id, addOnId: addOn.id, addOnVersionId: version.id, feeAmount: pack.fee.amount, feeSteps: pack.laterFees ?? null, kind: addOn.kind, exclusiveGroup: version.terms.exclusiveGroup, startsAt: now, expiresAt, orderId: order.id,
  });
  const allowances = recurring ? prorateAllowances(version.terms.allowances, cycleOf(line), now) : version.terms.allowances;
  await addBuckets(tx, line.id, allowances, { start: now, end: expiresAt }, { lineAddOnId: id, terms: version.terms });
  const charges = recurring
    ? asCharges(prorateChange({ cycle: cycleOf(line), at: now, to: { ref: version.id, fee: pack.fee } }), addOn.name)
    : [{ kind: 'one_off' as const, ref: version.id, description: addOn.name, amount: pack.fee.amount, currency: pack.fee.currency, from: now, to: expiresAt }];
  await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: order.id }, charges);
  await lineEvent(tx, 'add_on.purchased', line, { orderId: order.id, lineAddOnId: id, addOnId: addOn.id, code: addOn.code, expiresAt });
}

/** Ends a pack at `at`; `credit`: a recurring pack on a postpaid line is credited for the rest of the cycle. */
async function endPack(tx: Tx, line: LineRow, lineAddOnId: string, at: Date, orderId: string, credit: boolean) {
  const [ended] = await tx.update(lineAddOns).set({ status: 'removed', endedAt: at }).where(and(eq(lineAddOns.id, lineAddOnId), eq(lineAddOns.status, 'active'))).returning();
  if (!ended) return;
  await closeBuckets(tx, eq(allowanceBuckets.lineAddOnId, ended.id));
  if (credit && ended.kind === 'recurring' && line.kind === 'postpaid' && at < line.cycleEnd) {
    const [v] = await tx.select().from(addOnVersions).where(eq(addOnVersions.id, ended.addOnVersionId));
    const prorated = prorateChange({ cycle: cycleOf(line), at, from: feeOf(v!, ended.feeAmount) });
    await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId }, asCharges(prorated, 'pack fee'));
  }
  await lineEvent(tx, 'add_on.removed', line, { orderId, lineAddOnId });
}

const setStatus = async (tx: Tx, line: LineRow, status: LineRow['status'], reason: string | null) =>
  (await tx.update(lines).set({ status, statusReason: reason, updatedAt: sql`now()`, ...(status === 'terminated' ? { terminatedAt: sql`now()` } : {}) }).where(eq(lines.id, line.id)).returning())[0]!;

async function sellDevices(tx: Tx, o: OrderRow, lineId: string | null) {
  for (const d of item(o, 'device')) {
    await assign(tx, 'device', d.serial, o.id, o.customerId);
    await writeCharges(tx, { lineId, billingAccountId: o.billingAccountId, orderId: o.id },
      [{ kind: 'one_off', ref: d.sku, description: `Device ${d.sku} serial ${d.serial}`, amount: d.price.amount, currency: d.price.currency }]);
  }
}

/**
 * What each order type taking effect now does, in one transaction with the order's completion.
 * Returns the line it made, if any. (Orders for the next cycle take effect in `applyScheduled`.)
 */
export const applyNow: Record<OrderRow['type'], (tx: Tx, o: OrderRow, now: Date) => Promise<string | void>> = {
  async new_line(tx, o, now) {
    // Shared-locked: the account cannot close between this look and the line's commit.
    const acc = await findBillingAccount(tx, SYSTEM, o.billingAccountId, { share: true });
    if (!acc || acc.status !== 'active') throw orderErrors.billing_account_closed();
    const [plan] = item(o, 'plan');
    const { version } = await planVersion(tx, plan!.planVersionId);
    const day = acc.type === 'postpaid' ? acc.billCycleDay! : now.getUTCDate();
    const cycle = billingCycle(day, now);
    const lineId = uuidv7();
    const [msisdn] = item(o, 'msisdn');
    const [sim] = item(o, 'sim');
    await assign(tx, 'msisdn', msisdn!.msisdn, o.id, lineId);
    await assign(tx, 'sim', sim!.iccid, o.id, lineId);
    const [line] = await tx.insert(lines).values({
      id: lineId, customerId: o.customerId, billingAccountId: acc.id, kind: acc.type, currency: acc.currency, msisdn: msisdn!.msisdn, iccid: sim!.iccid,
      planId: plan!.planId, planVersionId: version.id, cycleFee: plan!.fee.amount, feeSteps: plan!.laterFees ?? null, usageShares: plan!.usageShares ?? null, billCycleDay: day, cycleStart: cycle.start, cycleEnd: cycle.end, activatedAt: now, orderId: o.id,
    }).returning();
    // Postpaid joins its account's cycle part-way: it pays and gets that part. Prepaid starts a whole cycle.
    const postpaid = line!.kind === 'postpaid';
    await addBuckets(tx, lineId, postpaid ? prorateAllowances(version.terms.allowances, cycle, now) : version.terms.allowances, { start: now, end: cycle.end });
    const fee = postpaid
      ? asCharges(prorateChange({ cycle, at: now, to: { ref: version.id, fee: plan!.fee } }), 'plan fee')
      : [{ kind: 'recurring' as const, ref: version.id, description: 'Plan fee for the cycle', amount: plan!.fee.amount, currency: plan!.fee.currency, from: cycle.start, to: cycle.end }];
    await writeCharges(tx, { lineId, billingAccountId: acc.id, orderId: o.id }, fee);
    for (const pack of item(o, 'add_on')) await addPack(tx, line!, o, pack, now);
    await sellDevices(tx, o, lineId);
    await lineEvent(tx, 'line.activated', line!, { orderId: o.id, planVersionId: version.id, iccid: line!.iccid });
    return lineId;
  },
  async change_plan(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (line.status === 'terminated') throw orderErrors.line_state('The line was terminated');
    const [plan] = item(o, 'plan');
    const { version: from } = await planVersion(tx, line.planVersionId);
    const { plan: toPlan, version: to } = await planVersion(tx, plan!.planVersionId);
    const clash = await incompatiblePacks(tx, line.id, toPlan.code);
    if (clash.length) throw orderErrors.add_on_incompatible(`Remove ${clash.map((h) => h.code).join(', ')} first: ${toPlan.code} cannot take it`);
    const prorated = prorateChange({ cycle: cycleOf(line), at: now, from: feeOf(from, line.cycleFee), to: { ref: to.id, fee: plan!.fee } });
    await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: o.id }, asCharges(prorated, 'plan fee'));
    const [changed] = await tx.update(lines).set({
      planId: plan!.planId, planVersionId: to.id, cycleFee: plan!.fee.amount, feeSteps: plan!.laterFees ?? null, usageShares: plan!.usageShares ?? null, updatedAt: sql`now()`,
    }).where(eq(lines.id, line.id)).returning();
    await replacePlanBuckets(tx, changed!, prorateAllowances(to.terms.allowances, cycleOf(line), now), now);
    await lineEvent(tx, 'line.plan_changed', changed!, { orderId: o.id, fromVersionId: from.id, toVersionId: to.id, effective: 'now' });
  },
  async add_add_on(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (line.status !== 'active') throw orderErrors.line_state(`A ${line.status} line cannot take a pack`);
    for (const pack of item(o, 'add_on')) await addPack(tx, line, o, pack, now);
  },
  async remove_add_on(tx, o, now) {
    // Only one-off packs leave at once (recurring ones at the cycle's end); what was paid for a one-off pack is not refunded.
    const line = await currentLine(tx, o.lineId!, now);
    for (const p of item(o, 'line_add_on')) await endPack(tx, line, p.lineAddOnId, now, o.id, false);
  },
  async suspend(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (!['active', 'barred'].includes(line.status)) throw orderErrors.line_state(`A ${line.status} line cannot be suspended`);
    await lineEvent(tx, 'line.suspended', await setStatus(tx, line, 'suspended', o.reason), { orderId: o.id, reason: o.reason });
  },
  async resume(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (line.status !== 'suspended') throw orderErrors.line_state(`A ${line.status} line cannot be resumed`);
    await lineEvent(tx, 'line.resumed', await setStatus(tx, line, 'active', null), { orderId: o.id });
  },
  async terminate(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (line.status === 'terminated') throw orderErrors.line_state('The line is already terminated');
    if (line.kind === 'postpaid') {
      const { version } = await planVersion(tx, line.planVersionId);
      await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: o.id }, asCharges(prorateChange({ cycle: cycleOf(line), at: now, from: feeOf(version, line.cycleFee) }), 'plan fee'));
    }
    for (const h of await activeAddOns(tx, line.id)) await endPack(tx, line, h.id, now, o.id, true);
    await closeBuckets(tx, eq(allowanceBuckets.lineId, line.id));
    // Changes still waiting on the line have nothing left to change (a device sale stands).
    const waiting = await tx.select({ id: orders.id }).from(orders)
      .where(and(eq(orders.lineId, line.id), eq(orders.status, 'acknowledged'), sql`${orders.id} <> ${o.id}`, sql`${orders.type} <> 'buy_device'`)).for('update');
    for (const w of waiting) {
      const cancelled = await transition(tx, w.id, ['acknowledged'], 'cancelled', { reason: 'The line was terminated' });
      if (cancelled) await releaseHeld(tx, cancelled);
    }
    await quarantine(tx, 'msisdn', line.msisdn, line.id);
    await quarantine(tx, 'sim', line.iccid, line.id);
    await lineEvent(tx, 'line.terminated', await setStatus(tx, line, 'terminated', o.reason), { orderId: o.id, reason: o.reason });
  },
  async replace_sim(tx, o, now) {
    const line = await currentLine(tx, o.lineId!, now);
    if (line.status === 'terminated') throw orderErrors.line_state('The line was terminated');
    const [sim] = item(o, 'sim');
    await assign(tx, 'sim', sim!.iccid, o.id, line.id);
    await quarantine(tx, 'sim', line.iccid, line.id);
    const [changed] = await tx.update(lines).set({ iccid: sim!.iccid, updatedAt: sql`now()` }).where(eq(lines.id, line.id)).returning();
    await lineEvent(tx, 'line.sim_replaced', changed!, { orderId: o.id, fromIccid: line.iccid, toIccid: sim!.iccid });
  },
  async buy_device(tx, o) {
    await sellDevices(tx, o, o.lineId);
  },
};
