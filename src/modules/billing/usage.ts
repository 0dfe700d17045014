import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/http/errors.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { copyRows } from '../../platform/db/bulk.js';
import { addLineCharge, barLines, type LineBucket, linesForUsage, lockBuckets, type RatableLine, recordConsumption, renewLinesDue, throttleLines } from '../orders/index.js';
import { billingErrors } from './errors.js';
import { debit } from './ledger.js';
import { applyCaps, type Bucket, canDraw, type Draw, discountedCharge, draw, drawingOrder, priceTiers, type UsageType } from './rules.js';
import { balances } from './tables.js';
import { rejectedUsage, spendCaps, usageCounters, usageRecordIds } from './usage-tables.js';

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

type Rejection = { record: UsageInput; reason: 'unknown_line' | 'late_record' | 'future_record' | 'charge_out_of_range' };

/** Whether the record, priced whole at the line's dearest tier, is still an amount a number holds exactly. */
const priceable = (r: UsageInput, line: RatableLine) =>
  (line.rates[r.usageType] ?? []).every((t) => Number.isSafeInteger(Math.ceil(r.quantity / t.unitSize) * t.pricePerUnit));

/** Records per rating transaction, roughly: a batch is cut into at most MAX_PARTS parts by number. */
const PART_SIZE = 500;
const MAX_PARTS = 8;

/** FNV-1a of a number: the same number always falls in the same part of a batch of a given size. */
function partOf(msisdn: string, parts: number) {
  let h = 0x811c9dc5;
  for (let i = 0; i < msisdn.length; i++) h = Math.imul(h ^ msisdn.charCodeAt(i), 0x01000193);
  return (h >>> 0) % parts;
}

/**
 * Rates one batch: new record ids only (a record delivered twice is rated once), each against its
 * line's buckets and tiers in time order, the buckets' use and the cycle counters written back,
 * prepaid accounts debited once per part, postpaid usage kept for the bill run. Records that
 * cannot be rated are kept with the reason. Late records (more than six hours before the line's
 * current cycle) are not rated into a closed cycle: they wait in the rejected queue until an
 * operator re-rates them (`rerateRejected`).
 *
 * A large batch is rated in parts, one transaction each, split by number: a line's records are all
 * in one part, and two batches in flight at once wait on each other for one part's lines, not for
 * the whole batch, so that they run side by side. A batch that fails part-way is sent again whole:
 * the parts already rated are recognised by their record ids and counted as duplicates.
 */
