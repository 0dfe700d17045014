import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { create, eventsOf, individual, newPartnerId, phone, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

describe('domain events of the customers module', () => {
  const partnerId = newPartnerId();
  let c: Customer;
  let accountId: string;

  beforeAll(async () => {
    c = await create(t, individual({ segment: 'vip', partnerId, dateOfBirth: '1980-08-08' }));
    await t.http.patch(`/v1/customers/${c.id}`).send({ givenName: 'Eventful', timeZone: 'Europe/Rome' }).expect(200);
    await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: true, source: 'web' }).expect(200);
    await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: false, source: 'sms-stop' }).expect(200);
    accountId = (await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'postpaid', currency: 'EUR', billCycleDay: 7 }).expect(201)).body.id;
  });

  const mine = async (type: string) => (await eventsOf(t, type)).filter((e) => e.aggregateId === c.id);

  it('customer.created carries ids and classification only', async () => {
    const [ev, ...rest] = await mine('customer.created');
    expect(rest).toEqual([]);
    expect(ev!.payload).toEqual({ customerId: c.id, type: 'individual', segment: 'vip', partnerId });
  });

  it('customer.updated names the fields changed, not their values', async () => {
    const evs = await mine('customer.updated');
    expect(evs.map((e) => e.payload)).toEqual([{ customerId: c.id, fields: ['givenName', 'timeZone'] }]);
  });

  it('customer.consent.changed is emitted for each change, in order', async () => {
    const evs = await mine('customer.consent.changed');
    expect(evs.map((e) => e.payload)).toEqual([
      { customerId: c.id, channel: 'sms', granted: true },
      { customerId: c.id, channel: 'sms', granted: false },
    ]);
  });

  it('billing_account.created names the account', async () => {
    const evs = await mine('billing_account.created');
    expect(evs.map((e) => e.payload)).toEqual([{ customerId: c.id, id: accountId }]);
  });

  it('part changes emit their own events', async () => {
    const cp = (await t.http.post(`/v1/customers/${c.id}/contact-points`).send({ kind: 'phone', value: phone() }).expect(201)).body;
    await t.http.delete(`/v1/customers/${c.id}/contact-points/${cp.id}`).expect(200);
    await t.http.patch(`/v1/customers/${c.id}/billing-accounts/${accountId}`).send({ status: 'closed' }).expect(200);
    expect((await mine('customer.contact_point.added')).map((e) => e.payload.id)).toEqual([cp.id]);
    expect((await mine('customer.contact_point.removed')).map((e) => e.payload.id)).toEqual([cp.id]);
    expect((await mine('billing_account.updated')).map((e) => e.payload.id)).toEqual([accountId]);
  });

  it('no event payload holds personal data', async () => {
    const rows = await t.database.sql`select payload::text as p from platform.events where aggregate_id = ${c.id}`;
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const raw = rows.map((r) => r.p as string).join('\n');
    for (const secret of ['Eventful', c.familyName!, '1980-08-08', c.contactPoints[0]!.value]) expect(raw).not.toContain(secret);
  });

  it('a refused change emits nothing', async () => {
    const before = (await mine('customer.updated')).length;
    await t.http.patch(`/v1/customers/${c.id}`).send({ familyName: null }).expect(422);
    await t.http.put(`/v1/customers/${c.id}/consents/voice`).send({ granted: true, source: 'x' }).expect(422);
    await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR', billCycleDay: 1 }).expect(422);
    expect(await mine('customer.updated')).toHaveLength(before);
    expect(await mine('customer.consent.changed')).toHaveLength(2);
    expect(await mine('billing_account.created')).toHaveLength(1);
  });

  it('the feed pages oldest first with a cursor', async () => {
    for (let i = 0; i < 3; i++) await create(t);
    await eventsOf(t, 'customer.created'); // until the feed has caught up (another file's open transaction holds it back)
    const first = await t.http.get('/v1/events').query({ type: 'customer.created', limit: 2 }).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const next = await t.http.get('/v1/events').query({ type: 'customer.created', limit: 2, cursor: first.body.nextCursor }).expect(200);
    const ids = [...first.body.items, ...next.body.items].map((e: { id: string }) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('dispatching the outbox jobs succeeds', async () => {
    await t.runJobs();
    const [{ n }] = await t.database.sql`select count(*)::int as n from graphile_worker.jobs where last_error is not null` as unknown as [{ n: number }];
    expect(n).toBe(0);
  });
});
