import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sellableAddOn } from '../../../src/modules/orders/addons.js';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const GiB = 1024 ** 3;
const oneOff = (dataGiB = 2) => ({ allowances: { dataBytes: dataGiB * GiB }, zone: 'roaming-eu', validityHours: 168 });
const recurring = () => ({ allowances: { smsCount: 100 } });
let n = 0;
const pack = (over: Record<string, unknown> = {}) => ({
  code: `ROAM-EU-${++n}`, name: 'EU roaming 2 GB', kind: 'one_off', fee: { amount: 999, currency: 'EUR' }, terms: oneOff(), ...over,
});
const create = async (over: Record<string, unknown> = {}) => (await t.http.post('/v1/add-ons').send(pack(over)).expect(201)).body.id as string;
const codeOf = (p: Promise<{ body: { code: string } }>) => p.then((r) => r.body.code);

describe('add-ons', () => {
  it('go draft → active → new version → retired, and a published version never changes', async () => {
    const created = await t.http.post('/v1/add-ons').send(pack()).expect(201);
    expect(created.headers.location).toBe(`/v1/add-ons/${created.body.id}`);
    expect(created.body).toMatchObject({
      status: 'draft', kind: 'one_off',
      currentVersion: { version: 1, fee: { amount: 999, currency: 'EUR' }, publishedAt: null, terms: { zone: 'roaming-eu', compatiblePlans: [], exclusiveGroup: null } },
    });
    const id = created.body.id as string;

    // A draft is edited in place.
    const edited = await t.http.patch(`/v1/add-ons/${id}`).send({ fee: { amount: 799, currency: 'EUR' } }).expect(200);
    expect(edited.body.versions).toHaveLength(1);
    expect(edited.body.currentVersion.fee.amount).toBe(799);

    const published = await t.http.post(`/v1/add-ons/${id}/publish`).expect(200);
    expect(published.body.status).toBe('active');
    const v1 = published.body.currentVersion;
    expect(v1.publishedAt).not.toBeNull();
    expect((await t.http.post(`/v1/add-ons/${id}/publish`).expect(200)).body).toEqual(published.body);

    // Published: no more editing in place; a price change is a new version, a new name is just that.
    expect(await codeOf(t.http.patch(`/v1/add-ons/${id}`).send({ fee: { amount: 1, currency: 'EUR' } }).expect(409))).toBe('add_on_not_draft');
    expect((await t.http.patch(`/v1/add-ons/${id}`).send({ name: 'EU roaming 2 GB (summer)' }).expect(200)).body).toMatchObject({ name: 'EU roaming 2 GB (summer)', currentVersion: v1 });
    const v2 = await t.http.post(`/v1/add-ons/${id}/versions`).send({ fee: { amount: 1299, currency: 'EUR' }, terms: oneOff(5) }).expect(201);
    expect(v2.body.currentVersion).toMatchObject({ version: 2, fee: { amount: 1299 }, terms: { allowances: { dataBytes: 5 * GiB } } });
    expect(v2.body.versions[0]).toEqual(v1);
    expect((await t.http.get(`/v1/add-ons/${id}`).expect(200)).body).toEqual(v2.body);

    const retired = await t.http.post(`/v1/add-ons/${id}/retire`).expect(200);
    expect(retired.body.status).toBe('retired');
    expect(await codeOf(t.http.post(`/v1/add-ons/${id}/versions`).send({ fee: { amount: 1, currency: 'EUR' }, terms: oneOff() }).expect(409))).toBe('add_on_retired');
    expect(await codeOf(t.http.post(`/v1/add-ons/${id}/publish`).expect(409))).toBe('add_on_retired');

    const events = await t.database.sql`select type from platform.events where aggregate_id = ${id} order by id`;
    expect(events.map((e) => e.type)).toEqual(['add_on.created', 'add_on.updated', 'add_on.published', 'add_on.updated', 'add_on.version_published', 'add_on.retired']);
    const audited = await t.database.sql`select action from platform.audit_log where entity_type = 'add_on' and entity_id = ${id}`;
    expect(audited).toHaveLength(6);
  });

  it('ties validity to the kind: a one-off pack needs one, a recurring pack takes none', async () => {
    const noValidity = await t.http.post('/v1/add-ons').send(pack({ terms: { allowances: { dataBytes: GiB } } })).expect(400);
    expect(noValidity.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'body.terms.validityHours' }] });
    await t.http.post('/v1/add-ons').send(pack({ kind: 'recurring', terms: oneOff() })).expect(400);
    const rec = await create({ kind: 'recurring', terms: recurring() });
    expect(await codeOf(t.http.patch(`/v1/add-ons/${rec}`).send({ terms: oneOff() }).expect(400))).toBe('validation_failed');
    await t.http.post(`/v1/add-ons/${rec}/publish`).expect(200);
    expect(await codeOf(t.http.post(`/v1/add-ons/${rec}/versions`).send({ fee: { amount: 1, currency: 'EUR' }, terms: oneOff() }).expect(400))).toBe('validation_failed');
    await t.http.post(`/v1/add-ons/${rec}/versions`).send({ fee: { amount: 1, currency: 'EUR' }, terms: recurring() }).expect(201);
  });

  it('refuses a duplicate code, bad terms, a draft version, a currency change and an unknown id', async () => {
    const body = pack();
    await t.http.post('/v1/add-ons').send(body).expect(201);
    expect(await codeOf(t.http.post('/v1/add-ons').send(body).expect(409))).toBe('add_on_code_taken');
    await t.http.post('/v1/add-ons').send(pack({ terms: { ...oneOff(), allowances: {} } })).expect(400);
    await t.http.post('/v1/add-ons').send(pack({ terms: { ...oneOff(), zone: 'mars' } })).expect(400);
    await t.http.post('/v1/add-ons').send(pack({ fee: { amount: -1, currency: 'EUR' } })).expect(400);
    await t.http.post('/v1/add-ons').send(pack({ code: 'lower-case' })).expect(400);

    const draft = await create();
    expect(await codeOf(t.http.post(`/v1/add-ons/${draft}/versions`).send({ fee: { amount: 1, currency: 'EUR' }, terms: oneOff() }).expect(409))).toBe('add_on_not_active');
    expect(await codeOf(t.http.post(`/v1/add-ons/${draft}/retire`).expect(409))).toBe('add_on_not_active');
    await t.http.post(`/v1/add-ons/${draft}/publish`).expect(200);
    const gbp = await t.http.post(`/v1/add-ons/${draft}/versions`).send({ fee: { amount: 1, currency: 'GBP' }, terms: oneOff() }).expect(422);
    expect(gbp.body.code).toBe('currency_mismatch');
    expect(await codeOf(t.http.get('/v1/add-ons/00000000-0000-4000-8000-000000000000').expect(404))).toBe('add_on_not_found');
  });

  it('shows partners and customers only what is on sale, and lets only marketing and admins change it', async () => {
    const draft = await create();
    const onSale = await create();
    await t.http.post(`/v1/add-ons/${onSale}/publish`).expect(200);
    const customerId = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Ad', familyName: 'Don' }).expect(201)).body.id;

    for (const key of [{ principalKind: 'customer', customerId }, { principalKind: 'partner', partnerId: '01900000-0000-7000-8000-00000000000a' }]) {
      const as = asCaller(t, await keyFor(t, key));
      await as.get(`/v1/add-ons/${onSale}`).expect(200);
      await as.get(`/v1/add-ons/${draft}`).expect(404);
      const listed = (await as.get('/v1/add-ons?limit=200').expect(200)).body.items.map((a: { id: string }) => a.id);
      expect(listed).toContain(onSale);
      expect(listed).not.toContain(draft);
      await as.post('/v1/add-ons').send(pack()).expect(403);
      await as.post(`/v1/add-ons/${onSale}/retire`).expect(403);
    }
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.get(`/v1/add-ons/${draft}`).expect(200);
    await csr.post(`/v1/add-ons/${draft}/publish`).expect(403);
    const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
    await marketing.post(`/v1/add-ons/${draft}/publish`).expect(200);
  });

  it('filters and pages the catalog', async () => {
    for (let i = 0; i < 5; i++) await create({ kind: 'recurring', terms: recurring() });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { id: string; kind: string }[]; nextCursor: string | null } } =
        await t.http.get('/v1/add-ons').query({ kind: 'recurring', status: 'draft', limit: 2, ...(cursor ? { cursor } : {}) }).expect(200);
      expect(res.body.items.every((a) => a.kind === 'recurring')).toBe(true);
      seen.push(...res.body.items.map((a) => a.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect(seen).toHaveLength(5);
  });

  it('sells only an active add-on, at its current version', async () => {
    const id = await create();
    const sellable = () => sellableAddOn(t.database.db, id);
    await expect(sellable()).rejects.toMatchObject({ code: 'add_on_not_active' });
    await t.http.post(`/v1/add-ons/${id}/publish`).expect(200);
    await t.http.post(`/v1/add-ons/${id}/versions`).send({ fee: { amount: 500, currency: 'EUR' }, terms: oneOff() }).expect(201);
    expect(await sellable()).toMatchObject({ addOn: { id, status: 'active', currentVersion: 2 }, version: { version: 2, feeAmount: 500 } });
    await t.http.post(`/v1/add-ons/${id}/retire`).expect(200);
    await expect(sellable()).rejects.toMatchObject({ code: 'add_on_retired' });
    await expect(sellableAddOn(t.database.db, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'add_on_not_found' });
  });
});
