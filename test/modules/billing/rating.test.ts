import { describe, expect, it } from 'vitest';
import { applyCaps, type Bucket, discountedCharge, draw, eligibleBuckets, inWindow, priceTiers, rate, type Tier } from '../../../src/modules/billing/rules.js';

const d = (iso: string) => new Date(iso);
const MiB = 1024 ** 2;
const bucket = (id: string, over: Partial<Bucket> = {}): Bucket => ({
  id, usageType: 'data', zone: 'home', fromPack: false, remaining: 100, validFrom: d('2026-03-01T00:00:00Z'), validUntil: d('2026-04-01T00:00:00Z'), ...over,
});
const at = d('2026-03-10T12:00:00Z');
const rec = (quantity: number, over = {}) => ({ usageType: 'data' as const, zone: 'home', quantity, startedAt: at, ...over });

describe('bucket order', () => {
  it('draws packs first, the one expiring first before the others, then the plan', () => {
    const plan = bucket('plan');
    const late = bucket('late-pack', { fromPack: true, validUntil: d('2026-03-20T00:00:00Z') });
    const soon = bucket('soon-pack', { fromPack: true, validUntil: d('2026-03-12T00:00:00Z') });
    expect(eligibleBuckets([plan, late, soon], rec(1)).map((b) => b.id)).toEqual(['soon-pack', 'late-pack', 'plan']);
  });

  it.each([
    ['another usage type', { usageType: 'voice' as const }],
    ['another zone', { zone: 'roaming-eu' }],
    ['not yet valid', { validFrom: d('2026-03-11T00:00:00Z') }],
    ['expired', { validUntil: d('2026-03-10T12:00:00Z') }],
    ['used up', { remaining: 0 }],
    ['outside its window', { timeWindow: { from: '00:00', to: '06:00', timeZone: 'UTC' } }],
  ])('skips a bucket of %s', (_label, over) => {
    expect(eligibleBuckets([bucket('x', over)], rec(1))).toEqual([]);
  });

  it('a roaming record draws only on roaming buckets', () => {
    const roam = bucket('roam', { zone: 'roaming-eu', fromPack: true });
    expect(eligibleBuckets([bucket('plan'), roam], rec(1, { zone: 'roaming-eu' })).map((b) => b.id)).toEqual(['roam']);
  });
});

describe('windows', () => {
  it.each([
    [{ from: '00:00', to: '06:00', timeZone: 'UTC' }, '2026-03-10T05:59:00Z', true],
    [{ from: '00:00', to: '06:00', timeZone: 'UTC' }, '2026-03-10T06:00:00Z', false],
    [{ from: '22:00', to: '06:00', timeZone: 'UTC' }, '2026-03-10T23:30:00Z', true],
    [{ from: '22:00', to: '06:00', timeZone: 'UTC' }, '2026-03-10T12:00:00Z', false],
    // 23:30 UTC is 00:30 in Berlin (winter): inside a 00:00–06:00 Berlin window.
    [{ from: '00:00', to: '06:00', timeZone: 'Europe/Berlin' }, '2026-03-10T23:30:00Z', true],
    // After the spring change (29 March 2026) Berlin is UTC+2: 04:30 UTC is 06:30 local, outside.
    [{ from: '00:00', to: '06:00', timeZone: 'Europe/Berlin' }, '2026-03-30T04:30:00Z', false],
  ])('%j at %s → %s', (w, instant, expected) => {
    expect(inWindow(w, d(instant))).toBe(expected);
  });
});

describe('drawing', () => {
  it('splits a record across buckets exactly, and leaves the rest uncovered', () => {
    const a = bucket('a', { fromPack: true, remaining: 30 });
    const b = bucket('b', { remaining: 50 });
    expect(draw([a, b], 100)).toEqual({ draws: [{ bucketId: 'a', quantity: 30 }, { bucketId: 'b', quantity: 50 }], uncovered: 20 });
    expect([a.remaining, b.remaining]).toEqual([0, 0]);
  });

  it('an unlimited bucket covers everything; an empty draw covers nothing', () => {
    expect(draw([bucket('u', { remaining: null })], 10 ** 12)).toEqual({ draws: [{ bucketId: 'u', quantity: 10 ** 12 }], uncovered: 0 });
    expect(draw([], 5)).toEqual({ draws: [], uncovered: 5 });
  });

  it('records rated one after another see each other\'s consumption', () => {
    const buckets = [bucket('plan', { remaining: 150 })];
    const first = rate(buckets, undefined, 0, rec(100));
    const second = rate(buckets, undefined, 0, rec(100));
    expect([first.chargeable, second.chargeable]).toEqual([0, 50]);
  });
});