export async function rateBatch(db: Db, ctx: Ctx, records: UsageInput[]) {
  const batchId = uuidv7();
  const seen = new Set<string>();
  const firsts = records.filter((r) => !seen.has(r.recordId) && seen.add(r.recordId));
  const count = Math.min(MAX_PARTS, Math.max(1, Math.ceil(firsts.length / PART_SIZE)));
  const parts: UsageInput[][] = Array.from({ length: count }, () => []);
  for (const r of firsts) parts[partOf(r.msisdn, count)]!.push(r);
  const total = { rated: 0, rejected: 0, fresh: 0, charges: [] as Awaited<ReturnType<typeof chargePrepaid>> };
  for (const [i, part] of parts.entries()) {
    if (!part.length) continue;
    const result = await db.transaction(async (tx) => {
      await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
      // Ids go in sorted: two overlapping batches then wait on each other in one order, never in a circle.
      part.sort((a, b) => (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
      const fresh = new Set((await tx.execute<{ record_id: string }>(sql`
        insert into ${usageRecordIds} (record_id, batch_id) select unnest(${sql.param(part.map((r) => r.recordId))}::text[]), ${batchId}
        on conflict do nothing returning record_id`)).map((r) => r.record_id));
      const candidates = part.filter((r) => fresh.has(r.recordId));
      return { fresh: candidates.length, ...await rateCandidates(tx, ctx, batchId, count > 1 ? `${batchId}/${i}` : batchId, candidates, false) };
    });
    total.rated += result.rated;
    total.rejected += result.rejected;
    total.fresh += result.fresh;
    total.charges.push(...result.charges);
  }
  return { batchId, received: records.length, duplicates: records.length - total.fresh, rated: total.rated, rejected: total.rejected, charges: total.charges };
}

/** `chargeRef` names the rating transaction in the ledger and on a line's debt: the batch, or its part. */
async function rateCandidates(tx: Tx, ctx: Ctx, batchId: string, chargeRef: string, records: UsageInput[], allowLate: boolean) {
  const candidates = [...records].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
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
    // A quantity or a plan rate that is wrong: kept for an operator, not allowed to hold up the rest of its batch.
    else if (!priceable(r, line)) rejected.push({ record: r, reason: 'charge_out_of_range' });
    else ratable.push({ r, line });
  }

  const rated = await rateAll(tx, ratable);
  await write(tx, batchId, rated, rejected);
  const charges = await chargePrepaid(tx, batchId, chargeRef, rated);
  await emit(tx, 'usage.batch_rated', { batchId, part: chargeRef, rated: rated.length, rejected: rejected.length }, { aggregateId: batchId, requestId: ctx.requestId });
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
    // Past the ids' memory nothing tells this record from a copy of it already rated: it is not rated by hand either.
    if (Date.parse(record.startedAt) < Date.now() - USAGE_ID_RETENTION_DAYS * 86_400_000) {
      throw billingErrors.record_beyond_dedupe(`It started more than ${USAGE_ID_RETENTION_DAYS} days ago: a copy of it may have been rated already`);
    }
    const batchId = uuidv7();
    const result = await rateCandidates(tx, ctx, batchId, batchId, [{ ...record, startedAt: new Date(record.startedAt) }], true);
    await audit(tx, ctx, { action: 'usage.rerated', entityType: 'usage_record', entityId: row.recordId, details: { reason: row.reason, batchId, rated: result.rated } });
    return { batchId, recordId: row.recordId, ...result };
  });
}

interface RatedRecord { r: UsageInput; line: RatableLine; draws: Draw[]; chargeable: number; amount: number }
type DrawableBucket = Bucket & { source: LineBucket };

/**
 * Two passes: every record's draws on the buckets first (they depend on the buckets alone), then
 * the price of what the buckets did not cover, in time order, against the cycle's counters and
 * spend caps, which are read only for the lines that have something to price.
 */
async function rateAll(tx: Tx, ratable: { r: UsageInput; line: RatableLine }[]): Promise<RatedRecord[]> {
  if (!ratable.length) return [];
  const buckets = await bucketsFor(tx, ratable);
  const drawn = ratable.map(({ r, line }) => {
    const list = buckets.get(`${line.lineId}|${r.usageType}|${r.zone}`);
    const { draws, uncovered } = list ? draw(list.filter((b) => canDraw(b, r)), r.quantity) : { draws: [], uncovered: r.quantity };
    return { r, line, draws, uncovered };
  });
  const pricedLines = [...new Map(drawn.filter((x) => x.uncovered > 0).map((x) => [x.line.lineId, x.line])).values()];
  const counters = await lockCounters(tx, pricedLines);
  const caps = await spendCapsOf(tx, pricedLines.map((l) => l.lineId));
  const spent = new Map<string, number>();
  for (const [key, c] of counters) spent.set(key.split('|')[0]!, (spent.get(key.split('|')[0]!) ?? 0) + c.amount);
  const changed = new Set<string>();
  const hits = { allowance: new Map<string, RatableLine>(), spend_cap: new Set<string>() };
  const out: RatedRecord[] = [];
  for (const { r, line, draws, uncovered } of drawn) {
    if (uncovered === 0) {
      out.push({ r, line, draws, chargeable: 0, amount: 0 });
      continue;
    }
    const key = `${line.lineId}|${line.cycleStart.toISOString()}|${r.usageType}`;
    const counter = counters.get(key) ?? { chargeable: 0, amount: 0 };
    const tiers = line.rates[r.usageType];
    const price = tiers ? discountedCharge(priceTiers(tiers, counter.chargeable, uncovered), line.usageShares?.[r.usageType]?.share) : 0;
    // Money is exact integers: a cycle's sum past what a number holds exactly (each record was checked) is refused with its part.
    if (!Number.isSafeInteger(counter.amount + price)) throw billingErrors.charge_out_of_range(`Record ${r.recordId} would cost ${price} minor units`);
    const capped = applyCaps({ usageType: r.usageType, chargeable: uncovered, amount: price }, { behaviour: line.usageCap.behaviour, spent: spent.get(line.lineId) ?? 0, spendCap: caps.get(line.lineId) ?? null });
    for (const hit of capped.hits) {
      if (hit === 'allowance') hits.allowance.set(line.lineId, line);
      else hits.spend_cap.add(line.lineId);
    }
    spent.set(line.lineId, (spent.get(line.lineId) ?? 0) + capped.amount);
    counters.set(key, { chargeable: counter.chargeable + uncovered, amount: counter.amount + capped.amount });
    changed.add(key);
    out.push({ r, line, draws, chargeable: uncovered, amount: capped.amount });
  }
  await saveCounters(tx, [...changed].map((key) => [key, counters.get(key)!] as const));
  await allowanceEvents(tx, buckets);
  await enforceCaps(tx, hits);
  return out;
}

