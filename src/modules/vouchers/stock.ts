import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { type Ctx, actorOf } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { httpErrors } from '../../platform/http/errors.js';
import { voucherErrors } from './errors.js';
import { voucherBatches, vouchers, type VoucherState } from './tables.js';

export interface SerialRange { serialFrom: number; serialTo: number }

const MAX_RANGE = 1_000_000;

function sizeOf(r: SerialRange) {
  if (r.serialTo < r.serialFrom) throw httpErrors.validation_failed('serialTo comes before serialFrom');
  const size = r.serialTo - r.serialFrom + 1;
  if (size > MAX_RANGE) throw voucherErrors.serial_range_too_large();
  return size;
}

/** Moves every voucher of a range that matches `where` to `set`; how many it moved. */
async function moveRange(tx: Tx, r: SerialRange, where: SQL, set: SQL) {
  const [row] = await tx.execute<{ count: number }>(sql`
    with moved as (update ${vouchers} set ${set}, updated_at = now() where serial between ${r.serialFrom} and ${r.serialTo} and ${where} returning 1)
    select count(*)::int as count from moved`);
  return row!.count;
}

/** All or nothing: a range where some voucher is not in stock is refused whole (nothing half-distributed). */
export async function distribute(db: Db, ctx: Ctx, r: SerialRange & { partnerId: string }) {
  const size = sizeOf(r);
  return db.transaction(async (tx) => {
    const count = await moveRange(tx, r, sql`state = 'in_stock'`, sql`state = 'distributed', partner_id = ${r.partnerId}`);
    if (count !== size) throw voucherErrors.vouchers_not_in_state(`${size - count} of the ${size} vouchers are not in stock`);
    await emit(tx, 'voucher.distributed', { ...r, count }, { aggregateId: r.partnerId });
    await audit(tx, ctx, { action: 'vouchers.distributed', entityType: 'voucher_range', entityId: `${r.serialFrom}-${r.serialTo}`, details: { partnerId: r.partnerId, count } });
    return { ...r, count };
  });
}

/**
 * Sold: a reseller activates vouchers from its own stock; staff (a direct channel) from stock or
 * from any reseller's. All or nothing.
 */
export async function activate(db: Db, ctx: Ctx, r: SerialRange) {
  const size = sizeOf(r);
  const from = ctx.principal.kind === 'partner' ? sql`state = 'distributed' and partner_id = ${ctx.principal.partnerId}` : sql`state in ('in_stock', 'distributed')`;
  return db.transaction(async (tx) => {
    const count = await moveRange(tx, r, from, sql`state = 'active', activated_at = now()`);
    if (count !== size) throw voucherErrors.vouchers_not_in_state(`${size - count} of the ${size} vouchers are not in ${ctx.principal.kind === 'partner' ? 'your stock' : 'stock or distributed'}`);
    await emit(tx, 'voucher.activated', { ...r, count, by: actorOf(ctx) }, { aggregateId: `${r.serialFrom}` });
    await audit(tx, ctx, { action: 'vouchers.activated', entityType: 'voucher_range', entityId: `${r.serialFrom}-${r.serialTo}`, details: { count } });
    return { ...r, count };
  });
}

/** Stolen stock: every voucher of the range not yet redeemed or expired is blocked; the rest is reported. */
export async function block(db: Db, ctx: Ctx, r: SerialRange & { reason: string }) {
  const size = sizeOf(r);
  return db.transaction(async (tx) => {
    const count = await moveRange(tx, r, sql`state in ('generated', 'in_stock', 'distributed', 'active')`, sql`blocked_from = state, state = 'blocked'`);
    await emit(tx, 'voucher.blocked', { serialFrom: r.serialFrom, serialTo: r.serialTo, count, reason: r.reason }, { aggregateId: `${r.serialFrom}` });
    await audit(tx, ctx, { action: 'vouchers.blocked', entityType: 'voucher_range', entityId: `${r.serialFrom}-${r.serialTo}`, details: { count, reason: r.reason } });
    return { serialFrom: r.serialFrom, serialTo: r.serialTo, changed: count, unchanged: size - count };
  });
}

/** Back to the state the block interrupted (or expired, if its validity ended meanwhile). */
export async function unblock(db: Db, ctx: Ctx, r: SerialRange & { reason: string }) {
  const size = sizeOf(r);
  return db.transaction(async (tx) => {
    const count = await moveRange(tx, r, sql`state = 'blocked'`, sql`state = case when valid_until <= clock_timestamp() then 'expired' else blocked_from end, blocked_from = null`);
    await emit(tx, 'voucher.unblocked', { serialFrom: r.serialFrom, serialTo: r.serialTo, count, reason: r.reason }, { aggregateId: `${r.serialFrom}` });
    await audit(tx, ctx, { action: 'vouchers.unblocked', entityType: 'voucher_range', entityId: `${r.serialFrom}-${r.serialTo}`, details: { count, reason: r.reason } });
    return { serialFrom: r.serialFrom, serialTo: r.serialTo, changed: count, unchanged: size - count };
  });
}

/** Serials per expiry transaction. */
const EXPIRY_CHUNK = 10_000;

/**
 * The scheduled expiry: in each batch whose validity has ended (its vouchers share it), what is
 * not yet redeemed, expired or blocked expires, a range of serials per transaction; then the batch
 * is marked, and not looked at again. No voucher of it can come back to a live state after that:
 * the moves between stock states start from live states, and an unblock past the validity expires.
 */
export async function expireVouchers(db: Db) {
  const due = await db.execute<{ id: string; serial_from: string; serial_to: string }>(sql`
    select id, serial_from, serial_to from ${voucherBatches}
    where valid_until <= now() and expired_at is null and status <> 'generating' order by valid_until, id`);
  let total = 0;
  for (const batch of due) {
    const to = Number(batch.serial_to);
    for (let from = Number(batch.serial_from); from <= to; from += EXPIRY_CHUNK) {
      total += await db.transaction(async (tx) => {
        const count = await moveRange(tx, { serialFrom: from, serialTo: Math.min(to, from + EXPIRY_CHUNK - 1) },
          sql`state in ('generated', 'in_stock', 'distributed', 'active') and valid_until <= now()`, sql`state = 'expired'`);
        if (count) await emit(tx, 'voucher.expired', { batchId: batch.id, count }, { aggregateId: batch.id });
        return count;
      });
    }
    await db.execute(sql`update ${voucherBatches} set expired_at = now() where id = ${batch.id}`);
  }
  return total;
}

/** A reseller sees the vouchers distributed to it; staff see all. */
function scope(ctx: Ctx) {
  return ctx.principal.kind === 'partner' ? eq(vouchers.partnerId, ctx.principal.partnerId) : undefined;
}

export async function listVouchers(db: Db, ctx: Ctx, q: { batchId?: string; state?: VoucherState; after?: number; limit: number }) {
  return db.select().from(vouchers)
    .where(and(scope(ctx), q.batchId ? eq(vouchers.batchId, q.batchId) : undefined, q.state ? eq(vouchers.state, q.state) : undefined, q.after !== undefined ? gt(vouchers.serial, q.after) : undefined))
    .orderBy(asc(vouchers.serial)).limit(q.limit + 1);
}

export async function getVoucher(db: Db, ctx: Ctx, serial: number) {
  const [v] = await db.select().from(vouchers).where(and(eq(vouchers.serial, serial), scope(ctx)));
  return v;
}
