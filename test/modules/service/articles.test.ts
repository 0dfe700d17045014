import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const write = (body: Record<string, unknown>) => t.http.post('/v1/kb-articles').send({ topic: 'billing', visibility: 'public', ...body }).expect(201).then((r) => r.body);
const publish = (id: string) => t.http.patch(`/v1/kb-articles/${id}`).send({ status: 'published' }).expect(200);
const slugs = (items: { slug: string }[]) => items.map((a) => a.slug);

describe('knowledge base', () => {
  it('searches each language with its own dictionary; the public sees published public articles only, without login', async () => {
    const en = await write({ slug: 'roaming-charges', language: 'en', title: 'Why was I charged for roaming?', body: 'Roaming charges apply outside the EU. Data used abroad is charged per MB.' });
    const de = await write({ slug: 'roaming-charges', language: 'de', title: 'Warum wurden mir Roaminggebühren berechnet?', body: 'Außerhalb der EU fallen Gebühren an. Im Ausland genutzte Daten werden pro MB berechnet.' });
    const internal = await write({ slug: 'roaming-goodwill', language: 'en', title: 'Roaming goodwill credits', body: 'Agents may credit roaming charges up to 20 EUR.', visibility: 'internal' });
    const draft = await write({ slug: 'roaming-draft', language: 'en', title: 'Roaming in Switzerland', body: 'Roaming charges in Switzerland are changing.' });
    for (const a of [en, de, internal]) await publish(a.id);
    expect(draft.status).toBe('draft');

    // Stemming: "charge" finds "charged"/"charges"; German "berechnet" finds the German article only.
    expect(slugs((await anon(t).get('/v1/help/articles?language=en&q=charge roaming').expect(200)).body.items)).toEqual(['roaming-charges']);
    expect(slugs((await anon(t).get('/v1/help/articles?language=de&q=berechnet').expect(200)).body.items)).toEqual(['roaming-charges']);
    expect((await anon(t).get('/v1/help/articles?language=de&q=berechnet').expect(200)).body.items[0].language).toBe('de');
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    expect(slugs((await csr.get('/v1/kb-articles?language=en&q=roaming charges').expect(200)).body.items).sort()).toEqual(['roaming-charges', 'roaming-draft', 'roaming-goodwill']);

    expect((await anon(t).get('/v1/help/articles/en/roaming-charges').expect(200)).body).toMatchObject({ title: 'Why was I charged for roaming?', language: 'en' });
    await anon(t).get('/v1/help/articles/en/roaming-goodwill').expect(404);
    await anon(t).get('/v1/help/articles/en/roaming-draft').expect(404);
  });

  it('one article per slug and language; only supervisors write', async () => {
    await write({ slug: 'sim-activation', language: 'en', title: 'Activating your SIM', body: 'Insert the SIM and restart.', topic: 'sim_activation' });
    expect((await t.http.post('/v1/kb-articles').send({ slug: 'sim-activation', language: 'en', title: 'Again', body: 'x', topic: 'sim_activation', visibility: 'public' }).expect(409)).body.code).toBe('article_exists');
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/kb-articles').send({ slug: 'x-y', language: 'en', title: 'Nope', body: 'x', topic: 'billing', visibility: 'public' }).expect(403);
    await anon(t).get('/v1/kb-articles?q=sim').expect(401);
    await anon(t).get('/v1/help/articles?language=xx').expect(400);
  });
});
