import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { viewPart } from '../customers/index.js';
import { accountKey } from './pin-failures.js';
import type { RedemptionSettings } from './redemption.js';
import { pinFailures } from './tables.js';

const vouchersPart = z.object({
  pinLockouts: z.array(z.object({ billingAccountId: z.uuid(), lockedUntil: z.date() }))
    .describe('Accounts (and so their lines) locked out of voucher redemption for too many wrong PINs: a fraud alert'),
  pinFailures: z.array(z.object({ billingAccountId: z.uuid(), failures: z.number().int(), since: z.date() }))
    .describe('Wrong PINs counted against an account in the current window, short of a lockout'),
});
type Row = { key: string; failures: number; since: string; lockedUntil: string | null; locked: boolean };

/**
 * Vouchers' part of the customer view: wrong-PIN counts and lockouts of the customer's accounts
 * (a line's attempts count against its account), by the counters' primary key. Raises
 * `fraud_alert` while an account is locked out. (The caller and address keys are not the
 * customer's: a caller key names a credential, which this module cannot trace to a customer.)
 */
export const vouchersViewPart = (s: Pick<RedemptionSettings, 'windowMinutes'>) => viewPart({
  name: 'vouchers',
  schema: vouchersPart,
  query: (customer) => (customer.billingAccounts.length ? sql`
    select coalesce(json_agg(json_build_object('key', key, 'failures', failures, 'since', window_start, 'lockedUntil', locked_until,
      'locked', coalesce(locked_until > now(), false)) order by key), '[]')
    from ${pinFailures} where key = any(${sql.param(customer.billingAccounts.map((a) => accountKey(a.id)))}::text[])
      and (locked_until > now() or (failures > 0 and window_start > now() - make_interval(mins => ${s.windowMinutes})))` : null),
  read: (raw) => {
    const rows = (raw ?? []) as Row[];
    const account = (r: Row) => r.key.slice(accountKey('').length);
    return {
      pinLockouts: rows.filter((r) => r.locked).map((r) => ({ billingAccountId: account(r), lockedUntil: new Date(r.lockedUntil!) })),
      pinFailures: rows.filter((r) => !r.locked).map((r) => ({ billingAccountId: account(r), failures: r.failures, since: new Date(r.since) })),
    };
  },
  flags: (data: z.infer<typeof vouchersPart>) => (data.pinLockouts.length
    ? [{ code: 'fraud_alert', detail: `${data.pinLockouts.length} account(s) locked out of voucher redemption for wrong PINs` }] : []),
});
