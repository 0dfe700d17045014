import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activeAddOn, activePlan, customerWithAccount, fulfilled, reachCycleEnd, stock } from '../orders/fixtures.js';

let t: TestApp;
let marketing: ReturnType<typeof asCaller>;
let csr: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
});
afterAll(async () => { await t.close(); });

let seq = 0;
const unique = (prefix: string) => `${prefix}${process.pid}X${++seq}`;
const discount = async (body: Record<string, unknown>) => (await marketing.post('/v1/discounts').send({ kind: 'percentage', value: 1000, target: { charge: 'recurring_fee' }, ...body }).expect(201)).body;
const planFee = (planCode: string, amount = 2000) => ({ ref: 'item-1', charge: 'recurring_fee', amount, currency: 'EUR', planCode });
let key = 0;
const apply = (body: Record<string, unknown>) => csr.post('/v1/discount-applications').set('idempotency-key', `apply-${process.pid}-${++key}`).send({ channel: 'csr', ...body });

describe('discounts and promotions', () => {
  it('an exclusive promotion code and an automatic stackable discount on the same order: the quote says which applied and why', async () => {
    const plan = unique('PLAN');
    const auto = await discount({ name: 'Loyalty 10 %', target: { charge: 'recurring_fee', planCodes: [plan] }, priority: 1 });
    const code = unique('SPRING');
    const spring = await discount({ name: 'Spring 25 %', code, value: 2500, stacking: 'exclusive', priority: 5, target: { charge: 'recurring_fee', planCodes: [plan] } });
    const { customerId } = await customerWithAccount(t);

    // One currency an order, and each item named once.
    const mixed = await csr.post('/v1/price-quotes').send({ customerId, channel: 'csr', items: [planFee(plan), { ...planFee(plan), ref: 'yen', currency: 'JPY' }] }).expect(400);
    expect(mixed.body.errors).toMatchObject([{ path: 'body.items.1.currency', message: 'all items in one currency (the first is in EUR)' }]);
    expect((await csr.post('/v1/price-quotes').send({ customerId, channel: 'csr', items: [planFee(plan), planFee(plan)] }).expect(400)).body.errors[0].path).toBe('body.items.1.ref');
    const plain = (await csr.post('/v1/price-quotes').send({ customerId, channel: 'csr', items: [planFee(plan)] }).expect(200)).body;
    expect(plain).toMatchObject({ total: 1800, discount: 200, used: [auto.id], unknownCodes: [] });

    const withCode = (await csr.post('/v1/price-quotes').send({ customerId, channel: 'csr', promotionCodes: [code.toLowerCase(), 'NOSUCH'], items: [planFee(plan)] }).expect(200)).body;
    expect(withCode).toMatchObject({ total: 1500, discount: 500, used: [spring.id], unknownCodes: ['NOSUCH'] });
    const decisions = withCode.items[0].decisions;
    expect(decisions.find((d: { discountId: string }) => d.discountId === spring.id)).toMatchObject({ applied: true, amount: 500 });
    expect(decisions.find((d: { discountId: string }) => d.discountId === auto.id)).toMatchObject({ applied: false, reason: 'Not combined: Spring 25 % ranks higher and applies alone' });
  });

  it('a budget of 10 orders holds when 30 orders arrive at once; once per customer holds too', async () => {
    const plan = unique('PLAN');
    const code = unique('FIRST10');
    const promo = await discount({ name: 'First ten', code, value: 5000, maxRedemptions: 10, target: { charge: 'recurring_fee', planCodes: [plan] } });
    const customers = await Promise.all(Array.from({ length: 30 }, () => customerWithAccount(t)));
    const results = await Promise.all(customers.map(({ customerId }, i) => apply({ customerId, orderRef: unique(`order-${i}-`), promotionCodes: [code], items: [planFee(plan)] })));
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(201));
    const discounted = results.filter((r) => r.body.discountIds.includes(promo.id));
    expect(discounted).toHaveLength(10);
    expect(discounted.every((r) => r.body.total === 1000)).toBe(true);
    const refused = results.find((r) => !r.body.discountIds.includes(promo.id))!.body;
    expect(refused.items[0].decisions.find((d: { discountId: string }) => d.discountId === promo.id)).toMatchObject({ applied: false, reason: 'Not applicable: its budget is used up' });
    expect((await marketing.get(`/v1/discounts/${promo.id}`).expect(200)).body.redemptions).toBe(10);

    const once = await discount({ name: 'Welcome', code: unique('WELCOME'), kind: 'fixed', value: 300, currency: 'EUR', maxPerCustomer: 1, target: { charge: 'recurring_fee', planCodes: [plan] } });
    const { customerId } = customers[0]!;
    const first = (await apply({ customerId, orderRef: unique('o-'), promotionCodes: [once.code], items: [planFee(plan)] }).expect(201)).body;
    const second = (await apply({ customerId, orderRef: unique('o-'), promotionCodes: [once.code], items: [planFee(plan)] }).expect(201)).body;
    expect([first.discount, second.discount]).toEqual([300, 0]);
    expect(second.items[0].decisions.find((d: { discountId: string }) => d.discountId === once.id).reason).toBe('Not applicable: this customer has had it as often as it allows');
    // The same order priced twice is refused, not priced twice.
    expect((await apply({ customerId, orderRef: first.orderRef, promotionCodes: [], items: [planFee(plan)] }).expect(409)).body.code).toBe('order_already_priced');
  });

  it('new customers only: a customer with a line is not new; a pack discount targets packs; the kept pricing explains itself to its customer', async () => {
    const plan = unique('PLAN');
    await discount({ name: 'New here', value: 10_000, eligibility: { newCustomersOnly: true }, target: { charge: 'recurring_fee', planCodes: [plan] } });
    await discount({ name: 'Roaming half price', value: 5000, target: { charge: 'one_off', addOnCodes: ['ROAM-EU'] } });
    const fresh = await customerWithAccount(t, 'prepaid');
    const catalogPlan = await activePlan(t, { kind: 'prepaid', fee: 0 });
    await stock(t, 1);
    const old = await customerWithAccount(t, 'prepaid');
    await fulfilled(t, { type: 'new_line', billingAccountId: old.accountId, planId: catalogPlan.id });
    const items = [planFee(plan), { ref: 'item-2', charge: 'one_off', amount: 900, currency: 'EUR', addOnCode: 'ROAM-EU' }];
    const forNew = (await apply({ customerId: fresh.customerId, orderRef: unique('o-'), items }).expect(201)).body;
    const forOld = (await apply({ customerId: old.customerId, orderRef: unique('o-'), items }).expect(201)).body;
    expect([forNew.total, forOld.total]).toEqual([0 + 450, 2000 + 450]);
    expect(forOld.items[0].decisions.find((d: { name: string }) => d.name === 'New here').reason).toBe('Not applicable: it is for new customers');

    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: fresh.customerId }));
    // Priced by a CSR: the customer reads that staff did, not which member of staff.
    expect(forNew.createdBy).toMatch(/^staff:.+/);
    expect((await customer.get(`/v1/discount-applications/${forNew.id}`).expect(200)).body).toMatchObject({ id: forNew.id, total: 450, createdBy: 'staff' });
    expect((await customer.get(`/v1/discount-applications/${forOld.id}`).expect(404)).body.code).toBe('application_not_found');
    await customer.post('/v1/price-quotes').send({ customerId: fresh.customerId, channel: 'app', items }).expect(200);
    expect((await customer.post('/v1/price-quotes').send({ customerId: old.customerId, channel: 'app', items }).expect(404)).body.code).toBe('customer_not_found');
  });

  it('who may do what, and bad definitions', async () => {
    await csr.post('/v1/discounts').send({ name: 'x', kind: 'percentage', value: 100, target: { charge: 'usage' } }).expect(403);
    await marketing.post('/v1/discount-applications').set('idempotency-key', 'k-mkt').send({}).expect(403);
    const { customerId } = await customerWithAccount(t);
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await customer.post('/v1/discount-applications').set('idempotency-key', 'k-cust').send({ customerId, channel: 'app', orderRef: 'x', items: [planFee('L')] }).expect(403);
    await customer.get('/v1/discounts').expect(403);
    expect((await csr.post('/v1/discount-applications').send({ customerId, channel: 'csr', orderRef: 'x', items: [planFee('L')] }).expect(400)).body.code).toBe('idempotency_key_required');
    const bad = [
      { name: 'x', kind: 'percentage', value: 20_000, target: { charge: 'usage' } },
      { name: 'x', kind: 'fixed', value: 100, target: { charge: 'usage' } },
      { name: 'x', kind: 'fixed', value: 100, currency: 'EUR', target: { charge: 'usage' } },
      { name: 'x', kind: 'percentage', value: 100, cycles: 2, target: { charge: 'one_off' } },
      { name: 'x', kind: 'percentage', value: 100, target: { charge: 'usage' }, validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' },
      { name: 'x', kind: 'percentage', value: 100, target: { charge: 'tax' } },
    ];
    for (const body of bad) expect((await marketing.post('/v1/discounts').send(body).expect(400)).body.code).toBe('validation_failed');
    const code = unique('DUP');
    await discount({ name: 'One', code });
    expect((await marketing.post('/v1/discounts').send({ name: 'Two', code: code.toLowerCase(), kind: 'percentage', value: 100, target: { charge: 'usage' } }).expect(409)).body.code).toBe('discount_code_taken');
    const retired = await discount({ name: 'Gone', code: unique('GONE') });
    await marketing.post(`/v1/discounts/${retired.id}/retire`).expect(200);
    const q = (await csr.post('/v1/price-quotes').send({ customerId, channel: 'csr', promotionCodes: [retired.code], items: [planFee('L')] }).expect(200)).body;
    expect(q.unknownCodes).toEqual([retired.code]);
  });

  it('a promotion code entered on an order lowers the fee charged; a code that lowers nothing refuses the order; a cancelled order gives the budget back', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
    const pack = await activeAddOn(t, { fee: 1000 });
    await stock(t, 1);
    const { accountId, customerId } = await customerWithAccount(t, 'prepaid');
    const { lineId } = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const code = unique('PACK40');
    const promo = await discount({ name: 'Pack 40 %', code, value: 4000, maxRedemptions: 5, target: { charge: 'one_off', addOnCodes: [pack.code] } });
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));

    const order = (await customer.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: pack.id, promotionCodes: [code] }).expect(201)).body;
    expect(order.items[0]).toMatchObject({ kind: 'add_on', fee: { amount: 600, currency: 'EUR' }, listFee: { amount: 1000, currency: 'EUR' }, discountApplicationId: expect.any(String) });
    const why = (await customer.get(`/v1/discount-applications/${order.items[0].discountApplicationId}`).expect(200)).body;
    expect(why).toMatchObject({ orderRef: order.id, channel: 'app', discount: 400, discountIds: [promo.id] });
    await t.runJobs();
    const charges = (await t.http.get(`/v1/lines/${lineId}/charges`).expect(200)).body.items;
    expect(charges.filter((c: { orderId: string }) => c.orderId === order.id).map((c: { amount: number }) => c.amount)).toEqual([600]);

    expect((await customer.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: pack.id, promotionCodes: ['NOSUCHCODE'] }).expect(422)).body.code).toBe('unknown_promotion_code');
    const planCode = unique('PLANONLY');
    await discount({ name: 'Plans only', code: planCode, target: { charge: 'recurring_fee' } });
    const refused = await customer.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: pack.id, promotionCodes: [planCode] }).expect(422);
    expect(refused.body).toMatchObject({ code: 'promotion_code_not_applicable', detail: `${planCode}: Not applicable: it is for recurring-fee charges` });

    // A second order with the code, cancelled before fulfilment: its use goes back to the budget.
    const second = (await customer.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: pack.id, promotionCodes: [code] }).expect(201)).body;
    expect((await marketing.get(`/v1/discounts/${promo.id}`).expect(200)).body.redemptions).toBe(2);
    await customer.post(`/v1/orders/${second.id}/cancel`).send({ reason: 'Changed my mind' }).expect(200);
    await t.runJobs();
    expect((await marketing.get(`/v1/discounts/${promo.id}`).expect(200)).body.redemptions).toBe(1);
    await t.runJobs();
    expect((await marketing.get(`/v1/discounts/${promo.id}`).expect(200)).body.redemptions).toBe(1);
  });

});

