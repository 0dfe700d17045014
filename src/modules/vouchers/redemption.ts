import { eq, sql } from 'drizzle-orm';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import type { AppError } from '../../platform/http/errors.js';
import { credit } from '../billing/index.js';
import { findBillingAccount } from '../customers/index.js';
import { grantAddOn, visibleLine } from '../orders/index.js';
import { voucherErrors } from './errors.js';
import { normalisePin, type PinHasher } from './pins.js';
import { pinFailures, voucherBatches, vouchers } from './tables.js';

export interface RedemptionSettings {
  failuresPerTarget: number;
  failuresPerCaller: number;
  failuresPerAddress: number;
  windowMinutes: number;
  lockoutMinutes: number;
  rechargeValidityDays: number;
}

export interface RedeemInput { pin: string; lineId?: string; billingAccountId?: string }

/**
 * Whom a wrong PIN counts against: the account it was for (named by its line or itself: one
 * count), the caller, the source address.
 */
function failureKeys(ctx: Ctx, address: string, billingAccountId: string) {
  return [
    { kind: 'target', key: `account:${billingAccountId}` },
    { kind: 'caller', key: `caller:${ctx.principal.kind}:${ctx.principal.id}` },
    { kind: 'address', key: `address:${address}` },
  ] as const;
}

/**
 * Redeems a voucher by PIN onto a prepaid balance: the voucher moves to redeemed and the balance
 * is credited in one transaction, under the voucher's row lock, so that of any number of
 * concurrent attempts exactly one succeeds (and the ledger's unique cause, the voucher's serial,
 * would refuse a second credit even so).
 *
 * Refusals have distinct codes, but a voucher that has not been sold yet looks to anyone but staff
 * exactly like a wrong PIN: nobody outside learns that a PIN exists in stock. Wrong PINs count
 * against the line or account, the caller and the source address; past a limit the three are
 * locked out for a while and `voucher.redemption_locked_out` goes to fraud review.
 */
