import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { business, create, email, individual, phone, type Customer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const search = async (query: Record<string, string | number>) => {
  const res = await t.http.get('/v1/customers/search').query(query);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.items as { id: string }[]).map((c) => c.id);
};

describe('GET /v1/customers/search', () => {
  const mobile = phone();
  const mail = email('Search.Me');
  const doc = 'P-555 777 999';
  let person: Customer;
  let company: Customer;

  beforeAll(async () => {
    person = await create(t, individual({
      givenName: 'Marguerite', familyName: 'Yourcenar',
      contactPoints: [{ kind: 'phone', value: mobile }, { kind: 'email', value: mail }],
      identityDocuments: [{ kind: 'passport', number: doc, issuingCountry: 'BE' }],
    }));
    company = await create(t, business({ companyName: 'Yourcenar Holdings 100%_Real' }));
  });

  it('finds by msisdn (exact E.164)', async () => {
    expect(await search({ msisdn: mobile })).toEqual([person.id]);
    expect(await search({ msisdn: '+15550000000' })).toEqual([]);
  });

  it('finds by e-mail case-insensitively', async () => {
    expect(await search({ email: mail })).toEqual([person.id]);
    expect(await search({ email: mail.toUpperCase() })).toEqual([person.id]);
    expect(await search({ email: `x${mail}` })).toEqual([]);
  });

  it('finds by name substring across given, family and company names, case-insensitively', async () => {
    expect((await search({ name: 'yourcenar' })).sort()).toEqual([person.id, company.id].sort());
    expect(await search({ name: 'GUERITE YOUR' })).toEqual([person.id]);
    expect(await search({ name: 'holdings' })).toEqual([company.id]);
    expect(await search({ name: 'zzqqxx' })).toEqual([]);
  });

  it('treats % and _ in a name literally', async () => {
    expect(await search({ name: '100%_real' })).toEqual([company.id]);
    expect(await search({ name: '%%' })).toEqual([]);
    expect(await search({ name: '__' })).toEqual([]);
  });

  it('finds by document number, whatever the spacing, dashes or case', async () => {
    for (const documentNumber of ['P555777999', 'p-555-777-999', ' p 555 777 999', doc]) {
      expect(await search({ documentNumber })).toEqual([person.id]);
    }
  });

  it('honours limit', async () => {
    for (let i = 0; i < 3; i++) await create(t, individual({ familyName: `Limitcase${i}` }));
    expect(await search({ name: 'limitcase', limit: 2 })).toHaveLength(2);
    expect(await search({ name: 'limitcase' })).toHaveLength(3);
  });

  it('returns summaries', async () => {
    const res = await t.http.get('/v1/customers/search').query({ msisdn: mobile }).expect(200);
    expect(res.body.items[0]).toMatchObject({ id: person.id, displayName: 'Marguerite Yourcenar', type: 'individual', status: 'active' });
    expect(res.body.items[0].contactPoints).toBeUndefined();
  });

  it.each([
    ['no key', {}],
    ['two keys', { msisdn: '+447700900123', name: 'ada' }],
    ['all keys', { msisdn: '+447700900123', email: 'a@b.co', name: 'ada', documentNumber: 'ABC123' }],
  ])('refuses %s with 400 invalid_search', async (_, query) => {
    const res = await t.http.get('/v1/customers/search').query(query).expect(400);
    expect(res.body.code).toBe('invalid_search');
  });

  it('validates the keys themselves with 400', async () => {
    for (const query of [{ msisdn: '0770090012' }, { email: 'nope' }, { name: 'a' }, { documentNumber: 'ab' }, { name: 'ada', limit: 101 }]) {
      const res = await t.http.get('/v1/customers/search').query(query);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('does not find erased customers by any key', async () => {
    const m = phone();
    const e = email('gone');
    const c = await create(t, individual({
      givenName: 'Forgotten', familyName: 'Person',
      contactPoints: [{ kind: 'phone', value: m }, { kind: 'email', value: e }],
      identityDocuments: [{ kind: 'national_id', number: 'ERASE-ME-123', issuingCountry: 'DE' }],
    }));
    expect(await search({ msisdn: m })).toEqual([c.id]);
    expect(await search({ name: 'forgotten' })).toEqual([c.id]);
    await t.http.post(`/v1/customers/${c.id}/erase`).expect(200);
    expect(await search({ msisdn: m })).toEqual([]);
    expect(await search({ email: e })).toEqual([]);
    expect(await search({ name: 'forgotten' })).toEqual([]);
    expect(await search({ documentNumber: 'ERASEME123' })).toEqual([]);
  });

  it('does not find a customer whose status is erased even if a contact point were left behind', async () => {
    const m = phone();
    const c = await create(t, individual({ contactPoints: [{ kind: 'phone', value: m }] }));
    await t.database.sql`update customers.customers set status = 'erased' where id = ${c.id}`;
    expect(await search({ msisdn: m })).toEqual([]);
  });

  it('leaves a customer.searched audit row with the ids found', async () => {
    await search({ msisdn: mobile });
    const res = await t.http.get('/v1/audit-events').query({ action: 'customer.searched', limit: 1 }).expect(200);
    expect(res.body.items[0]).toMatchObject({ action: 'customer.searched', details: { by: 'msisdn', results: [person.id] } });
    expect(JSON.stringify(res.body.items[0])).not.toContain(mobile);
  });
});
