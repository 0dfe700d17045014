import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { create, individual, phone, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const as = (auth: string) => asCaller(t, auth);
const staff = async (role: string) => as(await keyFor(t, { principalKind: 'staff', role }));

const expect403 = (res: { status: number; body: { code: string } }) => {
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(res.body.code).toBe('forbidden');
};

let c: Customer;
beforeAll(async () => { c = await create(t); });

describe('staff roles', () => {
  it('csr: creates, reads, patches and sets consent, but cannot export, erase or read audit', async () => {
    const csr = await staff('csr');
    const mine = (await csr.post('/v1/customers').send(individual()).expect(201)).body;
    await csr.get(`/v1/customers/${c.id}`).expect(200);
    await csr.get('/v1/customers').expect(200);
    await csr.patch(`/v1/customers/${mine.id}`).send({ segment: 'vip' }).expect(200);
    await csr.put(`/v1/customers/${mine.id}/consents/sms`).send({ granted: true, source: 'call-centre' }).expect(200);
    expect403(await csr.get(`/v1/customers/${c.id}/export`));
    expect403(await csr.post(`/v1/customers/${c.id}/erase`));
    expect403(await csr.get('/v1/audit-events'));
    expect((await t.http.get(`/v1/customers/${c.id}`).expect(200)).body.status).toBe('active');
  });

  it('supervisor: exports, erases and reads audit', async () => {
    const sup = await staff('supervisor');
    const victim = await create(t);
    await sup.get(`/v1/customers/${victim.id}/export`).expect(200);
    await sup.post(`/v1/customers/${victim.id}/erase`).expect(200);
    const audit = await sup.get(`/v1/audit-events?entityType=customer&entityId=${victim.id}`).expect(200);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['customer.exported', 'customer.erased']));
    expect403(await sup.get('/v1/events'));
  });

  it('marketing: no access to customers at all', async () => {
    const mkt = await staff('marketing');
    for (const res of await Promise.all([
      mkt.get('/v1/customers'),
      mkt.get(`/v1/customers/${c.id}`),
      mkt.get('/v1/customers/search?name=ada'),
      mkt.post('/v1/customers').send(individual()),
      mkt.put(`/v1/customers/${c.id}/consents/email`).send({ granted: true, source: 'campaign' }),
      mkt.get(`/v1/customers/${c.id}/export`),
    ])) expect403(res);
    expect((await t.http.get(`/v1/customers/${c.id}`).expect(200)).body.consents).toEqual([]);
  });
});

describe('integration keys', () => {
  it('with customers:read, reads, lists and searches, but cannot write', async () => {
    const reader = as(await keyFor(t, { principalKind: 'integration', capabilities: ['customers:read'] }));
    expect((await reader.get(`/v1/customers/${c.id}`).expect(200)).body.id).toBe(c.id);
    expect((await reader.get('/v1/customers').expect(200)).body.items.length).toBeGreaterThan(0);
    await reader.get('/v1/customers/search?name=ada').expect(200);
    const before = (await t.database.sql`select count(*)::int as n from customers.customers`)[0]!.n;
    expect403(await reader.post('/v1/customers').send(individual()));
    expect403(await reader.patch(`/v1/customers/${c.id}`).send({ givenName: 'X' }));
    expect403(await reader.post(`/v1/customers/${c.id}/contact-points`).send({ kind: 'phone', value: phone() }));
    expect403(await reader.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: true, source: 'x' }));
    expect403(await reader.get(`/v1/customers/${c.id}/export`));
    expect((await t.database.sql`select count(*)::int as n from customers.customers`)[0]!.n).toBe(before);
  });

  it('with customers:write only, creates but cannot read', async () => {
    const writer = as(await keyFor(t, { principalKind: 'integration', capabilities: ['customers:write'] }));
    const res = await writer.post('/v1/customers').send(individual()).expect(201);
    expect403(await writer.get(`/v1/customers/${res.body.id}`));
  });

  it('with events:read, reads the event feed', async () => {
    const feed = as(await keyFor(t, { principalKind: 'integration', capabilities: ['events:read'] }));
    await feed.get('/v1/events?type=customer.created').expect(200);
    expect403(await feed.get('/v1/customers'));
  });
});

describe('no credentials', () => {
  const id = '00000000-0000-4000-8000-000000000000';
  const part = '00000000-0000-4000-8000-000000000001';
  const routes: [string, string][] = [
    ['post', '/v1/customers'],
    ['get', '/v1/customers'],
    ['get', '/v1/customers/search?name=ada'],
    ['get', `/v1/customers/${id}`],
    ['patch', `/v1/customers/${id}`],
    ['get', `/v1/customers/${id}/export`],
    ['post', `/v1/customers/${id}/erase`],
    ['post', `/v1/customers/${id}/contact-points`],
    ['delete', `/v1/customers/${id}/contact-points/${part}`],
    ['post', `/v1/customers/${id}/addresses`],
    ['delete', `/v1/customers/${id}/addresses/${part}`],
    ['post', `/v1/customers/${id}/identity-documents`],
    ['delete', `/v1/customers/${id}/identity-documents/${part}`],
    ['put', `/v1/customers/${id}/consents/sms`],
    ['post', `/v1/customers/${id}/billing-accounts`],
    ['patch', `/v1/customers/${id}/billing-accounts/${part}`],
    ['get', `/v1/customers/${id}/interactions`],
    ['get', `/v1/customers/${id}/360`],
    ['put', `/v1/customers/${id}/transactional-opt-outs/sms`],
    ['delete', `/v1/customers/${id}/transactional-opt-outs/sms`],
  ];

  it('covers every customer route the app registers', () => {
    const spec = t.app.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const registered = Object.entries(spec.paths).filter(([p]) => p.startsWith('/v1/customers'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(contactPointId|addressId|documentId|accountId)\}/, '{part}')}`));
    const listed = routes.map(([m, u]) => `${m.toUpperCase()} ${u.split('?')[0]!.replace(id, '{id}').replace(part, '{part}').replace(/consents\/sms$/, 'consents/{channel}').replace(/opt-outs\/sms$/, 'opt-outs/{channel}')}`);
    expect(registered.sort()).toEqual(listed.sort());
  });

  it.each(routes)('%s %s answers 401 without a bearer token', async (method, url) => {
    const res = await (anon(t) as unknown as Record<string, (u: string) => import('supertest').Test>)[method]!(url).send({});
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it.each(routes)('%s %s answers 401 with an unknown key', async (method, url) => {
    const res = await (anon(t) as unknown as Record<string, (u: string) => import('supertest').Test>)[method]!(url)
      .set('authorization', 'Bearer tcrm_not_a_real_key_0000000000000000').send({});
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
  });

  it('answers 401 for a revoked key', async () => {
    const created = await t.http.post('/v1/api-keys').send({ name: 'gone', principalKind: 'staff', role: 'csr' }).expect(201);
    await anon(t).get('/v1/customers').set('authorization', `Bearer ${created.body.secret}`).expect(200);
    await t.http.delete(`/v1/api-keys/${created.body.id}`).expect(200);
    const res = await anon(t).get('/v1/customers').set('authorization', `Bearer ${created.body.secret}`);
    expect(res.status).toBe(401);
  });
});
