import { describe, expect, it } from 'vitest';
import { type Context, type DiscountDef, ineligibility, laterSteps, priceItem, priceOrder, type PricedItem, reduction } from '../../../src/modules/vouchers/discount-rules.js';

const d = (id: string, over: Partial<DiscountDef> = {}): DiscountDef => ({
  id, name: id, code: null, kind: 'percentage', value: 1000, currency: null, target: { charge: 'recurring_fee' }, eligibility: {},
  window: { from: null, until: null, cycles: null }, stacking: 'stackable', group: null, priority: 0,
  budget: { maxRedemptions: null, redemptions: 0, maxPerCustomer: null }, ...over,
});
const fee: PricedItem = { ref: 'plan', charge: 'recurring_fee', amount: 2000, currency: 'EUR', planCode: 'L' };
const pack: PricedItem = { ref: 'pack', charge: 'one_off', amount: 500, currency: 'EUR', addOnCode: 'ROAM-EU' };
const ctx = (over: Partial<Context> = {}): Context => ({
  at: new Date('2026-06-15T12:00:00Z'), segment: 'consumer', newCustomer: false, channel: 'web', codes: [], customerUses: {}, ...over,
});
const applied = (p: ReturnType<typeof priceItem>) => p.decisions.filter((x) => x.applied).map((x) => [x.discountId, x.amount]);

describe('which discounts combine', () => {
  it.each([
    {
      name: 'an exclusive and a stackable promotion on the same order: the higher-ranked exclusive one applies alone',
      discounts: [d('stack10', { priority: 1 }), d('excl25', { value: 2500, stacking: 'exclusive', priority: 5 })], final: 1500, applied: [['excl25', 500]],
    },
    {
      name: 'the same two, the stackable one ranked higher: it applies and the exclusive one is left out',
      discounts: [d('stack10', { priority: 5 }), d('excl25', { value: 2500, stacking: 'exclusive', priority: 1 })], final: 1800, applied: [['stack10', 200]],
    },
    {
      name: 'stackable ones apply one after another on what is left',
      discounts: [d('a10', { priority: 2 }), d('b500', { kind: 'fixed', value: 500, currency: 'EUR', priority: 1 })], final: 1300, applied: [['a10', 200], ['b500', 500]],
    },
    {
      name: 'the fixed one first when it ranks higher (a different price: order matters, and priority decides it)',
      discounts: [d('a10', { priority: 1 }), d('b500', { kind: 'fixed', value: 500, currency: 'EUR', priority: 2 })], final: 1350, applied: [['b500', 500], ['a10', 150]],
    },
    {
      name: 'one discount per group: the higher-ranked one',
      discounts: [d('summer', { group: 'seasonal', priority: 3 }), d('winter', { group: 'seasonal', value: 5000, priority: 2 }), d('loyal', { priority: 1 })],
      final: 1620, applied: [['summer', 200], ['loyal', 180]],
    },
    {
      name: 'equal priority is decided by id, the same way every time',
      discounts: [d('zz', { stacking: 'exclusive', value: 5000 }), d('aa', { stacking: 'exclusive', value: 1000 })], final: 1800, applied: [['aa', 200]],
    },
    {
      name: 'never below zero',
      discounts: [d('big', { kind: 'fixed', value: 5000, currency: 'EUR', priority: 2 }), d('pct', { priority: 1 })], final: 0, applied: [['big', 2000]],
    },
    { name: 'no discount, no change', discounts: [], final: 2000, applied: [] },
  ])('$name', ({ discounts, final, applied: expected }) => {
    const p = priceItem(fee, discounts, ctx());
    expect(p.final).toBe(final);
    expect(applied(p)).toEqual(expected);
    expect(p.discount).toBe(2000 - final);
    // Every discount gets a decision with a reason, applied or not.
    expect(p.decisions.map((x) => x.discountId).sort()).toEqual(discounts.map((x) => x.id).sort());
    expect(p.decisions.every((x) => x.reason.length > 0)).toBe(true);
  });

  it('explains a left-out discount by naming the one that won', () => {
    const p = priceItem(fee, [d('stack10', { priority: 1 }), d('excl25', { name: 'Spring 25 %', value: 2500, stacking: 'exclusive', priority: 5 })], ctx());
    expect(p.decisions.find((x) => x.discountId === 'stack10')!.reason).toBe('Not combined: Spring 25 % ranks higher and applies alone');
  });
});

