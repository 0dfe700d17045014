import { sql } from 'drizzle-orm';
import { prebuilt } from '../../platform/db/prebuilt.js';
import { eventInsertFrom } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { creditsFrom } from '../billing/index.js';
import type { FailureKeys } from './pin-failures.js';
import { voucherBatches, vouchers } from './tables.js';

/** What a redemption needs of its settings here: how long a recharge keeps the balance valid. */
interface Validity { rechargeValidityDays: number }

/** One redemption as the statement takes it: the voucher's PIN hash and whom it goes to. */
export interface Attempt { pinHash: Buffer; billingAccountId: string; lineId: string | null; by: string; requestId: string | null }

/**
 * The turns a member of a group takes in the statement itself: its request key's (if any) and its
 * account's, with the keys its wrong PINs would count against (vouchers.attempt_try_turn).
 */
export interface Turns { principal: string | null; key: string | null; failureKeys: FailureKeys }

/**
 * A voucher the statement redeemed: `entry_id` is null when no balance took its value (a bundle,
 * say). A group's statement also returns a row, without a `serial`, for each member it tried and
 * did not redeem (its turns were had): a wrong PIN, a voucher used, blocked or a bundle.
 */
export type Won = {
  n: string; serial: string; batch_id: string; partner_id: string | null; redeemed_at: string; face_value: string | null; currency: string | null;
  add_on_id: string | null; entry_id: string | null; balance: number | null;
};

export const VOUCHER_CREDIT = { type: 'voucher', refType: 'voucher' } as const;

const ATTEMPT = ['pinHashes', 'accounts', 'lines', 'bys', 'requestIds', 'entryIds', 'creditedIds', 'redeemedIds'] as const;
const TURNS = ['principals', 'keys', 'targets', 'callers', 'addresses'] as const;

/**
 * The vouchers' update, and with it, in the same statement, their values credited and their
 * events: one row per voucher won (`Won`), `n` its attempt's place (from 1). No credit when the voucher is
 * a bundle, or the balance does not take it as it stands (`creditsFrom`). Alone, an attempt has
 * taken its turns before (vouchers.attempt_turn). In a group, each member's turns are tried in the
 * statement, and a member who does not get them (or is locked out) redeems nothing here; nor does
 * one whose voucher is a bundle. Attempts of a group name different accounts and PINs.
 */
export function redemptionStatement(settings: Validity, attempts: Attempt[], turns?: Turns[]) {
  const key = turns ? 'group' : 'alone';
  let byMode = statements.get(settings);
  if (!byMode) statements.set(settings, byMode = { alone: build(settings, false), group: build(settings, true) });
  const values: Record<string, unknown> = {
    pinHashes: attempts.map((a) => a.pinHash.toString('hex')), accounts: attempts.map((a) => a.billingAccountId), lines: attempts.map((a) => a.lineId),
    bys: attempts.map((a) => a.by), requestIds: attempts.map((a) => a.requestId),
    entryIds: attempts.map(() => uuidv7()), creditedIds: attempts.map(() => uuidv7()), redeemedIds: attempts.map(() => uuidv7()),
  };
  if (turns) {
    Object.assign(values, {
      principals: turns.map((t) => t.principal), keys: turns.map((t) => t.key),
      targets: turns.map((t) => t.failureKeys[0].key), callers: turns.map((t) => t.failureKeys[1].key), addresses: turns.map((t) => t.failureKeys[2].key),
    });
  }
  return byMode[key](values);
}

/** Built once per settings and mode (prebuilt): one is sent with every redemption. */
const statements = new WeakMap<Validity, Record<'alone' | 'group', ReturnType<typeof build>>>();

function build(settings: Validity, group: boolean) {
  const names = group ? [...ATTEMPT, ...TURNS] : [...ATTEMPT];
  return prebuilt<string>(names, (v) => sql`
    with attempt as (
      select decode(pin_hash, 'hex') as pin_hash, billing_account_id, line_id, actor, request_id, entry_id, credited_id, redeemed_id, n${group ? sql`,
        principal, key, target, caller, address` : sql``}
      from unnest(${v.pinHashes}::text[], ${v.accounts}::uuid[], ${v.lines}::uuid[], ${v.bys}::text[], ${v.requestIds}::text[],
        ${v.entryIds}::uuid[], ${v.creditedIds}::uuid[], ${v.redeemedIds}::uuid[]${group ? sql`,
        ${v.principals}::text[], ${v.keys}::text[], ${v.targets}::text[], ${v.callers}::text[], ${v.addresses}::text[]` : sql``})
        with ordinality as a(pin_hash, billing_account_id, line_id, actor, request_id, entry_id, credited_id, redeemed_id${group ? sql`,
          principal, key, target, caller, address` : sql``}, n)),${group ? sql`
    ready as materialized (
      select * from attempt
      where (principal is null or platform.idempotency_try_turn(principal, key)) and vouchers.attempt_try_turn(target, array[target, caller, address])),` : sql``}
    won as (
      update ${vouchers} v set state = 'redeemed', redeemed_at = now(), redeemed_billing_account_id = r.billing_account_id, redeemed_line_id = r.line_id,
        redeemed_by = r.actor, updated_at = now()
      from ${sql.identifier(group ? 'ready' : 'attempt')} r, ${voucherBatches} vb
      where v.pin_hash = r.pin_hash and v.state = 'active' and v.valid_from <= now() and v.valid_until > now() and vb.id = v.batch_id${group ? sql`
        and vb.add_on_id is null` : sql``}
      returning r.n, r.billing_account_id, r.line_id, r.actor, r.request_id, r.entry_id, r.credited_id, r.redeemed_id,
        v.serial, v.batch_id, v.partner_id, v.redeemed_at, vb.face_value, vb.currency, vb.add_on_id),
    value as (
      select billing_account_id, face_value as amount, currency, serial::text as ref_id, entry_id, credited_id as event_id, actor
      from won where add_on_id is null),
    ${creditsFrom('value', { ...VOUCHER_CREDIT, extendValidityDays: settings.rechargeValidityDays })},
    redeemed as (${eventInsertFrom('voucher.redeemed', sql`jsonb_build_object('serial', won.serial, 'batchId', won.batch_id,
      'faceValue', jsonb_build_object('amount', won.face_value, 'currency', won.currency), 'bundle', null, 'billingAccountId', won.billing_account_id,
      'customerId', entry.customer_id, 'lineId', won.line_id::text, 'partnerId', won.partner_id, 'by', won.actor)`,
    sql`won join entry on entry.id = won.entry_id`, { aggregateId: sql`won.serial::text`, requestId: sql`won.request_id`, id: sql`won.redeemed_id` })})
    select ${group ? sql`r.n` : sql`won.n`}, won.serial, won.batch_id, won.partner_id, won.redeemed_at, won.face_value, won.currency, won.add_on_id,
      entry.id as entry_id, entry.balance
    from ${group ? sql`ready r left join won on won.n = r.n` : sql`won`} left join entry on entry.id = won.entry_id`);
}

/** The redemption's answer when the voucher's statement credited it. */
export function creditedAlready(won: Won, billingAccountId: string, lineId: string | null) {
  const faceValue = { amount: Number(won.face_value), currency: won.currency! };
  return {
    serial: Number(won.serial), billingAccountId, lineId, redeemedAt: new Date(won.redeemed_at),
    faceValue, entryId: won.entry_id, balance: { amount: won.balance!, currency: faceValue.currency }, bundle: null,
  };
}