export async function redeem(db: Db, counters: Db, ctx: Ctx, hash: PinHasher, settings: RedemptionSettings, address: string, input: RedeemInput) {
  const keys = failureKeys(ctx, address, (await targetOf(db, ctx, input)).billingAccountId);
  const [locked] = await db.execute<{ locked_until: string }>(sql`
    select max(locked_until) as locked_until from ${pinFailures} where key = any(${sql.param(keys.map((k) => k.key))}::text[]) and locked_until > now()`);
  if (locked?.locked_until) throw voucherErrors.redemption_locked_out(undefined, { lockedUntil: new Date(locked.locked_until).toISOString() });
  // The account's count goes up before the PIN is tried (and back down unless it was wrong), so
  // that attempts sent side by side are counted as they arrive, not only once they have failed.
  const attempts = await chargeAttempt(counters, settings, keys[0].key);
  if (attempts > settings.failuresPerTarget) {
    // More attempts in flight for the account than it may get wrong: this one is not tried (nor counted).
    await undoAttempt(counters, keys[0].key);
    throw voucherErrors.redemption_busy();
  }

  const staff = ctx.principal.kind === 'staff';
  let blockedSerial: number | null = null;
  try {
    const redeemed = await db.transaction(async (tx) => {
      const target = await targetOf(tx, ctx, input);
      const [voucher] = await tx.select().from(vouchers).where(eq(vouchers.pinHash, hash(normalisePin(input.pin)))).for('update');
      if (!voucher) throw voucherErrors.invalid_pin();
      // Fraud review hears of every blocked voucher presented (stolen stock, sold or not).
      if (voucher.state === 'blocked') blockedSerial = voucher.serial;
      // A voucher never sold, whatever became of it since, is a wrong PIN to anyone but staff.
      if (!staff && voucher.activatedAt === null) throw voucherErrors.invalid_pin();
      switch (voucher.state) {
        case 'generated': case 'in_stock': case 'distributed': throw voucherErrors.voucher_not_active();
        case 'redeemed': throw voucherErrors.voucher_already_redeemed();
        case 'expired': throw voucherErrors.voucher_expired();
        case 'blocked': throw voucherErrors.voucher_blocked(undefined, staff ? { serial: voucher.serial } : undefined);
        case 'active': break;
      }
      const [clock] = await tx.execute<{ now: string }>(sql`select now() as now`);
      const now = new Date(clock!.now);
      if (voucher.validFrom > now) throw voucherErrors.voucher_not_yet_valid();
      if (voucher.validUntil <= now) throw voucherErrors.voucher_expired();
      const [batch] = await tx.select().from(voucherBatches).where(eq(voucherBatches.id, voucher.batchId));
      await tx.update(vouchers).set({
        state: 'redeemed', redeemedAt: now, redeemedBillingAccountId: target.billingAccountId, redeemedLineId: input.lineId ?? null, redeemedBy: actorOf(ctx), updatedAt: now,
      }).where(eq(vouchers.serial, voucher.serial));
      const result = batch!.addOnId ? await givePack(tx, ctx, voucher.serial, batch!.addOnId, input) : await creditValue(tx, ctx, settings, voucher.serial, batch!, target);
      await emit(tx, 'voucher.redeemed', {
        serial: voucher.serial, batchId: voucher.batchId, faceValue: result.faceValue, bundle: result.bundle, billingAccountId: target.billingAccountId, customerId: target.customerId,
        lineId: input.lineId ?? null, partnerId: voucher.partnerId, by: actorOf(ctx),
      }, { aggregateId: String(voucher.serial), requestId: ctx.requestId });
      // The attempt was right: it comes off the account's count with the redemption.
      await undoAttempt(tx, keys[0].key);
      return { serial: voucher.serial, billingAccountId: target.billingAccountId, lineId: input.lineId ?? null, redeemedAt: now, ...result };
    });
    return redeemed;
  } catch (err) {
    const code = (err as AppError).code;
    if (code === 'invalid_pin' || code === 'voucher_blocked') await recordFailure(db, ctx, settings, keys, attempts, blockedSerial, input);
    else await undoAttempt(counters, keys[0].key);
    throw err;
  }
}

async function creditValue(tx: Tx, ctx: Ctx, settings: RedemptionSettings, serial: number, batch: { faceValue: number | null; currency: string | null }, target: { billingAccountId: string; currency: string }) {
  const faceValue = { amount: batch.faceValue!, currency: batch.currency! };
  if (faceValue.currency !== target.currency) throw voucherErrors.currency_mismatch(`The voucher is in ${faceValue.currency}, the balance in ${target.currency}`);
  const entry = await credit(tx, {
    billingAccountId: target.billingAccountId, amount: faceValue.amount, currency: faceValue.currency, type: 'voucher', refType: 'voucher', refId: String(serial),
    actor: actorOf(ctx), extendValidityDays: settings.rechargeValidityDays,
  });
  return { faceValue, entryId: entry.id, balance: { amount: entry.balance, currency: faceValue.currency }, bundle: null };
}

/** A bundle voucher gives its pack to the line, as a completed add-on order at no charge. */
async function givePack(tx: Tx, ctx: Ctx, serial: number, addOnId: string, input: RedeemInput) {
  if (!input.lineId) throw voucherErrors.bundle_needs_line();
  const order = await grantAddOn(tx, ctx, { lineId: input.lineId, addOnId, reason: `Bundle voucher ${serial}` });
  return { faceValue: null, entryId: null, balance: null, bundle: { addOnId, orderId: order.id } };
}

/** The prepaid account a redemption credits: the line's, or the account named; only one the caller may see. */
async function targetOf(tx: Tx, ctx: Ctx, input: RedeemInput) {
  if (input.lineId) {
    const line = await visibleLine(tx, ctx, input.lineId);
    if (!line || line.status === 'terminated') throw voucherErrors.target_not_found('No such line');
    return { billingAccountId: line.billingAccountId, customerId: line.customerId, currency: line.currency };
  }
  const account = await findBillingAccount(tx, ctx, input.billingAccountId!);
  if (!account) throw voucherErrors.target_not_found('No such billing account');
  return { billingAccountId: account.id, customerId: account.customerId, currency: account.currency };
}