describe('which discounts an item can take', () => {
  it.each([
    { name: 'a code not entered', def: d('x', { code: 'SPRING' }), c: ctx(), why: 'its promotion code was not entered' },
    { name: 'a code entered in another case', def: d('x', { code: 'SPRING' }), c: ctx({ codes: ['spring'] }), why: null },
    { name: 'another kind of charge', def: d('x', { target: { charge: 'one_off' } }), c: ctx(), why: 'it is for one-off charges' },
    { name: 'another plan', def: d('x', { target: { charge: 'recurring_fee', planCodes: ['XL'] } }), c: ctx(), why: 'it is for plans XL' },
    { name: 'a fixed amount in another currency', def: d('x', { kind: 'fixed', value: 100, currency: 'GBP' }), c: ctx(), why: 'it is in GBP' },
    { name: 'another segment', def: d('x', { eligibility: { segments: ['vip'] } }), c: ctx(), why: 'it is for vip customers' },
    { name: 'new customers only', def: d('x', { eligibility: { newCustomersOnly: true } }), c: ctx(), why: 'it is for new customers' },
    { name: 'new customers only, and new', def: d('x', { eligibility: { newCustomersOnly: true } }), c: ctx({ newCustomer: true }), why: null },
    { name: 'another channel', def: d('x', { eligibility: { channels: ['shop'] } }), c: ctx(), why: 'it is sold through shop' },
    { name: 'not started', def: d('x', { window: { from: new Date('2026-07-01T00:00:00Z'), until: null, cycles: null } }), c: ctx(), why: 'it starts on 2026-07-01T00:00:00.000Z' },
    { name: 'ended (the end is exclusive)', def: d('x', { window: { from: null, until: new Date('2026-06-15T12:00:00Z'), cycles: null } }), c: ctx(), why: 'it ended on 2026-06-15T12:00:00.000Z' },
    { name: 'past its cycles', def: d('x', { window: { from: null, until: null, cycles: 3 } }), c: ctx({ cycle: 4 }), why: 'it lasts 3 cycle(s)' },
    { name: 'in its last cycle', def: d('x', { window: { from: null, until: null, cycles: 3 } }), c: ctx({ cycle: 3 }), why: null },
    { name: 'budget used up', def: d('x', { budget: { maxRedemptions: 100, redemptions: 100, maxPerCustomer: null } }), c: ctx(), why: 'its budget is used up' },
    { name: 'per customer used up', def: d('x', { budget: { maxRedemptions: null, redemptions: 0, maxPerCustomer: 1 } }), c: ctx({ customerUses: { x: 1 } }), why: 'this customer has had it as often as it allows' },
  ])('$name', ({ def, c, why }) => {
    expect(ineligibility(def, fee, c)).toBe(why);
  });

  it('a pack discount targets packs by code', () => {
    const roam = d('roam', { target: { charge: 'one_off', addOnCodes: ['ROAM-EU'] }, value: 5000 });
    expect(priceItem(pack, [roam], ctx()).final).toBe(250);
    expect(priceItem({ ...pack, addOnCode: 'NIGHT' }, [roam], ctx()).final).toBe(500);
  });

  it('a discount with nothing left to take off is not taken (its budget stays), and says so', () => {
    const p = priceItem({ ...fee, amount: 0 }, [d('pct')], ctx());
    expect(p.decisions).toEqual([{ discountId: 'pct', name: 'pct', applied: false, amount: 0, reason: 'Not applicable: nothing is left for it to take off' }]);
    expect(priceOrder([{ ...fee, amount: 0 }], [d('pct')], ctx()).used).toEqual([]);
    const capped = priceItem({ ...fee, amount: 300 }, [d('fix', { kind: 'fixed', value: 500, currency: 'EUR' })], ctx());
    expect(capped.decisions[0]!.reason).toBe('300 off (of 500: the rest was less) (priority 0)');
  });

  it('a percentage rounds down to the minor unit', () => {
    expect(reduction(d('x', { value: 333 }), 999)).toBe(33);
  });

  it('an order: each item priced on its own; the discounts used are listed once', () => {
    const o = priceOrder([fee, pack], [d('all', { target: { charge: 'recurring_fee' } }), d('roam', { target: { charge: 'one_off' }, value: 5000 })], ctx());
    expect(o).toMatchObject({ total: 1800 + 250, discount: 200 + 250, used: ['all', 'roam'] });
  });
});

