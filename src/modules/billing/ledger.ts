import { and, desc, eq, lt, lte, notInArray, type SQL, sql } from 'drizzle-orm';
import { type Ctx, systemCtx } from '../../platform/context.js';
import { type Db, postgresCode, postgresConstraint, type Tx } from '../../platform/db/client.js';
import type { Bound } from '../../platform/db/prebuilt.js';
import { emit, eventInsertFrom } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { findBillingAccount } from '../customers/index.js';
import { billingErrors } from './errors.js';
import { balances, type entryTypes, ledgerEntries } from './tables.js';

export type EntryType = (typeof entryTypes)[number];
export type Entry = typeof ledgerEntries.$inferSelect;

/** One movement of a prepaid balance, caused by something that can be named (and so never repeated). */
export interface Movement {
  billingAccountId: string;
  /** Positive, in minor units: `credit` adds it, `debit` takes it. */
  amount: number;
  currency: string;
  type: EntryType;
  refType: string;
  refId: string;
  reason?: string;
  /** Who moved it: "staff:<id>", "customer:<id>", "system:<job>"... */
  actor: string;
  /** A recharge keeps the balance valid this many days from now (never shortening it). */
  extendValidityDays?: number;
  /**
   * The caller's transaction ends on any refusal anyway (a voucher redemption): no savepoint is
   * needed to keep it usable, which saves two round trips.
   */
  refusalEndsTransaction?: boolean;
  /** A debit of the account's own money only: the credit limit (the operator's loan) is not drawn on (a transfer). */
  ownMoneyOnly?: boolean;
}

/** Ledger moves act for the system once the caller has been checked: balances open on first use. */
const SYSTEM = systemCtx('billing.ledger');

/**
 * Adds money to a balance inside the caller's transaction (a voucher redemption, a payment). A
 * refusal (an AppError: duplicate_entry, currency_mismatch ...) leaves the caller's transaction
 * usable: the movement runs in a savepoint.
 */
export const credit = (tx: Tx, m: Movement) => move(tx, m, m.amount);

/** Takes money from a balance inside the caller's transaction; refused, atomically, past the credit limit or validity. */
export const debit = (tx: Tx, m: Movement) => move(tx, m, -m.amount);

async function move(tx: Tx, m: Movement, delta: number, expiring = false): Promise<Entry & { balance: number }> {
  if (!Number.isSafeInteger(m.amount) || m.amount <= 0) throw new RangeError('a movement is a positive integer in minor units');
  let expired = false;
  let opened = false;
  // Drawn once, before any other event the caller emits after calling: tried again (the balance
  // opened or expired first), the credit's event keeps its place in the outbox's order.
  const ids = { entry: uuidv7(), event: uuidv7() };
  for (;;) {
    const rows = await apply(tx, m, ids, delta, expiring);
    if (rows.length) {
      const entry = rows[0]!;
      await afterMove(tx, m, entry);
      return entry;
    }
    // Money whose validity has ended is not carried into a new validity by a recharge: it expires
    // first. Tried again whatever the expiry found: a recharge beside this one may have expired it.
    if (m.extendValidityDays && !expired) {
      expired = true;
      await expireIfDue(tx, m.billingAccountId);
      continue;
    }
    const [b] = await tx.select().from(balances).where(eq(balances.billingAccountId, m.billingAccountId));
    if (!b && !opened) {
      opened = true;
      await openBalance(tx, m.billingAccountId);
      continue;
    }
    if (!b) throw billingErrors.billing_account_not_found();
    if (delta > 0 && b.closedAt && m.type !== 'refund') throw billingErrors.account_closed();
    if (b.currency !== m.currency) throw billingErrors.currency_mismatch(`The balance is in ${b.currency}`);
    if (delta < 0 && b.validUntil && b.validUntil <= new Date()) throw billingErrors.balance_expired();
    throw billingErrors.insufficient_balance(undefined, { balance: { amount: b.amount, currency: b.currency }, creditLimit: b.creditLimit });
  }
}

/** The update and its entry in one statement: either both happen or neither. */
async function apply(tx: Tx, m: Movement, ids: { entry: string; event: string }, delta: number, expiring: boolean) {
  const parts = movementCtes({ ...m, ids }, { delta: sql`${delta}::bigint`, currency: sql`${m.currency}::text`, refId: sql`${m.refId}::text`, expiring, credited: creditedInStatement(m, delta) });
  const statement = (db: Tx) => db.execute<Entry & { balance: number; threshold: number | null; customerId: string }>(sql`
      with ${parts} select id, billing_account_id as "billingAccountId", seq, type, amount, currency, balance_after as "balanceAfter", ref_type as "refType",
        ref_id as "refId", reason, actor, created_at as "createdAt", balance, threshold, customer_id as "customerId" from entry`);
  try {
    return await (m.refusalEndsTransaction ? statement(tx) : tx.transaction((sp) => statement(sp)));
  } catch (err) {
    throw duplicateEntry(err, m) ?? err;
  }
}

