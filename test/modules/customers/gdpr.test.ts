import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { create, email, eventsOf, individual, phone, said, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const missing = '00000000-0000-4000-8000-000000000000';

function rich() {
  return individual({
    givenName: 'Simone', familyName: 'Weil', dateOfBirth: '1909-02-03',
    contactPoints: [{ kind: 'phone', value: phone(), isPrimary: true }, { kind: 'email', value: email('simone') }],
    addresses: [{ kind: 'home', line1: '3 Rue Auguste Comte', city: 'Paris', country: 'FR' }],
    identityDocuments: [{ kind: 'national_id', number: 'fr-123 456 789', issuingCountry: 'FR' }],
    consents: [{ channel: 'email', granted: true, source: 'web-form' }],
  });
}

describe('GET /v1/customers/:id/export', () => {
  it('returns everything, decrypted: document number, birth date, consent history', async () => {
    const c = await create(t, rich());
    await t.http.put(`/v1/customers/${c.id}/consents/email`).send({ granted: false, source: 'unsubscribe-link' }).expect(200);
    const res = await t.http.get(`/v1/customers/${c.id}/export`).expect(200);
    expect(new Date(res.body.exportedAt).getTime()).not.toBeNaN();
    const x = res.body.customer;
    expect(x).toMatchObject({ id: c.id, givenName: 'Simone', familyName: 'Weil', dateOfBirth: '1909-02-03' });
    expect(x.contactPoints).toHaveLength(2);
    expect(x.addresses).toHaveLength(1);
    expect(x.identityDocuments).toEqual([expect.objectContaining({ kind: 'national_id', number: 'FR123456789', issuingCountry: 'FR' })]);
    expect(x.consentHistory.map((h: { channel: string; granted: boolean; source: string }) => [h.channel, h.granted, h.source]))
      .toEqual([['email', true, 'web-form'], ['email', false, 'unsubscribe-link']]);
    for (const h of x.consentHistory) expect(h).toEqual(expect.objectContaining({ id: expect.any(String), actor: expect.stringMatching(/^staff:/), recordedAt: expect.any(String) }));
  });

  it('leaves a customer.exported audit row', async () => {
    const c = await create(t);
    await t.http.get(`/v1/customers/${c.id}/export`).expect(200);
    const audit = await t.http.get('/v1/audit-events').query({ entityType: 'customer', entityId: c.id }).expect(200);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('customer.exported');
  });

  it('answers 404 for an unknown customer', async () => {
    expect((await t.http.get(`/v1/customers/${missing}/export`).expect(404)).body.code).toBe('customer_not_found');
  });
});

describe('POST /v1/customers/:id/erase', () => {
  let c: Customer;
  let accountId: string;
  let first: { id: string; status: string; erasedAt: string };

  beforeAll(async () => {
    c = await create(t, rich());
    accountId = (await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'postpaid', currency: 'EUR', billCycleDay: 3 }).expect(201)).body.id;
    first = (await t.http.post(`/v1/customers/${c.id}/erase`).expect(200)).body;
  });

  it('answers with the erased status and time', () => {
    expect(first).toEqual({ id: c.id, status: 'erased', erasedAt: expect.any(String) });
  });

  it('removes names, birth date, contact points, addresses and documents; keeps billing accounts', async () => {
    const view = (await t.http.get(`/v1/customers/${c.id}`).expect(200)).body;
    expect(view).toMatchObject({
      status: 'erased', displayName: 'Erased customer', givenName: null, familyName: null, companyName: null, dateOfBirth: null,
      contactPoints: [], addresses: [], identityDocuments: [], erasedAt: first.erasedAt,
    });
    expect(view.billingAccounts).toEqual([expect.objectContaining({ id: accountId, type: 'postpaid', billCycleDay: 3 })]);
  });

  it('leaves no personal data in the database rows', async () => {
    const [row] = await t.database.sql`select * from customers.customers where id = ${c.id}`;
    expect(row).toMatchObject({ given_name: null, family_name: null, company_name: null, date_of_birth_enc: null, status: 'erased' });
    expect(String(row!.name_search).trim()).toBe('');
    for (const table of ['contact_points', 'addresses', 'identity_documents']) {
      const rows = await t.database.sql`select 1 from ${t.database.sql(`customers`)}.${t.database.sql(table)} where customer_id = ${c.id}`;
      expect(rows, table).toHaveLength(0);
    }
    expect(await t.database.sql`select 1 from customers.billing_accounts where customer_id = ${c.id}`).toHaveLength(1);
  });

  it('keeps the consent history (no personal data) and shows it in the export', async () => {
    const x = (await t.http.get(`/v1/customers/${c.id}/export`).expect(200)).body.customer;
    expect(x).toMatchObject({ status: 'erased', givenName: null, dateOfBirth: null, identityDocuments: [], contactPoints: [] });
    expect(x.consentHistory).toHaveLength(1);
  });

  it('is idempotent: erasing twice answers 200 with the first erasedAt', async () => {
    const again = await t.http.post(`/v1/customers/${c.id}/erase`).expect(200);
    expect(again.body).toEqual(first);
    expect((await eventsOf(t, 'customer.erased')).filter((e) => e.aggregateId === c.id)).toHaveLength(1);
  });

  it('emits customer.erased with no personal data', async () => {
    const ev = (await eventsOf(t, 'customer.erased')).find((e) => e.aggregateId === c.id);
    expect(ev).toMatchObject({ type: 'customer.erased', payload: { customerId: c.id } });
  });

  it('refuses any later change with 409 customer_erased', async () => {
    const attempts = [
      t.http.patch(`/v1/customers/${c.id}`).send({ givenName: 'Back' }),
      t.http.patch(`/v1/customers/${c.id}`).set('content-type', 'application/merge-patch+json').send(JSON.stringify({ status: 'active' })),
      t.http.post(`/v1/customers/${c.id}/contact-points`).send({ kind: 'phone', value: phone() }),
      t.http.post(`/v1/customers/${c.id}/addresses`).send({ kind: 'home', line1: 'x', city: 'y', country: 'FR' }),
      t.http.post(`/v1/customers/${c.id}/identity-documents`).send({ kind: 'passport', number: 'NEW12345', issuingCountry: 'FR' }),
      t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: true, source: 'x' }),
      t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }),
      t.http.patch(`/v1/customers/${c.id}/billing-accounts/${accountId}`).send({ status: 'closed' }),
      // Nor do other modules keep anything new about them.
      t.http.post('/v1/tickets').send({ customerId: c.id, serviceType: 'billing', channel: 'phone', subject: 'New', description: 'Personal details' }),
      t.http.post('/v1/interactions').send({ customerId: c.id, channel: 'phone', direction: 'inbound', startedAt: new Date().toISOString(), durationSeconds: 60, outcome: 'resolved', notes: 'Said their address' }),
      t.http.post('/v1/discount-applications').set('idempotency-key', `erased-${c.id}`).send({ customerId: c.id, channel: 'csr', orderRef: `o-${c.id}`, items: [{ ref: 'i1', charge: 'one_off', amount: 100, currency: 'EUR' }] }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, said(res)).toBe(409);
      expect(res.body.code).toBe('customer_erased');
    }
    const view = (await t.http.get(`/v1/customers/${c.id}`).expect(200)).body;
    expect(view).toMatchObject({ status: 'erased', givenName: null, contactPoints: [], consents: [expect.objectContaining({ channel: 'email' })] });
    // Erasure revoked its keys; none is issued again.
    const key = await t.http.post('/v1/api-keys').send({ name: 'after', principalKind: 'customer', customerId: c.id });
    expect(key.status, said(key)).toBeGreaterThanOrEqual(400);
    expect(key.status).toBeLessThan(500);
  });

  it('audits the erasure', async () => {
    const audit = await t.http.get('/v1/audit-events').query({ entityType: 'customer', entityId: c.id, action: 'customer.erased' }).expect(200);
    expect(audit.body.items).toHaveLength(1);
  });

  it('answers 404 for an unknown customer', async () => {
    expect((await t.http.post(`/v1/customers/${missing}/erase`).expect(404)).body.code).toBe('customer_not_found');
  });
});

// The Idempotency-Key store keeps responses sealed, and erasure blanks them (410 on replay).
describe('personal data kept by the Idempotency-Key store', () => {
  it('does not hold the birth date in clear at rest', async () => {
    const key = `dob-${Date.now()}`;
    await t.http.post('/v1/customers').set('idempotency-key', key).send(individual({ dateOfBirth: '1911-11-11' })).expect(201);
    const rows = await t.database.sql`select response_sealed as body from platform.idempotency_keys where key = ${key}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.body).not.toContain('1911-11-11');
  });

  it('does not replay an erased customer\'s personal data', async () => {
    const key = `erase-${Date.now()}`;
    const body = individual({ givenName: 'Replayed', dateOfBirth: '1922-02-22' });
    const c = (await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201)).body;
    await t.http.post(`/v1/customers/${c.id}/erase`).expect(200);
    const replay = await t.http.post('/v1/customers').set('idempotency-key', key).send(body);
    expect(JSON.stringify(replay.body)).not.toContain('1922-02-22');
    expect(JSON.stringify(replay.body)).not.toContain('Replayed');
  });
});
