import { and, desc, eq, gt, inArray, isNull, lt, notInArray, sql, type SQL } from 'drizzle-orm';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerVisible } from '../customers/index.js';
import type { AddOnTerms, PlanTerms } from './catalog-schemas.js';
import { planVersion } from './catalog.js';
import { orderErrors } from './errors.js';
import { allowanceBuckets, chargeLines, lineAddOns, lines, orders } from './lines-tables.js';
import { billingCycle, type Cycle, nextShares, nextStep, prorateAllowances, prorateChange } from './rules.js';
import { addOns, addOnVersions } from './tables.js';

export type LineRow = typeof lines.$inferSelect;
type Allowances = PlanTerms['allowances'] | AddOnTerms['allowances'];
const usageOf = { dataBytes: 'data', voiceSeconds: 'voice', smsCount: 'sms' } as const;

/** One bucket per usage type the allowance includes ("unlimited" is a bucket without a total). */
export async function addBuckets(tx: Tx, lineId: string, allowances: Allowances, validity: Cycle, pack?: { lineAddOnId: string; terms: AddOnTerms }) {
  const rows = Object.entries(allowances).filter(([, q]) => q !== 0).map(([k, q]) => ({
    id: uuidv7(), lineId, lineAddOnId: pack?.lineAddOnId ?? null, usageType: usageOf[k as keyof typeof usageOf], zone: pack?.terms.zone ?? 'home',
    total: q === 'unlimited' ? null : (q as number), timeWindow: pack?.terms.timeWindow ?? null, validFrom: validity.start, validUntil: validity.end,
  }));
  if (rows.length) await tx.insert(allowanceBuckets).values(rows);
}

/**
 * A new plan inside the cycle: what was used stays used, and the new plan adds its share of the
 * cycle that is left (`share`: its allowances already prorated).
 */
export async function replacePlanBuckets(tx: Tx, line: LineRow, share: PlanTerms['allowances'], now: Date) {
  const current = await tx.select().from(allowanceBuckets).where(and(eq(allowanceBuckets.lineId, line.id), isNull(allowanceBuckets.lineAddOnId), eq(allowanceBuckets.validUntil, line.cycleEnd)));
  for (const [k, q] of Object.entries(share)) {
    const usageType = usageOf[k as keyof typeof usageOf];
    const bucket = current.find((b) => b.usageType === usageType);
    if (bucket) await tx.update(allowanceBuckets).set({ total: q === 'unlimited' ? null : bucket.used + q }).where(eq(allowanceBuckets.id, bucket.id));
    else if (q !== 0) await addBuckets(tx, line.id, { [k]: q }, { start: now, end: line.cycleEnd });
  }
}

/** Ends a pack's buckets now (they stay for the record). */
export async function closeBuckets(tx: Tx, where: SQL) {
  await tx.update(allowanceBuckets).set({ validUntil: sql`greatest(now(), ${allowanceBuckets.validFrom} + interval '1 millisecond')` })
    .where(and(where, gt(allowanceBuckets.validUntil, sql`now()`)));
}

export async function writeCharges(tx: Tx, base: { lineId: string | null; billingAccountId: string; orderId: string | null },
  charges: { kind: 'charge' | 'credit' | 'one_off' | 'recurring'; ref: string; description: string; amount: number; currency: string; from?: Date; to?: Date }[]) {
  const rows = charges.filter((c) => c.amount !== 0).map((c) => ({
    id: uuidv7(), ...base, kind: c.kind, ref: c.ref, description: c.description, amount: c.amount, currency: c.currency, periodFrom: c.from ?? null, periodTo: c.to ?? null,
  }));
  if (rows.length) await tx.insert(chargeLines).values(rows);
}

export const lineEvent = (tx: Tx, type: string, line: LineRow, details: Record<string, unknown> = {}) =>
  emit(tx, type, { lineId: line.id, customerId: line.customerId, billingAccountId: line.billingAccountId, msisdn: line.msisdn, ...details }, { aggregateId: line.id });

/**
 * Brings a locked line's cycle up to `now`: each passed boundary first applies the orders scheduled
 * for it, then opens the new cycle's plan buckets, renews recurring packs and writes the cycle's
 * fees (plan and recurring packs, in advance) as charge lines. Runs from the renewal job and
 * before any change to a line, so nothing ever prorates against a cycle that has ended.
 */
