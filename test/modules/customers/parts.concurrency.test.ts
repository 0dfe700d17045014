import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const newCustomer = async () =>
  (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Race', familyName: 'Condition' }).expect(201)).body.id as string;

describe('customer parts under concurrency', () => {
  it('20 parallel "make this the primary phone" leave exactly one primary, and every request answers 201', async () => {
    const id = await newCustomer();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      t.http.post(`/v1/customers/${id}/contact-points`).send({ kind: 'phone', value: `+4477009${String(i).padStart(5, '0')}`, isPrimary: true })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const rows = await t.database.sql`select count(*)::int as n, count(*) filter (where is_primary)::int as primaries
      from customers.contact_points where customer_id = ${id} and kind = 'phone'`;
    expect(rows[0]).toEqual({ n: 20, primaries: 1 });
  });

  it('parallel consent changes keep the current state equal to the last history entry', async () => {
    const id = await newCustomer();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      t.http.put(`/v1/customers/${id}/consents/email`).send({ granted: i % 2 === 0, source: `form-${i}` })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const [current] = await t.database.sql`select granted, source from customers.consents where customer_id = ${id} and channel = 'email'`;
    const history = await t.database.sql`select granted, source from customers.consent_history where customer_id = ${id} and channel = 'email' order by id`;
    expect(history).toHaveLength(20);
    expect(current).toEqual(history.at(-1));
  });

  it('parallel erasures and updates never leave personal data behind an erased status', async () => {
    const id = await newCustomer();
    const ops = Array.from({ length: 10 }, (_, i) => (i % 2
      ? t.http.post(`/v1/customers/${id}/erase`)
      : t.http.patch(`/v1/customers/${id}`).send({ givenName: `Renamed${i}` })));
    const results = await Promise.all(ops);
    expect(results.every((r) => [200, 409].includes(r.status))).toBe(true);
    const [row] = await t.database.sql`select status, given_name, family_name from customers.customers where id = ${id}`;
    expect(row).toEqual({ status: 'erased', given_name: null, family_name: null });
  });
});
