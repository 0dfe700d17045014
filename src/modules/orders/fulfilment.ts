import { and, eq, inArray, sql } from 'drizzle-orm';
import type { JobHelpers } from 'graphile-worker';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { AppError } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { findBillingAccount } from '../customers/index.js';
import { planVersion } from './catalog.js';
import { orderErrors } from './errors.js';
import { assign, quarantine } from './inventory.js';
import { allowanceBuckets, lineAddOns, lines, orders } from './lines-tables.js';
import { addBuckets, closeBuckets, type LineRow, lineEvent, linesDue, renewLine, replacePlanBuckets, writeCharges } from './lines.js';
import { activeAddOns, releaseHeld, transition } from './orders.js';
import type { OrderItem } from './order-schemas.js';
import { billingCycle, type Cycle, prorateChange, type ProrationLine } from './rules.js';
import { addOns, addOnVersions } from './tables.js';

type OrderRow = typeof orders.$inferSelect;
type Item<K extends OrderItem['kind']> = Extract<OrderItem, { kind: K }>;
const item = <K extends OrderItem['kind']>(o: OrderRow, kind: K) => o.items.filter((i): i is Item<K> => i.kind === kind);

/** Fulfilment acts as the system, not as whoever placed the order. */
const SYSTEM: Ctx = { principal: { kind: 'staff', id: 'system', role: 'admin', via: 'api_key' }, requestId: 'orders.fulfil' };

const cycleOf = (line: LineRow): Cycle => ({ start: line.cycleStart, end: line.cycleEnd });
const asCharges = (prorated: ProrationLine[], what: string) =>
  prorated.map((l) => ({ kind: l.kind, ref: l.ref, description: `${l.kind === 'credit' ? 'Unused' : 'Prorated'} ${what}`, amount: l.amount, currency: l.currency, from: l.from, to: l.to }));

/** Locks the line and brings its cycle up to now, applying any plan change that was due. */
async function currentLine(tx: Tx, id: string) {
  const [line] = await tx.select().from(lines).where(eq(lines.id, id)).for('update');
  if (!line) throw orderErrors.line_not_found();
  return renewLine(tx, line, applyScheduledChange);
}

/** At a cycle boundary: the plan change ordered "for next cycle" takes effect, without proration. */
async function applyScheduledChange(tx: Tx, line: LineRow, at: Date): Promise<LineRow> {
  const [due] = await tx.select().from(orders).where(and(eq(orders.lineId, line.id), eq(orders.type, 'change_plan'), eq(orders.effective, 'next_cycle'),
    inArray(orders.status, ['acknowledged', 'in_progress']), sql`${orders.scheduledFor} <= ${at.toISOString()}::timestamptz`)).for('update');
  if (!due) return line;
  const [plan] = item(due, 'plan');
  const [changed] = await tx.update(lines).set({ planId: plan!.planId, planVersionId: plan!.planVersionId, updatedAt: sql`now()` }).where(eq(lines.id, line.id)).returning();
  if (due.status === 'acknowledged') await transition(tx, due.id, ['acknowledged'], 'in_progress');
  await transition(tx, due.id, ['in_progress'], 'completed');
  await lineEvent(tx, 'line.plan_changed', changed!, { orderId: due.id, fromVersionId: line.planVersionId, toVersionId: plan!.planVersionId, effective: 'next_cycle' });
  return changed!;
}

/** A pack on a line from now: its buckets, and its price (one-off in full, recurring prorated to the cycle's end). */
async function addPack(tx: Tx, line: LineRow, order: OrderRow, pack: Item<'add_on'>, now: Date) {
  const [v] = await tx.select({ version: addOnVersions, addOn: addOns }).from(addOnVersions).innerJoin(addOns, eq(addOns.id, addOnVersions.addOnId)).where(eq(addOnVersions.id, pack.addOnVersionId));
  const { version, addOn } = v!;
  // Re-checked under the line's lock: two orders accepted side by side must not both get an exclusive pack.
  const held = await activeAddOns(tx, line.id);
  if (version.terms.exclusiveGroup && held.some((h) => h.exclusiveGroup === version.terms.exclusiveGroup)) throw orderErrors.add_on_exclusive();
  if (addOn.kind === 'recurring' && held.some((h) => h.addOnId === addOn.id)) throw orderErrors.add_on_already_active();
  const expiresAt = addOn.kind === 'recurring' ? line.cycleEnd : new Date(now.getTime() + version.terms.validityHours! * 3_600_000);
  const id = uuidv7();
  await tx.insert(lineAddOns).values({ id, lineId: line.id, addOnId: addOn.id, addOnVersionId: version.id, kind: addOn.kind, exclusiveGroup: version.terms.exclusiveGroup, startsAt: now, expiresAt, orderId: order.id });
  await addBuckets(tx, line.id, version.terms.allowances, { start: now, end: expiresAt }, { lineAddOnId: id, terms: version.terms });
  const priced = { ref: version.id, fee: pack.fee };
  const charges = addOn.kind === 'one_off'
    ? [{ kind: 'one_off' as const, ref: version.id, description: `${addOn.name}`, amount: pack.fee.amount, currency: pack.fee.currency, from: now, to: expiresAt }]
    : asCharges(prorateChange({ cycle: cycleOf(line), at: now, to: priced }), addOn.name);
  await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: order.id }, charges);
  await lineEvent(tx, 'add_on.purchased', line, { orderId: order.id, lineAddOnId: id, addOnId: addOn.id, code: addOn.code, expiresAt });
}

