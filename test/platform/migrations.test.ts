import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { adminSql, connect } from '../../src/platform/db/client.js';
import { migrateDatabase } from '../../src/platform/db/migrate.js';
import { anon, testApp } from '../support/app.js';

describe('migrations', () => {
  it('build the whole schema from an empty database, concurrently and repeatably', async () => {
    const name = `crm_t_${inject('templateDb').split('_').pop()}_empty`;
    const admin = adminSql(inject('serverUrl'));
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const u = new URL(inject('serverUrl'));
    u.pathname = `/${name}`;
    const one = connect(u.toString(), 3);
    const two = connect(u.toString(), 3);
    // Two instances starting together: the advisory lock makes one wait for the other.
    await Promise.all([migrateDatabase(one), migrateDatabase(two)]);
    await migrateDatabase(one);
    const schemas = await one.sql`select schema_name from information_schema.schemata where schema_name in ('platform', 'customers', 'graphile_worker') order by 1`;
    expect(schemas.map((s) => s.schema_name)).toEqual(['customers', 'graphile_worker', 'platform']);
    await one.close();
    await two.close();
    const t = await testApp({ url: u.toString() });
    await anon(t).get('/readyz').expect(200);
    await t.close();
  });

  it('keep the audit log append-only', async () => {
    const t = await testApp();
    await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Audit', familyName: 'Trail' }).expect(201);
    await expect(t.database.sql`update platform.audit_log set action = 'forged'`).rejects.toThrow(/append-only/);
    await expect(t.database.sql`delete from platform.audit_log`).rejects.toThrow(/append-only/);
    await t.close();
  });
});

describe('monthly partitions', () => {
  it('put audit rows and events in the current month\'s partition and keep months ahead ready', async () => {
    const t = await testApp();
    await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Part', familyName: 'Ition' }).expect(201);
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    const audit = await t.database.sql`select distinct tableoid::regclass::text as p from platform.audit_log`;
    expect(audit.map((r) => r.p)).toEqual([`platform.audit_log_${month}`]);
    const events = await t.database.sql`select distinct tableoid::regclass::text as p from platform.events`;
    expect(events.map((r) => r.p)).toEqual([`platform.events_${month}`]);
    // Idempotent, and the daily task is registered.
    await t.database.sql`select platform.ensure_monthly_partitions('platform.audit_log')`;
    const parts = await t.database.sql`select count(*)::int as n from pg_inherits where inhparent = 'platform.audit_log'::regclass`;
    expect(parts[0]!.n).toBe(6); // last month, this one, three ahead, and the default
    expect(t.app.jobs.cron).toContainEqual({ pattern: '7 3 * * *', task: 'platform.ensure_partitions' });
    await t.close();
  });
});

describe('partition maintenance when it fell behind', () => {
  it('leaves a month whose rows sit in the default partition, creates the rest, and runs concurrently', async () => {
    const t = await testApp();
    // A row four months ahead lands in the default partition (nothing exists that far yet).
    await t.database.sql`insert into platform.audit_log (id, at, actor_kind, actor_id, action, entity_type, entity_id)
      values (gen_random_uuid(), date_trunc('month', now()) + interval '4 months' + interval '3 days', 'staff', 'x', 'a', 'b', 'c')`;
    const results = await Promise.allSettled(Array.from({ length: 4 }, () =>
      t.database.sql`select platform.ensure_monthly_partitions('platform.audit_log', 1, 6)`));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const parts = await t.database.sql`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'platform.audit_log'::regclass order by 1`;
    const months = [5, 6].map((n) => { const d = new Date(); d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + n); return `audit_log_${d.toISOString().slice(0, 7).replace('-', '')}`; });
    const skipped = (() => { const d = new Date(); d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + 4); return `audit_log_${d.toISOString().slice(0, 7).replace('-', '')}`; })();
    const names = parts.map((p) => p.relname as string);
    expect(names).toEqual(expect.arrayContaining(months));
    expect(names).not.toContain(skipped);
    await t.close();
  });
});
