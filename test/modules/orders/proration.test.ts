import { describe, expect, it } from 'vitest';
import { billingCycle, nextShares, nextStep, prorateAllowances, prorateChange, type PricedItem } from '../../../src/modules/orders/index.js';

const d = (iso: string) => new Date(iso);
const plan = (ref: string, amount: number, currency = 'EUR'): PricedItem => ({ ref, fee: { amount, currency } });
const total = (lines: { amount: number }[]) => lines.reduce((s, l) => s + l.amount, 0);

describe('billingCycle', () => {
  it.each([
    // bill-cycle day, instant, cycle start, cycle end
    [1, '2026-03-15T10:00:00Z', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    [1, '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    [15, '2026-03-14T23:59:59Z', '2026-02-15T00:00:00Z', '2026-03-15T00:00:00Z'],
    [15, '2026-12-20T00:00:00Z', '2026-12-15T00:00:00Z', '2027-01-15T00:00:00Z'],
    [15, '2026-01-02T00:00:00Z', '2025-12-15T00:00:00Z', '2026-01-15T00:00:00Z'],
    // days 29 to 31 fall back to the last day of shorter months
    [31, '2026-02-15T00:00:00Z', '2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z'],
    [31, '2026-02-28T12:00:00Z', '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z'],
    [31, '2026-04-30T00:00:00Z', '2026-04-30T00:00:00Z', '2026-05-31T00:00:00Z'],
    [30, '2026-03-01T00:00:00Z', '2026-02-28T00:00:00Z', '2026-03-30T00:00:00Z'],
    // leap years
    [29, '2028-02-29T08:00:00Z', '2028-02-29T00:00:00Z', '2028-03-29T00:00:00Z'],
    [29, '2027-02-28T08:00:00Z', '2027-02-28T00:00:00Z', '2027-03-29T00:00:00Z'],
    [31, '2028-02-10T00:00:00Z', '2028-01-31T00:00:00Z', '2028-02-29T00:00:00Z'],
  ])('day %i at %s → [%s, %s)', (day, at, start, end) => {
    expect(billingCycle(day, d(at))).toEqual({ start: d(start), end: d(end) });
  });

  it('refuses a day outside 1 to 31', () => {
    for (const day of [0, 32, 1.5]) expect(() => billingCycle(day, d('2026-01-01T00:00:00Z'))).toThrow(RangeError);
    expect(() => billingCycle(1, new Date('not a date'))).toThrow(/valid instant/);
  });
});

describe('prorateChange', () => {
  const march = billingCycle(1, d('2026-03-10T00:00:00Z')); // 31 days
  const feb = billingCycle(1, d('2026-02-10T00:00:00Z')); // 28 days
  const leapFeb = billingCycle(1, d('2028-02-10T00:00:00Z')); // 29 days

  it('credits the unused old plan and charges the rest of the new one, by the second', () => {
    // 10 of 31 days left: 3100 × 10/31 = 1000 and 6200 × 10/31 = 2000.
    const lines = prorateChange({ cycle: march, at: d('2026-03-22T00:00:00Z'), from: plan('A', 3100), to: plan('B', 6200) });
    expect(lines).toEqual([
      { kind: 'credit', ref: 'A', amount: -1000, currency: 'EUR', from: d('2026-03-22T00:00:00Z'), to: d('2026-04-01T00:00:00Z') },
      { kind: 'charge', ref: 'B', amount: 2000, currency: 'EUR', from: d('2026-03-22T00:00:00Z'), to: d('2026-04-01T00:00:00Z') },
    ]);
  });

  it.each([
    // the same day and fee weigh differently in months of different length
    ['31-day month', march, '2026-03-17T00:00:00Z', 3100, 1500], // 15 of 31 days
    ['28-day month', feb, '2026-02-15T00:00:00Z', 2800, 1400], // 14 of 28 days
    ['29-day leap February', leapFeb, '2028-02-15T00:00:00Z', 2900, 1500], // 15 of 29 days
    ['first second of the cycle', march, '2026-03-01T00:00:00Z', 3100, 3100],
    ['last second of the cycle', march, '2026-03-31T23:59:59Z', 3100, 0], // 3100 / 2678400 per second
    ['rounding half away from zero', feb, '2026-02-15T00:00:00Z', 3, 2], // 3 × 14/28 = 1.5
    ['rounding to the nearest', feb, '2026-02-27T12:00:00Z', 999, 54], // 999 × 1.5/28 = 53.52
  ])('%s', (_label, cycle, at, fee, expected) => {
    const [line] = prorateChange({ cycle, at: d(at), to: plan('X', fee) });
    expect(line?.amount ?? 0).toBe(expected);
  });

  it('moving up from a free plan the same day charges only the new plan', () => {
    const lines = prorateChange({ cycle: march, at: d('2026-03-01T09:30:00Z'), from: plan('free', 0), to: plan('B', 3100) });
    expect(lines.map((l) => l.kind)).toEqual(['charge']);
    expect(lines[0]!.amount).toBeLessThanOrEqual(3100);
  });

  it('a downgrade at the next cycle prorates nothing', () => {
    expect(prorateChange({ cycle: march, at: d('2026-03-20T00:00:00Z'), from: plan('B', 6200), to: plan('A', 3100), when: 'next_cycle' })).toEqual([]);
  });

  it('a change and its revert on the same day cost the difference for the hours between, within a cent', () => {
    const t1 = d('2026-03-10T08:00:00Z');
    const t2 = d('2026-03-10T20:00:00Z');
    const lines = [
      ...prorateChange({ cycle: march, at: t1, from: plan('A', 3100), to: plan('B', 9300) }),
      ...prorateChange({ cycle: march, at: t2, from: plan('B', 9300), to: plan('A', 3100) }),
    ];
    const exact = (9300 - 3100) * (12 * 3600) / (31 * 86400); // 12 hours of the difference
    expect(Math.abs(total(lines) - exact)).toBeLessThanOrEqual(1);
  });

  it('a change and its revert at the same instant cancel out exactly', () => {
    const at = d('2026-03-10T08:00:00Z');
    const there = prorateChange({ cycle: march, at, from: plan('A', 3333), to: plan('B', 7777) });
    const back = prorateChange({ cycle: march, at, from: plan('B', 7777), to: plan('A', 3333) });
    expect(total([...there, ...back])).toBe(0);
  });

  it('termination credits the unused part; a new add-on charges the rest of the cycle', () => {
    expect(prorateChange({ cycle: feb, at: d('2026-02-22T00:00:00Z'), from: plan('A', 2800) })).toEqual([
      { kind: 'credit', ref: 'A', amount: -700, currency: 'EUR', from: d('2026-02-22T00:00:00Z'), to: d('2026-03-01T00:00:00Z') },
    ]);
    expect(total(prorateChange({ cycle: feb, at: d('2026-02-22T00:00:00Z'), to: plan('roaming', 1400) }))).toBe(350);
  });

  it('refuses a change outside the cycle, mixed currencies and bad fees', () => {
    expect(() => prorateChange({ cycle: march, at: d('2026-04-01T00:00:00Z'), to: plan('B', 100) })).toThrow(/outside the cycle/);
    expect(() => prorateChange({ cycle: march, at: d('2026-02-28T23:59:59Z'), to: plan('B', 100) })).toThrow(/outside the cycle/);
    expect(() => prorateChange({ cycle: march, at: d('2026-03-05T00:00:00Z'), from: plan('A', 100, 'EUR'), to: plan('B', 100, 'GBP') })).toThrow(/currencies/);
    expect(() => prorateChange({ cycle: march, at: d('2026-03-05T00:00:00Z'), to: plan('B', -1) })).toThrow(/non-negative/);
    expect(() => prorateChange({ cycle: march, at: d('2026-03-05T00:00:00Z'), to: plan('B', 10.5) })).toThrow(/non-negative/);
  });
});

describe('prorateAllowances', () => {
  const march = billingCycle(1, d('2026-03-10T00:00:00Z')); // 31 days
  const feb = billingCycle(1, d('2026-02-10T00:00:00Z')); // 28 days
  it.each([
    ['whole cycle', march, '2026-03-01T00:00:00Z', 3100, 3100],
    ['10 of 31 days', march, '2026-03-22T00:00:00Z', 3100, 1000],
    ['half of February', feb, '2026-02-15T00:00:00Z', 5 * 1024 ** 3, 2.5 * 1024 ** 3],
    ['rounded down', feb, '2026-02-15T00:00:01Z', 2, 0], // just under half of 2
    ['last second', march, '2026-03-31T23:59:59Z', 2_678_400, 1],
  ])('%s', (_label, cycle, at, total, expected) => {
    expect(prorateAllowances({ dataBytes: total }, cycle, d(at))).toEqual({ dataBytes: expected });
  });

  it('leaves unlimited and absent allowances alone, and refuses an instant outside the cycle', () => {
    expect(prorateAllowances({ dataBytes: 'unlimited', smsCount: 100 }, march, d('2026-03-17T00:00:00Z'))).toEqual({ dataBytes: 'unlimited', smsCount: 48 });
    expect(() => prorateAllowances({ smsCount: 1 }, march, d('2026-04-01T00:00:00Z'))).toThrow(RangeError);
  });
});

describe('a discounted fee from cycle to cycle', () => {
  it.each([
    { name: 'no steps: the list fee', steps: null, fee: 3000, left: null },
    { name: 'a step of several cycles gives one and keeps the rest', steps: [{ cycles: 3, amount: 1500 }], fee: 1500, left: [{ cycles: 2, amount: 1500 }] },
    { name: 'the last cycle of a step moves to the next step', steps: [{ cycles: 1, amount: 1000 }, { cycles: null, amount: 2700 }], fee: 1000, left: [{ cycles: null, amount: 2700 }] },
    { name: 'a step for good stays', steps: [{ cycles: null, amount: 2700 }], fee: 2700, left: [{ cycles: null, amount: 2700 }] },
    { name: 'the last step used up: the list fee next time', steps: [{ cycles: 1, amount: 1000 }], fee: 1000, left: null },
  ])('$name', ({ steps, fee, left }) => {
    expect(nextStep(steps, 3000)).toEqual([fee, left]);
  });

  it('usage shares step per type and drop when back at the full rate', () => {
    expect(nextShares({ data: { share: 5000, later: [{ cycles: 1, amount: 5000 }] }, sms: { share: 0, later: [] } }))
      .toEqual({ data: { share: 5000, later: [] } });
    expect(nextShares({ data: { share: 5000, later: [] } })).toBeNull();
    expect(nextShares(null)).toBeNull();
  });
});