/** The buckets the records can draw on, locked, per "line|type|zone" in drawing order. */
async function bucketsFor(tx: Tx, ratable: { r: UsageInput; line: RatableLine }[]) {
  const wanted = new Map<string, { lineId: string; usageType: UsageType; zone: string }>();
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const { r, line } of ratable) {
    wanted.set(`${line.lineId}|${r.usageType}|${r.zone}`, { lineId: line.lineId, usageType: r.usageType, zone: r.zone });
    from = Math.min(from, r.startedAt.getTime());
    to = Math.max(to, r.startedAt.getTime());
  }
  const buckets = new Map<string, DrawableBucket[]>();
  for (const b of await lockBuckets(tx, [...wanted.values()], new Date(from), new Date(to))) {
    const key = `${b.lineId}|${b.usageType}|${b.zone}`;
    const list = buckets.get(key) ?? [];
    list.push({
      id: b.id, usageType: b.usageType, zone: b.zone, fromPack: b.fromPack, remaining: b.total === null ? null : Math.max(0, b.total - b.used),
      validFrom: b.validFrom, validUntil: b.validUntil, timeWindow: b.timeWindow, source: b,
    });
    buckets.set(key, list);
  }
  for (const list of buckets.values()) list.sort(drawingOrder);
  return buckets;
}

async function spendCapsOf(tx: Tx, lineIds: string[]) {
  if (!lineIds.length) return new Map<string, number>();
  const rows = await tx.execute<{ line_id: string; amount: number }>(sql`
    select line_id, min(amount)::float8 as amount from ${spendCaps}
    where line_id = any(${sql.param(lineIds)}::uuid[]) group by line_id`);
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
  if (!lineList.length) return new Map<string, { chargeable: number; amount: number }>();
  const keys = [...new Map(lineList.map((l) => [l.lineId, { line_id: l.lineId, cycle_start: l.cycleStart.toISOString() }])).values()];
  const rows = await tx.execute<{ key: string; chargeable: number; amount: number }>(sql`
    select c.line_id || '|' || to_char(c.cycle_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '|' || c.usage_type as key,
      c.chargeable::float8 as chargeable, c.amount::float8 as amount
    from ${usageCounters} c join json_to_recordset(${json(keys)}) as k(line_id uuid, cycle_start timestamptz)
      on c.line_id = k.line_id and c.cycle_start = k.cycle_start
    order by c.line_id, c.usage_type for update of c`);
  return new Map(rows.map((r) => [r.key, { chargeable: r.chargeable, amount: r.amount }]));
}

async function saveCounters(tx: Tx, counters: (readonly [string, { chargeable: number; amount: number }])[]) {
  if (!counters.length) return;
  const rows = counters.map(([key, c]) => {
    const [line_id, cycle_start, usage_type] = key.split('|');
    return { line_id, cycle_start, usage_type, chargeable: c.chargeable, amount: c.amount };
  });
  await tx.execute(sql`
    insert into ${usageCounters} (line_id, cycle_start, usage_type, chargeable, amount)
    select line_id, cycle_start, usage_type, chargeable, amount from json_to_recordset(${json(rows)}) as x(line_id uuid, cycle_start timestamptz, usage_type text, chargeable bigint, amount bigint)
    on conflict (line_id, cycle_start, usage_type) do update set chargeable = excluded.chargeable, amount = excluded.amount`);
}