export async function renewLine(tx: Tx, line: LineRow, now: Date, applyScheduled: (tx: Tx, line: LineRow, at: Date) => Promise<LineRow>): Promise<LineRow> {
  let current = line;
  while (current.status !== 'terminated' && current.cycleEnd <= now) {
    // Cycles are contiguous: the next starts where this one ended. After a change of bill-cycle day
    // it ends on the new day: a shorter cycle, whose fees and allowances are that share of a whole one.
    const moving = current.nextBillCycleDay !== null;
    const natural = billingCycle(current.nextBillCycleDay ?? current.billCycleDay, current.cycleEnd);
    const next = { start: current.cycleEnd, end: natural.end };
    const part = <T>(whole: T, prorate: (whole: T) => T) => (moving && natural.start < next.start ? prorate(whole) : whole);
    const partFee = (amount: number, currency: string, ref: string) =>
      part(amount, () => prorateChange({ cycle: natural, at: next.start, to: { ref, fee: { amount, currency } } })[0]?.amount ?? 0);
    const partAllowances = <A extends Record<string, number | 'unlimited' | undefined>>(a: A) => part(a, () => prorateAllowances(a, natural, next.start));
    current = await applyScheduled(tx, current, next.start);
    // A new cycle brings new allowances: what the caps barred or slowed runs again.
    const lifted = current.restriction;
    const capped = lifted === 'usage_cap' || lifted === 'spend_cap';
    const { version } = await planVersion(tx, current.planVersionId);
    // A discount that lasts several cycles charges its steps first; then the list fee.
    const [fullFee, feeSteps] = nextStep(current.feeSteps, version.feeAmount);
    const fee = partFee(fullFee, version.currency, version.id);
    [current] = await tx.update(lines).set({
      cycleStart: next.start, cycleEnd: next.end, cycleFee: fee, billCycleDay: current.nextBillCycleDay ?? current.billCycleDay, nextBillCycleDay: null, feeSteps, usageShares: nextShares(current.usageShares), updatedAt: sql`now()`,
      ...(capped ? { restriction: null, throttleKbps: null, ...(current.status === 'barred' ? { status: 'active' as const, statusReason: null } : {}) } : {}),
    }).where(eq(lines.id, current.id)).returning() as [LineRow];
    if (capped) await lineEvent(tx, 'line.restriction_lifted', current, { restriction: lifted });
    await addBuckets(tx, current.id, partAllowances(version.terms.allowances), next);
    const fees = [{ kind: 'recurring' as const, ref: version.id, description: 'Plan fee for the cycle', amount: fee, currency: version.currency, from: next.start, to: next.end }];
    // A renewed pack's new period is charged at its next step, or the list fee (a gift covers only the first).
    const packs = await tx.select().from(lineAddOns).where(and(eq(lineAddOns.lineId, current.id), eq(lineAddOns.status, 'active'), eq(lineAddOns.kind, 'recurring')));
    for (const p of packs) {
      const [v] = await tx.select().from(addOnVersions).where(eq(addOnVersions.id, p.addOnVersionId));
      const [fullPackFee, packSteps] = nextStep(p.feeSteps, v!.feeAmount);
      const packFee = partFee(fullPackFee, v!.currency, v!.id);
      await tx.update(lineAddOns).set({ expiresAt: next.end, feeAmount: packFee === v!.feeAmount ? null : packFee, feeSteps: packSteps }).where(eq(lineAddOns.id, p.id));
      await addBuckets(tx, current.id, partAllowances(v!.terms.allowances), next, { lineAddOnId: p.id, terms: v!.terms });
      fees.push({ kind: 'recurring', ref: v!.id, description: 'Recurring pack fee for the cycle', amount: packFee, currency: v!.currency, from: next.start, to: next.end });
    }
    await writeCharges(tx, { lineId: current.id, billingAccountId: current.billingAccountId, orderId: null }, fees);
    await lineEvent(tx, 'line.cycle_renewed', current, { cycleStart: next.start, cycleEnd: next.end });
  }
  return current;
}

/**
 * The account's postpaid lines take its new bill-cycle day at their next renewal: each finishes its
 * current cycle, and the renewal makes a shorter one ending on the new day, fees and allowances
 * prorated to it. (Set back to the day a line has, nothing changes.)
 */
export async function followBillCycle(tx: Tx, billingAccountId: string, day: number) {
  const moved = await tx.update(lines).set({ nextBillCycleDay: sql`case when ${lines.billCycleDay} = ${day} then null else ${day}::int end`, updatedAt: sql`now()` })
    .where(and(eq(lines.billingAccountId, billingAccountId), eq(lines.kind, 'postpaid'), sql`${lines.status} <> 'terminated'`)).returning();
  for (const line of moved) if (line.nextBillCycleDay !== null) await lineEvent(tx, 'line.bill_cycle_changed', line, { billCycleDay: day, from: line.cycleEnd });
}

/** One-off packs past their validity end on a locked line (the expiry job may not have run yet). */
export async function expireLapsedPacks(tx: Tx, lineId: string) {
  const expired = await tx.update(lineAddOns).set({ status: 'expired', endedAt: sql`now()` })
    .where(and(eq(lineAddOns.lineId, lineId), eq(lineAddOns.status, 'active'), eq(lineAddOns.kind, 'one_off'), lt(lineAddOns.expiresAt, sql`clock_timestamp()`))).returning();
  for (const e of expired) await emit(tx, 'add_on.expired', { lineId, lineAddOnId: e.id, addOnId: e.addOnId }, { aggregateId: lineId });
}

