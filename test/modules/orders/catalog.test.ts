import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const GiB = 1024 ** 3;
const terms = (dataGiB: number | 'unlimited' = 5) => ({
  allowances: { dataBytes: dataGiB === 'unlimited' ? 'unlimited' : dataGiB * GiB, voiceSeconds: 'unlimited', smsCount: 500 },
  rates: {
    data: [{ upTo: GiB, unitSize: 1024 ** 2, pricePerUnit: 2 }, { upTo: null, unitSize: 1024 ** 2, pricePerUnit: 1 }],
    sms: [{ upTo: null, unitSize: 1, pricePerUnit: 10 }],
  },
  usageCap: { behaviour: 'throttle', throttleKbps: 128 },
});
let n = 0;
const plan = (over: Record<string, unknown> = {}) => ({
  code: `MOBILE-${++n}`, name: 'Mobile M', kind: 'postpaid', recurringFee: { amount: 1999, currency: 'EUR' }, terms: terms(), ...over,
});

describe('price plans', () => {
  it('go draft → active → new version → retired, and a published version never changes', async () => {
    const created = await t.http.post('/v1/price-plans').send(plan()).expect(201);
    expect(created.headers.location).toBe(`/v1/price-plans/${created.body.id}`);
    expect(created.body).toMatchObject({ status: 'draft', currentVersion: { version: 1, recurringFee: { amount: 1999, currency: 'EUR' }, publishedAt: null } });
    const id = created.body.id as string;

    // A draft is edited in place.
    const edited = await t.http.patch(`/v1/price-plans/${id}`).send({ recurringFee: { amount: 1799, currency: 'EUR' } }).expect(200);
    expect(edited.body.versions).toHaveLength(1);
    expect(edited.body.currentVersion.recurringFee.amount).toBe(1799);

    const published = await t.http.post(`/v1/price-plans/${id}/publish`).expect(200);
    expect(published.body.status).toBe('active');
    const v1 = published.body.currentVersion;
    expect(v1.publishedAt).not.toBeNull();

    // Published: no more editing in place; a price change is a new version.
    expect((await t.http.patch(`/v1/price-plans/${id}`).send({ recurringFee: { amount: 1, currency: 'EUR' } }).expect(409)).body.code).toBe('price_plan_not_draft');
    expect((await t.http.patch(`/v1/price-plans/${id}`).send({ name: 'Mobile M (2026)' }).expect(200)).body).toMatchObject({ name: 'Mobile M (2026)', currentVersion: v1 });
    const v2 = await t.http.post(`/v1/price-plans/${id}/versions`).send({ recurringFee: { amount: 2499, currency: 'EUR' }, terms: terms('unlimited') }).expect(201);
    expect(v2.body.currentVersion).toMatchObject({ version: 2, recurringFee: { amount: 2499 } });
    expect(v2.body.versions[0]).toEqual(v1);

    const retired = await t.http.post(`/v1/price-plans/${id}/retire`).expect(200);
    expect(retired.body.status).toBe('retired');
    expect((await t.http.post(`/v1/price-plans/${id}/versions`).send({ recurringFee: { amount: 1, currency: 'EUR' }, terms: terms() }).expect(409)).body.code).toBe('price_plan_retired');
    expect((await t.http.post(`/v1/price-plans/${id}/publish`).expect(409)).body.code).toBe('price_plan_retired');

    const events = await t.database.sql`select type from platform.events where aggregate_id = ${id} order by id`;
    expect(events.map((e) => e.type)).toEqual(['price_plan.created', 'price_plan.updated', 'price_plan.published', 'price_plan.updated', 'price_plan.version_published', 'price_plan.retired']);
  });

  it('refuses a duplicate code, bad tiers, a throttle without speed, and a currency change', async () => {
    const body = plan();
    await t.http.post('/v1/price-plans').send(body).expect(201);
    expect((await t.http.post('/v1/price-plans').send(body).expect(409)).body.code).toBe('price_plan_code_taken');
    const badTiers = { ...terms(), rates: { data: [{ upTo: null, unitSize: 1, pricePerUnit: 1 }, { upTo: 10, unitSize: 1, pricePerUnit: 1 }] } };
    expect((await t.http.post('/v1/price-plans').send(plan({ terms: badTiers })).expect(400)).body.code).toBe('validation_failed');
    const noSpeed = { ...terms(), usageCap: { behaviour: 'throttle' } };
    await t.http.post('/v1/price-plans').send(plan({ terms: noSpeed })).expect(400);
    await t.http.post('/v1/price-plans').send(plan({ recurringFee: { amount: -1, currency: 'EUR' } })).expect(400);
    const active = (await t.http.post('/v1/price-plans').send(plan()).expect(201)).body.id;
    await t.http.post(`/v1/price-plans/${active}/publish`).expect(200);
    const gbp = await t.http.post(`/v1/price-plans/${active}/versions`).send({ recurringFee: { amount: 1500, currency: 'GBP' }, terms: terms() }).expect(422);
    expect(gbp.body.code).toBe('currency_mismatch');
    await t.http.get('/v1/price-plans/00000000-0000-4000-8000-000000000000').expect(404);
  });

  it('shows partners and customers only what is on sale, and lets only marketing and admins change it', async () => {
    const draft = (await t.http.post('/v1/price-plans').send(plan()).expect(201)).body.id;
    const onSale = (await t.http.post('/v1/price-plans').send(plan()).expect(201)).body.id;
    await t.http.post(`/v1/price-plans/${onSale}/publish`).expect(200);
    const customerId = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Cat', familyName: 'Alog' }).expect(201)).body.id;

    for (const key of [{ principalKind: 'customer', customerId }, { principalKind: 'partner', partnerId: '01900000-0000-7000-8000-00000000000a' }]) {
      const as = asCaller(t, await keyFor(t, key));
      await as.get(`/v1/price-plans/${onSale}`).expect(200);
      await as.get(`/v1/price-plans/${draft}`).expect(404);
      const listed = (await as.get('/v1/price-plans?limit=200').expect(200)).body.items.map((p: { id: string }) => p.id);
      expect(listed).toContain(onSale);
      expect(listed).not.toContain(draft);
      await as.post('/v1/price-plans').send(plan()).expect(403);
    }
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.get(`/v1/price-plans/${draft}`).expect(200);
    await csr.post(`/v1/price-plans/${draft}/publish`).expect(403);
    const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
    await marketing.post(`/v1/price-plans/${draft}/publish`).expect(200);
  });

  it('filters and pages the catalog', async () => {
    for (let i = 0; i < 5; i++) await t.http.post('/v1/price-plans').send(plan({ kind: 'prepaid' })).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { id: string; kind: string }[]; nextCursor: string | null } } =
        await t.http.get('/v1/price-plans').query({ kind: 'prepaid', limit: 2, ...(cursor ? { cursor } : {}) }).expect(200);
      expect(res.body.items.every((p) => p.kind === 'prepaid')).toBe(true);
      seen.push(...res.body.items.map((p) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect(seen).toHaveLength(5);
  });
});