/** A second entry for the same cause, as the refusal the caller knows. */
function duplicateEntry(err: unknown, m: Pick<Movement, 'type' | 'refType'> & { refId: string }) {
  const constraint = postgresCode(err) === '23505' ? postgresConstraint(err) : undefined;
  if (constraint === 'ledger_entries_cause_key' || constraint === 'ledger_entries_payment_key') {
    return billingErrors.duplicate_entry(`${m.type} by ${m.refType} ${m.refId} is already on a ledger`);
  }
  return undefined;
}

/**
 * A movement's fixed parts, as a statement takes them: in a prebuilt statement the account and
 * actor may be bound values. `ids` are the ids of the entry and of the credit's event, drawn by
 * the caller (values, bound in a prebuilt statement, or columns of a source's rows).
 */
type MovementInStatement = Omit<Movement, 'amount' | 'currency' | 'refId' | 'billingAccountId' | 'actor'>
  & { billingAccountId: string | Bound | SQL; actor: string | Bound | SQL; ids: { entry: string | Bound | SQL; event: string | Bound | SQL } };

/**
 * A movement as CTEs of a larger statement: `b` updates the balance, `credited` (a credit's)
 * records its event, `entry` is the ledger entry with the balance after it. The amount, currency,
 * cause, and (`creditsFrom`) the account, actor and ids may be SQL over `from`, a FROM item of one
 * row per balance: with none, nothing moves. `b` carries each row's account, actor and ids on to
 * the entry and the event.
 */
function movementCtes(m: MovementInStatement, p: { delta: SQL; currency: SQL; refId: SQL; from?: SQL; expiring: boolean; credited: boolean }) {
  const { ids } = m;
  const { delta, currency } = p;
  const from = p.from ? sql` from ${p.from}` : sql``;
  return sql`b as (
        update ${balances} as bal set amount = bal.amount + ${delta}, entries = bal.entries + 1, updated_at = now(),
          valid_until = case when ${m.extendValidityDays ?? null}::int is null then bal.valid_until
            else greatest(coalesce(bal.valid_until, now()), now() + make_interval(days => ${m.extendValidityDays ?? 0})) end${from}
        where bal.billing_account_id = ${m.billingAccountId} and bal.currency = ${currency}
          and bal.amount + ${delta} >= case when ${m.ownMoneyOnly ?? false} then 0 else -bal.credit_limit end
          and (${delta} > 0 or ${p.expiring} or bal.valid_until is null or bal.valid_until > now())
          and (${delta} <= 0 or bal.closed_at is null or ${m.type}::text = 'refund')
          and (${!m.extendValidityDays} or bal.valid_until is null or bal.valid_until > now() or bal.amount <= 0)
        returning bal.amount, bal.entries, bal.low_balance_threshold, bal.customer_id, ${delta} as delta, ${currency} as currency, ${p.refId} as ref_id,
          bal.billing_account_id, ${ids.entry}::uuid as entry_id, ${ids.event}::uuid as event_id, ${m.actor}::text as actor)${p.credited ? sql`,
      credited as (${eventInsertFrom('balance.credited', sql`jsonb_build_object('billingAccountId', b.billing_account_id, 'customerId', b.customer_id,
        'balance', jsonb_build_object('amount', b.amount, 'currency', b.currency), 'entryId', b.entry_id, 'type', ${m.type}::text,
        'amount', jsonb_build_object('amount', b.delta, 'currency', b.currency))`, sql`b`, { aggregateId: sql`b.billing_account_id::text`, id: sql`b.event_id` })})` : sql``},
      entry as (
        insert into ${ledgerEntries} as le (id, billing_account_id, seq, type, amount, currency, balance_after, ref_type, ref_id, reason, actor)
        select b.entry_id, b.billing_account_id, b.entries, ${m.type}, b.delta, b.currency, b.amount, ${m.refType}, b.ref_id, ${m.reason ?? null}, b.actor from b
        returning le.id, le.billing_account_id, le.seq::float8 as seq, le.type, le.amount::float8 as amount, le.currency, le.balance_after::float8 as balance_after,
          le.ref_type, le.ref_id, le.reason, le.actor, le.created_at, le.balance_after::float8 as balance,
          (select b.low_balance_threshold::float8 from b where b.entry_id = le.id) as threshold, (select b.customer_id from b where b.entry_id = le.id) as customer_id)`;
}

