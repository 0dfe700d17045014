import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const summary = async () => (await t.http.get('/v1/inventory/summary').expect(200)).body;

describe('number and SIM inventory', () => {
  it('imports lists and ranges all or nothing, reporting bad and existing rows', async () => {
    const ok = await t.http.post('/v1/inventory/msisdns/import').send({
      items: [{ msisdn: '+447700900777', category: 'golden' }],
      ranges: [{ from: '+447700900000', to: '+447700900099' }],
    }).expect(201);
    expect(ok.body).toEqual({ imported: 101 });
    // One existing number refuses the whole import.
    const clash = await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: '+447700900090', to: '+447700900199' }] }).expect(409);
    expect(clash.body.code).toBe('resources_already_exist');
    expect(clash.body.rows).toHaveLength(10);
    const [{ n }] = await t.database.sql`select count(*)::int as n from orders.msisdns` as unknown as [{ n: number }];
    expect(n).toBe(101);
    // Bad rows are listed by position; repeated ones refused.
    const bad = await t.http.post('/v1/inventory/msisdns/import').send({ items: [{ msisdn: '+447700900300' }, { msisdn: '07700' }, { msisdn: 'x' }] }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.items.1.msisdn', 'body.items.2.msisdn']);
    const twice = await t.http.post('/v1/inventory/msisdns/import').send({ items: [{ msisdn: '+447700900301' }, { msisdn: '+447700900301' }] }).expect(422);
    expect(twice.body).toMatchObject({ code: 'duplicate_rows', rows: ['+447700900301'] });
    await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: '+447700900099', to: '+447700900000' }] }).expect(400);
  });

  it('imports numbers and SIMs from CSV, all or nothing, naming the bad rows', async () => {
    const csv = (body: string) => t.http.post('/v1/inventory/msisdns/import').set('content-type', 'text/csv').send(body);
    expect((await csv('msisdn,category\n+447700950001,golden\n+447700950002,\n').expect(201)).body).toEqual({ imported: 2 });
    const [row] = await t.database.sql`select category from orders.msisdns where msisdn = '+447700950002'`;
    expect(row!.category).toBe('standard');
    const bad = await csv('msisdn,category\n+447700950003,standard\n07700,standard\n').expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.items.1.msisdn']);
    expect((await csv('msisdn\n+447700950004,extra\n').expect(400)).body.code).toBe('validation_failed');
    expect((await csv('').expect(400)).body.code).toBe('validation_failed');
    const [none] = await t.database.sql`select count(*)::int as n from orders.msisdns where msisdn in ('+447700950003', '+447700950004')`;
    expect(none!.n).toBe(0);
    const sims = 'iccid,imsi,puk\r\n89440000000000050001,234100000050001,11112222\r\n89440000000000050001,234100000050002,11112222\r\n';
    const dup = await t.http.post('/v1/inventory/sims/import').set('content-type', 'text/csv').send(sims).expect(422);
    expect(dup.body).toMatchObject({ code: 'duplicate_rows', rows: ['89440000000000050001'] });
  });

  it('imports 40,000 numbers in one request', async () => {
    const res = await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: '+4420700000000', to: '+4420700039999', category: 'bulk' }] }).expect(201);
    expect(res.body.imported).toBe(40_000);
    const [row] = await t.database.sql`select count(*)::int as n, min(msisdn) as lo, max(msisdn) as hi from orders.msisdns where category = 'bulk'`;
    expect(row).toEqual({ n: 40_000, lo: '+4420700000000', hi: '+4420700039999' });
  });

  it('stores SIM PUKs encrypted and refuses a duplicate ICCID', async () => {
    const items = Array.from({ length: 3 }, (_, i) => ({ iccid: `8944000000000000${100 + i}`, imsi: `23410000000${1000 + i}`, puk: `1234567${i}` }));
    await t.http.post('/v1/inventory/sims/import').send({ items }).expect(201);
    const [row] = await t.database.sql`select puk_enc from orders.sims where iccid = ${items[0]!.iccid}`;
    expect(row!.puk_enc).not.toContain('12345670');
    const dup = await t.http.post('/v1/inventory/sims/import').send({ items: [items[0], { ...items[1], iccid: '89440000000000009999' }] }).expect(409);
    expect(dup.body.code).toBe('resources_already_exist');
    expect((await summary()).sims).toEqual({ available: 3, reserved: 0, assigned: 0, quarantined: 0 });
  });

  it('hands 10 numbers to exactly 10 of 50 concurrent reservations, and refuses the rest cleanly', async () => {
    await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: '+15550100000', to: '+15550100009', category: 'race' }] }).expect(201);
    const before = (await summary()).msisdns;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      t.http.post('/v1/inventory/msisdns/reservations').send({ reservedFor: `order-${i}`, category: 'race' })));
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(10);
    expect(new Set(won.map((r) => r.body.id)).size).toBe(10);
    expect(lost.every((r) => r.status === 409 && r.body.code === 'number_pool_exhausted')).toBe(true);
    const after = (await summary()).msisdns;
    expect(after.reserved - before.reserved).toBe(10);
    expect(after.available).toBe(before.available - 10);
    const holders = await t.database.sql`select count(distinct reserved_for)::int as n from orders.msisdns where category = 'race' and status = 'reserved'`;
    expect(holders[0]!.n).toBe(10);
  });

  it('reserves a chosen number once, and lapsed reservations return to the pool', async () => {
    const first = await t.http.post('/v1/inventory/msisdns/reservations').send({ reservedFor: 'order-gold', id: '+447700900777', ttlSeconds: 10 }).expect(201);
    expect(first.body.id).toBe('+447700900777');
    const again = await t.http.post('/v1/inventory/msisdns/reservations').send({ reservedFor: 'order-other', id: '+447700900777' }).expect(409);
    expect(again.body.code).toBe('resource_not_available');
    await t.database.sql`update orders.msisdns set reserved_until = now() - interval '1 second' where msisdn = '+447700900777'`;
    await t.database.sql`select graphile_worker.add_job('orders.recycle_resources')`;
    await t.runJobs();
    await t.http.post('/v1/inventory/msisdns/reservations').send({ reservedFor: 'order-other', id: '+447700900777' }).expect(201);
    const sim = await t.http.post('/v1/inventory/sims/reservations').send({ reservedFor: 'order-sim' }).expect(201);
    expect(sim.body.id).toMatch(/^89/);
  });

  it('lets a CSR look but not import or reserve', async () => {
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.get('/v1/inventory/summary').expect(200);
    await csr.post('/v1/inventory/msisdns/import').send({ items: [{ msisdn: '+447700900555' }] }).expect(403);
    await csr.post('/v1/inventory/msisdns/reservations').send({ reservedFor: 'x' }).expect(403);
    const customerId = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'In', familyName: 'Ventory' }).expect(201)).body.id;
    await asCaller(t, await keyFor(t, { principalKind: 'customer', customerId })).get('/v1/inventory/summary').expect(403);
  });
});

