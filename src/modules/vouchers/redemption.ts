import { eq, sql } from 'drizzle-orm';
import { actorOf, type Ctx } from '../../platform/context.js';
import { type Db, postgresCode, type Tx, together } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { prebuilt } from '../../platform/db/prebuilt.js';
import { emit } from '../../platform/events/events.js';
import type { AppError } from '../../platform/http/errors.js';
import type { AnswerRow } from '../../platform/http/idempotency.js';
import { credit, creditRefusal } from '../billing/index.js';
import { findBillingAccount } from '../customers/index.js';
import { grantAddOn, visibleLine } from '../orders/index.js';
import { voucherErrors } from './errors.js';
import { type Failure, type FailureKeys, failureKeys, type FailureSettings, recordFailures } from './pin-failures.js';
import { normalisePin, type PinHasher } from './pins.js';
import type { RedemptionGroups } from './redemption-groups.js';
import { type Attempt, creditedAlready, redemptionStatement, VOUCHER_CREDIT, type Won } from './redemption-statement.js';
import { vouchers } from './tables.js';

export interface RedemptionSettings extends FailureSettings {
  rechargeValidityDays: number;
  /** At most this many redemptions in a group (RedemptionGroups); 0: none. */
  groupSize: number;
}

export interface RedeemInput { pin: string; lineId?: string; billingAccountId?: string }

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
 *
 * Attempts on one account take turns (a transaction-scoped advisory lock), each seeing the
 * failures of those before it: a burst of guesses sent side by side is tried one by one, and
 * stops at the limit. Successful ones would wait on the balance's row lock anyway. A turn not
 * had within 300 ms is refused as busy (429), so that a burst holds no connection for long. A
 * wrong PIN's transaction is committed with its count; nothing else in it changed.
 *
 * Redemptions that arrive together are first offered to a group (`RedemptionGroups`): one
 * statement and one commit for all of them, the turns taken and wrong PINs counted in it as
 * below. A redemption the group did not make (a turn taken, a voucher used ...) then runs on its
 * own, as follows, and is answered from there.
 *
 * On its own, the common case costs two round trips: BEGIN, the request key's turn, the account's
 * turn (with the lockouts) and the voucher's update with its credit and event go out together;
 * then the request key's answer and COMMIT. A line, or the account of a caller who sees only some,
 * is looked up before, and a staff caller's account after when no balance took the credit: a third.
 */