describe('charging tiers', () => {
  // First 1 GiB at 2 per MiB, the rest at 1 per MiB.
  const tiers: Tier[] = [{ upTo: 1024 * MiB, unitSize: MiB, pricePerUnit: 2 }, { upTo: null, unitSize: MiB, pricePerUnit: 1 }];
  it.each([
    ['inside the first tier', 0, 10 * MiB, 20],
    ['a started unit is a charged one', 0, 1, 2],
    ['across the tier boundary', 1020 * MiB, 10 * MiB, 4 * 2 + 6 * 1],
    ['wholly in the second tier', 2048 * MiB, 10 * MiB, 10],
    ['nothing chargeable', 0, 0, 0],
  ])('%s', (_label, before, quantity, expected) => {
    expect(priceTiers(tiers, before, quantity)).toBe(expected);
  });

  it('a single open tier prices per unit; per-second voice rounds each record up to the minute', () => {
    expect(priceTiers([{ upTo: null, unitSize: 1, pricePerUnit: 10 }], 0, 3)).toBe(30);
    expect(priceTiers([{ upTo: null, unitSize: 60, pricePerUnit: 9 }], 0, 61)).toBe(18);
  });

  it('a record is drawn first and only the rest is priced', () => {
    const buckets = [bucket('pack', { fromPack: true, zone: 'roaming-eu', remaining: 5 * MiB })];
    expect(rate(buckets, tiers, 0, rec(8 * MiB, { zone: 'roaming-eu' }))).toEqual({ draws: [{ bucketId: 'pack', quantity: 5 * MiB }], chargeable: 3 * MiB, amount: 6 });
  });
});

describe('caps', () => {
  it.each([
    ['within the allowance: nothing to cap', { chargeable: 0, amount: 0 }, { behaviour: 'block' as const, spent: 0, spendCap: null }, { amount: 0, hits: [] }],
    ['past the allowance, block: not charged, cap hit', { chargeable: 10, amount: 20 }, { behaviour: 'block' as const, spent: 0, spendCap: null }, { amount: 0, hits: ['allowance'] }],
    ['past the allowance, throttle: not charged, cap hit', { chargeable: 10, amount: 20 }, { behaviour: 'throttle' as const, spent: 0, spendCap: 100 }, { amount: 0, hits: ['allowance'] }],
    ['past the allowance, charge on: charged', { chargeable: 10, amount: 20 }, { behaviour: 'charge_on' as const, spent: 0, spendCap: null }, { amount: 20, hits: [] }],
    ['spend cap not reached', { chargeable: 10, amount: 20 }, { behaviour: 'charge_on' as const, spent: 50, spendCap: 100 }, { amount: 20, hits: [] }],
    ['spend cap reached exactly', { chargeable: 10, amount: 50 }, { behaviour: 'charge_on' as const, spent: 50, spendCap: 100 }, { amount: 50, hits: ['spend_cap'] }],
    ['spend cap crossed: charged up to it', { chargeable: 10, amount: 80 }, { behaviour: 'charge_on' as const, spent: 50, spendCap: 100 }, { amount: 50, hits: ['spend_cap'] }],
    ['spend cap already spent', { chargeable: 10, amount: 80 }, { behaviour: 'charge_on' as const, spent: 100, spendCap: 100 }, { amount: 0, hits: ['spend_cap'] }],
  ])('%s', (_label, r, o, expected) => {
    expect(applyCaps({ ...r, usageType: 'data' }, o)).toEqual(expected);
  });

  it('a plan\'s cap governs data only: voice and SMS past their allowance are priced', () => {
    expect(applyCaps({ usageType: 'sms', chargeable: 1, amount: 10 }, { behaviour: 'block', spent: 0, spendCap: null })).toEqual({ amount: 10, hits: [] });
    expect(applyCaps({ usageType: 'voice', chargeable: 60, amount: 9 }, { behaviour: 'throttle', spent: 0, spendCap: 5 })).toEqual({ amount: 5, hits: ['spend_cap'] });
  });
});

describe('usage discounts', () => {
  it.each([
    { amount: 100, share: undefined, charged: 100 },
    { amount: 100, share: 5000, charged: 50 },
    { amount: 101, share: 5000, charged: 51 }, // the reduction rounds down: 50.5 off becomes 50
    { amount: 7, share: 7500, charged: 6 },
    { amount: 100, share: 0, charged: 0 },
    { amount: 0, share: 5000, charged: 0 },
  ])('$amount at a share of $share is $charged', ({ amount, share, charged }) => {
    expect(discountedCharge(amount, share)).toBe(charged);
  });
});