/** The next line whose cycle has ended, locked; lines another worker holds, or that failed, are skipped. */
export async function claimDueLine(tx: Tx, skip: string[]) {
  const [line] = await tx.select().from(lines)
    .where(and(lt(lines.cycleEnd, sql`clock_timestamp()`), sql`${lines.status} <> 'terminated'`, skip.length ? notInArray(lines.id, skip) : undefined))
    .orderBy(lines.cycleEnd).limit(1).for('update', { skipLocked: true });
  return line;
}

/** Scheduled: one-off packs past their validity end, with their buckets. */
export async function expireAddOns(db: Db) {
  for (;;) {
    const done = await db.transaction(async (tx) => {
      const expired = await tx.execute<{ id: string; line_id: string; add_on_id: string }>(sql`
        update ${lineAddOns} set status = 'expired', ended_at = now()
        where id in (select id from ${lineAddOns} where status = 'active' and expires_at <= now() and kind = 'one_off' limit 500 for update skip locked)
        returning id, line_id, add_on_id`);
      for (const e of expired) {
        await emit(tx, 'add_on.expired', { lineId: e.line_id, lineAddOnId: e.id, addOnId: e.add_on_id }, { aggregateId: e.line_id });
      }
      return expired.length < 500;
    });
    if (done) return;
  }
}

/** The line as a CSR or the customer sees it: plan, packs, this cycle's allowances, orders in flight. */
export async function lineView(db: Tx, ctx: Ctx, id: string) {
  const [line] = await db.select().from(lines).where(eq(lines.id, id));
  if (!line || !(await customerVisible(db, ctx, line.customerId))) throw orderErrors.line_not_found();
  const { plan, version } = await planVersion(db, line.planVersionId);
  const packs = await db.select({ p: lineAddOns, code: addOns.code, name: addOns.name, version: addOnVersions.version }).from(lineAddOns)
    .innerJoin(addOns, eq(addOns.id, lineAddOns.addOnId)).innerJoin(addOnVersions, eq(addOnVersions.id, lineAddOns.addOnVersionId))
    .where(and(eq(lineAddOns.lineId, id), eq(lineAddOns.status, 'active'), gt(lineAddOns.expiresAt, sql`now()`)));
  const buckets = await db.select().from(allowanceBuckets)
    .where(and(eq(allowanceBuckets.lineId, id), gt(allowanceBuckets.validUntil, sql`now()`), lt(allowanceBuckets.validFrom, sql`now() + interval '1 millisecond'`)))
    .orderBy(allowanceBuckets.validUntil);
  const pending = await db.select({ id: orders.id, type: orders.type, status: orders.status, scheduledFor: orders.scheduledFor }).from(orders)
    .where(and(eq(orders.lineId, id), inArray(orders.status, ['acknowledged', 'in_progress'])));
  return {
    ...line,
    plan: { id: plan.id, code: plan.code, name: plan.name, versionId: version.id, version: version.version, recurringFee: { amount: version.feeAmount, currency: version.currency } },
    cycle: { start: line.cycleStart, end: line.cycleEnd, billCycleDay: line.billCycleDay },
    addOns: packs.map(({ p, code, name, version: v }) => ({ id: p.id, addOnId: p.addOnId, code, name, kind: p.kind, version: v, startsAt: p.startsAt, expiresAt: p.expiresAt })),
    allowances: buckets.map((b) => ({
      id: b.id, source: b.lineAddOnId ? 'add_on' as const : 'plan' as const, lineAddOnId: b.lineAddOnId, usageType: b.usageType, zone: b.zone,
      total: b.total, used: b.used, remaining: b.total === null ? null : Math.max(0, b.total - b.used), timeWindow: b.timeWindow, validFrom: b.validFrom, validUntil: b.validUntil,
    })),
    pendingOrders: pending,
  };
}

export async function listLines(db: Db, ctx: Ctx, q: { customerId?: string; msisdn?: string; status?: LineRow['status']; limit: number; after?: string }) {
  const customerId = ctx.principal.kind === 'customer' ? ctx.principal.customerId : q.customerId;
  if (ctx.principal.kind === 'partner' && !customerId) throw orderErrors.customer_required();
  if (customerId && !(await customerVisible(db, ctx, customerId))) return [];
  return db.select().from(lines).where(and(
    customerId ? eq(lines.customerId, customerId) : undefined,
    q.msisdn ? eq(lines.msisdn, q.msisdn) : undefined,
    q.status ? eq(lines.status, q.status) : undefined,
    q.after ? lt(lines.id, q.after) : undefined,
  )).orderBy(desc(lines.id)).limit(q.limit + 1);
}

export async function listCharges(db: Db, ctx: Ctx, lineId: string, q: { limit: number; after?: string }) {
  const [line] = await db.select({ customerId: lines.customerId }).from(lines).where(eq(lines.id, lineId));
  if (!line || !(await customerVisible(db, ctx, line.customerId))) throw orderErrors.line_not_found();
  return db.select().from(chargeLines).where(and(eq(chargeLines.lineId, lineId), q.after ? lt(chargeLines.id, q.after) : undefined))
    .orderBy(desc(chargeLines.id)).limit(q.limit + 1);
}