export async function redeem(db: Db, groups: RedemptionGroups | undefined, ctx: Ctx, hash: PinHasher, settings: RedemptionSettings, address: string, input: RedeemInput, key?: RequestKey) {
  // A line is found before the transaction (its account names the turn to take), and so is an
  // account named by a caller who sees only some: nobody takes the turn of an account they cannot
  // see. Staff see every account: theirs is looked up in the transaction, if at all.
  const known = input.lineId ? await lineTarget(db, ctx, input.lineId)
    : ctx.principal.kind === 'staff' ? undefined : await accountTarget(db, ctx, input.billingAccountId!);
  // As Postgres spells it: an id in capitals must name the same counters and turn.
  const billingAccountId = known?.billingAccountId ?? input.billingAccountId!.toLowerCase();
  const keys = failureKeys(ctx, address, billingAccountId);
  const attempt: Attempt = {
    pinHash: hash(normalisePin(input.pin)), billingAccountId, lineId: input.lineId ?? null, by: actorOf(ctx), requestId: ctx.requestId ?? null,
  };
  const grouped = await groups?.redeem({
    attempt, turns: { principal: key?.held.principal ?? null, key: key?.held.key ?? null, failureKeys: keys },
    answer: key && ((redeemed) => key.answerRow(redeemed)),
    // Tried under the account's turn in the group's transaction, and counted there, as on its own.
    // A staff caller's account must exist first (target_not_found: it redeems on its own, and is refused there).
    refusal: async (tx) => {
      if (!known) await accountTarget(tx, ctx, billingAccountId);
      const tried = await triedRefusal(tx, ctx, keys, attempt.pinHash, input);
      return tried.failure ? { error: tried.error, failure: tried.failure } : undefined;
    },
    refused: key && ((tx, error) => key.refuse(tx, error)),
  });
  if (grouped && 'refused' in grouped) throw grouped.refused;
  if (grouped) return grouped.redeemed;
  const outcome = await db.transaction(async (tx) => {
    // The account's turn, and the lockouts as they stand once it is ours (vouchers.attempt_turn).
    const [, [turn], [won]] = await together(
      key ? key.turn(tx) : Promise.resolve(),
      tx.execute<{ locked_until: string | null }>(attemptTurn({ turn: keys[0].key, keys: keys.map((k) => k.key) })),
      tx.execute<Won>(redemptionStatement(settings, [attempt])),
    ).catch((err: unknown) => {
      // The turn was not ours within its wait: too many attempts on the account at once.
      throw postgresCode(err) === '55P03' ? voucherErrors.redemption_busy() : creditRefusal(err, VOUCHER_CREDIT) ?? err;
    });
    // Refusals before the PIN counts: the transaction (and the voucher's update with it) rolls back.
    // A staff caller's account is looked up only now, and only when no balance took the credit (a
    // balance that did is the account's, and open: billing closes a closed account's balance to
    // credits): a refusal (a closed account among them), or a credit the usual way.
    const target = known ?? (won?.entry_id ? null : await accountTarget(tx, ctx, billingAccountId));
    if (turn!.locked_until) throw voucherErrors.redemption_locked_out(undefined, { lockedUntil: new Date(turn!.locked_until).toISOString() });
    if (!won) {
      const tried = await triedRefusal(tx, ctx, keys, attempt.pinHash, input);
      if (!tried.failure) throw tried.error;
      await recordFailures(tx, settings, [tried.failure]);
      key?.refuse(tx, tried.error);
      return { refused: tried.error };
    }
    const redeemed: Redeemed = won.entry_id ? creditedAlready(won, billingAccountId, attempt.lineId) : await credited(tx, ctx, settings, won, target!, input);
    key?.answer(tx, redeemed);
    return { redeemed };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.redeemed;
}

/**
 * The request's Idempotency-Key, taken and answered in the redemption's transaction: its turn goes
 * out first, with the voucher's update, and its answer with the COMMIT (platform/http/idempotency);
 * a wrong PIN's refusal is stored with its count. A group takes the key's turn in its statement
 * (`held`) and stores its members' answers together (`answerRow`).
 */
export interface RequestKey {
  turn(tx: Tx): PromiseLike<unknown>; answer(tx: Tx, redeemed: Redeemed): void; refuse(tx: Tx, error: AppError): void;
  held: { principal: string; key: string }; answerRow(redeemed: Redeemed): AnswerRow;
}
export type Redeemed = Awaited<ReturnType<typeof credited>>;

const attemptTurn = prebuilt(['turn', 'keys'], (v) => sql`select vouchers.attempt_turn(${v.turn}, ${v.keys}::text[]) as locked_until`);

type Money = { amount: number; currency: string };
type Bundle = { addOnId: string; orderId: string };

/** What the won voucher gives: its value onto the balance (sent together with its event), or its pack onto the line. */
async function credited(tx: Tx, ctx: Ctx, settings: RedemptionSettings, won: Won, target: { billingAccountId: string; customerId: string; currency: string }, input: RedeemInput) {
  const serial = Number(won.serial);
  const redeemed = (faceValue: Money | null, bundle: Bundle | null) => emit(tx, 'voucher.redeemed', {
    serial, batchId: won.batch_id, faceValue, bundle, billingAccountId: target.billingAccountId, customerId: target.customerId,
    lineId: input.lineId ?? null, partnerId: won.partner_id, by: actorOf(ctx),
  }, { aggregateId: String(serial), requestId: ctx.requestId });
  let result: { faceValue: Money | null; entryId: string | null; balance: Money | null; bundle: Bundle | null };
  if (won.add_on_id) {
    const bundle = await givePack(tx, ctx, serial, won.add_on_id, input);
    await redeemed(null, bundle);
    result = { faceValue: null, entryId: null, balance: null, bundle };
  } else {
    const faceValue = { amount: Number(won.face_value), currency: won.currency! };
    if (faceValue.currency !== target.currency) throw voucherErrors.currency_mismatch(`The voucher is in ${faceValue.currency}, the balance in ${target.currency}`);
    const [entry] = await together(creditValue(tx, ctx, settings, serial, faceValue, target), redeemed(faceValue, null));
    result = { faceValue, entryId: entry.id, balance: { amount: entry.balance, currency: faceValue.currency }, bundle: null };
  }
  return { serial, billingAccountId: target.billingAccountId, lineId: input.lineId ?? null, redeemedAt: new Date(won.redeemed_at), ...result };
}

/**
 * Why a PIN tried under the account's turn redeemed nothing. A wrong PIN (or a blocked voucher
 * presented) is to be counted (`failure`), in the transaction, which then commits with its count
 * and its refusal stored with the key. Any other refusal counts nothing: its transaction is to
 * roll back.
 */
async function triedRefusal(tx: Tx, ctx: Ctx, keys: FailureKeys, pinHash: Buffer, input: RedeemInput): Promise<{ error: AppError; failure?: Failure }> {
  const refused = await refusal(tx, pinHash, ctx.principal.kind === 'staff');
  if (refused.error.code !== 'invalid_pin' && refused.error.code !== 'voucher_blocked') return { error: refused.error };
  return {
    error: refused.error,
    failure: { ctx, keys, blockedSerial: refused.blockedSerial, lineId: input.lineId ?? null, billingAccountId: input.billingAccountId ?? null },
  };
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

function creditValue(tx: Tx, ctx: Ctx, settings: RedemptionSettings, serial: number, faceValue: Money, target: { billingAccountId: string }) {
  return credit(tx, {
    billingAccountId: target.billingAccountId, amount: faceValue.amount, currency: faceValue.currency, ...VOUCHER_CREDIT, refId: String(serial),
    actor: actorOf(ctx), extendValidityDays: settings.rechargeValidityDays, refusalEndsTransaction: true,
  });
}

/** A bundle voucher gives its pack to the line, as a completed add-on order at no charge. */
async function givePack(tx: Tx, ctx: Ctx, serial: number, addOnId: string, input: RedeemInput): Promise<Bundle> {
  if (!input.lineId) throw voucherErrors.bundle_needs_line();
  const order = await grantAddOn(tx, ctx, { lineId: input.lineId, addOnId, reason: `Bundle voucher ${serial}` });
  return { addOnId, orderId: order.id };
}

/** The account a redemption names: only one the caller may see. */
async function accountTarget(db: Tx, ctx: Ctx, id: string) {
  const account = await findBillingAccount(db, ctx, id);
  if (!account) throw voucherErrors.target_not_found('No such billing account');
  return { billingAccountId: account.id, customerId: account.customerId, currency: account.currency };
}

/** The line a redemption names, with its prepaid account: only one the caller may see. */
async function lineTarget(db: Db, ctx: Ctx, lineId: string) {
  const line = await visibleLine(db, ctx, lineId);
  if (!line || line.status === 'terminated') throw voucherErrors.target_not_found('No such line');
  return { billingAccountId: line.billingAccountId, customerId: line.customerId, currency: line.currency };
}
