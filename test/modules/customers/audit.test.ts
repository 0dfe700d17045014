import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, keyFor, testApp, type TestApp } from '../../support/app.js';
import { create, email, individual, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

type Entry = { action: string; actorKind: string; actorId: string; entityType: string; entityId: string; requestId: string | null; details: Record<string, unknown> };
const trail = async (id: string, auth?: string) => {
  const req = auth ? anon(t).get('/v1/audit-events').set('authorization', auth) : t.http.get('/v1/audit-events');
  const res = await req.query({ entityType: 'customer', entityId: id, limit: 200 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items as Entry[];
};

describe('audit trail of a customer', () => {
  let c: Customer;
  const mail = email('audited');

  beforeAll(async () => {
    c = await create(t, individual({ dateOfBirth: '1970-01-01', contactPoints: [{ kind: 'email', value: mail }] }));
    await t.http.get(`/v1/customers/${c.id}`).expect(200);
  });

  it('records customer.created and customer.read by staff, newest first', async () => {
    const items = await trail(c.id);
    const actions = items.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['customer.created', 'customer.read']));
    expect(actions.indexOf('customer.read')).toBeLessThan(actions.indexOf('customer.created'));
    const read = items.find((e) => e.action === 'customer.read')!;
    expect(read).toMatchObject({ actorKind: 'staff', entityType: 'customer', entityId: c.id });
    expect(read.requestId).toBeTruthy();
  });

  it('ties the audit row to the request id the caller sent', async () => {
    await t.http.get(`/v1/customers/${c.id}`).set('x-request-id', 'audit-trace-42').expect(200);
    expect((await trail(c.id)).some((e) => e.action === 'customer.read' && e.requestId === 'audit-trace-42')).toBe(true);
  });

  it('records updates with field names only, and part changes with the part id', async () => {
    await t.http.patch(`/v1/customers/${c.id}`).send({ givenName: 'Secretname', dateOfBirth: '1971-02-02' }).expect(200);
    await t.http.put(`/v1/customers/${c.id}/consents/email`).send({ granted: true, source: 'form' }).expect(200);
    const acc = (await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    const items = await trail(c.id);
    expect(items.find((e) => e.action === 'customer.updated')!.details).toEqual({ fields: ['givenName', 'dateOfBirth'] });
    expect(items.find((e) => e.action === 'customer.consent.changed')!.details).toEqual({ channel: 'email', granted: true });
    expect(items.find((e) => e.action === 'billing_account.created')!.details).toEqual({ partId: acc.id });
    const raw = JSON.stringify(items);
    for (const secret of ['Secretname', '1971-02-02', '1970-01-01', mail]) expect(raw).not.toContain(secret);
  });

  it('records who acted: a partner read is audited with the partner key', async () => {
    const partnerId = '11111111-1111-4111-8111-111111111111';
    const key = await keyFor(t, { principalKind: 'partner', partnerId });
    const own = (await anon(t).post('/v1/customers').set('authorization', key).send(individual()).expect(201)).body;
    await anon(t).get(`/v1/customers/${own.id}`).set('authorization', key).expect(200);
    const items = await trail(own.id);
    expect(items.map((e) => [e.action, e.actorKind])).toEqual([['customer.read', 'partner'], ['customer.created', 'partner']]);
  });

  it('a refused read (404 for another partner) leaves no customer.read row', async () => {
    const other = await keyFor(t, { principalKind: 'partner', partnerId: '22222222-2222-4222-8222-222222222222' });
    const before = (await trail(c.id)).length;
    await anon(t).get(`/v1/customers/${c.id}`).set('authorization', other).expect(404);
    expect(await trail(c.id)).toHaveLength(before);
  });
});

describe('who may read the audit trail', () => {
  it('a supervisor may; a csr, partner, customer or marketing key may not (403)', async () => {
    const c = await create(t);
    const sup = await keyFor(t, { principalKind: 'staff', role: 'supervisor' });
    expect((await trail(c.id, sup)).map((e) => e.action)).toContain('customer.created');
    const refused = [
      await keyFor(t, { principalKind: 'staff', role: 'csr' }),
      await keyFor(t, { principalKind: 'staff', role: 'marketing' }),
      await keyFor(t, { principalKind: 'partner', partnerId: '33333333-3333-4333-8333-333333333333' }),
      await keyFor(t, { principalKind: 'customer', customerId: c.id }),
      await keyFor(t, { principalKind: 'integration', capabilities: ['customers:read'] }),
    ];
    for (const key of refused) {
      const res = await anon(t).get('/v1/audit-events').set('authorization', key).query({ entityType: 'customer', entityId: c.id });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
    await anon(t).get('/v1/audit-events').expect(401);
  });
});
