import type { FeeStep, UsageShares, UsageType } from './order-schemas.js';
/**
 * Billing-cycle and proration rules: pure functions, no I/O. Times are UTC; money is integer minor
 * units. Recurring fees of postpaid lines are charged in advance for the whole cycle at its start,
 * so a change inside a cycle credits the unused part of the old price and charges the rest of the
 * new one, by the second, over the cycle's real length (28 to 31 days).
 */

export interface Money { amount: number; currency: string }
export interface Cycle { start: Date; end: Date } // end exclusive

const DAY = 86_400_000;
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 1) - DAY).getUTCDate();
/** The cycle boundary of a month: the bill-cycle day, or the month's last day when it is shorter. */
const anchor = (year: number, month: number, billCycleDay: number) =>
  new Date(Date.UTC(year, month, Math.min(billCycleDay, daysInMonth(year, month))));

/** The bill cycle that contains `at`, for a bill-cycle day of 1 to 31. */
export function billingCycle(billCycleDay: number, at: Date): Cycle {
  if (!Number.isInteger(billCycleDay) || billCycleDay < 1 || billCycleDay > 31) throw new RangeError(`bill-cycle day ${billCycleDay} is not 1 to 31`);
  if (Number.isNaN(at.getTime())) throw new RangeError('not a valid instant');
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const thisMonth = anchor(y, m, billCycleDay);
  return at >= thisMonth
    ? { start: thisMonth, end: anchor(y, m + 1, billCycleDay) }
    : { start: anchor(y, m - 1, billCycleDay), end: thisMonth };
}

export interface PricedItem {
  /** What the line is about: a plan version or add-on id, for the charge line's reference. */
  ref: string;
  fee: Money;
}

export interface ProrationLine {
  kind: 'credit' | 'charge';
  ref: string;
  /** Negative for a credit. */
  amount: number;
  currency: string;
  from: Date;
  to: Date;
}

/**
 * fee × remaining / length, rounded half away from zero, in exact integer arithmetic: a credit and
 * a charge for the same price at the same instant are always equal and opposite.
 */
function share(fee: number, remainingMs: number, lengthMs: number): number {
  const num = BigInt(fee) * BigInt(remainingMs) * 2n + BigInt(lengthMs);
  return Number(num / (2n * BigInt(lengthMs)));
}

/**
 * The charge lines for replacing `from` by `to` at `at` (either may be absent: a new add-on, a
 * termination). `when: 'next_cycle'` takes effect at the cycle boundary, where nothing is prorated.
 * Zero-amount lines are left out, so moving up from a free plan is only a charge.
 */
export function prorateChange(input: {
  cycle: Cycle;
  at: Date;
  from?: PricedItem | null;
  to?: PricedItem | null;
  when?: 'now' | 'next_cycle';
}): ProrationLine[] {
  const { cycle, at, from, to } = input;
  if ((input.when ?? 'now') === 'next_cycle') return [];
  const length = cycle.end.getTime() - cycle.start.getTime();
  if (length <= 0) throw new RangeError('the cycle ends before it starts');
  if (at < cycle.start || at >= cycle.end) throw new RangeError('the change is outside the cycle');
  if (from && to && from.fee.currency !== to.fee.currency) throw new RangeError(`currencies differ: ${from.fee.currency} and ${to.fee.currency}`);
  for (const item of [from, to]) {
    if (item && (!Number.isSafeInteger(item.fee.amount) || item.fee.amount < 0)) throw new RangeError('a fee is a non-negative integer in minor units');
  }
  // Whole seconds: the issue prorates by the second, and clients send second-precision times.
  const remaining = Math.floor((cycle.end.getTime() - at.getTime()) / 1000) * 1000;
  const lines: ProrationLine[] = [];
  if (from) {
    const amount = share(from.fee.amount, remaining, length);
    if (amount) lines.push({ kind: 'credit', ref: from.ref, amount: -amount, currency: from.fee.currency, from: at, to: cycle.end });
  }
  if (to) {
    const amount = share(to.fee.amount, remaining, length);
    if (amount) lines.push({ kind: 'charge', ref: to.ref, amount, currency: to.fee.currency, from: at, to: cycle.end });
  }
  return lines;
}

type Quantity = number | 'unlimited';

/**
 * A cycle's allowances for the part of it that is left at `at`, by the second and rounded down:
 * a line that starts, or a pack or plan that arrives, mid-cycle gets the share it pays for, so
 * moving up and back down within a cycle never buys a whole allowance for an hour's fee.
 */
export function prorateAllowances<A extends Record<string, Quantity | undefined>>(allowances: A, cycle: Cycle, at: Date): A {
  const length = cycle.end.getTime() - cycle.start.getTime();
  if (length <= 0) throw new RangeError('the cycle ends before it starts');
  if (at < cycle.start || at >= cycle.end) throw new RangeError('the instant is outside the cycle');
  const remaining = BigInt(Math.floor((cycle.end.getTime() - at.getTime()) / 1000) * 1000);
  return Object.fromEntries(Object.entries(allowances).map(([k, q]) =>
    [k, q === 'unlimited' || q === undefined ? q : Number((BigInt(q) * remaining) / BigInt(length))])) as A;
}

export const USAGE_TYPES: UsageType[] = ['data', 'voice', 'sms'];
/** A usage share is counted in ten-thousandths of a rated charge. */
export const FULL = 10_000;

/** The next cycle's price from a list of steps, and the steps left after it; no steps: the list price. */
export function nextStep(steps: FeeStep[] | null | undefined, list: number): [number, FeeStep[] | null] {
  const [first, ...rest] = steps ?? [];
  if (!first) return [list, null];
  if (first.cycles === null) return [first.amount, steps!];
  const left = first.cycles > 1 ? [{ cycles: first.cycles - 1, amount: first.amount }, ...rest] : rest;
  return [first.amount, left.length ? left : null];
}

/** A new cycle's usage shares: each type's next step, dropped when no discount is left on it. */
export function nextShares(shares: UsageShares | null | undefined): UsageShares | null {
  const out: UsageShares = {};
  for (const t of USAGE_TYPES) {
    const s = shares?.[t];
    if (!s) continue;
    const [share, later] = nextStep(s.later, FULL);
    if (share < FULL) out[t] = { share, later: later ?? [] };
  }
  return Object.keys(out).length ? out : null;
}
