import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_KEY_ID } from '../../src/platform/auth/service.js';
import { anon, keyFor, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const body = (name: string) => ({ type: 'individual', givenName: name, familyName: 'Idem' });
const count = async (name: string) => Number((await t.database.sql`select count(*)::int as n from customers.customers where given_name = ${name}`)[0]!.n);

describe('Idempotency-Key', () => {
  it('replays the first response for the same key and body, creating one record', async () => {
    const first = await t.http.post('/v1/customers').set('idempotency-key', 'k-replay').send(body('Replay')).expect(201);
    const again = await t.http.post('/v1/customers').set('idempotency-key', 'k-replay').send(body('Replay')).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.body).toEqual(first.body);
    expect(await count('Replay')).toBe(1);
  });

  it('refuses the same key with a different body with 422', async () => {
    await t.http.post('/v1/customers').set('idempotency-key', 'k-differ').send(body('DifferA')).expect(201);
    const res = await t.http.post('/v1/customers').set('idempotency-key', 'k-differ').send(body('DifferB')).expect(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    expect(await count('DifferB')).toBe(0);
  });

  it('answers 409 while the first request with the key is still in flight', async () => {
    await t.database.sql`insert into platform.idempotency_keys (principal, key, request_hash, state)
      values (${`staff:key:${BOOTSTRAP_KEY_ID}`}, 'k-inflight', 'whatever', 'in_flight')`;
    const res = await t.http.post('/v1/customers').set('idempotency-key', 'k-inflight').send(body('InFlight')).expect(409);
    expect(res.body.code).toBe('idempotency_request_in_flight');
  });

  it('scopes keys per principal: another caller with the same key gets its own result', async () => {
    const other = await keyFor(t, { principalKind: 'staff', role: 'csr' });
    await t.http.post('/v1/customers').set('idempotency-key', 'k-shared').send(body('SharedA')).expect(201);
    const res = await anon(t).post('/v1/customers').set('authorization', other).set('idempotency-key', 'k-shared').send(body('SharedB'));
    expect(res.status).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
  });

  it('replays a refusal too, and lets an expired key be used afresh', async () => {
    const bad = { type: 'individual', givenName: 'NoFamily' };
    const first = await t.http.post('/v1/customers').set('idempotency-key', 'k-refused').send(bad).expect(422);
    const again = await t.http.post('/v1/customers').set('idempotency-key', 'k-refused').send(bad).expect(422);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    await t.database.sql`update platform.idempotency_keys set created_at = now() - interval '25 hours' where key = 'k-refused'`;
    const fresh = await t.http.post('/v1/customers').set('idempotency-key', 'k-refused').send(bad).expect(422);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
  });

  it('validates the key itself', async () => {
    const res = await t.http.post('/v1/customers').set('idempotency-key', 'x'.repeat(300)).send(body('LongKey')).expect(400);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('Idempotency-Key after a failure', () => {
  it('frees the key when Postgres refused the work, so a corrected retry can use it', async () => {
    const bad = await t.http.post('/v1/customers').set('idempotency-key', 'k-rolled-back').send({ type: 'individual', givenName: 'N\u0000ul', familyName: 'Byte' });
    expect(bad.status).toBe(400);
    const rows = await t.database.sql`select 1 from platform.idempotency_keys where key = 'k-rolled-back'`;
    expect(rows).toHaveLength(0);
    await t.http.post('/v1/customers').set('idempotency-key', 'k-rolled-back').send({ type: 'individual', givenName: 'Null', familyName: 'Byte' }).expect(201);
  });
});
