import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activeAddOn, activePlan, customerWithAccount, fulfilled, stock } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const count = async (table: string) => Number((await t.database.sql`select count(*)::int as n from ${t.database.sql(table)}`)[0]!.n);
const summary = async () => (await t.http.get('/v1/inventory/summary').expect(200)).body;

describe('orders under concurrency', () => {
  it('50 concurrent new-line orders on 10 numbers: exactly 10 accepted and fulfilled with distinct numbers, 40 refused cleanly', async () => {
    const plan = await activePlan(t);
    await stock(t, 10, { category: 'race', sims: 60 });
    const { accountId } = await customerWithAccount(t);
    const before = await summary();
    const results = await Promise.all(Array.from({ length: 50 }, () =>
      t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id, numberCategory: 'race' })));
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(10);
    expect(lost).toHaveLength(40);
    for (const r of lost) {
      expect(r.status).toBe(409);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.body.code).toBe('number_pool_exhausted');
    }
    const numbers = won.map((r) => r.body.items.find((i: { kind: string }) => i.kind === 'msisdn').msisdn);
    expect(new Set(numbers).size).toBe(10);

    await t.runJobs();
    const lines = await t.database.sql`select msisdn, iccid from orders.lines where billing_account_id = ${accountId}`;
    expect(lines).toHaveLength(10);
    expect(new Set(lines.map((l) => l.msisdn))).toEqual(new Set(numbers));
    expect(new Set(lines.map((l) => l.iccid)).size).toBe(10);
    const after = await summary();
    // The race pool is fully assigned; every SIM a refused order touched went back.
    expect(after.msisdns.assigned - before.msisdns.assigned).toBe(10);
    expect(after.msisdns.reserved).toBe(before.msisdns.reserved);
    expect(after.sims.assigned - before.sims.assigned).toBe(10);
    expect(after.sims.available).toBe(before.sims.available - 10);
    const [orders] = await t.database.sql`select count(*)::int as n, count(*) filter (where status = 'completed')::int as done from orders.orders where billing_account_id = ${accountId}`;
    expect(orders).toEqual({ n: 10, done: 10 });
  });

  it('a retried submit with the same Idempotency-Key makes one order', async () => {
    const plan = await activePlan(t);
    await stock(t, 3);
    const { accountId } = await customerWithAccount(t);
    const body = { type: 'new_line', billingAccountId: accountId, planId: plan.id };
    const [a, b] = await Promise.all([1, 2].map(() => t.http.post('/v1/orders').set('idempotency-key', `order-${accountId}`).send(body)));
    const statuses = [a!.status, b!.status].sort();
    // Either both answer the same order, or the second is told the first is still in flight.
    expect(statuses[0]).toBe(201);
    const c = await t.http.post('/v1/orders').set('idempotency-key', `order-${accountId}`).send(body).expect(201);
    expect(c.body.id).toBe(a!.status === 201 ? a!.body.id : b!.body.id);
    const [row] = await t.database.sql`select count(*)::int as n from orders.orders where billing_account_id = ${accountId}`;
    expect(row!.n).toBe(1);
  });

  it('two plan changes racing on one line: one is accepted, the other is told one is pending', async () => {
    const plan = await activePlan(t);
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t);
    const { lineId } = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const others = [await activePlan(t, { fee: 100 }), await activePlan(t, { fee: 200 })];
    const results = await Promise.all(others.map((p) => t.http.post('/v1/orders').send({ type: 'change_plan', lineId, planId: p.id, effective: 'next_cycle' })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)!.body.code).toBe('plan_change_pending');
  });
});

