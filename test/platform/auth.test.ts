import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authGuard } from '../../src/platform/auth/guard.js';
import { BOOTSTRAP_KEY_ID } from '../../src/platform/auth/service.js';
import { ADMIN_KEY, anon, keyFor, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp({ env: { AUTH_CACHE_SECONDS: '0' } }); });
afterAll(async () => { await t.close(); });

const staffUser = (role: string, email = `${role}-${Math.random().toString(36).slice(2)}@op.example`) =>
  ({ email, displayName: `${role} user`, role, password: 'correct horse battery' });

describe('authentication', () => {
  it('answers 401 problem+json without credentials, with a forged key and with a malformed header', async () => {
    for (const header of [undefined, 'Bearer forged-token-123', 'Bearer tcrm_nottherealkey', 'Basic abc', 'Bearer a.b.c']) {
      const req = anon(t).get('/v1/customers');
      const res = await (header ? req.set('authorization', header) : req);
      expect(res.status, String(header)).toBe(401);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('authenticates before parsing the body: a broken body without credentials is a 401', async () => {
    const res = await anon(t).post('/v1/customers').set('content-type', 'application/json').send('{"broken');
    expect(res.status).toBe(401);
  });

  it('logs a staff user in with a short-lived token, and refuses a wrong password or a disabled user', async () => {
    const created = await t.http.post('/v1/staff-users').send(staffUser('csr', 'grace@op.example')).expect(201);
    expect(created.body).not.toHaveProperty('passwordHash');
    await anon(t).post('/v1/auth/login').send({ email: 'grace@op.example', password: 'wrong password!!' }).expect(401);
    const login = await anon(t).post('/v1/auth/login').send({ email: 'GRACE@op.example', password: 'correct horse battery' }).expect(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const bearer = `Bearer ${login.body.accessToken}`;
    await anon(t).get('/v1/customers').set('authorization', bearer).expect(200);
    // A CSR may not manage staff.
    await anon(t).get('/v1/staff-users').set('authorization', bearer).expect(403);
    // A tampered token is refused.
    const [h, p, s] = (login.body.accessToken as string).split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'admin' })).toString('base64url');
    await anon(t).get('/v1/staff-users').set('authorization', `Bearer ${h}.${forged}.${s}`).expect(401);
    // A key issued to the user, too.
    const key = await keyFor(t, { principalKind: 'staff', role: 'csr', staffUserId: created.body.id });
    await anon(t).get('/v1/customers').set('authorization', key).expect(200);
    // Demoted: the token still names a CSR, but the account decides.
    await t.http.patch(`/v1/staff-users/${created.body.id}`).send({ role: 'marketing' }).expect(200);
    await anon(t).get('/v1/customers').set('authorization', bearer).expect(403);
    await anon(t).get('/v1/customers').set('authorization', key).expect(403);
    // Disabled: the token and the user's keys stop working at once, not when the token expires.
    await t.http.patch(`/v1/staff-users/${created.body.id}`).send({ status: 'disabled' }).expect(200);
    await anon(t).get('/v1/customers').set('authorization', bearer).expect(401);
    await anon(t).get('/v1/customers').set('authorization', key).expect(401);
    await anon(t).post('/v1/auth/login').send({ email: 'grace@op.example', password: 'correct horse battery' }).expect(401);
  });

  it('refuses a duplicate staff email with 409', async () => {
    await t.http.post('/v1/staff-users').send(staffUser('marketing', 'dup@op.example')).expect(201);
    const res = await t.http.post('/v1/staff-users').send(staffUser('csr', 'DUP@op.example')).expect(409);
    expect(res.body.code).toBe('email_taken');
  });
});

describe('API keys', () => {
  it('shows the secret once, stores only a hash, records last use and stops working when revoked', async () => {
    const res = await t.http.post('/v1/api-keys').send({ name: 'ops', principalKind: 'staff', role: 'supervisor' }).expect(201);
    const { id, secret } = res.body as { id: string; secret: string };
    expect(secret).toMatch(/^tcrm_/);
    const [row] = await t.database.sql`select key_hash from platform.api_keys where id = ${id}`;
    expect(row!.key_hash).not.toContain(secret);
    await anon(t).get('/v1/audit-events').set('authorization', `Bearer ${secret}`).expect(200);
    const listed = await t.http.get('/v1/api-keys').expect(200);
    const mine = listed.body.items.find((k: { id: string }) => k.id === id);
    expect(mine).not.toHaveProperty('secret');
    expect(mine.lastUsedAt).not.toBeNull();
    await t.http.delete(`/v1/api-keys/${id}`).expect(200);
    await anon(t).get('/v1/audit-events').set('authorization', `Bearer ${secret}`).expect(401);
  });

  it('refuses a key that names no valid principal', async () => {
    const res = await t.http.post('/v1/api-keys').send({ name: 'x', principalKind: 'partner' }).expect(422);
    expect(res.body.code).toBe('invalid_principal');
    const ghost = await t.http.post('/v1/api-keys').send({ name: 'x', principalKind: 'customer', customerId: '01900000-0000-7000-8000-0000000000ff' }).expect(422);
    expect(ghost.body.code).toBe('invalid_principal');
  });

  it('refuses an expired key', async () => {
    const res = await t.http.post('/v1/api-keys').send({ name: 'old', principalKind: 'staff', role: 'admin', expiresAt: new Date(Date.now() + 60_000).toISOString() }).expect(201);
    await anon(t).get('/v1/customers').set('authorization', `Bearer ${res.body.secret}`).expect(200);
    await t.database.sql`update platform.api_keys set expires_at = now() - interval '1 second' where id = ${res.body.id}`; // its minute has passed
    await anon(t).get('/v1/customers').set('authorization', `Bearer ${res.body.secret}`).expect(401);
  });

  it('keeps the bootstrap admin key single and current', async () => {
    const rows = await t.database.sql`select id from platform.api_keys where id = ${BOOTSTRAP_KEY_ID}`;
    expect(rows).toHaveLength(1);
    await anon(t).get('/v1/staff-users').set('authorization', `Bearer ${ADMIN_KEY}`).expect(200);
  });
});

describe('authorisation by role', () => {
  const cases: [string, Record<string, unknown>, string, string, number][] = [
    ['csr', { principalKind: 'staff', role: 'csr' }, 'get', '/v1/audit-events', 403],
    ['csr', { principalKind: 'staff', role: 'csr' }, 'get', '/v1/api-keys', 403],
    ['supervisor', { principalKind: 'staff', role: 'supervisor' }, 'get', '/v1/audit-events', 200],
    ['supervisor', { principalKind: 'staff', role: 'supervisor' }, 'post', '/v1/staff-users', 403],
    ['marketing', { principalKind: 'staff', role: 'marketing' }, 'get', '/v1/customers', 403],
    ['partner', { principalKind: 'partner', partnerId: '01900000-0000-7000-8000-000000000001' }, 'get', '/v1/api-keys', 403],
    ['customer', { principalKind: 'customer', customerId: '01900000-0000-7000-8000-000000000002' }, 'get', '/v1/events', 403],
    ['integration', { principalKind: 'integration', capabilities: ['events:read'] }, 'get', '/v1/events', 200],
    ['integration', { principalKind: 'integration', capabilities: ['events:read'] }, 'get', '/v1/customers', 403],
  ];
  it.each(cases)('%s → %s %s', async (_who, key, method, path, status) => {
    if (key.principalKind === 'customer') {
      // A customer key must name a customer that exists.
      const c = await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Key', familyName: 'Holder' }).expect(201);
      key = { ...key, customerId: c.body.id };
    }
    const bearer = await keyFor(t, key);
    const req = method === 'get' ? anon(t).get(path) : anon(t).post(path).send({});
    const res = await req.set('authorization', bearer);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.body.code).toBe('forbidden');
  });
});

describe('default deny', () => {
  it('refuses to register a route that does not say who may call it', async () => {
    const app = Fastify();
    await app.register(authGuard, { credentials: { resolve: async () => undefined } as never });
    expect(() => app.get('/v1/open', async () => 'oops')).toThrow(/declares no config.auth/);
    await app.close();
  });

  it('refuses to serve a route the guard never saw declared', async () => {
    const app = Fastify();
    app.get('/v1/early', async () => 'oops'); // registered before the guard existed
    await app.register(authGuard, { credentials: { resolve: async () => undefined } as never });
    const res = await app.inject({ method: 'GET', url: '/v1/early' });
    expect(res.statusCode).toBe(403);
    await app.close();
  });
});
