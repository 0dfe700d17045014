import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { business, create, individual, newPartnerId } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

type Summary = { id: string; type: string; segment: string; status: string; displayName: string; partnerId: string | null };

async function all(query: Record<string, string | number>) {
  const seen: Summary[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: Response = await t.http.get('/v1/customers').query({ ...query, ...(cursor ? { cursor } : {}) }).expect(200);
    expect(res.body.items.length).toBeLessThanOrEqual(Number(query.limit ?? 50));
    seen.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (++pages > 50) throw new Error('cursor never ends');
  } while (cursor);
  return { seen, pages };
}

describe('GET /v1/customers', () => {
  const partnerId = newPartnerId();
  const ids: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) ids.push((await create(t, individual({ partnerId, segment: i < 2 ? 'vip' : 'consumer' }))).id);
    ids.push((await create(t, business({ partnerId }))).id);
    ids.push((await create(t, business({ partnerId, segment: 'vip' }))).id);
    await t.http.patch(`/v1/customers/${ids[0]}`).send({ status: 'suspended' }).expect(200);
  });

  it('returns summaries newest first, without parts', async () => {
    const res = await t.http.get('/v1/customers').query({ partnerId }).expect(200);
    expect(res.body.items.map((c: Summary) => c.id)).toEqual([...ids].reverse());
    expect(res.body.nextCursor).toBeNull();
    const first = res.body.items[0];
    expect(Object.keys(first).sort()).toEqual(['createdAt', 'displayName', 'id', 'partnerId', 'preferredLanguage', 'segment', 'status', 'type']);
  });

  it('pages with limit=3 through every customer exactly once', async () => {
    const { seen, pages } = await all({ partnerId, limit: 3 });
    const seenIds = seen.map((c) => c.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    expect(seenIds).toEqual([...ids].reverse());
    expect(pages).toBe(3);
  });

  it('pages through the whole base without duplicates', async () => {
    const { seen } = await all({ limit: 4 });
    const seenIds = seen.map((c) => c.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    expect(seenIds).toEqual(expect.arrayContaining(ids));
  });

  it('gives no nextCursor when the last page is exactly full', async () => {
    const res = await t.http.get('/v1/customers').query({ partnerId, limit: 9 }).expect(200);
    expect(res.body.items).toHaveLength(9);
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by segment, type and status', async () => {
    const vip = await all({ partnerId, segment: 'vip' });
    expect(vip.seen.map((c) => c.id).sort()).toEqual([ids[0], ids[1], ids[8]].sort());
    expect(vip.seen.every((c) => c.segment === 'vip')).toBe(true);

    const biz = await all({ partnerId, type: 'business' });
    expect(biz.seen.map((c) => c.id).sort()).toEqual([ids[7], ids[8]].sort());

    const suspended = await all({ partnerId, status: 'suspended' });
    expect(suspended.seen.map((c) => c.id)).toEqual([ids[0]]);

    const combined = await all({ partnerId, segment: 'vip', type: 'individual', status: 'active', limit: 1 });
    expect(combined.seen.map((c) => c.id)).toEqual([ids[1]]);
  });

  it('filters erased customers by status', async () => {
    const c = await create(t, individual({ partnerId }));
    await t.http.post(`/v1/customers/${c.id}/erase`).expect(200);
    const erased = await all({ partnerId, status: 'erased' });
    expect(erased.seen).toEqual([expect.objectContaining({ id: c.id, status: 'erased', displayName: 'Erased customer' })]);
  });

  it('refuses a forged or garbled cursor with 400 invalid_cursor', async () => {
    const forged = [
      'not-base64-json',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('["not-a-uuid"]').toString('base64url'),
      Buffer.from("[\"1' or 1=1 --\"]").toString('base64url'),
    ];
    for (const cursor of forged) {
      const res = await t.http.get('/v1/customers').query({ cursor }).expect(400);
      expect(res.body.code).toBe('invalid_cursor');
    }
  });

  it('refuses bad limits and filter values with 400', async () => {
    for (const query of [{ limit: 0 }, { limit: 201 }, { limit: 'ten' }, { segment: 'gold' }, { status: 'dead' }, { type: 'robot' }, { partnerId: 'x' }]) {
      const res = await t.http.get('/v1/customers').query(query);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });
});