describe('inventory requests that must not hurt', () => {
  it('refuses an oversized or malformed import before expanding anything', async () => {
    const t0 = Date.now();
    const huge = await t.http.post('/v1/inventory/msisdns/import').send({ ranges: Array.from({ length: 100 }, (_, i) => ({ from: `+1${i + 100}0000000`, to: `+1${i + 100}0099999` })) }).expect(400);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(huge.body.code).toBe('validation_failed');
    const bad = await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: 'x', to: '+447700900001' }] }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('body.ranges.0.from');
  });

  it('reserves a standard number unless another category is asked for, and refuses a SIM category', async () => {
    await t.http.post('/v1/inventory/msisdns/import').send({ items: [{ msisdn: '+10000000001', category: 'golden' }, { msisdn: '+10000000002' }] }).expect(201);
    const plain = await t.http.post('/v1/inventory/msisdns/reservations').send({ reservedFor: 'order-plain' }).expect(201);
    const [row] = await t.database.sql`select category from orders.msisdns where msisdn = ${plain.body.id}`;
    expect(row!.category).toBe('standard');
    await t.http.post('/v1/inventory/sims/reservations').send({ reservedFor: 'x', category: 'golden' }).expect(400);
  });

  it('replays a retried reservation instead of taking a second number', async () => {
    await t.http.post('/v1/inventory/msisdns/import').send({ items: [{ msisdn: '+10000000011', category: 'retry' }, { msisdn: '+10000000012', category: 'retry' }] }).expect(201);
    const body = { reservedFor: 'order-retry', category: 'retry' };
    const first = await t.http.post('/v1/inventory/msisdns/reservations').set('idempotency-key', 'reserve-1').send(body).expect(201);
    const again = await t.http.post('/v1/inventory/msisdns/reservations').set('idempotency-key', 'reserve-1').send(body).expect(201);
    expect(again.body).toEqual(first.body);
    const [{ n }] = await t.database.sql`select count(*)::int as n from orders.msisdns where category = 'retry' and status = 'reserved'` as unknown as [{ n: number }];
    expect(n).toBe(1);
  });

  it('names a repeated IMSI', async () => {
    const res = await t.http.post('/v1/inventory/sims/import').send({ items: [
      { iccid: '8944000000000000201', imsi: '234100000002001', puk: '12345678' },
      { iccid: '8944000000000000202', imsi: '234100000002001', puk: '12345678' },
    ] }).expect(422);
    expect(res.body).toMatchObject({ code: 'duplicate_rows', rows: ['234100000002001'] });
  });
});