const windowOf = (s: RedemptionSettings) => sql`make_interval(mins => ${s.windowMinutes})`;

/** One more attempt on a key (a new window when the last one ended); how many the window now holds. */
async function count(tx: Tx, s: RedemptionSettings, key: string) {
  const window = windowOf(s);
  const [row] = await tx.execute<{ failures: number }>(sql`
    insert into ${pinFailures} (key, window_start, failures) values (${key}, now(), 1)
    on conflict (key) do update set
      failures = case when pin_failures.window_start <= now() - ${window} then 1 else pin_failures.failures + 1 end,
      window_start = case when pin_failures.window_start <= now() - ${window} then now() else pin_failures.window_start end
    returning failures`);
  return row!.failures;
}

/**
 * Counts go through `counters`, a pool whose commits do not wait for the disk: an attempt count
 * lost in a crash costs nothing, and every redemption writes two.
 */
const chargeAttempt = (counters: Db, s: RedemptionSettings, key: string) => counters.transaction((tx) => count(tx, s, key));

async function undoAttempt(db: Tx, key: string) {
  await db.update(pinFailures).set({ failures: sql`greatest(${pinFailures.failures} - 1, 0)` }).where(eq(pinFailures.key, key));
}

/** Locks a key out (once: a key already locked keeps its time) and tells fraud review; the 429 to answer with. */
async function lockOut(db: Db | Tx, ctx: Ctx, s: RedemptionSettings, k: { kind: string; key: string }, failures: number, input: RedeemInput) {
  const [lock] = await db.execute<{ locked_until: string; fresh: boolean }>(sql`
    update ${pinFailures} set locked_until = case when locked_until > now() then locked_until else now() + make_interval(mins => ${s.lockoutMinutes}) end,
      failures = 0, window_start = now()
    where key = ${k.key} returning locked_until, locked_until > now() + make_interval(mins => ${s.lockoutMinutes}) - interval '1 second' as fresh`);
  const lockedUntil = new Date(lock!.locked_until).toISOString();
  if (lock!.fresh) {
    await emit(db, 'voucher.redemption_locked_out', {
      kind: k.kind, key: k.key, failures, lockedUntil, caller: actorOf(ctx), lineId: input.lineId ?? null, billingAccountId: input.billingAccountId ?? null,
    }, { aggregateId: k.key, requestId: ctx.requestId });
  }
  return voucherErrors.redemption_locked_out(undefined, { lockedUntil });
}

/**
 * Records a wrong PIN (or a blocked voucher presented), in its own transaction: the refusal's
 * transaction has rolled back. The account's count already holds this attempt; the caller's and
 * the address's go up now. A key at its limit is locked, its count reset.
 */
async function recordFailure(db: Db, ctx: Ctx, s: RedemptionSettings, keys: ReturnType<typeof failureKeys>, attempts: number, blockedSerial: number | null, input: RedeemInput) {
  const limits = { target: s.failuresPerTarget, caller: s.failuresPerCaller, address: s.failuresPerAddress };
  await db.transaction(async (tx) => {
    for (const k of keys) {
      const failures = k.kind === 'target' ? attempts : await count(tx, s, k.key);
      if (failures >= limits[k.kind]) await lockOut(tx, ctx, s, k, failures, input);
    }
    if (blockedSerial !== null) {
      await emit(tx, 'voucher.blocked_presented', {
        serial: blockedSerial, caller: actorOf(ctx), lineId: input.lineId ?? null, billingAccountId: input.billingAccountId ?? null, address: keys[2].key,
      }, { aggregateId: String(blockedSerial), requestId: ctx.requestId });
    }
  });
}