/**
 * Credits as CTEs of the caller's statement (a voucher's redemption, or a group of them: the
 * vouchers' update and their credits in one statement). `source` is a CTE of one row per credit,
 * each to a different account, with the columns `billing_account_id`, `amount`, `currency`,
 * `ref_id` (the cause, a text), `entry_id` and `event_id` (the ids the entry and its event take)
 * and `actor`. The ledger entries are the CTE `entry` (id, billing_account_id, balance,
 * customer_id ...); a row whose balance does not take the credit as it stands (none opened yet,
 * or its money past its validity) has none, and the caller credits it the usual way (`credit`),
 * which opens or expires the balance first. A second credit for the same cause fails the
 * statement: `creditRefusal` names it.
 */
export function creditsFrom(source: string, m: Pick<MovementInStatement, 'type' | 'refType' | 'extendValidityDays' | 'reason'>) {
  const s = sql`${sql.identifier(source)}`;
  return movementCtes({ ...m, billingAccountId: sql`${s}.billing_account_id`, actor: sql`${s}.actor`, ids: { entry: sql`${s}.entry_id`, event: sql`${s}.event_id` } }, {
    delta: sql`${s}.amount`, currency: sql`${s}.currency`, refId: sql`${s}.ref_id`, from: s, expiring: false, credited: m.type !== 'usage',
  });
}

/** The refusal a failed `creditsFrom` statement stands for (a duplicate entry), if any. */
export const creditRefusal = (err: unknown, m: Pick<Movement, 'type' | 'refType'>) => duplicateEntry(err, { ...m, refId: 'the source' });

/** A credit's event goes in with the credit's own statement (it is emitted on every credit). */
const creditedInStatement = (m: Movement, delta: number) => delta > 0 && m.type !== 'usage';

/**
 * Events: every movement but usage (rating reports its own; a credit's went in with it), and
 * balance.low once per downward crossing.
 */
async function afterMove(tx: Tx, m: Movement, e: Entry & { balance: number; threshold: number | null; customerId: string }) {
  const base = { billingAccountId: m.billingAccountId, customerId: e.customerId, balance: { amount: e.balance, currency: m.currency } };
  if (m.type !== 'usage' && !creditedInStatement(m, e.amount)) {
    await emit(tx, 'balance.debited', { ...base, entryId: e.id, type: m.type, amount: { amount: Math.abs(e.amount), currency: m.currency } }, { aggregateId: m.billingAccountId });
  }
  if (e.threshold !== null && e.balance < e.threshold && e.balance - e.amount >= e.threshold) {
    await emit(tx, 'balance.low', { ...base, threshold: { amount: e.threshold, currency: m.currency } }, { aggregateId: m.billingAccountId });
  }
}

/**
 * Its account closed (or open again): a closed account's balance takes no new money, whichever way
 * it comes (a voucher's statement, a recharge, a transfer); what the operator owes back (a refund,
 * say of a line's unused fee) is still recorded, to be paid out. Called by the customer core in the
 * transaction that changes the account's status.
 */
export async function setBalanceClosed(tx: Tx, billingAccountId: string, closed: boolean) {
  await tx.update(balances).set({ closedAt: closed ? sql`now()` : null, updatedAt: sql`now()` }).where(eq(balances.billingAccountId, billingAccountId));
}

/** A prepaid account's balance row, made on first use. */
async function openBalance(tx: Tx, billingAccountId: string) {
  // Shared: an account closing meanwhile waits for this balance, and then closes it too (and one closed first is seen so).
  const account = await findBillingAccount(tx, SYSTEM, billingAccountId, { share: true });
  if (!account) throw billingErrors.billing_account_not_found();
  if (account.type !== 'prepaid') throw billingErrors.not_prepaid();
  if (account.status !== 'active') throw billingErrors.account_closed();
  await tx.insert(balances).values({ billingAccountId, customerId: account.customerId, currency: account.currency }).onConflictDoNothing();
}