describe('failure and cancellation', () => {
  it('a fulfilment step that fails (the number reservation lapsed) fails the order with its reason and releases the rest', async () => {
    const plan = await activePlan(t);
    await t.http.post('/v1/devices').send({ sku: 'CPE-FAIL', name: 'CPE', price: { amount: 9900, currency: 'EUR' } }).expect(201);
    await t.http.post('/v1/devices/CPE-FAIL/units/import').send({ serials: ['CPE-0001'] }).expect(201);
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t);
    const placed = (await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id, deviceSku: 'CPE-FAIL' }).expect(201)).body;
    const held = Object.fromEntries(placed.items.map((i: Record<string, string>) => [i.kind, i.msisdn ?? i.iccid ?? i.serial]));
    await t.database.sql`update orders.msisdns set reserved_until = now() - interval '1 second' where msisdn = ${held.msisdn}`;
    await t.runJobs();
    const order = (await t.http.get(`/v1/orders/${placed.id}`).expect(200)).body;
    expect(order).toMatchObject({ status: 'failed', lineId: null });
    expect(order.reason).toMatch(/^reservation_lapsed/);
    expect(order.history.map((h: { status: string }) => h.status)).toEqual(['acknowledged', 'in_progress', 'failed']);
    const [sim] = await t.database.sql`select status from orders.sims where iccid = ${held.sim}`;
    const [unit] = await t.database.sql`select status from orders.device_units where serial = 'CPE-0001'`;
    expect([sim!.status, unit!.status]).toEqual(['available', 'available']);
    const [lines] = await t.database.sql`select count(*)::int as n from orders.lines where order_id = ${placed.id}`;
    expect(lines!.n).toBe(0);
    const [charges] = await t.database.sql`select count(*)::int as n from orders.charge_lines where order_id = ${placed.id}`;
    expect(charges!.n).toBe(0);
  });

  it('an order cancelled before fulfilment releases its reservations and is never fulfilled', async () => {
    const plan = await activePlan(t);
    const { firstNumber } = await stock(t, 1);
    const { accountId } = await customerWithAccount(t);
    const placed = (await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id }).expect(201)).body;
    const cancelled = (await t.http.post(`/v1/orders/${placed.id}/cancel`).send({ reason: 'Customer changed their mind' }).expect(200)).body;
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'Customer changed their mind' });
    await t.runJobs();
    expect((await t.http.get(`/v1/orders/${placed.id}`).expect(200)).body.status).toBe('cancelled');
    const [n] = await t.database.sql`select status from orders.msisdns where msisdn = ${firstNumber}`;
    expect(n!.status).toBe('available');
    expect((await t.http.post(`/v1/orders/${placed.id}/cancel`).send({ reason: 'again' }).expect(409)).body.code).toBe('order_not_cancellable');
  });
  it('reconciliation dispatches again an order whose job was lost, and fails one left in progress, releasing its stock', async () => {
    const plan = await activePlan(t);
    await stock(t, 2);
    const { accountId } = await customerWithAccount(t);
    const place = async () => (await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id }).expect(201)).body;
    const lost = await place();
    const stuck = await place();
    // The first never reached the worker (its event was taken, its job never made); the second's worker died mid-way.
    await t.database.sql`update platform.events set dispatched_at = now() where aggregate_id = ${lost.id}`;
    await t.database.sql`update platform.events set dispatched_at = now() where aggregate_id = ${stuck.id}`;
    await t.database.sql`update orders.orders set status = 'in_progress' where id = ${stuck.id}`;
    await t.database.sql`update orders.orders set created_at = now() - interval '11 minutes', updated_at = now() - interval '11 minutes' where id in (${lost.id}, ${stuck.id})`;
    await t.database.sql`select graphile_worker.add_job('orders.reconcile_orders', '{}'::json)`;
    await t.runJobs();
    await t.runJobs();
    expect((await t.http.get(`/v1/orders/${lost.id}`).expect(200)).body.status).toBe('completed');
    const failed = (await t.http.get(`/v1/orders/${stuck.id}`).expect(200)).body;
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^fulfilment_lost/);
    const held = failed.items.find((i: { kind: string }) => i.kind === 'msisdn').msisdn;
    const [n] = await t.database.sql`select status from orders.msisdns where msisdn = ${held}`;
    expect(n!.status).toBe('available');
  });
});