describe('what later cycles cost', () => {
  const later = (discounts: DiscountDef[], item: PricedItem = fee) => laterSteps(priceItem(item, discounts, ctx()), discounts, ctx());
  it.each([
    { name: 'a one-cycle discount: the list fee from the second cycle', discounts: [d('once', { value: 5000, window: { from: null, until: null, cycles: 1 } })], steps: [] },
    { name: 'three cycles: two more at the discounted fee', discounts: [d('three', { value: 5000, window: { from: null, until: null, cycles: 3 } })], steps: [{ cycles: 2, amount: 1000 }] },
    { name: 'no end: for good', discounts: [d('forever')], steps: [{ cycles: null, amount: 1800 }] },
    {
      name: 'stacked, 2 and 4 cycles: both, then the longer one alone, then the list fee',
      discounts: [d('a', { value: 5000, priority: 2, window: { from: null, until: null, cycles: 2 } }), d('b', { priority: 1, window: { from: null, until: null, cycles: 4 } })],
      steps: [{ cycles: 1, amount: 900 }, { cycles: 2, amount: 1800 }],
    },
    {
      name: 'an exclusive discount that beat a stackable one: the stackable one does not join when it ends',
      discounts: [d('excl', { value: 5000, stacking: 'exclusive', priority: 5, window: { from: null, until: null, cycles: 2 } }), d('stack', { priority: 1 })],
      steps: [{ cycles: 1, amount: 1000 }],
    },
    {
      name: 'a budget spent by the order itself does not end the discount in later cycles',
      discounts: [d('last', { value: 5000, window: { from: null, until: null, cycles: 3 }, budget: { maxRedemptions: 1, redemptions: 0, maxPerCustomer: 1 } })],
      steps: [{ cycles: 2, amount: 1000 }],
    },
  ])('$name', ({ discounts, steps }) => {
    expect(later(discounts)).toEqual(steps);
  });

  it('a one-off charge has no later cycles; a usage rate steps like a fee', () => {
    expect(later([d('p', { target: { charge: 'one_off' } })], pack)).toEqual([]);
    const rate: PricedItem = { ref: 'data', charge: 'usage', usageType: 'data', amount: 10_000, currency: 'EUR', rate: true };
    expect(later([d('u', { value: 2500, target: { charge: 'usage', usageType: 'data' }, window: { from: null, until: null, cycles: 2 } })], rate)).toEqual([{ cycles: 1, amount: 7500 }]);
    expect(priceOrder([fee, rate], [d('u', { value: 2500, target: { charge: 'usage' } })], ctx())).toMatchObject({ total: 2000, discount: 0 });
    // A fixed usage discount (made before they were refused) means nothing on a rate: not taken.
    const fixed = priceItem(rate, [d('f', { kind: 'fixed', value: 9000, currency: 'EUR', target: { charge: 'usage' } })], ctx());
    expect(fixed).toMatchObject({ final: 10_000, decisions: [{ applied: false, reason: 'Not applicable: a usage rate takes percentages only' }] });
  });
});
