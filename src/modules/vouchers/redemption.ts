import { eq, sql } from 'drizzle-orm';
import { actorOf, type Ctx } from '../../platform/context.js';
import { type Db, type Tx, together } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
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

/** The counter key of an account's wrong PINs (a line's count against its account). */
export const accountKey = (billingAccountId: string) => `account:${billingAccountId}`;

/**
 * Whom a wrong PIN counts against: the account it was for (named by its line or itself: one
 * count), the caller, the source address.
 */
function failureKeys(ctx: Ctx, address: string, billingAccountId: string) {
  return [
    { kind: 'target', key: accountKey(billingAccountId) },
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
  const target = await targetOf(db, ctx, input);
  const keys = failureKeys(ctx, address, target.billingAccountId);
  // The account's count goes up before the PIN is tried (and back down unless it was wrong), so
  // that attempts sent side by side are counted as they arrive, not only once they have failed.
  const attempts = await chargeAttempt(counters, settings, keys);
  if (attempts > settings.failuresPerTarget) {
    // More attempts in flight for the account than it may get wrong: this one is not tried (nor counted).
    await undoAttempt(counters, keys[0].key);
    throw voucherErrors.redemption_busy();
  }

  const pinHash = hash(normalisePin(input.pin));
  let blockedSerial: number | null = null;
  try {
    return await db.transaction(async (tx) => {
      // The common case in one statement: an active voucher within its validity becomes redeemed;
      // of concurrent attempts one wins, the others find it redeemed once the winner commits.
      const [won] = await tx.execute<{ serial: string; batch_id: string; partner_id: string | null; redeemed_at: string; face_value: string | null; currency: string | null; add_on_id: string | null }>(sql`
        update ${vouchers} v set state = 'redeemed', redeemed_at = now(), redeemed_billing_account_id = ${target.billingAccountId}, redeemed_line_id = ${input.lineId ?? null},
          redeemed_by = ${actorOf(ctx)}, updated_at = now()
        from ${voucherBatches} b
        where v.pin_hash = ${pinHash} and v.state = 'active' and v.valid_from <= now() and v.valid_until > now() and b.id = v.batch_id
        returning v.serial, v.batch_id, v.partner_id, v.redeemed_at, b.face_value, b.currency, b.add_on_id`);
      if (!won) {
        const refused = await refusal(tx, pinHash, ctx.principal.kind === 'staff');
        blockedSerial = refused.blockedSerial;
        throw refused.error;
      }
      const serial = Number(won.serial);
      const redeemed = (faceValue: Money | null, bundle: Bundle | null) => emit(tx, 'voucher.redeemed', {
        serial, batchId: won.batch_id, faceValue, bundle, billingAccountId: target.billingAccountId, customerId: target.customerId,
        lineId: input.lineId ?? null, partnerId: won.partner_id, by: actorOf(ctx),
      }, { aggregateId: String(serial), requestId: ctx.requestId });
      // The attempt was right: it comes off the account's count with the redemption. The credit,
      // the event and the count go out together: one socket write and one round trip.
      let result: { faceValue: Money | null; entryId: string | null; balance: Money | null; bundle: Bundle | null };
      if (won.add_on_id) {
        const bundle = await givePack(tx, ctx, serial, won.add_on_id, input);
        await together(redeemed(null, bundle), undoAttempt(tx, keys[0].key));
        result = { faceValue: null, entryId: null, balance: null, bundle };
      } else {
        const faceValue = { amount: Number(won.face_value), currency: won.currency! };
        if (faceValue.currency !== target.currency) throw voucherErrors.currency_mismatch(`The voucher is in ${faceValue.currency}, the balance in ${target.currency}`);
        const [entry] = await together(creditValue(tx, ctx, settings, serial, faceValue, target), redeemed(faceValue, null), undoAttempt(tx, keys[0].key));
        result = { faceValue, entryId: entry.id, balance: { amount: entry.balance, currency: faceValue.currency }, bundle: null };
      }
      return { serial, billingAccountId: target.billingAccountId, lineId: input.lineId ?? null, redeemedAt: new Date(won.redeemed_at), ...result };
    });
  } catch (err) {
    const code = (err as AppError).code;
    if (code === 'invalid_pin' || code === 'voucher_blocked') await recordFailure(db, ctx, settings, keys, attempts, blockedSerial, input);
    else await undoAttempt(counters, keys[0].key);
    throw err;
  }
}

/**
 * Why a PIN redeemed nothing. A voucher never sold, whatever became of it since, is a wrong PIN to
 * anyone but staff; fraud review hears of every blocked voucher presented, sold or not.
 */
async function refusal(tx: Tx, pinHash: Buffer, staff: boolean): Promise<{ error: AppError; blockedSerial: number | null }> {
  const [v] = await tx.select().from(vouchers).where(eq(vouchers.pinHash, pinHash));
  if (!v) return { error: voucherErrors.invalid_pin(), blockedSerial: null };
  const blockedSerial = v.state === 'blocked' ? v.serial : null;
  if (!staff && v.activatedAt === null) return { error: voucherErrors.invalid_pin(), blockedSerial };
  const now = await databaseNow(tx);
  const error = {
    generated: voucherErrors.voucher_not_active, in_stock: voucherErrors.voucher_not_active, distributed: voucherErrors.voucher_not_active,
    redeemed: voucherErrors.voucher_already_redeemed, expired: voucherErrors.voucher_expired,
    blocked: () => voucherErrors.voucher_blocked(undefined, staff ? { serial: v.serial } : undefined),
    active: () => (v.validFrom > now ? voucherErrors.voucher_not_yet_valid() : voucherErrors.voucher_expired()),
  }[v.state]();
  return { error, blockedSerial };
}

type Money = { amount: number; currency: string };
type Bundle = { addOnId: string; orderId: string };

function creditValue(tx: Tx, ctx: Ctx, settings: RedemptionSettings, serial: number, faceValue: Money, target: { billingAccountId: string }) {
  return credit(tx, {
    billingAccountId: target.billingAccountId, amount: faceValue.amount, currency: faceValue.currency, type: 'voucher', refType: 'voucher', refId: String(serial),
    actor: actorOf(ctx), extendValidityDays: settings.rechargeValidityDays, refusalEndsTransaction: true,
  });
}

/** A bundle voucher gives its pack to the line, as a completed add-on order at no charge. */
async function givePack(tx: Tx, ctx: Ctx, serial: number, addOnId: string, input: RedeemInput): Promise<Bundle> {
  if (!input.lineId) throw voucherErrors.bundle_needs_line();
  const order = await grantAddOn(tx, ctx, { lineId: input.lineId, addOnId, reason: `Bundle voucher ${serial}` });
  return { addOnId, orderId: order.id };
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

/** One more attempt on a key, in an upsert's DO UPDATE: a new window when the last one ended. */
function oneMore(s: RedemptionSettings) {
  const window = sql`make_interval(mins => ${s.windowMinutes})`;
  return sql`failures = case when pin_failures.window_start <= now() - ${window} then 1 else pin_failures.failures + 1 end,
    window_start = case when pin_failures.window_start <= now() - ${window} then now() else pin_failures.window_start end`;
}

/** One more failure on a key: how many its window now holds. */
async function countFailure(tx: Tx, s: RedemptionSettings, key: string) {
  const [row] = await tx.execute<{ failures: number }>(sql`
    insert into ${pinFailures} (key, window_start, failures) values (${key}, now(), 1)
    on conflict (key) do update set ${oneMore(s)} returning failures`);
  return row!.failures;
}

/**
 * The attempt counted on the account before it is tried, unless one of the three keys is locked
 * out: one statement through `counters`, a pool whose commits do not wait for the disk (an attempt
 * count lost in a crash costs nothing). A lockout that began after the caller's look at the locks
 * (by a burst's last failures) is seen in the count's own row, and the count is taken back.
 */
async function chargeAttempt(counters: Db, s: RedemptionSettings, keys: ReturnType<typeof failureKeys>) {
  const [row] = await counters.execute<{ locked: string | null; failures: number | null; now_locked: string | null }>(sql`
    with lock as (select max(locked_until) as until from ${pinFailures} where key = any(${sql.param(keys.map((k) => k.key))}::text[]) and locked_until > now()),
    attempt as (
      insert into ${pinFailures} (key, window_start, failures) select ${keys[0].key}, now(), 1 from lock where lock.until is null
      on conflict (key) do update set ${oneMore(s)}
      returning failures, case when locked_until > now() then locked_until end as locked_until)
    select (select until from lock) as locked, a.failures, a.locked_until as now_locked from (select 1) one left join attempt a on true`);
  const lockedUntil = row!.locked ?? row!.now_locked;
  if (row!.now_locked) await undoAttempt(counters, keys[0].key);
  if (lockedUntil) throw voucherErrors.redemption_locked_out(undefined, { lockedUntil: new Date(lockedUntil).toISOString() });
  return row!.failures!;
}

async function undoAttempt(db: Tx, key: string) {
  await db.execute(sql`update ${pinFailures} set failures = greatest(failures - 1, 0) where key = ${key}`);
}

/** Locks a key out (once: a key already locked keeps its time) and tells fraud review. */
async function lockOut(db: Tx, ctx: Ctx, s: RedemptionSettings, k: { kind: string; key: string }, failures: number, input: RedeemInput) {
  const [lock] = await db.execute<{ locked_until: string; fresh: boolean }>(sql`
    update ${pinFailures} set locked_until = case when locked_until > now() then locked_until else now() + make_interval(mins => ${s.lockoutMinutes}) end,
      failures = 0, window_start = now()
    where key = ${k.key} returning locked_until, locked_until > now() + make_interval(mins => ${s.lockoutMinutes}) - interval '1 second' as fresh`);
  if (!lock!.fresh) return;
  await emit(db, 'voucher.redemption_locked_out', {
    kind: k.kind, key: k.key, failures, lockedUntil: new Date(lock!.locked_until).toISOString(), caller: actorOf(ctx), lineId: input.lineId ?? null, billingAccountId: input.billingAccountId ?? null,
  }, { aggregateId: k.key, requestId: ctx.requestId });
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
      const failures = k.kind === 'target' ? attempts : await countFailure(tx, s, k.key);
      if (failures >= limits[k.kind]) await lockOut(tx, ctx, s, k, failures, input);
    }
    if (blockedSerial !== null) {
      await emit(tx, 'voucher.blocked_presented', {
        serial: blockedSerial, caller: actorOf(ctx), lineId: input.lineId ?? null, billingAccountId: input.billingAccountId ?? null, address: keys[2].key,
      }, { aggregateId: String(blockedSerial), requestId: ctx.requestId });
    }
  });
}