describe('what a discounted fee gives back', () => {
  it('a plan bought at half price and ended at once credits the half price, not the list fee', async () => {
    const plan = await activePlan(t, { kind: 'postpaid', fee: 3000 });
    const code = unique('HALF');
    await discount({ name: 'Half price', code, value: 5000, target: { charge: 'recurring_fee', planCodes: [plan.code] } });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'postpaid');
    const order = (await csr.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id, promotionCodes: [code] }).expect(201)).body;
    expect(order.items[0]).toMatchObject({ fee: { amount: 1500 }, listFee: { amount: 3000 } });
    await t.runJobs();
    const { lineId } = (await t.http.get(`/v1/orders/${order.id}`).expect(200)).body;
    await t.http.post('/v1/orders').send({ type: 'terminate', lineId, reason: 'Changed my mind' }).expect(201);
    await t.runJobs();
    const charges = (await t.http.get(`/v1/lines/${lineId}/charges`).expect(200)).body.items as { amount: number }[];
    const charged = charges.filter((c) => c.amount > 0).reduce((n, c) => n + c.amount, 0);
    const credited = -charges.filter((c) => c.amount < 0).reduce((n, c) => n + c.amount, 0);
    expect(charged).toBeGreaterThan(0);
    // Credited from the 1500 it was charged on: never more than was charged.
    expect(credited).toBeLessThanOrEqual(charged);
    expect(charged - credited).toBeLessThanOrEqual(2);
  });
});

