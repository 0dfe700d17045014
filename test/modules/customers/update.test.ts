import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { business, create, individual, newPartnerId } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const missing = '00000000-0000-4000-8000-000000000000';

describe('GET /v1/customers/:id', () => {
  it('returns the full record', async () => {
    const c = await create(t);
    const res = await t.http.get(`/v1/customers/${c.id}`).expect(200);
    expect(res.body).toEqual(c);
  });

  it('answers 404 customer_not_found for an unknown id and 400 for a malformed one', async () => {
    expect((await t.http.get(`/v1/customers/${missing}`).expect(404)).body.code).toBe('customer_not_found');
    expect((await t.http.get('/v1/customers/123').expect(400)).body.code).toBe('validation_failed');
  });
});

describe('PATCH /v1/customers/:id (JSON merge patch)', () => {
  it('changes only the fields given and bumps updatedAt', async () => {
    const c = await create(t, individual({ dateOfBirth: '1990-01-02', preferredLanguage: 'fr' }));
    await new Promise((r) => setTimeout(r, 5));
    const res = await t.http.patch(`/v1/customers/${c.id}`).send({ givenName: 'Augusta', segment: 'vip', timeZone: 'Europe/Paris' }).expect(200);
    expect(res.body).toMatchObject({
      givenName: 'Augusta', familyName: c.familyName, segment: 'vip', timeZone: 'Europe/Paris', preferredLanguage: 'fr',
      dateOfBirth: '1990-01-02', displayName: `Augusta ${c.familyName}`,
    });
    expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThan(new Date((c as unknown as { updatedAt: string }).updatedAt).getTime());
    expect(res.body.contactPoints).toEqual(c.contactPoints);
    expect((await t.http.get(`/v1/customers/${c.id}`).expect(200)).body).toEqual(res.body);
  });

  it('removes dateOfBirth with null, and the ciphertext with it', async () => {
    const c = await create(t, individual({ dateOfBirth: '1990-01-02' }));
    const res = await t.http.patch(`/v1/customers/${c.id}`).send({ dateOfBirth: null }).expect(200);
    expect(res.body.dateOfBirth).toBeNull();
    const [row] = await t.database.sql`select date_of_birth_enc from customers.customers where id = ${c.id}`;
    expect(row!.date_of_birth_enc).toBeNull();
  });

  it('sets a new dateOfBirth encrypted', async () => {
    const c = await create(t);
    const res = await t.http.patch(`/v1/customers/${c.id}`).send({ dateOfBirth: '2001-09-30' }).expect(200);
    expect(res.body.dateOfBirth).toBe('2001-09-30');
    const [row] = await t.database.sql`select date_of_birth_enc from customers.customers where id = ${c.id}`;
    expect(row!.date_of_birth_enc).toMatch(/^v1\./);
    expect(row!.date_of_birth_enc).not.toContain('2001');
  });

  it('accepts content-type application/merge-patch+json', async () => {
    const c = await create(t, individual({ companyName: 'Side Business' }));
    const res = await t.http.patch(`/v1/customers/${c.id}`).set('content-type', 'application/merge-patch+json')
      .send(JSON.stringify({ companyName: null, preferredLanguage: 'pt-BR' }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ companyName: null, preferredLanguage: 'pt-BR' });
  });

  it('removes a business companyName only if the name rule still holds (422 otherwise)', async () => {
    const b = await create(t, business());
    const res = await t.http.patch(`/v1/customers/${b.id}`).send({ companyName: null }).expect(422);
    expect(res.body.code).toBe('customer_name_required');
    const i = await create(t);
    expect((await t.http.patch(`/v1/customers/${i.id}`).send({ familyName: null }).expect(422)).body.code).toBe('customer_name_required');
    expect((await t.http.get(`/v1/customers/${i.id}`).expect(200)).body.familyName).toBe(i.familyName);
  });

  it('refuses unknown fields and read-only fields (strict) with 400', async () => {
    const c = await create(t);
    for (const body of [{ nickname: 'x' }, { type: 'business' }, { id: missing }, { contactPoints: [] }, { status: 'erased' }]) {
      const res = await t.http.patch(`/v1/customers/${c.id}`).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('refuses null on a non-nullable field with 400', async () => {
    const c = await create(t);
    await t.http.patch(`/v1/customers/${c.id}`).send({ segment: null }).expect(400);
    await t.http.patch(`/v1/customers/${c.id}`).send({ preferredLanguage: null }).expect(400);
  });

  it('lets staff change status and partnerId', async () => {
    const c = await create(t);
    const partnerId = newPartnerId();
    const res = await t.http.patch(`/v1/customers/${c.id}`).send({ status: 'suspended', partnerId }).expect(200);
    expect(res.body).toMatchObject({ status: 'suspended', partnerId });
    expect((await t.http.patch(`/v1/customers/${c.id}`).send({ partnerId: null }).expect(200)).body.partnerId).toBeNull();
  });

  it('an empty patch is a no-op 200', async () => {
    const c = await create(t);
    const res = await t.http.patch(`/v1/customers/${c.id}`).send({}).expect(200);
    expect(res.body.givenName).toBe(c.givenName);
  });

  it('answers 404 for an unknown customer', async () => {
    expect((await t.http.patch(`/v1/customers/${missing}`).send({ givenName: 'X' }).expect(404)).body.code).toBe('customer_not_found');
  });
});
