/** Bill-run and dunning rules: pure, no I/O. Money in integer minor units, rates in basis points. */
import { billingCycle, type Cycle } from '../orders/index.js';

const DAY = 86_400_000;

/** Tax on a subtotal, rounded half away from zero to the minor unit, in exact integer arithmetic. */
export function taxOf(subtotal: number, rateBp: number): number {
  const sign = subtotal < 0 ? -1n : 1n;
  const abs = BigInt(Math.abs(subtotal)) * BigInt(rateBp);
  return Number(sign * ((abs * 2n + 10_000n) / 20_000n));
}

/** "DE:1900,FR:2000" → the rate of a country, or the default. */
export function taxRateFor(country: string | null, table: string, fallbackBp: number): number {
  for (const entry of table.split(',').filter(Boolean)) {
    const [code, bp] = entry.split(':');
    if (code === country) return Number(bp);
  }
  return fallbackBp;
}

/** The last bill cycle that has ended at `now`, for a bill-cycle day. */
export function lastClosedCycle(billCycleDay: number, now: Date): Cycle {
  const current = billingCycle(billCycleDay, now);
  return billingCycle(billCycleDay, new Date(current.start.getTime() - 1));
}

/**
 * The dunning steps due for an unpaid invoice and not yet taken: a reminder N days after the due
 * date for each configured N, then suspension. Steps are named ("reminder:3", "suspend").
 */
export function dunningDue(dueAt: Date, now: Date, reminderDays: number[], suspendDays: number, taken: string[]): string[] {
  const late = (now.getTime() - dueAt.getTime()) / DAY;
  const steps = [...reminderDays.filter((d) => late >= d).map((d) => `reminder:${d}`), ...(late >= suspendDays ? ['suspend'] : [])];
  return steps.filter((s) => !taken.includes(s));
}
