import { sql } from 'drizzle-orm';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { pinFailures } from './tables.js';

/** What counting wrong PINs needs of the redemption settings. */
export interface FailureSettings {
  failuresPerTarget: number; failuresPerCaller: number; failuresPerAddress: number; windowMinutes: number; lockoutMinutes: number;
}

/** The counter key of an account's wrong PINs (a line's count against its account). */
export const accountKey = (billingAccountId: string) => `account:${billingAccountId}`;

/**
 * Whom a wrong PIN counts against: the account it was for (named by its line or itself: one
 * count), the caller, the source address.
 */
export function failureKeys(ctx: Ctx, address: string, billingAccountId: string) {
  return [
    { kind: 'target', key: accountKey(billingAccountId) },
    { kind: 'caller', key: `caller:${ctx.principal.kind}:${ctx.principal.id}` },
    { kind: 'address', key: `address:${address}` },
  ] as const;
}

export type FailureKeys = ReturnType<typeof failureKeys>;

/** A wrong PIN (or a blocked voucher presented), to be counted: who tried it, for what. */
export interface Failure { ctx: Ctx; keys: FailureKeys; blockedSerial: number | null; lineId: string | null; billingAccountId: string | null }

/** The order every attempt's transaction takes the counters' row locks in: a group's many, an attempt's three. */
const RANK = { target: 0, caller: 1, address: 2 } as const;

/**
 * Records wrong PINs (or blocked vouchers presented) on their accounts, callers and addresses, in
 * the attempts' transaction. A key at its limit is locked, its count reset. The counters are
 * taken in one order, accounts before callers before addresses, each kind by key: a group's
 * transaction counts many at once, and an attempt on its own three, and none of them may wait
 * for another's counter while holding one the other waits for.
 */
export async function recordFailures(tx: Tx, s: FailureSettings, failures: Failure[]) {
  const limits = { target: s.failuresPerTarget, caller: s.failuresPerCaller, address: s.failuresPerAddress };
  const counted = new Map<string, { kind: keyof typeof RANK; key: string; n: number; first: Failure }>();
  for (const f of failures) {
    for (const k of f.keys) {
      const c = counted.get(k.key) ?? { ...k, n: 0, first: f };
      c.n++;
      counted.set(k.key, c);
    }
  }
  const ordered = [...counted.values()].sort((a, b) => RANK[a.kind] - RANK[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const k of ordered) {
    const total = await countFailures(tx, s, k.key, k.n);
    if (total >= limits[k.kind]) await lockOut(tx, s, k, total, k.first);
  }
  for (const f of failures) {
    if (f.blockedSerial === null) continue;
    await emit(tx, 'voucher.blocked_presented', {
      serial: f.blockedSerial, caller: actorOf(f.ctx), lineId: f.lineId, billingAccountId: f.billingAccountId, address: f.keys[2].key,
    }, { aggregateId: String(f.blockedSerial), requestId: f.ctx.requestId });
  }
}

/** `n` more failures on a key (a new window when the last one ended): how many its window now holds. */
async function countFailures(tx: Tx, s: FailureSettings, key: string, n: number) {
  const window = sql`make_interval(mins => ${s.windowMinutes})`;
  const [row] = await tx.execute<{ failures: number }>(sql`
    insert into ${pinFailures} (key, window_start, failures) values (${key}, now(), ${n})
    on conflict (key) do update set
      failures = case when pin_failures.window_start <= now() - ${window} then excluded.failures else pin_failures.failures + excluded.failures end,
      window_start = case when pin_failures.window_start <= now() - ${window} then now() else pin_failures.window_start end
    returning failures`);
  return row!.failures;
}

/** Locks a key out (once: a key already locked keeps its time) and tells fraud review. */
async function lockOut(tx: Tx, s: FailureSettings, k: { kind: string; key: string }, failures: number, by: Failure) {
  const [lock] = await tx.execute<{ locked_until: string; fresh: boolean }>(sql`
    update ${pinFailures} set locked_until = case when locked_until > now() then locked_until else now() + make_interval(mins => ${s.lockoutMinutes}) end,
      failures = 0, window_start = now()
    where key = ${k.key} returning locked_until, locked_until > now() + make_interval(mins => ${s.lockoutMinutes}) - interval '1 second' as fresh`);
  if (!lock!.fresh) return;
  await emit(tx, 'voucher.redemption_locked_out', {
    kind: k.kind, key: k.key, failures, lockedUntil: new Date(lock!.locked_until).toISOString(), caller: actorOf(by.ctx), lineId: by.lineId, billingAccountId: by.billingAccountId,
  }, { aggregateId: k.key, requestId: by.ctx.requestId });
}