describe('bad input: a clear 4xx and nothing half-written', () => {
  it('unknown, draft and retired plans, a plan that does not fit the account, unknown and incompatible packs', async () => {
    const plan = await activePlan(t);
    await stock(t, 2);
    const { accountId } = await customerWithAccount(t);
    const prepaid = await activePlan(t, { kind: 'prepaid' });
    const dollars = await activePlan(t, { currency: 'USD' });
    const draft = (await t.http.post('/v1/price-plans').send({ code: `DRAFT-${process.pid}`, name: 'D', kind: 'postpaid', recurringFee: { amount: 1, currency: 'EUR' }, terms: { allowances: { dataBytes: 1, voiceSeconds: 1, smsCount: 1 }, rates: {}, usageCap: { behaviour: 'block' } } }).expect(201)).body;
    const retired = await activePlan(t);
    await t.http.post(`/v1/price-plans/${retired.id}/retire`).expect(200);
    const incompatible = await activeAddOn(t, { compatiblePlans: ['NOT-THIS-ONE'] });
    const ordersBefore = await count('orders.orders');
    const stockBefore = await summary();

    const cases: [Record<string, unknown>, number, string][] = [
      [{ planId: '01900000-0000-7000-8000-0000000000ff' }, 404, 'price_plan_not_found'],
      [{ planId: draft.id }, 409, 'price_plan_not_active'],
      [{ planId: retired.id }, 409, 'price_plan_retired'],
      [{ planId: prepaid.id }, 422, 'plan_account_mismatch'],
      [{ planId: dollars.id }, 422, 'plan_account_mismatch'],
      [{ planId: plan.id, addOnIds: ['01900000-0000-7000-8000-0000000000ff'] }, 404, 'add_on_not_found'],
      [{ planId: plan.id, addOnIds: [incompatible.id] }, 422, 'add_on_incompatible'],
      [{ planId: plan.id, msisdn: '+999999999999' }, 409, 'resource_not_available'],
      [{ planId: plan.id, deviceSku: 'NO-SUCH-SKU' }, 404, 'device_not_found'],
      [{ planId: plan.id, billingAccountId: '01900000-0000-7000-8000-0000000000ff' }, 404, 'billing_account_not_found'],
      [{ planId: 'not-a-uuid' }, 400, 'validation_failed'],
      [{ planId: plan.id, surprise: true }, 400, 'validation_failed'],
    ];
    for (const [over, status, code] of cases) {
      const res = await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, ...over });
      expect([res.status, res.body.code], JSON.stringify(over)).toEqual([status, code]);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await t.http.post('/v1/orders').send({ type: 'teleport' }).expect(400)).body.code).toBe('validation_failed');
    // A suspended customer buys nothing.
    const suspended = await customerWithAccount(t);
    await t.http.patch(`/v1/customers/${suspended.customerId}`).send({ status: 'suspended' }).expect(200);
    expect((await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: suspended.accountId, planId: plan.id }).expect(409)).body.code).toBe('customer_not_eligible');
    expect(await count('orders.orders')).toBe(ordersBefore);
    expect(await summary()).toEqual(stockBefore);
  });
});

