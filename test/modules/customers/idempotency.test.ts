import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFor, testApp, type TestApp } from '../../support/app.js';
import { individual } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const rowsNamed = async (familyName: string) =>
  (await t.database.sql`select id from customers.customers where family_name = ${familyName}`).map((r) => r.id as string);

describe('Idempotency-Key on POST /v1/customers', () => {
  it('replays the first response for the same key and body, creating one customer', async () => {
    const key = randomUUID();
    const body = individual();
    const first = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const second = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['content-type']).toMatch(/application\/json/);
    expect(second.body).toEqual(first.body);

    expect(await rowsNamed(body.familyName)).toEqual([first.body.id]);
  });

  it('refuses the same key with a different body with 422 idempotency_key_reused', async () => {
    const key = randomUUID();
    const body = individual();
    await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201);
    const res = await t.http.post('/v1/customers').set('idempotency-key', key).send({ ...body, givenName: 'Someone else' }).expect(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    expect(await rowsNamed(body.familyName)).toHaveLength(1);
  });

  it('without a key, two identical POSTs create two customers', async () => {
    const body = individual();
    await t.http.post('/v1/customers').send(body).expect(201);
    await t.http.post('/v1/customers').send(body).expect(201);
    expect(await rowsNamed(body.familyName)).toHaveLength(2);
  });

  it('scopes keys per principal: another caller with the same key gets its own customer', async () => {
    const key = randomUUID();
    const body = individual();
    const csr = await keyFor(t, { principalKind: 'staff', role: 'csr' });
    const a = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201);
    const b = await t.http.post('/v1/customers').set('authorization', csr).set('idempotency-key', key).send(body).expect(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body.id).not.toBe(a.body.id);
    expect(await rowsNamed(body.familyName)).toHaveLength(2);
  });

  it('replays a refusal too (a 422 stays a 422 for that key)', async () => {
    const key = randomUUID();
    const body = { type: 'individual', givenName: 'Only' };
    const first = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(422);
    const second = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(422);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.code).toBe(first.body.code);
  });

  it('refuses a key with spaces or over 200 characters with 400', async () => {
    await t.http.post('/v1/customers').set('idempotency-key', 'has space').send(individual()).expect(400);
    await t.http.post('/v1/customers').set('idempotency-key', 'k'.repeat(201)).send(individual()).expect(400);
  });
});

describe('Idempotency-Key under concurrency', () => {
  it('20 parallel POSTs with the same key and body create exactly one customer, never a 5xx', async () => {
    const key = randomUUID();
    const body = individual();
    const responses = await Promise.all(Array.from({ length: 20 }, () =>
      t.http.post('/v1/customers').set('idempotency-key', key).send(body).then((r) => r)));

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500), JSON.stringify(statuses)).toEqual([]);
    for (const r of responses) {
      if (r.status === 201) continue;
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.code).toBe('idempotency_request_in_flight');
    }
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);

    const ids = await rowsNamed(body.familyName);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toBe(created[0]!.body.id);

    // Once settled, a retry replays the single customer.
    const retry = await t.http.post('/v1/customers').set('idempotency-key', key).send(body).expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.id).toBe(ids[0]);
  });
});

describe('Idempotency-Key on POST /v1/customers/:id/billing-accounts', () => {
  it('replays the account and opens only one', async () => {
    const c = (await t.http.post('/v1/customers').send(individual()).expect(201)).body;
    const key = randomUUID();
    const body = { type: 'prepaid', currency: 'EUR' };
    const a = await t.http.post(`/v1/customers/${c.id}/billing-accounts`).set('idempotency-key', key).send(body).expect(201);
    const b = await t.http.post(`/v1/customers/${c.id}/billing-accounts`).set('idempotency-key', key).send(body).expect(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body).toEqual(a.body);
    const rows = await t.database.sql`select id from customers.billing_accounts where customer_id = ${c.id}`;
    expect(rows).toHaveLength(1);
  });
});
