import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
// Lists travel as one JSON parameter: drizzle spreads a JS array into one parameter per element.
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { customerVisible } from '../customers/index.js';
import type { PlanTerms } from './catalog-schemas.js';
import { currentLine } from './changes.js';
import { allowanceBuckets, lines } from './lines-tables.js';
import { lineEvent } from './lines.js';
import type { TimeWindow } from './order-schemas.js';
import { pricePlanVersions } from './tables.js';

/** What rating needs to know of a line, found by its number (terminated lines are not found). */
export interface RatableLine {
  lineId: string; msisdn: string; customerId: string; billingAccountId: string; kind: 'prepaid' | 'postpaid'; currency: string;
  status: 'active' | 'suspended' | 'barred'; cycleStart: Date; cycleEnd: Date; activatedAt: Date; rates: PlanTerms['rates']; usageCap: PlanTerms['usageCap'];
}

/**
 * Locked, in id order: rating takes a line before its buckets, counters and balance, as order
 * fulfilment and renewal do, so the two never wait on each other in a circle; and two batches on
 * one line queue here rather than race on its counters.
 */
export async function linesForUsage(tx: Tx, msisdnList: string[]): Promise<RatableLine[]> {
  if (!msisdnList.length) return [];
  const rows = await tx.execute<Omit<RatableLine, 'cycleStart' | 'cycleEnd' | 'activatedAt'> & { cycleStart: string; cycleEnd: string; activatedAt: string }>(sql`
    select l.id as "lineId", l.msisdn, l.customer_id as "customerId", l.billing_account_id as "billingAccountId", l.kind, l.currency, l.status,
      l.cycle_start as "cycleStart", l.cycle_end as "cycleEnd", l.activated_at as "activatedAt", v.terms->'rates' as rates, v.terms->'usageCap' as "usageCap"
    from ${lines} l join ${pricePlanVersions} v on v.id = l.plan_version_id
    where l.msisdn in (select json_array_elements_text(${JSON.stringify(msisdnList)}::json)) and l.status <> 'terminated'
    order by l.id for no key update of l`);
  return rows.map((r) => ({ ...r, cycleStart: new Date(r.cycleStart), cycleEnd: new Date(r.cycleEnd), activatedAt: new Date(r.activatedAt) }));
}

export interface LineBucket {
  id: string; lineId: string; usageType: 'data' | 'voice' | 'sms'; zone: string; fromPack: boolean;
  total: number | null; used: number; validFrom: Date; validUntil: Date; timeWindow: TimeWindow | null;
}

/**
 * The lines' allowance buckets valid at some time in [from, to], locked (in id order, so that two
 * batches never wait on each other in a circle) until the caller's transaction ends.
 */
export async function lockBuckets(tx: Tx, lineIds: string[], from: Date, to: Date): Promise<LineBucket[]> {
  if (!lineIds.length) return [];
  const rows = await tx.execute<{ id: string; lineId: string; usageType: LineBucket['usageType']; zone: string; fromPack: boolean; total: string | null; used: string; validFrom: string; validUntil: string; timeWindow: TimeWindow | null }>(sql`
    select id, line_id as "lineId", usage_type as "usageType", zone, line_add_on_id is not null as "fromPack", total, used,
      valid_from as "validFrom", valid_until as "validUntil", time_window as "timeWindow"
    from ${allowanceBuckets}
    where line_id in (select json_array_elements_text(${JSON.stringify(lineIds)}::json)::uuid) and valid_from <= ${to.toISOString()}::timestamptz and valid_until > ${from.toISOString()}::timestamptz
    order by id for update`);
  return rows.map((r) => ({
    ...r, total: r.total === null ? null : Number(r.total), used: Number(r.used), validFrom: new Date(r.validFrom), validUntil: new Date(r.validUntil),
  }));
}

/** Adds what rating drew to each bucket, in one statement. */
export async function recordConsumption(tx: Tx, draws: { bucketId: string; quantity: number }[]) {
  if (!draws.length) return;
  await tx.execute(sql`
    update ${allowanceBuckets} b set used = b.used + d.quantity
    from (select bucket_id, sum(quantity)::bigint as quantity from json_to_recordset(${JSON.stringify(draws.map((d) => ({ bucket_id: d.bucketId, quantity: d.quantity })))}::json)
          as x(bucket_id uuid, quantity bigint) group by bucket_id) d
    where b.id = d.bucket_id`);
}