/** The caller's view of an account's balance (opening it on first look: a new prepaid account holds 0). */
export async function getBalance(db: Db, ctx: Ctx, billingAccountId: string) {
  return db.transaction(async (tx) => {
    const account = await findBillingAccount(tx, ctx, billingAccountId);
    if (!account) throw billingErrors.billing_account_not_found();
    if (account.type !== 'prepaid') throw billingErrors.not_prepaid();
    let [b] = await tx.select().from(balances).where(eq(balances.billingAccountId, billingAccountId));
    if (!b) {
      await openBalance(tx, billingAccountId);
      [b] = await tx.select().from(balances).where(eq(balances.billingAccountId, billingAccountId));
    }
    return b!;
  });
}

export async function listEntries(db: Db, ctx: Ctx, billingAccountId: string, q: { limit: number; before?: number }) {
  if (!(await findBillingAccount(db, ctx, billingAccountId))) throw billingErrors.billing_account_not_found();
  return db.select().from(ledgerEntries)
    .where(and(eq(ledgerEntries.billingAccountId, billingAccountId), q.before !== undefined ? lt(ledgerEntries.seq, q.before) : undefined))
    .orderBy(desc(ledgerEntries.seq)).limit(q.limit + 1);
}

/**
 * Proof that the balance is its ledger: the sum of the entries, the last entry's running balance
 * and the stored balance, read in one snapshot, and whether the running balances chain up.
 */
export async function reconcile(db: Db | Tx, billingAccountId: string) {
  const [r] = await db.execute<{ balance: number | null; counted: number | null; sum: number; count: number; last: number | null; broken: number }>(sql`
    select (select amount::float8 from ${balances} where billing_account_id = ${billingAccountId}) as balance,
      (select entries::int from ${balances} where billing_account_id = ${billingAccountId}) as counted,
      coalesce(sum(amount), 0)::float8 as sum, count(*)::int as count,
      (select balance_after::float8 from ${ledgerEntries} where billing_account_id = ${billingAccountId} order by seq desc limit 1) as last,
      count(*) filter (where balance_after - amount <> coalesce(prev, 0) or seq <> n)::int as broken
    from (select seq, amount, balance_after, lag(balance_after) over (order by seq) as prev, row_number() over (order by seq) as n
          from ${ledgerEntries} where billing_account_id = ${billingAccountId}) e`);
  const balance = r!.balance ?? 0;
  return { balance, entriesSum: r!.sum, entries: r!.count, lastBalanceAfter: r!.last, consistent: balance === r!.sum && (r!.last ?? 0) === balance && r!.broken === 0 && (r!.counted ?? 0) === r!.count };
}

/** Every balance whose ledger does not add up to it: an empty list is the operator's proof. */
export async function reconcileAll(db: Db) {
  return db.execute<{ billingAccountId: string; balance: number; entriesSum: number }>(sql`
    select b.billing_account_id as "billingAccountId", b.amount::float8 as balance, coalesce(e.sum, 0)::float8 as "entriesSum"
    from ${balances} b left join (select billing_account_id, sum(amount) as sum, count(*) as n from ${ledgerEntries} group by 1) e using (billing_account_id)
    where b.amount <> coalesce(e.sum, 0) or b.entries <> coalesce(e.n, 0) limit 1000`);
}

/** Money past its validity leaves the balance, as one expiry entry (under the balance's lock). Whether there was any. */
async function expireIfDue(tx: Tx, billingAccountId: string) {
  const [b] = await tx.select().from(balances)
    .where(and(eq(balances.billingAccountId, billingAccountId), lte(balances.validUntil, sql`now()`), sql`${balances.amount} > 0`)).for('update');
  if (!b) return false;
  await move(tx, {
    billingAccountId, amount: b.amount, currency: b.currency, type: 'expiry', refType: 'validity', refId: `${b.validUntil!.toISOString()}#${b.entries + 1}`,
    reason: 'The balance was not recharged before its validity ended', actor: 'system:billing.expire_balances',
  }, -b.amount, true);
  return true;
}

/** Scheduled: money on balances past their validity expires; an account that fails is logged and left for the next run. */
export async function expireBalances(db: Db, log: { error(meta: Record<string, unknown>, message: string): void }) {
  const failed: string[] = [];
  for (;;) {
    const due = await db.select({ id: balances.billingAccountId }).from(balances)
      .where(and(lt(balances.validUntil, sql`now()`), sql`${balances.amount} > 0`, failed.length ? notInArray(balances.billingAccountId, failed) : undefined))
      .orderBy(balances.validUntil).limit(500);
    for (const { id } of due) {
      try {
        await db.transaction((tx) => expireIfDue(tx, id));
      } catch (err) {
        failed.push(id);
        log.error({ err, billingAccountId: id }, 'expiring a balance failed; it is retried on the next run');
      }
    }
    if (due.length < 500) return;
  }
}