describe('discounts that last several cycles', () => {
  const MiB = 1024 ** 2;
  /** What 100 MiB past an empty allowance costs the number now: 100 cents at the plan's rate, less any usage discount. */
  const dataCharge = async (msisdn: string) => {
    const mediation = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['usage:ingest'] }));
    return (await mediation.post('/v1/usage/batches').send({
      records: [{ recordId: unique('cdr-'), msisdn, usageType: 'data', zone: 'home', quantity: 100 * MiB, startedAt: new Date().toISOString() }],
    }).expect(200)).body.charges[0].amount as number;
  };
  const planFees = async (lineId: string) => ((await t.http.get(`/v1/lines/${lineId}/charges?limit=100`).expect(200)).body.items as { description: string; amount: number; periodFrom: string }[])
    .filter((c) => c.description === 'Plan fee for the cycle').sort((a, b) => a.periodFrom.localeCompare(b.periodFrom)).map((c) => c.amount);

  it('a plan at half price for 3 cycles and data at half rate for 2: the renewals charge the steps, then the list price', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 3000, dataGiB: 0 });
    const code = unique('HALF3');
    await discount({ name: 'Half price, 3 months', code, value: 5000, cycles: 3, target: { charge: 'recurring_fee', planCodes: [plan.code] } });
    await discount({ name: 'Data at half rate, 2 months', value: 5000, cycles: 2, target: { charge: 'usage', usageType: 'data', planCodes: [plan.code] } });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', unique('rc-')).send({ amount: { amount: 50_000, currency: 'EUR' } }).expect(201);
    const order = (await csr.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id, promotionCodes: [code] }).expect(201)).body;
    expect(order.items[0]).toMatchObject({
      fee: { amount: 1500 }, listFee: { amount: 3000 }, laterFees: [{ cycles: 2, amount: 1500 }],
      usageShares: { data: { share: 5000, later: [{ cycles: 1, amount: 5000 }] } },
    });
    // The kept pricing explains the usage rate too (a rate, left out of the totals).
    const pricing = (await csr.get(`/v1/discount-applications/${order.items[0].discountApplicationId}`).expect(200)).body;
    expect(pricing).toMatchObject({ total: 1500, discount: 1500 });
    expect(pricing.items.find((p: { item: { ref: string } }) => p.item.ref === '0:data')).toMatchObject({ item: { rate: true, usageType: 'data' }, final: 5000 });
    await t.runJobs();
    const { lineId } = (await t.http.get(`/v1/orders/${order.id}`).expect(200)).body;
    const { msisdn } = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;

    const usage = [await dataCharge(msisdn)];
    for (let cycle = 2; cycle <= 4; cycle++) {
      await reachCycleEnd(t, lineId);
      usage.push(await dataCharge(msisdn));
    }
    expect(await planFees(lineId)).toEqual([1500, 1500, 1500, 3000]);
    expect(usage).toEqual([50, 50, 100, 100]);
  });

  it('a discount for good stays; stacked ones with different lengths step down one at a time', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 2000 });
    await discount({ name: 'Loyal for good', value: 1000, target: { charge: 'recurring_fee', planCodes: [plan.code] } });
    const code = unique('TWO');
    await discount({ name: 'Two months 50 %', code, value: 5000, cycles: 2, target: { charge: 'recurring_fee', planCodes: [plan.code] } });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    const order = (await csr.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id, promotionCodes: [code] }).expect(201)).body;
    // 2000 less 50 % (the code ranks with the loyalty one by id; both stack): then 10 % alone, for good.
    expect(order.items[0].laterFees).toEqual([{ cycles: 1, amount: order.items[0].fee.amount }, { cycles: null, amount: 1800 }]);
    await t.runJobs();
    const { lineId } = (await t.http.get(`/v1/orders/${order.id}`).expect(200)).body;
    for (let i = 0; i < 3; i++) await reachCycleEnd(t, lineId);
    const first = order.items[0].fee.amount;
    expect(await planFees(lineId)).toEqual([first, first, 1800, 1800]);
  });

  it('a plan change for the next cycle ordered with a code: the new plan starts at its discounted fee and usage rate, and the old steps end', async () => {
    const from = await activePlan(t, { kind: 'prepaid', fee: 1000, dataGiB: 0 });
    const to = await activePlan(t, { kind: 'prepaid', fee: 4000, dataGiB: 0 });
    const oldCode = unique('OLD');
    await discount({ name: 'Old plan for good', code: oldCode, value: 1000, target: { charge: 'recurring_fee', planCodes: [from.code] } });
    const code = unique('MOVE');
    await discount({ name: 'Move up: 2 cycles at 25 % off', code, value: 2500, cycles: 2, target: { charge: 'recurring_fee', planCodes: [to.code] } });
    await discount({ name: 'Move up: data 20 % off the first cycle', value: 2000, cycles: 1, target: { charge: 'usage', usageType: 'data', planCodes: [to.code] } });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', unique('rc-')).send({ amount: { amount: 50_000, currency: 'EUR' } }).expect(201);
    const { lineId } = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: from.id, promotionCodes: [oldCode] });
    const change = (await csr.post('/v1/orders').send({ type: 'change_plan', lineId, planId: to.id, effective: 'next_cycle', promotionCodes: [code] }).expect(201)).body;
    expect(change.items[0]).toMatchObject({ fee: { amount: 3000 }, laterFees: [{ cycles: 1, amount: 3000 }], usageShares: { data: { share: 8000, later: [] } } });
    const { msisdn } = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    await reachCycleEnd(t, lineId, [change.id]);
    const usage = [await dataCharge(msisdn)];
    await reachCycleEnd(t, lineId);
    usage.push(await dataCharge(msisdn));
    await reachCycleEnd(t, lineId);
    expect(await planFees(lineId)).toEqual([900, 3000, 3000, 4000]);
    expect(usage).toEqual([80, 100]);
  });
});

