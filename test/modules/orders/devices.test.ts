import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sellableDevice } from '../../../src/modules/orders/devices.js';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

let n = 0;
const device = (over: Record<string, unknown> = {}) => ({ sku: `ROUTER-${++n}`, name: 'Fibre router', price: { amount: 4999, currency: 'EUR' }, ...over });
const create = async (over: Record<string, unknown> = {}) => (await t.http.post('/v1/devices').send(device(over)).expect(201)).body.sku as string;
const serials = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
const codeOf = (p: Promise<{ body: { code: string } }>) => p.then((r) => r.body.code);
const unitCount = async (sku: string) =>
  ((await t.database.sql`select count(*)::int as n from orders.device_units where sku = ${sku}`) as unknown as [{ n: number }])[0].n;

describe('devices', () => {
  it('are created on sale, stocked by serial, counted by state and retired', async () => {
    const created = await t.http.post('/v1/devices').send(device()).expect(201);
    const sku = created.body.sku as string;
    expect(created.headers.location).toBe(`/v1/devices/${sku}`);
    expect(created.body).toMatchObject({ status: 'active', price: { amount: 4999, currency: 'EUR' }, stock: { available: 0, reserved: 0, assigned: 0 } });

    expect((await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: serials('SN', 5) }).expect(201)).body).toEqual({ imported: 5 });
    await t.database.sql`update orders.device_units set status = 'reserved', reserved_for = 'order-1', reserved_until = now() + interval '1 hour' where serial = 'SN-00000'`;
    await t.database.sql`update orders.device_units set status = 'assigned', assigned_to = 'customer-1' where serial = 'SN-00001'`;
    expect((await t.http.get(`/v1/devices/${sku}`).expect(200)).body.stock).toEqual({ available: 3, reserved: 1, assigned: 1 });
    const listed = (await t.http.get('/v1/devices?limit=200').expect(200)).body.items;
    expect(listed.find((d: { sku: string }) => d.sku === sku).stock).toEqual({ available: 3, reserved: 1, assigned: 1 });

    expect((await t.http.post(`/v1/devices/${sku}/retire`).expect(200)).body.status).toBe('retired');
    expect((await t.http.post(`/v1/devices/${sku}/retire`).expect(200)).body.status).toBe('retired');
    const late = await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: ['SN-99999'] }).expect(409);
    expect(late.body.code).toBe('device_retired');
    expect(await unitCount(sku)).toBe(5);

    const events = await t.database.sql`select type from platform.events where aggregate_id = ${sku} order by id`;
    expect(events.map((e) => e.type)).toEqual(['device.created', 'device.retired']);
  });

  it('imports units all or nothing, naming repeated and existing serials', async () => {
    const sku = await create();
    await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: ['AB-0001', 'AB-0002'] }).expect(201);
    const clash = await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: ['AB-0003', 'AB-0002'] }).expect(409);
    expect(clash.body).toMatchObject({ code: 'resources_already_exist', rows: ['AB-0002'] });
    const twice = await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: ['AB-0004', 'AB-0004'] }).expect(422);
    expect(twice.body).toMatchObject({ code: 'duplicate_rows', rows: ['AB-0004'] });
    // A serial is unique across devices, not just within one.
    const other = await create();
    await t.http.post(`/v1/devices/${other}/units/import`).send({ serials: ['AB-0001'] }).expect(409);
    expect(await unitCount(sku)).toBe(2);
    expect(await unitCount(other)).toBe(0);

    const bad = await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: ['AB-0005', 'x', 'has space'] }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.serials.1', 'body.serials.2']);
    await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: [] }).expect(400);
    await t.http.post(`/v1/devices/${sku}/units/import`).send({ serials: serials('BIG', 10_001) }).expect(400);
    expect(await codeOf(t.http.post('/v1/devices/NO-SUCH-SKU/units/import').send({ serials: ['AB-0009'] }).expect(404))).toBe('device_not_found');
  });

  it('imports 10,000 units in one request, and replays a retried import', async () => {
    const sku = await create();
    const body = { serials: serials('BULK', 10_000) };
    const first = await t.http.post(`/v1/devices/${sku}/units/import`).set('idempotency-key', 'units-1').send(body).expect(201);
    const again = await t.http.post(`/v1/devices/${sku}/units/import`).set('idempotency-key', 'units-1').send(body).expect(201);
    expect(again.body).toEqual(first.body);
    expect(await unitCount(sku)).toBe(10_000);
  });

  it('refuses a duplicate SKU and bad bodies', async () => {
    const body = device();
    await t.http.post('/v1/devices').send(body).expect(201);
    expect(await codeOf(t.http.post('/v1/devices').send({ ...body, name: 'Other' }).expect(409))).toBe('device_sku_taken');
    await t.http.post('/v1/devices').send(device({ sku: 'lower' })).expect(400);
    await t.http.post('/v1/devices').send(device({ price: { amount: 1.5, currency: 'EUR' } })).expect(400);
    await t.http.post('/v1/devices').send(device({ colour: 'red' })).expect(400);
    expect(await codeOf(t.http.get('/v1/devices/NO-SUCH-SKU').expect(404))).toBe('device_not_found');
    expect(await codeOf(t.http.post('/v1/devices/NO-SUCH-SKU/retire').expect(404))).toBe('device_not_found');
  });

  it('shows partners and customers only what is on sale, and lets only catalog and inventory staff change it', async () => {
    const onSale = await create();
    const retired = await create();
    await t.http.post(`/v1/devices/${retired}/retire`).expect(200);
    const customerId = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'De', familyName: 'Vice' }).expect(201)).body.id;

    for (const key of [{ principalKind: 'customer', customerId }, { principalKind: 'partner', partnerId: '01900000-0000-7000-8000-00000000000a' }]) {
      const as = asCaller(t, await keyFor(t, key));
      await as.get(`/v1/devices/${onSale}`).expect(200);
      await as.get(`/v1/devices/${retired}`).expect(404);
      const listed = (await as.get('/v1/devices?limit=200').expect(200)).body.items.map((d: { sku: string }) => d.sku);
      expect(listed).toContain(onSale);
      expect(listed).not.toContain(retired);
      await as.post('/v1/devices').send(device()).expect(403);
      await as.post(`/v1/devices/${onSale}/units/import`).send({ serials: ['CU-0001'] }).expect(403);
    }
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.get(`/v1/devices/${retired}`).expect(200);
    await csr.post(`/v1/devices/${onSale}/retire`).expect(403);
    await csr.post(`/v1/devices/${onSale}/units/import`).send({ serials: ['CS-0001'] }).expect(403);
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    await supervisor.post(`/v1/devices/${onSale}/units/import`).send({ serials: ['SV-0001'] }).expect(201);
    const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
    await marketing.post(`/v1/devices/${onSale}/units/import`).send({ serials: ['MK-0001'] }).expect(403);
    await marketing.post(`/v1/devices/${onSale}/retire`).expect(200);
  });

  it('pages devices by SKU and filters by status', async () => {
    const made = [await create({ sku: 'PAGE-A' }), await create({ sku: 'PAGE-B' }), await create({ sku: 'PAGE-C' })];
    await t.http.post('/v1/devices/PAGE-B/retire').expect(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { sku: string; status: string }[]; nextCursor: string | null } } =
        await t.http.get('/v1/devices').query({ status: 'active', limit: 1, ...(cursor ? { cursor } : {}) }).expect(200);
      expect(res.body.items.every((d) => d.status === 'active')).toBe(true);
      seen.push(...res.body.items.map((d) => d.sku));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.filter((s) => made.includes(s))).toEqual(['PAGE-A', 'PAGE-C']);
    expect(seen).toEqual([...seen].sort());
  });

  it('sells only an active device', async () => {
    const sku = await create();
    expect(await sellableDevice(t.database.db, sku)).toMatchObject({ sku, status: 'active', priceAmount: 4999 });
    await t.http.post(`/v1/devices/${sku}/retire`).expect(200);
    await expect(sellableDevice(t.database.db, sku)).rejects.toMatchObject({ code: 'device_retired' });
    await expect(sellableDevice(t.database.db, 'NO-SUCH-SKU')).rejects.toMatchObject({ code: 'device_not_found' });
  });
});
