import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/http/errors.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { addLineCharge, barLines, type LineBucket, linesForUsage, lockBuckets, type RatableLine, recordConsumption, renewLinesDue, throttleLines } from '../orders/index.js';
import { billingErrors } from './errors.js';
import { debit } from './ledger.js';
import { applyCaps, type Bucket, rate, type UsageType } from './rules.js';
import { balances } from './tables.js';
import { rejectedUsage, spendCaps, usageCounters, usageRecordIds, usageRecords } from './usage-tables.js';

export interface UsageInput { recordId: string; msisdn: string; usageType: UsageType; zone: string; quantity: number; startedAt: Date }

/** A record may arrive this far ahead of the clock (mediation clocks drift), no further. */
const FUTURE_SLACK_MS = 5 * 60_000;
/**
 * Records from the last hours of the previous cycle still arrive after the boundary (mediation
 * runs in batches): within this grace they are rated on the buckets of their own time, into the
 * invoice that is still open for them. Older ones wait for an operator.
 */
const LATE_GRACE_MS = 6 * 3_600_000;
const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::json`;

type Rejection = { record: UsageInput; reason: 'unknown_line' | 'late_record' | 'future_record' };

/**
 * Rates one batch in one transaction: new record ids only (a record delivered twice is rated once),
 * each against its line's buckets and tiers in time order, the buckets' use and the cycle counters
 * written back, prepaid accounts debited once per batch, postpaid usage kept for the bill run.
 * Records that cannot be rated are kept with the reason. Late records (more than six hours before
 * the line's current cycle) are not rated into a closed cycle: they wait in the rejected queue
 * until an operator re-rates them (`rerateRejected`).
 */
export async function rateBatch(db: Db, ctx: Ctx, records: UsageInput[]) {
  const batchId = uuidv7();
  return db.transaction(async (tx) => {
    const seen = new Set<string>();
    // Ids go in sorted: two overlapping batches then wait on each other in one order, never in a circle.
    const firsts = records.filter((r) => !seen.has(r.recordId) && seen.add(r.recordId)).sort((a, b) => (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
    const fresh = new Set((await tx.execute<{ record_id: string }>(sql`
      insert into ${usageRecordIds} (record_id, batch_id) select record_id, ${batchId} from json_to_recordset(${json(firsts.map((r) => ({ record_id: r.recordId })))}) as x(record_id text)
      on conflict do nothing returning record_id`)).map((r) => r.record_id));
    const candidates = firsts.filter((r) => fresh.has(r.recordId));
    const result = await rateCandidates(tx, ctx, batchId, candidates, false);
    return { batchId, received: records.length, duplicates: records.length - candidates.length, ...result };
  });
}

async function rateCandidates(tx: Tx, ctx: Ctx, batchId: string, records: UsageInput[], allowLate: boolean) {
  const candidates = [...records].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.recordId.localeCompare(b.recordId));
  const msisdnList = [...new Set(candidates.map((r) => r.msisdn))];
  await renewLinesDue(tx, msisdnList);
  const byMsisdn = new Map((await linesForUsage(tx, msisdnList)).map((l) => [l.msisdn, l]));

  const now = Date.now();
  const rejected: Rejection[] = [];
  const ratable: { r: UsageInput; line: RatableLine }[] = [];
  for (const r of candidates) {
    const line = byMsisdn.get(r.msisdn);
    // A number's record from before its line was activated belongs to an earlier holder, not this one.
    if (!line || r.startedAt < line.activatedAt) rejected.push({ record: r, reason: 'unknown_line' });
    else if (r.startedAt.getTime() > now + FUTURE_SLACK_MS) rejected.push({ record: r, reason: 'future_record' });
    else if (r.startedAt.getTime() < line.cycleStart.getTime() - LATE_GRACE_MS && !allowLate) rejected.push({ record: r, reason: 'late_record' });
    else ratable.push({ r, line });
  }

  const rated = await rateAll(tx, ratable);
  await write(tx, batchId, rated, rejected);
  const charges = await chargePrepaid(tx, batchId, rated);
  await emit(tx, 'usage.batch_rated', { batchId, rated: rated.length, rejected: rejected.length }, { aggregateId: batchId, requestId: ctx.requestId });
  return { rated: rated.length, rejected: rejected.length, charges };
}

/**
 * An operator sends a rejected record through rating again (its line now exists, or it is late and
 * the operator accepts it): a late record draws on the buckets of its own time and is priced at the
 * line's current place in the tiers, into the current cycle. Audited; a record that is still not
 * ratable goes back to the queue with its reason.
 */
export async function rerateRejected(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.delete(rejectedUsage).where(eq(rejectedUsage.id, id)).returning();
    if (!row) throw billingErrors.rejected_record_not_found();
    const record = row.record as unknown as UsageInput & { startedAt: string };
    const batchId = uuidv7();
    const result = await rateCandidates(tx, ctx, batchId, [{ ...record, startedAt: new Date(record.startedAt) }], true);
    await audit(tx, ctx, { action: 'usage.rerated', entityType: 'usage_record', entityId: row.recordId, details: { reason: row.reason, batchId, rated: result.rated } });
    return { batchId, recordId: row.recordId, ...result };
  });
}

interface RatedRecord { r: UsageInput; line: RatableLine; draws: { bucketId: string; quantity: number }[]; chargeable: number; amount: number }

async function rateAll(tx: Tx, ratable: { r: UsageInput; line: RatableLine }[]): Promise<RatedRecord[]> {
  if (!ratable.length) return [];
  const lineIds = [...new Set(ratable.map((x) => x.line.lineId))];
  const times = ratable.map((x) => x.r.startedAt.getTime());
  const locked = await lockBuckets(tx, lineIds, new Date(Math.min(...times)), new Date(Math.max(...times)));
  const buckets = new Map<string, (Bucket & { source: LineBucket })[]>();
  for (const b of locked) {
    const list = buckets.get(b.lineId) ?? [];
    list.push({ ...b, remaining: b.total === null ? null : Math.max(0, b.total - b.used), source: b });
    buckets.set(b.lineId, list);
  }
  const counters = await lockCounters(tx, ratable.map((x) => x.line));
  const caps = await spendCapsOf(tx, lineIds);
  const spent = new Map<string, number>();
  for (const [key, c] of counters) spent.set(key.split('|')[0]!, (spent.get(key.split('|')[0]!) ?? 0) + c.amount);
  const hits = { allowance: new Map<string, RatableLine>(), spend_cap: new Set<string>() };
  const out: RatedRecord[] = [];
  for (const { r, line } of ratable) {
    const key = `${line.lineId}|${line.cycleStart.toISOString()}|${r.usageType}`;
    const counter = counters.get(key) ?? { chargeable: 0, amount: 0 };
    const rated = rate(buckets.get(line.lineId) ?? [], line.rates[r.usageType], counter.chargeable, r);
    const capped = applyCaps({ ...rated, usageType: r.usageType }, { behaviour: line.usageCap.behaviour, spent: spent.get(line.lineId) ?? 0, spendCap: caps.get(line.lineId) ?? null });
    for (const hit of capped.hits) {
      if (hit === 'allowance') hits.allowance.set(line.lineId, line);
      else hits.spend_cap.add(line.lineId);
    }
    spent.set(line.lineId, (spent.get(line.lineId) ?? 0) + capped.amount);
    counters.set(key, { chargeable: counter.chargeable + rated.chargeable, amount: counter.amount + capped.amount });
    out.push({ r, line, draws: rated.draws, chargeable: rated.chargeable, amount: capped.amount });
  }
  await saveCounters(tx, counters);
  await allowanceEvents(tx, buckets);
  await enforceCaps(tx, hits);
  return out;
}

async function spendCapsOf(tx: Tx, lineIds: string[]) {
  const rows = await tx.execute<{ line_id: string; amount: number }>(sql`
    select line_id, min(amount)::float8 as amount from ${spendCaps}
    where line_id in (select json_array_elements_text(${JSON.stringify(lineIds)}::json)::uuid) group by line_id`);
  return new Map(rows.map((r) => [r.line_id, r.amount]));
}

/** Lines past their plan's allowance are barred or slowed as the plan says; past a spend cap, barred. */
async function enforceCaps(tx: Tx, hits: { allowance: Map<string, RatableLine>; spend_cap: Set<string> }) {
  const block = [...hits.allowance.values()].filter((l) => l.usageCap.behaviour === 'block').map((l) => l.lineId);
  const affected: { lineId: string; cap: string }[] = [];
  for (const id of await barLines(tx, block, 'usage_cap', 'The plan\'s allowance is used up')) affected.push({ lineId: id, cap: 'allowance' });
  for (const [kbps, ids] of groupBy([...hits.allowance.values()].filter((l) => l.usageCap.behaviour === 'throttle'), (l) => l.usageCap.throttleKbps!)) {
    for (const id of await throttleLines(tx, ids.map((l) => l.lineId), kbps)) affected.push({ lineId: id, cap: 'allowance' });
  }
  for (const id of await barLines(tx, [...hits.spend_cap], 'spend_cap', 'The line reached its spend cap')) affected.push({ lineId: id, cap: 'spend_cap' });
  for (const a of affected) await emit(tx, 'usage.cap_reached', a, { aggregateId: a.lineId });
}

function groupBy<T, K>(items: T[], key: (t: T) => K) {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** The lines' counters for their current cycle, locked, keyed "line|cycleStart|type". */
async function lockCounters(tx: Tx, lineList: RatableLine[]) {
  const keys = [...new Map(lineList.map((l) => [l.lineId, { line_id: l.lineId, cycle_start: l.cycleStart.toISOString() }])).values()];
  const rows = await tx.execute<{ key: string; chargeable: number; amount: number }>(sql`
    select c.line_id || '|' || to_char(c.cycle_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '|' || c.usage_type as key,
      c.chargeable::float8 as chargeable, c.amount::float8 as amount
    from ${usageCounters} c join json_to_recordset(${json(keys)}) as k(line_id uuid, cycle_start timestamptz)
      on c.line_id = k.line_id and c.cycle_start = k.cycle_start
    order by c.line_id, c.usage_type for update of c`);
  return new Map(rows.map((r) => [r.key, { chargeable: r.chargeable, amount: r.amount }]));
}

async function saveCounters(tx: Tx, counters: Map<string, { chargeable: number; amount: number }>) {
  const rows = [...counters].map(([key, c]) => {
    const [line_id, cycle_start, usage_type] = key.split('|');
    return { line_id, cycle_start, usage_type, chargeable: c.chargeable, amount: c.amount };
  });
  await tx.execute(sql`
    insert into ${usageCounters} (line_id, cycle_start, usage_type, chargeable, amount)
    select line_id, cycle_start, usage_type, chargeable, amount from json_to_recordset(${json(rows)}) as x(line_id uuid, cycle_start timestamptz, usage_type text, chargeable bigint, amount bigint)
    on conflict (line_id, cycle_start, usage_type) do update set chargeable = excluded.chargeable, amount = excluded.amount`);
}

/** 80 % and 100 % of a finite bucket, each emitted once: when this batch crossed it. */
async function allowanceEvents(tx: Tx, buckets: Map<string, (Bucket & { source: LineBucket })[]>) {
  for (const list of buckets.values()) {
    for (const b of list) {
      const { total, used: before } = b.source;
      if (total === null || total === 0) continue;
      const after = total - (b.remaining ?? 0);
      for (const percent of [80, 100]) {
        const mark = (total * percent) / 100;
        if (before < mark && after >= mark) {
          await emit(tx, 'allowance.threshold_reached', { lineId: b.source.lineId, bucketId: b.id, usageType: b.usageType, zone: b.zone, percent, total }, { aggregateId: b.source.lineId });
        }
      }
    }
  }
}

async function write(tx: Tx, batchId: string, rated: RatedRecord[], rejected: Rejection[]) {
  await recordConsumption(tx, rated.flatMap((x) => x.draws));
  if (rated.length) {
    await tx.execute(sql`
      insert into ${usageRecords} (id, record_id, batch_id, line_id, billing_account_id, msisdn, usage_type, zone, quantity, started_at, cycle_start, draws, chargeable, amount, currency)
      select id, record_id, ${batchId}, line_id, billing_account_id, msisdn, usage_type, zone, quantity, started_at, cycle_start, draws, chargeable, amount, currency
      from json_to_recordset(${json(rated.map((x) => ({
        id: uuidv7(), record_id: x.r.recordId, line_id: x.line.lineId, billing_account_id: x.line.billingAccountId, msisdn: x.r.msisdn, usage_type: x.r.usageType,
        zone: x.r.zone, quantity: x.r.quantity, started_at: x.r.startedAt.toISOString(), cycle_start: x.line.cycleStart.toISOString(), draws: x.draws,
        chargeable: x.chargeable, amount: x.amount, currency: x.line.currency,
      })))}) as x(id uuid, record_id text, line_id uuid, billing_account_id uuid, msisdn text, usage_type text, zone text, quantity bigint,
        started_at timestamptz, cycle_start timestamptz, draws jsonb, chargeable bigint, amount bigint, currency text)`);
  }
  if (rejected.length) {
    await tx.insert(rejectedUsage).values(rejected.map(({ record, reason }) => ({
      id: uuidv7(), recordId: record.recordId, batchId, reason, record: { ...record, startedAt: record.startedAt.toISOString() },
    })));
  }
}

/**
 * One debit per prepaid account per batch. What the balance cannot cover is taken as far as it
 * goes, the rest reported (usage.unpaid), kept as a debt on the line and the account's lines barred:
 * usage arrives after the fact, so it is owed, not refused.
 */
async function chargePrepaid(tx: Tx, batchId: string, rated: RatedRecord[]) {
  const owed = new Map<string, { amount: number; currency: string; lineIds: Set<string> }>();
  for (const x of rated) {
    if (x.line.kind !== 'prepaid' || x.amount === 0) continue;
    const o = owed.get(x.line.billingAccountId) ?? { amount: 0, currency: x.line.currency, lineIds: new Set<string>() };
    o.amount += x.amount;
    o.lineIds.add(x.line.lineId);
    owed.set(x.line.billingAccountId, o);
  }
  const charges: { billingAccountId: string; amount: number; unpaid: number; currency: string }[] = [];
  for (const [billingAccountId, o] of [...owed].sort(([a], [b]) => a.localeCompare(b))) {
    const m = { billingAccountId, currency: o.currency, type: 'usage' as const, refType: 'usage_batch', refId: batchId, actor: 'system:billing.rating' };
    let paid = o.amount;
    try {
      await debit(tx, { ...m, amount: o.amount });
    } catch (err) {
      if (!(err instanceof AppError) || !['insufficient_balance', 'balance_expired'].includes(err.code)) throw err;
      const [b] = await tx.select().from(balances).where(sql`${balances.billingAccountId} = ${billingAccountId}`).for('update');
      const expired = b?.validUntil && b.validUntil <= new Date();
      paid = b && !expired ? Math.max(0, Math.min(o.amount, b.amount + b.creditLimit)) : 0;
      if (paid > 0) await debit(tx, { ...m, amount: paid });
      await emit(tx, 'usage.unpaid', { billingAccountId, batchId, owed: { amount: o.amount - paid, currency: o.currency } }, { aggregateId: billingAccountId });
      // The rest is a debt on the line, taken from the balance once money arrives (billing.collect_prepaid_charges).
      await addLineCharge(tx, {
        lineId: [...o.lineIds].sort()[0]!, billingAccountId, ref: `usage_batch:${batchId}`, description: 'Usage the prepaid balance did not cover', amount: o.amount - paid, currency: o.currency,
      });
      await barLines(tx, [...o.lineIds], 'balance', 'The prepaid balance does not cover the usage');
    }
    charges.push({ billingAccountId, amount: paid, unpaid: o.amount - paid, currency: o.currency });
  }
  return charges;
}

export async function listRejected(db: Db, q: { limit: number; after?: string }) {
  return db.select().from(rejectedUsage).where(and(q.after ? lt(rejectedUsage.id, q.after) : undefined)).orderBy(desc(rejectedUsage.id)).limit(q.limit + 1);
}
