import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
// Lists travel as one array parameter (sql.param): drizzle spreads a bare JS array into one parameter per element.
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { customerVisible } from '../customers/index.js';
import type { PlanTerms } from './catalog-schemas.js';
import { currentLine } from './changes.js';
import { allowanceBuckets, lines } from './lines-tables.js';
import { lineEvent } from './lines.js';
import type { TimeWindow, UsageShares } from './order-schemas.js';
import { pricePlanVersions } from './tables.js';

/** What rating needs to know of a line, found by its number (terminated lines are not found). */
export interface RatableLine {
  lineId: string; msisdn: string; customerId: string; billingAccountId: string; kind: 'prepaid' | 'postpaid'; currency: string;
  status: 'active' | 'suspended' | 'barred'; cycleStart: Date; cycleEnd: Date; activatedAt: Date; rates: PlanTerms['rates']; usageCap: PlanTerms['usageCap'];
  /** Usage discounts: per type, the share (of 10,000) of a rated charge still charged this cycle. */
  usageShares: UsageShares | null;
}

/**
 * Locked, in id order: rating takes a line before its buckets, counters and balance, as order
 * fulfilment and renewal do, so the two never wait on each other in a circle; and two batches on
 * one line queue here rather than race on its counters. A plan version's terms are read once and
 * shared by its lines (a batch touches thousands of lines and a handful of versions).
 */
export async function linesForUsage(tx: Tx, msisdnList: string[]): Promise<RatableLine[]> {
  if (!msisdnList.length) return [];
  const rows = await tx.execute<{ lineId: string; msisdn: string; customerId: string; billingAccountId: string; kind: RatableLine['kind']; currency: string; status: RatableLine['status']; cycleStart: string; cycleEnd: string; activatedAt: string; versionId: string; usageShares: UsageShares | null }>(sql`
    select id as "lineId", msisdn, customer_id as "customerId", billing_account_id as "billingAccountId", kind, currency, status,
      cycle_start as "cycleStart", cycle_end as "cycleEnd", activated_at as "activatedAt", plan_version_id as "versionId", usage_shares as "usageShares"
    from ${lines} where msisdn = any(${sql.param(msisdnList)}::text[]) and status <> 'terminated'
    order by id for no key update`);
  const versionIds = [...new Set(rows.map((r) => r.versionId))];
  const versions = new Map((await tx.execute<{ id: string; rates: PlanTerms['rates']; usageCap: PlanTerms['usageCap'] }>(sql`
    select id, terms->'rates' as rates, terms->'usageCap' as "usageCap" from ${pricePlanVersions} where id = any(${sql.param(versionIds)}::uuid[])`)).map((v) => [v.id, v]));
  return rows.map((r) => {
    const { rates, usageCap } = versions.get(r.versionId)!;
    return {
      lineId: r.lineId, msisdn: r.msisdn, customerId: r.customerId, billingAccountId: r.billingAccountId, kind: r.kind, currency: r.currency, status: r.status,
      cycleStart: new Date(r.cycleStart), cycleEnd: new Date(r.cycleEnd), activatedAt: new Date(r.activatedAt), rates, usageCap, usageShares: r.usageShares,
    };
  });
}

export interface LineBucket {
  id: string; lineId: string; usageType: 'data' | 'voice' | 'sms'; zone: string; fromPack: boolean;
  total: number | null; used: number; validFrom: Date; validUntil: Date; timeWindow: TimeWindow | null;
}

/**
 * The buckets of the given lines, usage types and zones valid at some time in [from, to], locked
 * (in id order, so that two batches never wait on each other in a circle) until the caller's
 * transaction ends. Only the buckets a batch can draw on: a line's other buckets stay untouched.
 */
