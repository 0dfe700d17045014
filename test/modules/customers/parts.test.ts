import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { create, email, individual, phone } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const get = async (id: string) => (await t.http.get(`/v1/customers/${id}`).expect(200)).body;
const missing = '00000000-0000-4000-8000-000000000000';

describe('contact points', () => {
  it('adds a primary phone, moving isPrimary away from the old one but not from e-mails', async () => {
    const first = phone();
    const c = await create(t, individual({ contactPoints: [{ kind: 'phone', value: first, isPrimary: true }, { kind: 'email', value: email(), isPrimary: true }] }));
    const second = phone();
    const res = await t.http.post(`/v1/customers/${c.id}/contact-points`).send({ kind: 'phone', value: second, isPrimary: true }).expect(201);
    expect(res.body).toMatchObject({ kind: 'phone', value: second, isPrimary: true });
    expect(res.body.id).toBeTruthy();
    const after = (await get(c.id)).contactPoints;
    expect(after).toHaveLength(3);
    const primaries = after.filter((p: { isPrimary: boolean }) => p.isPrimary).map((p: { kind: string; value: string }) => `${p.kind}:${p.value}`);
    expect(primaries.sort()).toEqual([`email:${c.contactPoints.find((p) => p.kind === 'email')!.value}`, `phone:${second}`].sort());
  });

  it('adds a non-primary contact point without touching the primary, lower-casing e-mails', async () => {
    const c = await create(t);
    const mail = email('MiXeD');
    const res = await t.http.post(`/v1/customers/${c.id}/contact-points`).send({ kind: 'email', value: mail }).expect(201);
    expect(res.body).toMatchObject({ value: mail.toLowerCase(), isPrimary: false });
    expect((await get(c.id)).contactPoints.find((p: { kind: string }) => p.kind === 'phone').isPrimary).toBe(true);
  });

  it('validates the contact point (E.164, e-mail, kind, strict)', async () => {
    const c = await create(t);
    for (const body of [{ kind: 'phone', value: '12345' }, { kind: 'email', value: 'x' }, { kind: 'fax', value: '+33123456789' }, { kind: 'phone', value: phone(), note: 'x' }]) {
      const res = await t.http.post(`/v1/customers/${c.id}/contact-points`).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('removes a contact point, then answers 404 for it', async () => {
    const c = await create(t);
    const cp = c.contactPoints[0]!;
    expect((await t.http.delete(`/v1/customers/${c.id}/contact-points/${cp.id}`).expect(200)).body).toEqual({ id: cp.id });
    expect((await get(c.id)).contactPoints).toEqual([]);
    expect((await t.http.delete(`/v1/customers/${c.id}/contact-points/${cp.id}`).expect(404)).body.code).toBe('contact_point_not_found');
  });

  it('answers 404 for a contact point of another customer and leaves it in place', async () => {
    const a = await create(t);
    const b = await create(t);
    const res = await t.http.delete(`/v1/customers/${b.id}/contact-points/${a.contactPoints[0]!.id}`).expect(404);
    expect(res.body.code).toBe('contact_point_not_found');
    expect((await get(a.id)).contactPoints).toHaveLength(1);
  });

  it('answers 404 customer_not_found for an unknown customer', async () => {
    const res = await t.http.post(`/v1/customers/${missing}/contact-points`).send({ kind: 'phone', value: phone() }).expect(404);
    expect(res.body.code).toBe('customer_not_found');
  });
});

describe('addresses', () => {
  const address = { kind: 'installation', line1: '10 Rue de Rivoli', line2: 'Bât. B', city: 'Paris', postcode: '75001', region: 'IDF', country: 'FR' };

  it('adds and removes an address', async () => {
    const c = await create(t);
    const res = await t.http.post(`/v1/customers/${c.id}/addresses`).send(address).expect(201);
    expect(res.body).toMatchObject(address);
    expect((await get(c.id)).addresses).toEqual([expect.objectContaining({ id: res.body.id, ...address })]);
    await t.http.delete(`/v1/customers/${c.id}/addresses/${res.body.id}`).expect(200, { id: res.body.id });
    expect((await get(c.id)).addresses).toEqual([]);
  });

  it('refuses an invalid address with 400', async () => {
    const c = await create(t);
    for (const body of [{ ...address, country: 'France' }, { ...address, kind: 'moon' }, { ...address, line1: '' }, { ...address, extra: 1 }]) {
      expect((await t.http.post(`/v1/customers/${c.id}/addresses`).send(body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 404 for an address of another customer', async () => {
    const a = await create(t, individual({ addresses: [address] }));
    const b = await create(t);
    const res = await t.http.delete(`/v1/customers/${b.id}/addresses/${a.addresses[0]!.id}`).expect(404);
    expect(res.body.code).toBe('address_not_found');
    expect((await get(a.id)).addresses).toHaveLength(1);
  });
});

describe('identity documents', () => {
  it('adds a document shown masked and stored encrypted, then removes it', async () => {
    const c = await create(t);
    const res = await t.http.post(`/v1/customers/${c.id}/identity-documents`)
      .send({ kind: 'driving_licence', number: 'dl 1234-5678', issuingCountry: 'GB', expiresOn: '2030-06-30' }).expect(201);
    expect(res.body).toMatchObject({ kind: 'driving_licence', numberMasked: '****5678', issuingCountry: 'GB', expiresOn: '2030-06-30' });
    expect(Object.keys(res.body)).not.toEqual(expect.arrayContaining(['number']));
    expect(JSON.stringify(res.body)).not.toMatch(/numberEnc|numberHash|DL12345678/);
    const [row] = await t.database.sql`select * from customers.identity_documents where id = ${res.body.id}`;
    expect(JSON.stringify(row)).not.toContain('DL12345678');

    const found = await t.http.get('/v1/customers/search').query({ documentNumber: 'DL12345678' }).expect(200);
    expect(found.body.items.map((x: { id: string }) => x.id)).toEqual([c.id]);

    await t.http.delete(`/v1/customers/${c.id}/identity-documents/${res.body.id}`).expect(200, { id: res.body.id });
    expect((await get(c.id)).identityDocuments).toEqual([]);
    const gone = await t.http.get('/v1/customers/search').query({ documentNumber: 'DL12345678' }).expect(200);
    expect(gone.body.items).toEqual([]);
  });

  it('refuses an invalid document with 400', async () => {
    const c = await create(t);
    for (const body of [{ kind: 'passport', number: 'ab', issuingCountry: 'GB' }, { kind: 'library_card', number: 'ABC123', issuingCountry: 'GB' }, { kind: 'passport', number: 'ABC123', issuingCountry: 'GB', expiresOn: 'soon' }]) {
      expect((await t.http.post(`/v1/customers/${c.id}/identity-documents`).send(body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('answers 404 for a document of another customer', async () => {
    const a = await create(t, individual({ identityDocuments: [{ kind: 'passport', number: 'XYZ98765', issuingCountry: 'IT' }] }));
    const b = await create(t);
    const res = await t.http.delete(`/v1/customers/${b.id}/identity-documents/${a.identityDocuments[0]!.id}`).expect(404);
    expect(res.body.code).toBe('identity_document_not_found');
    expect((await get(a.id)).identityDocuments).toHaveLength(1);
  });
});

describe('consents', () => {
  it('grants then withdraws sms consent, keeping one current row', async () => {
    const c = await create(t);
    const grant = await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: true, source: 'retail-store' }).expect(200);
    expect(grant.body).toMatchObject({ channel: 'sms', granted: true, source: 'retail-store' });
    const withdraw = await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: false, source: 'app' }).expect(200);
    expect(withdraw.body).toMatchObject({ channel: 'sms', granted: false, source: 'app' });
    expect(new Date(withdraw.body.recordedAt).getTime()).toBeGreaterThanOrEqual(new Date(grant.body.recordedAt).getTime());
    expect((await get(c.id)).consents).toEqual([expect.objectContaining({ channel: 'sms', granted: false, source: 'app' })]);

    const history = (await t.http.get(`/v1/customers/${c.id}/export`).expect(200)).body.customer.consentHistory;
    expect(history.map((h: { channel: string; granted: boolean; source: string }) => [h.channel, h.granted, h.source]))
      .toEqual([['sms', true, 'retail-store'], ['sms', false, 'app']]);
    expect(history[0].actor).toMatch(/^staff:/);
  });

  it('refuses voice (telemarketing) with 422 and unknown channels with 400', async () => {
    const c = await create(t);
    const voice = await t.http.put(`/v1/customers/${c.id}/consents/voice`).send({ granted: true, source: 'call' }).expect(422);
    expect(voice.body.code).toBe('telemarketing_not_allowed');
    await t.http.put(`/v1/customers/${c.id}/consents/fax`).send({ granted: true, source: 'x' }).expect(400);
    await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: 'yes', source: 'x' }).expect(400);
    await t.http.put(`/v1/customers/${c.id}/consents/sms`).send({ granted: true }).expect(400);
    expect((await get(c.id)).consents).toEqual([]);
  });

  it('answers 404 for an unknown customer', async () => {
    const res = await t.http.put(`/v1/customers/${missing}/consents/email`).send({ granted: true, source: 'x' }).expect(404);
    expect(res.body.code).toBe('customer_not_found');
  });
});