/** 80 % and 100 % of a finite bucket, each emitted once: when this batch crossed it. */
async function allowanceEvents(tx: Tx, buckets: Map<string, DrawableBucket[]>) {
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

const RECORD_COLUMNS = ['id', 'record_id', 'batch_id', 'line_id', 'billing_account_id', 'msisdn', 'usage_type', 'zone', 'quantity', 'started_at', 'cycle_start', 'draws', 'chargeable', 'amount', 'currency'];

/** The rated records go in with COPY: on the rating path it costs Postgres a third of an INSERT from JSON. */
async function write(tx: Tx, batchId: string, rated: RatedRecord[], rejected: Rejection[]) {
  await recordConsumption(tx, rated.flatMap((x) => x.draws));
  await copyRows(tx, 'billing.usage_records', RECORD_COLUMNS, rated.map((x) => [
    uuidv7(), x.r.recordId, batchId, x.line.lineId, x.line.billingAccountId, x.r.msisdn, x.r.usageType, x.r.zone, x.r.quantity, x.r.startedAt,
    x.line.cycleStart, x.draws, x.chargeable, x.amount, x.line.currency,
  ]));
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
async function chargePrepaid(tx: Tx, batchId: string, chargeRef: string, rated: RatedRecord[]) {
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
    const m = { billingAccountId, currency: o.currency, type: 'usage' as const, refType: 'usage_batch', refId: chargeRef, actor: 'system:billing.rating' };
    let paid = o.amount;
    try {
      await debit(tx, { ...m, amount: o.amount });
    } catch (err) {
      if (!(err instanceof AppError) || !['insufficient_balance', 'balance_expired'].includes(err.code)) throw err;
      const [b] = await tx.select().from(balances).where(sql`${balances.billingAccountId} = ${billingAccountId}`).for('update');
      const expired = b?.validUntil && b.validUntil <= new Date();
      paid = b && !expired ? Math.max(0, Math.min(o.amount, b.amount + b.creditLimit)) : 0;
      if (paid > 0) await debit(tx, { ...m, amount: paid });
      await emit(tx, 'usage.unpaid', { billingAccountId, batchId, part: chargeRef, owed: { amount: o.amount - paid, currency: o.currency } }, { aggregateId: billingAccountId });
      // The rest is a debt on the line, taken from the balance once money arrives (billing.collect_prepaid_charges).
      await addLineCharge(tx, {
        lineId: [...o.lineIds].sort()[0]!, billingAccountId, ref: `usage_batch:${chargeRef}`, description: 'Usage the prepaid balance did not cover', amount: o.amount - paid, currency: o.currency,
      });
      await barLines(tx, [...o.lineIds], 'balance', 'The prepaid balance does not cover the usage');
    }
    charges.push({ billingAccountId, amount: paid, unpaid: o.amount - paid, currency: o.currency });
  }
  return charges;
}

/**
 * How long a usage record id is remembered. A record is received after it started, so one
 * received this long ago started longer ago than any cycle and its late grace: sent again, it is
 * refused as late, never charged, and its id is no longer needed to recognise it.
 */
export const USAGE_ID_RETENTION_DAYS = 100;

/** Scheduled: ids older than the retention go, in slices, so the table does not grow for ever. */
export async function forgetUsageIds(db: Db) {
  for (;;) {
    const gone = await db.execute(sql`
      delete from ${usageRecordIds} where record_id in (
        select record_id from ${usageRecordIds} where received_at < now() - make_interval(days => ${USAGE_ID_RETENTION_DAYS}) limit 10000)`);
    if (gone.count < 10000) return;
  }
}

export async function listRejected(db: Db, q: { limit: number; after?: string }) {
  return db.select().from(rejectedUsage).where(and(q.after ? lt(rejectedUsage.id, q.after) : undefined)).orderBy(desc(rejectedUsage.id)).limit(q.limit + 1);
}