describe('automatic promotions on top-ups', () => {
  const recharge = (accountId: string, amount: number) => t.http.post(`/v1/billing-accounts/${accountId}/recharges`)
    .set('idempotency-key', unique('rc-')).send({ amount: { amount, currency: 'EUR' } }).expect(201);
  const balanceOf = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/balance`).expect(200)).body.amount as number;

  it('double data on the first recharge of 10.00 or more: a pack for the line, once per account', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
    const bonus = await activeAddOn(t, { fee: 700 });
    const promo = (await marketing.post('/v1/top-up-promotions').send({ name: 'Double data', minAmount: 1000, currency: 'EUR', firstOnly: true, rewardAddOnId: bonus.id }).expect(201)).body;
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    const { lineId } = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const packs = async () => (await t.http.get(`/v1/orders?lineId=${lineId}&limit=50`).expect(200)).body.items.filter((o: { reason: string | null }) => o.reason === 'Promotion: Double data');

    await recharge(accountId, 500);
    await t.runJobs();
    expect(await packs()).toHaveLength(0);
    await recharge(accountId, 1500);
    await t.runJobs();
    const given = await packs();
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({ type: 'add_add_on', status: 'completed' });
    expect(given[0].items[0]).toMatchObject({ fee: { amount: 0 }, listFee: { amount: 700 } });
    await recharge(accountId, 2000);
    await t.runJobs();
    expect(await packs()).toHaveLength(1);
    expect(await balanceOf(accountId)).toBe(4000);
    const list = (await marketing.get('/v1/top-up-promotions').expect(200)).body.items;
    expect(list.find((p: { id: string }) => p.id === promo.id).rewards).toBe(1);
  });

  it('bonus credit with a budget of one; a pack with no line to go to is skipped with the reason', async () => {
    const credit = (await marketing.post('/v1/top-up-promotions').send({ name: 'Bonus 2.00', minAmount: 5000, currency: 'EUR', rewardCredit: 200, maxRewards: 1 }).expect(201)).body;
    const a = await customerWithAccount(t, 'prepaid');
    const b = await customerWithAccount(t, 'prepaid');
    await recharge(a.accountId, 5000);
    await t.runJobs();
    await recharge(b.accountId, 5000);
    await t.runJobs();
    expect([await balanceOf(a.accountId), await balanceOf(b.accountId)]).toEqual([5200, 5000]);
    const [entry] = await t.database.sql`select ref_type, reason from billing.ledger_entries where billing_account_id = ${a.accountId} and type = 'adjustment'`;
    expect(entry).toMatchObject({ ref_type: 'promotion', reason: 'Bonus 2.00' });
    await marketing.post(`/v1/top-up-promotions/${credit.id}/retire`).expect(200);

    const pack = await activeAddOn(t, { fee: 100 });
    await marketing.post('/v1/top-up-promotions').send({ name: 'Pack for lines', minAmount: 100, currency: 'EUR', rewardAddOnId: pack.id }).expect(201);
    const lonely = await customerWithAccount(t, 'prepaid');
    await recharge(lonely.accountId, 300);
    await t.runJobs();
    const [skipped] = await t.database.sql`select payload from platform.events where type = 'promotion.reward_skipped' and aggregate_id = ${lonely.accountId}`;
    expect(skipped!.payload).toMatchObject({ name: 'Pack for lines', detail: 'The account has no active line for the pack' });
    await marketing.post('/v1/top-up-promotions').send({ name: 'x', minAmount: 100, currency: 'EUR', rewardCredit: 5, rewardAddOnId: pack.id }).expect(400);
    await csr.post('/v1/top-up-promotions').send({ name: 'x', minAmount: 100, currency: 'EUR', rewardCredit: 5 }).expect(403);
  });
});