export async function lockBuckets(tx: Tx, wanted: { lineId: string; usageType: string; zone: string }[], from: Date, to: Date): Promise<LineBucket[]> {
  if (!wanted.length) return [];
  const rows = await tx.execute<{ id: string; lineId: string; usageType: LineBucket['usageType']; zone: string; fromPack: boolean; total: string | null; used: string; validFrom: string; validUntil: string; timeWindow: TimeWindow | null }>(sql`
    select b.id, b.line_id as "lineId", b.usage_type as "usageType", b.zone, b.line_add_on_id is not null as "fromPack", b.total, b.used,
      b.valid_from as "validFrom", b.valid_until as "validUntil", b.time_window as "timeWindow"
    from ${allowanceBuckets} b
    join unnest(${sql.param(wanted.map((w) => w.lineId))}::uuid[], ${sql.param(wanted.map((w) => w.usageType))}::text[], ${sql.param(wanted.map((w) => w.zone))}::text[]) as w(line_id, usage_type, zone)
      on b.line_id = w.line_id and b.usage_type = w.usage_type and b.zone = w.zone
    where b.valid_from <= ${to.toISOString()}::timestamptz and b.valid_until > ${from.toISOString()}::timestamptz
    order by b.id`);
  return rows.map((r) => ({
    id: r.id, lineId: r.lineId, usageType: r.usageType, zone: r.zone, fromPack: r.fromPack, total: r.total === null ? null : Number(r.total), used: Number(r.used),
    validFrom: new Date(r.validFrom), validUntil: new Date(r.validUntil), timeWindow: r.timeWindow,
  }));
}

/** Adds what rating drew to each bucket, in one statement. */
export async function recordConsumption(tx: Tx, draws: { bucketId: string; quantity: number }[]) {
  if (!draws.length) return;
  const sums = new Map<string, number>();
  for (const d of draws) sums.set(d.bucketId, (sums.get(d.bucketId) ?? 0) + d.quantity);
  await tx.execute(sql`
    update ${allowanceBuckets} b set used = b.used + d.quantity
    from unnest(${sql.param([...sums.keys()])}::uuid[], ${sql.param([...sums.values()])}::bigint[]) as d(bucket_id, quantity)
    where b.id = d.bucket_id`);
}

/** Lines whose cycle has ended are renewed first, so that usage after midnight meets the new cycle's buckets. */
export async function renewLinesDue(tx: Tx, msisdnList: string[]) {
  if (!msisdnList.length) return;
  const due = await tx.execute<{ id: string }>(sql`select id from ${lines} where msisdn = any(${sql.param(msisdnList)}::text[]) and status <> 'terminated' and cycle_end <= now() order by id`);
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

/**
 * Lifts a restriction from accounts' lines (a recharge lifts "balance") or from one line (a spend
 * cap raised). The lines are taken in id order, as rating takes them.
 */
export async function liftRestriction(tx: Tx, on: { billingAccountIds: string[] } | { lineId: string }, restriction: Restriction) {
  // Every credit asks, and almost never is a line barred: written out, and the rows read only for lines it lifted.
  const which = 'lineId' in on ? sql`id = ${on.lineId}`
    : sql`billing_account_id = any(${sql.param(on.billingAccountIds)}::uuid[])`;
  const ids = (await tx.execute<{ id: string }>(sql`
    with barred as (select id from ${lines} where ${which} and restriction = ${restriction} and status = 'barred' order by id for no key update)
    update ${lines} l set status = 'active', status_reason = null, restriction = null, throttle_kbps = null, updated_at = now()
    from barred where l.id = barred.id returning l.id`)).map((r) => r.id);
  if (!ids.length) return;
  for (const line of await tx.select().from(lines).where(inArray(lines.id, ids)).orderBy(lines.id)) await lineEvent(tx, 'line.restriction_lifted', line, { restriction });
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

/** Whether a customer has ever had a line (a "new customer" for promotions has none). */
export async function customerHasLines(tx: Tx, customerId: string) {
  const [row] = await tx.select({ id: lines.id }).from(lines).where(eq(lines.customerId, customerId)).limit(1);
  return Boolean(row);
}

/** Whether a billing account has a line that is not terminated (the customers module asks before closing it). */
export async function accountHasLines(tx: Tx, billingAccountId: string) {
  const [row] = await tx.execute(sql`select 1 from ${lines} where billing_account_id = ${billingAccountId} and status <> 'terminated' limit 1`);
  return Boolean(row);
}

/** The account's longest-standing active line, if any (where an account-wide reward goes). */
export async function firstActiveLine(tx: Tx, billingAccountId: string) {
  const [row] = await tx.select({ id: lines.id }).from(lines).where(and(eq(lines.billingAccountId, billingAccountId), eq(lines.status, 'active'))).orderBy(lines.activatedAt, lines.id).limit(1);
  return row?.id;
}