describe('who may order what', () => {
  it('a customer changes their own plan but places no new lines, and never reaches another customer\'s line', async () => {
    const plan = await activePlan(t);
    const other = await activePlan(t, { fee: 500 });
    await stock(t, 2);
    const mine = await customerWithAccount(t);
    const theirs = await customerWithAccount(t);
    const myLine = (await fulfilled(t, { type: 'new_line', billingAccountId: mine.accountId, planId: plan.id })).lineId;
    const theirLine = (await fulfilled(t, { type: 'new_line', billingAccountId: theirs.accountId, planId: plan.id })).lineId;
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: mine.customerId }));

    expect((await me.post('/v1/orders').send({ type: 'new_line', billingAccountId: mine.accountId, planId: plan.id }).expect(403)).body.code).toBe('order_type_not_allowed');
    expect((await me.post('/v1/orders').send({ type: 'terminate', lineId: myLine, reason: 'x' }).expect(403)).body.code).toBe('order_type_not_allowed');
    const own = (await me.post('/v1/orders').send({ type: 'change_plan', lineId: myLine, planId: other.id, effective: 'next_cycle' }).expect(201)).body;
    expect((await me.post('/v1/orders').send({ type: 'change_plan', lineId: theirLine, planId: other.id }).expect(404)).body.code).toBe('line_not_found');
    await me.get(`/v1/lines/${myLine}`).expect(200);
    expect((await me.get(`/v1/lines/${theirLine}`).expect(404)).body.code).toBe('line_not_found');
    await me.get(`/v1/lines/${theirLine}/charges`).expect(404);
    expect((await me.get(`/v1/lines?customerId=${theirs.customerId}`).expect(200)).body.items.map((l: { id: string }) => l.id)).toEqual([myLine]);
    const theirOrder = (await t.http.get(`/v1/orders?customerId=${theirs.customerId}`).expect(200)).body.items[0];
    expect((await me.get(`/v1/orders/${theirOrder.id}`).expect(404)).body.code).toBe('order_not_found');
    await me.post(`/v1/orders/${theirOrder.id}/cancel`).send({ reason: 'x' }).expect(404);
    expect((await me.get(`/v1/orders?lineId=${theirLine}`).expect(200)).body.items).toEqual([]);
    expect((await me.get('/v1/orders').expect(200)).body.items.map((o: { id: string }) => o.id)).toContain(own.id);
    // A suspension a CSR placed is not the customer's to cancel.
    const suspension = (await t.http.post('/v1/orders').send({ type: 'suspend', lineId: myLine, reason: 'Fraud check' }).expect(201)).body;
    expect((await me.post(`/v1/orders/${suspension.id}/cancel`).send({ reason: 'no' }).expect(403)).body.code).toBe('order_type_not_allowed');
    await me.post(`/v1/orders/${own.id}/cancel`).send({ reason: 'Changed my mind' }).expect(200);
  });

  it('a partner orders for its own customers only, and names the customer when listing', async () => {
    const partnerId = '01900000-0000-7000-8000-0000000000aa';
    const plan = await activePlan(t);
    await stock(t, 2);
    const partner = asCaller(t, await keyFor(t, { principalKind: 'partner', partnerId }));
    const customer = (await partner.post('/v1/customers').send({ type: 'individual', givenName: 'Pat', familyName: 'Ner' }).expect(201)).body;
    const account = (await partner.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'postpaid', currency: 'EUR', billCycleDay: 5 }).expect(201)).body;
    await partner.post('/v1/orders').send({ type: 'new_line', billingAccountId: account.id, planId: plan.id }).expect(201);
    const stranger = await customerWithAccount(t);
    expect((await partner.post('/v1/orders').send({ type: 'new_line', billingAccountId: stranger.accountId, planId: plan.id }).expect(404)).body.code).toBe('billing_account_not_found');
    expect((await partner.get('/v1/orders').expect(400)).body.code).toBe('customer_required');
    expect((await partner.get(`/v1/orders?customerId=${stranger.customerId}`).expect(200)).body.items).toEqual([]);
    expect((await partner.get(`/v1/orders?customerId=${customer.id}`).expect(200)).body.items).toHaveLength(1);
  });

  it('marketing cannot place orders; a CSR can', async () => {
    const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
    await marketing.post('/v1/orders').send({ type: 'resume', lineId: '01900000-0000-7000-8000-0000000000ff' }).expect(403);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    expect((await csr.post('/v1/orders').send({ type: 'resume', lineId: '01900000-0000-7000-8000-0000000000ff' }).expect(404)).body.code).toBe('line_not_found');
  });
});