/** Ends a pack now; a recurring one on a postpaid line is credited for the rest of the cycle. */
async function endPack(tx: Tx, line: LineRow, lineAddOnId: string, now: Date, orderId: string | null, credit: boolean) {
  const [ended] = await tx.update(lineAddOns).set({ status: 'removed', endedAt: now }).where(and(eq(lineAddOns.id, lineAddOnId), eq(lineAddOns.status, 'active'))).returning();
  if (!ended) return;
  await closeBuckets(tx, eq(allowanceBuckets.lineAddOnId, ended.id));
  if (credit && ended.kind === 'recurring' && line.kind === 'postpaid') {
    const [v] = await tx.select().from(addOnVersions).where(eq(addOnVersions.id, ended.addOnVersionId));
    const prorated = prorateChange({ cycle: cycleOf(line), at: now, from: { ref: v!.id, fee: { amount: v!.feeAmount, currency: v!.currency } } });
    await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId }, asCharges(prorated, 'pack fee'));
  }
  await lineEvent(tx, 'add_on.removed', line, { orderId, lineAddOnId });
}

const setStatus = async (tx: Tx, line: LineRow, status: LineRow['status'], reason: string | null) =>
  (await tx.update(lines).set({ status, statusReason: reason, updatedAt: sql`now()`, ...(status === 'terminated' ? { terminatedAt: sql`now()` } : {}) }).where(eq(lines.id, line.id)).returning())[0]!;

