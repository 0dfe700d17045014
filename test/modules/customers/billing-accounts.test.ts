import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { create, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const missing = '00000000-0000-4000-8000-000000000000';
const open = (customerId: string, body: Record<string, unknown>) => t.http.post(`/v1/customers/${customerId}/billing-accounts`).send(body);

describe('POST /v1/customers/:id/billing-accounts', () => {
  let c: Customer;
  beforeAll(async () => { c = await create(t); });

  it('opens a prepaid account without billCycleDay, with a default name', async () => {
    const res = await open(c.id, { type: 'prepaid', currency: 'EUR' }).expect(201);
    expect(res.body).toMatchObject({ customerId: c.id, name: 'Main account', type: 'prepaid', currency: 'EUR', billCycleDay: null, status: 'active' });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([1, 15, 28])('opens a postpaid account with billCycleDay %i', async (billCycleDay) => {
    const res = await open(c.id, { type: 'postpaid', currency: 'GBP', name: `Cycle ${billCycleDay}`, billCycleDay }).expect(201);
    expect(res.body).toMatchObject({ type: 'postpaid', currency: 'GBP', name: `Cycle ${billCycleDay}`, billCycleDay, status: 'active' });
  });

  it('shows the accounts in the customer record', async () => {
    const view = (await t.http.get(`/v1/customers/${c.id}`).expect(200)).body as Customer;
    expect(view.billingAccounts.map((a) => [a.type, a.billCycleDay])).toEqual([['prepaid', null], ['postpaid', 1], ['postpaid', 15], ['postpaid', 28]]);
  });

  it('refuses a postpaid account without billCycleDay and a prepaid one with it (422 billing_cycle_mismatch)', async () => {
    for (const body of [{ type: 'postpaid', currency: 'EUR' }, { type: 'prepaid', currency: 'EUR', billCycleDay: 5 }]) {
      const res = await open(c.id, body).expect(422);
      expect(res.body.code).toBe('billing_cycle_mismatch');
    }
  });

  it.each([0, 32, 1.5, -1])('refuses billCycleDay %s with 400', async (billCycleDay) => {
    const res = await open(c.id, { type: 'postpaid', currency: 'EUR', billCycleDay }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.billCycleDay');
  });

  it('refuses a bad currency, type or unknown field with 400', async () => {
    for (const body of [{ type: 'prepaid', currency: 'eur' }, { type: 'prepaid', currency: 'EURO' }, { type: 'credit', currency: 'EUR' }, { type: 'prepaid', currency: 'EUR', balance: 10 }]) {
      expect((await open(c.id, body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 404 for an unknown customer', async () => {
    expect((await open(missing, { type: 'prepaid', currency: 'EUR' }).expect(404)).body.code).toBe('customer_not_found');
  });
});

describe('PATCH /v1/customers/:id/billing-accounts/:accountId', () => {
  it('closes an account and renames it', async () => {
    const c = await create(t);
    const a = (await open(c.id, { type: 'postpaid', currency: 'EUR', billCycleDay: 10 }).expect(201)).body;
    const res = await t.http.patch(`/v1/customers/${c.id}/billing-accounts/${a.id}`).send({ status: 'closed', name: 'Old line' }).expect(200);
    expect(res.body).toMatchObject({ id: a.id, status: 'closed', name: 'Old line', billCycleDay: 10 });
    expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(a.updatedAt).getTime());
    const view = (await t.http.get(`/v1/customers/${c.id}`).expect(200)).body as Customer;
    expect(view.billingAccounts[0]).toMatchObject({ id: a.id, status: 'closed' });
  });

  it('moves a postpaid cycle day, but refuses one on a prepaid account', async () => {
    const c = await create(t);
    const post = (await open(c.id, { type: 'postpaid', currency: 'EUR', billCycleDay: 10 }).expect(201)).body;
    expect((await t.http.patch(`/v1/customers/${c.id}/billing-accounts/${post.id}`).send({ billCycleDay: 20 }).expect(200)).body.billCycleDay).toBe(20);
    const pre = (await open(c.id, { type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    const res = await t.http.patch(`/v1/customers/${c.id}/billing-accounts/${pre.id}`).send({ billCycleDay: 20 }).expect(422);
    expect(res.body.code).toBe('billing_cycle_mismatch');
  });

  it('refuses invalid patches with 400', async () => {
    const c = await create(t);
    const a = (await open(c.id, { type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    for (const body of [{ status: 'frozen' }, { type: 'postpaid' }, { currency: 'USD' }, { billCycleDay: 32 }, { billCycleDay: null }]) {
      expect((await t.http.patch(`/v1/customers/${c.id}/billing-accounts/${a.id}`).send(body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 404 for an account of another customer, leaving it untouched', async () => {
    const a = await create(t);
    const b = await create(t);
    const acc = (await open(a.id, { type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    const res = await t.http.patch(`/v1/customers/${b.id}/billing-accounts/${acc.id}`).send({ status: 'closed' }).expect(404);
    expect(res.body.code).toBe('billing_account_not_found');
    const [row] = await t.database.sql`select status from customers.billing_accounts where id = ${acc.id}`;
    expect(row!.status).toBe('active');
    expect((await t.http.patch(`/v1/customers/${a.id}/billing-accounts/${missing}`).send({ status: 'closed' }).expect(404)).body.code)
      .toBe('billing_account_not_found');
  });
});