/** Lines whose cycle has ended are renewed first, so that usage after midnight meets the new cycle's buckets. */
export async function renewLinesDue(tx: Tx, msisdnList: string[]) {
  if (!msisdnList.length) return;
  const due = await tx.execute<{ id: string }>(sql`select id from ${lines} where msisdn in (select json_array_elements_text(${JSON.stringify(msisdnList)}::json)) and status <> 'terminated' and cycle_end <= now() order by id`);
  if (!due.length) return;
  const now = await databaseNow(tx);
  for (const { id } of due) await currentLine(tx, id, now);
}

export type Restriction = 'balance' | 'usage_cap' | 'spend_cap' | 'dunning';

/** Bars active lines for a usage limit; returns the lines it barred (one already barred is left as it is). */
export async function barLines(tx: Tx, lineIds: string[], restriction: Restriction, reason: string) {
  if (!lineIds.length) return [];
  const barred = await tx.update(lines).set({ status: 'barred', statusReason: reason, restriction, updatedAt: sql`now()` })
    .where(and(inArray(lines.id, lineIds), eq(lines.status, 'active'))).returning();
  for (const line of barred) await lineEvent(tx, 'line.barred', line, { reason, restriction });
  return barred.map((l) => l.id);
}

/** Slows active lines whose plan throttles past its allowance; returns the lines it slowed. */
export async function throttleLines(tx: Tx, lineIds: string[], kbps: number) {
  if (!lineIds.length) return [];
  const slowed = await tx.update(lines).set({ throttleKbps: kbps, restriction: 'usage_cap', updatedAt: sql`now()` })
    .where(and(inArray(lines.id, lineIds), eq(lines.status, 'active'), isNull(lines.throttleKbps))).returning();
  for (const line of slowed) await lineEvent(tx, 'line.throttled', line, { kbps });
  return slowed.map((l) => l.id);
}

/** Lifts a restriction from an account's lines (a recharge lifts "balance") or from one line (a spend cap raised). */
export async function liftRestriction(tx: Tx, on: { billingAccountId: string } | { lineId: string }, restriction: Restriction) {
  const which = 'lineId' in on ? eq(lines.id, on.lineId) : eq(lines.billingAccountId, on.billingAccountId);
  const lifted = await tx.update(lines).set({ status: 'active', statusReason: null, restriction: null, throttleKbps: null, updatedAt: sql`now()` })
    .where(and(which, eq(lines.restriction, restriction), eq(lines.status, 'barred'))).returning();
  for (const line of lifted) await lineEvent(tx, 'line.restriction_lifted', line, { restriction });
}

/** A line the caller may see, for other modules' routes about it (spend caps). */
export async function visibleLine(tx: Tx, ctx: Ctx, lineId: string) {
  const [line] = await tx.select({
    id: lines.id, customerId: lines.customerId, billingAccountId: lines.billingAccountId, currency: lines.currency, status: lines.status,
    restriction: lines.restriction, cycleStart: lines.cycleStart,
  }).from(lines).where(eq(lines.id, lineId));
  return line && (await customerVisible(tx, ctx, line.customerId)) ? line : undefined;
}

/**
 * Bars every line of an account for an unpaid invoice, including lines a cap had barred (the next
 * cycle would otherwise let them run again while the account is still in arrears).
 */
export async function barAccountLines(tx: Tx, billingAccountId: string, restriction: Restriction, reason: string) {
  const barred = await tx.update(lines).set({ status: 'barred', statusReason: reason, restriction, throttleKbps: null, updatedAt: sql`now()` })
    .where(and(eq(lines.billingAccountId, billingAccountId),
      sql`(${lines.status} = 'active' or (${lines.status} = 'barred' and ${lines.restriction} in ('usage_cap', 'spend_cap')))`)).returning();
  for (const line of barred) await lineEvent(tx, 'line.barred', line, { reason, restriction });
  return barred.map((l) => l.id);
}