/** What each order type does once accepted; each runs in one transaction with the order. Returns the line it made, if any. */
const apply: Record<OrderRow['type'], (tx: Tx, o: OrderRow, now: Date) => Promise<string | void>> = {
  async new_line(tx, o, now) {
    const acc = await findBillingAccount(tx, SYSTEM, o.billingAccountId);
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
      planId: plan!.planId, planVersionId: version.id, billCycleDay: day, cycleStart: cycle.start, cycleEnd: cycle.end, activatedAt: now, orderId: o.id,
    }).returning();
    await addBuckets(tx, lineId, version.terms.allowances, { start: now, end: cycle.end });
    // Postpaid pays the first cycle from activation; prepaid pays the whole cycle up front.
    const fee = line!.kind === 'postpaid'
      ? asCharges(prorateChange({ cycle, at: now, to: { ref: version.id, fee: plan!.fee } }), 'plan fee')
      : [{ kind: 'recurring' as const, ref: version.id, description: 'Plan fee for the cycle', amount: plan!.fee.amount, currency: plan!.fee.currency, from: cycle.start, to: cycle.end }];
    await writeCharges(tx, { lineId, billingAccountId: acc.id, orderId: o.id }, fee);
    for (const pack of item(o, 'add_on')) await addPack(tx, line!, o, pack, now);
    await sellDevices(tx, o, lineId);
    await lineEvent(tx, 'line.activated', line!, { orderId: o.id, planVersionId: version.id, iccid: line!.iccid });
    return lineId;
  },
  async change_plan(tx, o, now) {
    const line = await currentLine(tx, o.lineId!);
    if (line.status === 'terminated') throw orderErrors.line_state('The line was terminated');
    if (o.effective === 'next_cycle') {
      // currentLine applied it if its time has come; otherwise the job runs again later.
      const [after] = await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, o.id));
      if (after!.status !== 'completed') throw new Error('the scheduled change is not due yet');
      return;
    }
    const [plan] = item(o, 'plan');
    const { version: from } = await planVersion(tx, line.planVersionId);
    const { version: to } = await planVersion(tx, plan!.planVersionId);
    const prorated = prorateChange({ cycle: cycleOf(line), at: now, from: { ref: from.id, fee: { amount: from.feeAmount, currency: from.currency } }, to: { ref: to.id, fee: plan!.fee } });
    await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: o.id }, asCharges(prorated, 'plan fee'));
    const [changed] = await tx.update(lines).set({ planId: plan!.planId, planVersionId: to.id, updatedAt: sql`now()` }).where(eq(lines.id, line.id)).returning();
    await replacePlanBuckets(tx, changed!, to.terms.allowances, now);
    await lineEvent(tx, 'line.plan_changed', changed!, { orderId: o.id, fromVersionId: from.id, toVersionId: to.id, effective: 'now' });
  },
  async add_add_on(tx, o, now) {
    const line = await currentLine(tx, o.lineId!);
    if (line.status !== 'active') throw orderErrors.line_state(`A ${line.status} line cannot take a pack`);
    for (const pack of item(o, 'add_on')) await addPack(tx, line, o, pack, now);
  },
  async remove_add_on(tx, o, now) {
    const line = await currentLine(tx, o.lineId!);
    for (const p of item(o, 'line_add_on')) await endPack(tx, line, p.lineAddOnId, now, o.id, true);
  },
  async suspend(tx, o) {
    const line = await currentLine(tx, o.lineId!);
    if (!['active', 'barred'].includes(line.status)) throw orderErrors.line_state(`A ${line.status} line cannot be suspended`);
    await lineEvent(tx, 'line.suspended', await setStatus(tx, line, 'suspended', o.reason), { orderId: o.id, reason: o.reason });
  },
  async resume(tx, o) {
    const line = await currentLine(tx, o.lineId!);
    if (line.status !== 'suspended') throw orderErrors.line_state(`A ${line.status} line cannot be resumed`);
    await lineEvent(tx, 'line.resumed', await setStatus(tx, line, 'active', null), { orderId: o.id });
  },
  async terminate(tx, o, now) {
    const line = await currentLine(tx, o.lineId!);
    if (line.status === 'terminated') throw orderErrors.line_state('The line is already terminated');
    if (line.kind === 'postpaid') {
      const { version } = await planVersion(tx, line.planVersionId);
      const credit = prorateChange({ cycle: cycleOf(line), at: now, from: { ref: version.id, fee: { amount: version.feeAmount, currency: version.currency } } });
      await writeCharges(tx, { lineId: line.id, billingAccountId: line.billingAccountId, orderId: o.id }, asCharges(credit, 'plan fee'));
    }
    for (const h of await activeAddOns(tx, line.id)) await endPack(tx, line, h.id, now, o.id, true);
    await closeBuckets(tx, eq(allowanceBuckets.lineId, line.id));
    // Orders still waiting on the line (a plan change for next cycle) have nothing left to change.
    const waiting = await tx.select({ id: orders.id }).from(orders)
      .where(and(eq(orders.lineId, line.id), eq(orders.status, 'acknowledged'), sql`${orders.id} <> ${o.id}`)).for('update');
    for (const w of waiting) {
      const cancelled = await transition(tx, w.id, ['acknowledged'], 'cancelled', { reason: 'The line was terminated' });
      if (cancelled) await releaseHeld(tx, cancelled);
    }
    await quarantine(tx, 'msisdn', line.msisdn, line.id);
    await quarantine(tx, 'sim', line.iccid, line.id);
    await lineEvent(tx, 'line.terminated', await setStatus(tx, line, 'terminated', o.reason), { orderId: o.id, reason: o.reason });
  },
  async replace_sim(tx, o) {
    const line = await currentLine(tx, o.lineId!);
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

async function sellDevices(tx: Tx, o: OrderRow, lineId: string | null) {
  for (const d of item(o, 'device')) {
    await assign(tx, 'device', d.serial, o.id, o.customerId);
    await writeCharges(tx, { lineId, billingAccountId: o.billingAccountId, orderId: o.id },
      [{ kind: 'one_off', ref: d.sku, description: `Device ${d.sku} serial ${d.serial}`, amount: d.price.amount, currency: d.price.currency }]);
  }
}

/**
 * The fulfilment job: acknowledged → in progress (its own commit, so it shows), then the work and
 * "completed" in one transaction. A refusal by the rules (a lapsed reservation, a line that moved
 * on) fails the order at once; anything else is retried, and the last attempt fails it. A failed
 * order gives back what it reserved.
 */
export async function fulfilOrder(db: Db, orderId: string, helpers: Pick<JobHelpers, 'job'>) {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId));
  if (!order || !['acknowledged', 'in_progress'].includes(order.status)) return; // cancelled, or done by the cycle renewal
  if (order.status === 'acknowledged' && !(await db.transaction((tx) => transition(tx, orderId, ['acknowledged'], 'in_progress')))) return;
  try {
    await db.transaction(async (tx) => {
      // Line before order, as the cycle renewal locks them: the two never wait on each other in a circle.
      if (order.lineId) await tx.select({ id: lines.id }).from(lines).where(eq(lines.id, order.lineId)).for('update');
      const [o] = await tx.select().from(orders).where(and(eq(orders.id, orderId), eq(orders.status, 'in_progress'))).for('update');
      if (!o) return;
      const lineId = await apply[o.type](tx, o, new Date());
      await transition(tx, orderId, ['in_progress'], 'completed', lineId ? { lineId } : {});
    });
  } catch (err) {
    const last = helpers.job.attempts >= helpers.job.max_attempts;
    if (!(err instanceof AppError) && !last) throw err;
    const reason = err instanceof AppError ? `${err.code}: ${err.message}` : `gave up after ${helpers.job.attempts} attempts: ${(err as Error).message}`;
    await db.transaction(async (tx) => {
      const failed = await transition(tx, orderId, ['in_progress', 'acknowledged'], 'failed', { reason });
      if (failed) await releaseHeld(tx, failed);
    });
  }
}

/** Scheduled: every line whose cycle has ended is renewed, each in its own short transaction. */
export async function renewCycles(db: Db) {
  for (;;) {
    const due = await linesDue(db, 200);
    for (const id of due) await db.transaction((tx) => currentLine(tx, id));
    if (due.length < 200) return;
  }
}
