import { describe, expect, it } from 'vitest';
import { firstStartAdminKey } from '../../src/platform/auth/service.js';
import { anon, freshDatabase, testApp } from '../support/app.js';

describe('rate limiting', () => {
  it('answers 429 problem+json past the limit', async () => {
    const t = await testApp({ env: { RATE_LIMIT_MAX: '3' } });
    for (let i = 0; i < 3; i++) await anon(t).get('/healthz').expect(200);
    const res = await anon(t).get('/healthz').expect(429);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.code).toBe('rate_limited');
    expect(res.headers['retry-after']).toBeDefined();
    await t.close();
  });
});

describe('first start without ADMIN_API_KEY', () => {
  it('creates one admin key, once, and it works', async () => {
    const url = await freshDatabase();
    const t = await testApp({ url });
    // testApp made the bootstrap key: remove it to stand where a brand-new install stands.
    await t.database.sql`delete from platform.api_keys`;
    const secret = await firstStartAdminKey(t.database.db, t.app.credentials);
    expect(secret).toMatch(/^tcrm_/);
    expect(await firstStartAdminKey(t.database.db, t.app.credentials)).toBeUndefined();
    await anon(t).get('/v1/staff-users').set('authorization', `Bearer ${secret}`).expect(200);
    await t.close();
  });
});

describe('periodic tasks', () => {
  it('registers the idempotency purge as an hourly cron task that forgets keys past 24 hours', async () => {
    const t = await testApp();
    expect(t.app.jobs.cron).toContainEqual({ pattern: '17 * * * *', task: 'platform.purge_idempotency_keys' });
    await t.database.sql`insert into platform.idempotency_keys (principal, key, request_hash, state, created_at) values
      ('p', 'old', 'h', 'done', now() - interval '25 hours'), ('p', 'new', 'h', 'done', now())`;
    await t.database.sql`select graphile_worker.add_job('platform.purge_idempotency_keys')`;
    await t.runJobs();
    const keys = await t.database.sql`select key from platform.idempotency_keys where principal = 'p'`;
    expect(keys.map((k) => k.key)).toEqual(['new']);
    await t.close();
  });
});

describe('readiness', () => {
  it('answers 503 migrations_pending when the schema is behind the code', async () => {
    const t = await testApp();
    await t.database.sql`delete from drizzle.__drizzle_migrations where id = (select max(id) from drizzle.__drizzle_migrations)`;
    const res = await anon(t).get('/readyz').expect(503);
    expect(res.body.code).toBe('migrations_pending');
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    await t.close();
  });
});

describe('metrics access', () => {
  it('wants the METRICS_TOKEN when one is configured', async () => {
    const t = await testApp({ env: { METRICS_TOKEN: 'scrape-token-0123456789' } });
    const refused = await anon(t).get('/metrics').expect(401);
    expect(refused.body.code).toBe('unauthenticated');
    await anon(t).get('/metrics').set('authorization', 'Bearer wrong-token-0123456789').expect(401);
    const ok = await anon(t).get('/metrics').set('authorization', 'Bearer scrape-token-0123456789').expect(200);
    expect(ok.text).toContain('http_requests_total');
    await t.close();
  });
});
