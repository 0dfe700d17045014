import { describe, expect, it } from 'vitest';
import { dunningDue, lastClosedCycle, taxOf, taxRateFor } from '../../../src/modules/billing/invoice-rules.js';

const d = (iso: string) => new Date(iso);

describe('tax', () => {
  it.each([
    [10000, 1900, 1900],
    [1, 1900, 0], // 0.19 → 0
    [3, 1900, 1], // 0.57 → 1
    [250, 2000, 50],
    [25, 2000, 5],
    [-3, 1900, -1], // a credit note's tax rounds the same way, away from zero
    [1234567, 2100, 259259], // 259259.07
    [50, 1000, 5],
    [5, 1000, 1], // 0.5 → 1, half away from zero
    [-5, 1000, -1],
    [0, 1900, 0],
  ])('%i at %i bp → %i', (subtotal, bp, expected) => {
    expect(taxOf(subtotal, bp)).toBe(expected);
  });

  it('finds a country\'s rate, else the default', () => {
    expect(taxRateFor('FR', 'DE:1900,FR:2000', 0)).toBe(2000);
    expect(taxRateFor('IT', 'DE:1900,FR:2000', 2200)).toBe(2200);
    expect(taxRateFor(null, '', 1500)).toBe(1500);
  });
});

describe('bill cycles', () => {
  it.each([
    [1, '2026-03-10T00:00:00Z', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    [1, '2026-03-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'], // the boundary itself: the cycle just ended
    [15, '2026-03-10T00:00:00Z', '2026-01-15T00:00:00Z', '2026-02-15T00:00:00Z'],
    [31, '2026-03-05T00:00:00Z', '2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z'], // short February
    [31, '2028-03-05T00:00:00Z', '2028-01-31T00:00:00Z', '2028-02-29T00:00:00Z'], // leap year
    [1, '2027-01-01T00:00:01Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'], // across the year
  ])('day %i at %s → [%s, %s)', (day, now, start, end) => {
    expect(lastClosedCycle(day, d(now))).toEqual({ start: d(start), end: d(end) });
  });
});

describe('dunning', () => {
  const due = d('2026-03-15T00:00:00Z');
  it.each([
    ['not yet late', '2026-03-16T00:00:00Z', [], []],
    ['first reminder', '2026-03-18T00:00:00Z', [], ['reminder:3']],
    ['both reminders at once after a pause', '2026-03-26T00:00:00Z', [], ['reminder:3', 'reminder:10']],
    ['only what was not taken', '2026-03-26T00:00:00Z', ['reminder:3'], ['reminder:10']],
    ['suspension', '2026-04-05T00:00:00Z', ['reminder:3', 'reminder:10'], ['suspend']],
    ['nothing twice', '2026-04-20T00:00:00Z', ['reminder:3', 'reminder:10', 'suspend'], []],
  ])('%s', (_label, now, taken, expected) => {
    expect(dunningDue(due, d(now), [3, 10], 21, taken)).toEqual(expected);
  });
});
