import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { create, individual, newPartnerId, phone, said, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const as = (auth: string) => asCaller(t, auth);
const ids = (body: { items: { id: string }[] }) => body.items.map((c) => c.id);

describe('partner scope', () => {
  const P1 = newPartnerId();
  const P2 = newPartnerId();
  let p1: ReturnType<typeof as>;
  let p2: ReturnType<typeof as>;
  let mine: Customer;
  const mobile = phone();

  beforeAll(async () => {
    p1 = as(await keyFor(t, { principalKind: 'partner', partnerId: P1 }));
    p2 = as(await keyFor(t, { principalKind: 'partner', partnerId: P2 }));
    const res = await p1.post('/v1/customers').send(individual({ partnerId: P2, familyName: 'Scopedone', contactPoints: [{ kind: 'phone', value: mobile }] }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    mine = res.body;
  });

  it('forces partnerId to the caller\'s partner, whatever the body says', async () => {
    expect(mine.partnerId).toBe(P1);
    const [row] = await t.database.sql`select partner_id from customers.customers where id = ${mine.id}`;
    expect(row!.partner_id).toBe(P1);
    const implicit = (await p1.post('/v1/customers').send(individual()).expect(201)).body;
    expect(implicit.partnerId).toBe(P1);
  });

  it('lets the owning partner read, list and search its customer', async () => {
    await p1.get(`/v1/customers/${mine.id}`).expect(200);
    expect(ids((await p1.get('/v1/customers').expect(200)).body)).toContain(mine.id);
    expect(ids((await p1.get(`/v1/customers/search?msisdn=${encodeURIComponent(mobile)}`).expect(200)).body)).toEqual([mine.id]);
  });

  it('hides it from another partner: 404 on read and on every write', async () => {
    const url = `/v1/customers/${mine.id}`;
    const attempts = [
      p2.get(url),
      p2.patch(url).send({ givenName: 'Stolen' }),
      p2.post(`${url}/contact-points`).send({ kind: 'phone', value: phone() }),
      p2.delete(`${url}/contact-points/${mine.contactPoints[0]!.id}`),
      p2.post(`${url}/identity-documents`).send({ kind: 'passport', number: 'ABC12345', issuingCountry: 'FR' }),
      p2.put(`${url}/consents/sms`).send({ granted: true, source: 'x' }),
      p2.post(`${url}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, said(res)).toBe(404);
      expect(res.body.code).toBe('customer_not_found');
    }
    const view = (await t.http.get(url).expect(200)).body;
    expect(view).toMatchObject({ givenName: mine.givenName, contactPoints: mine.contactPoints, consents: [], billingAccounts: [], identityDocuments: [] });
  });

  it('hides it from another partner\'s list and search, even when filtering by the other partner', async () => {
    const own = (await p2.post('/v1/customers').send(individual({ familyName: 'Scopedtwo' })).expect(201)).body;
    expect(ids((await p2.get('/v1/customers').expect(200)).body)).toEqual([own.id]);
    expect(ids((await p2.get(`/v1/customers?partnerId=${P1}`).expect(200)).body)).toEqual([]);
    expect(ids((await p2.get(`/v1/customers/search?msisdn=${encodeURIComponent(mobile)}`).expect(200)).body)).toEqual([]);
    expect(ids((await p2.get('/v1/customers/search?name=scoped').expect(200)).body)).toEqual([own.id]);
  });

  it('lets a partner patch names but not segment, status or partnerId (403 field_not_editable)', async () => {
    const ok = await p1.patch(`/v1/customers/${mine.id}`).send({ givenName: 'Renamed' }).expect(200);
    expect(ok.body.givenName).toBe('Renamed');
    for (const body of [{ segment: 'vip' }, { status: 'closed' }, { partnerId: P2 }, { partnerId: null }, { givenName: 'X', segment: 'vip' }]) {
      const res = await p1.patch(`/v1/customers/${mine.id}`).send(body);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.code).toBe('field_not_editable');
    }
    const view = (await t.http.get(`/v1/customers/${mine.id}`).expect(200)).body;
    expect(view).toMatchObject({ segment: 'consumer', status: 'active', partnerId: P1, givenName: 'Renamed' });
  });

  it('refuses export and erase to partners (403)', async () => {
    expect((await p1.get(`/v1/customers/${mine.id}/export`).expect(403)).body.code).toBe('forbidden');
    expect((await p1.post(`/v1/customers/${mine.id}/erase`).expect(403)).body.code).toBe('forbidden');
  });
});

describe('customer scope', () => {
  let me: Customer;
  let other: Customer;
  let c: ReturnType<typeof as>;

  beforeAll(async () => {
    me = await create(t, individual({ dateOfBirth: '1999-09-09', identityDocuments: [{ kind: 'passport', number: 'SELF-0001', issuingCountry: 'NL' }] }));
    other = await create(t);
    c = as(await keyFor(t, { principalKind: 'customer', customerId: me.id }));
  });

  it('reads itself, and 404 for anyone else', async () => {
    expect((await c.get(`/v1/customers/${me.id}`).expect(200)).body.id).toBe(me.id);
    expect((await c.get(`/v1/customers/${other.id}`).expect(404)).body.code).toBe('customer_not_found');
  });

  it('lists and searches only itself', async () => {
    expect(ids((await c.get('/v1/customers').expect(200)).body)).toEqual([me.id]);
    const otherPhone = encodeURIComponent(other.contactPoints[0]!.value);
    expect(ids((await c.get(`/v1/customers/search?msisdn=${otherPhone}`).expect(200)).body)).toEqual([]);
    expect(ids((await c.get('/v1/customers/search?name=lovelace').expect(200)).body)).toEqual([me.id]);
  });

  it('cannot create, patch, add parts or erase (403 forbidden)', async () => {
    const attempts = [
      c.post('/v1/customers').send(individual()),
      c.patch(`/v1/customers/${me.id}`).send({ givenName: 'Me' }),
      c.post(`/v1/customers/${me.id}/contact-points`).send({ kind: 'phone', value: phone() }),
      c.post(`/v1/customers/${me.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }),
      c.post(`/v1/customers/${me.id}/erase`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, said(res)).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
    expect((await t.http.get(`/v1/customers/${me.id}`).expect(200)).body.givenName).toBe(me.givenName);
  });

  it('exports itself (decrypted), but not another customer', async () => {
    const x = (await c.get(`/v1/customers/${me.id}/export`).expect(200)).body.customer;
    expect(x).toMatchObject({ id: me.id, dateOfBirth: '1999-09-09' });
    expect(x.identityDocuments[0].number).toBe('SELF0001');
    expect((await c.get(`/v1/customers/${other.id}/export`).expect(404)).body.code).toBe('customer_not_found');
  });

  it('sets its own consent, not another customer\'s', async () => {
    const res = await c.put(`/v1/customers/${me.id}/consents/push`).send({ granted: true, source: 'app' }).expect(200);
    expect(res.body).toMatchObject({ channel: 'push', granted: true });
    expect((await c.put(`/v1/customers/${other.id}/consents/push`).send({ granted: true, source: 'app' }).expect(404)).body.code).toBe('customer_not_found');
    expect((await t.http.get(`/v1/customers/${other.id}`).expect(200)).body.consents).toEqual([]);
    const history = (await c.get(`/v1/customers/${me.id}/export`).expect(200)).body.customer.consentHistory;
    expect(history.at(-1).actor).toMatch(/^customer:/);
  });

  it('reading itself leaves no customer.read audit row; a staff read does', async () => {
    const audit = async () => (await t.http.get('/v1/audit-events').query({ entityId: me.id, action: 'customer.read' }).expect(200)).body.items;
    const before = (await audit()).length;
    await c.get(`/v1/customers/${me.id}`).expect(200);
    expect(await audit()).toHaveLength(before);
    await t.http.get(`/v1/customers/${me.id}`).expect(200);
    expect(await audit()).toHaveLength(before + 1);
  });
});
