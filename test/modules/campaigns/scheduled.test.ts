import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';

let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
let marketing: ReturnType<typeof asCaller>;
const vips: { id: string; email: string }[] = [];
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, QUIET_HOURS: '00:00-00:00', MARKETING_CAP_PER_DAY: '1' } });
  marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  const customer = async (segment: string, language: string, consent: boolean) => {
    const email = `c${process.pid}-${vips.length}-${segment}-${language}-${consent}@example.org`.toLowerCase();
    const c = (await t.http.post('/v1/customers').send({
      type: 'individual', givenName: 'Val', familyName: 'Ued', segment, preferredLanguage: language, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
      consents: consent ? [{ channel: 'email', granted: true, source: 'web' }] : [],
    }).expect(201)).body;
    return { id: c.id as string, email };
  };
  vips.push(await customer('vip', 'de', true), await customer('vip', 'en', true), await customer('vip', 'en-GB', true), await customer('vip', 'en', false));
  await customer('consumer', 'en', true);
  for (const code of ['winter', 'spring', 'weekly']) {
    await marketing.put(`/v1/message-templates/campaign.${code}/email/en`).send({ subject: `${code} offer`, body: 'Dear {{customer.name}}, 2 months free.' }).expect(200);
    await marketing.put(`/v1/message-templates/campaign.${code}/email/de`).send({ subject: `${code} Angebot`, body: 'Liebe(r) {{customer.name}}, 2 Monate gratis.' }).expect(200);
  }
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});
const run = async () => { for (let i = 0; i < 3; i++) await t.runJobs(); };
const create = (code: string, extra: Record<string, unknown> = {}) =>
  marketing.post('/v1/campaigns').send({ code, name: `${code} campaign`, channels: ['email'], segment: { segments: ['vip'] }, ...extra }).expect(201).then((r) => r.body);

describe('scheduled campaigns', () => {
  it('preview the audience, run now: each consenting customer of the segment gets one mail in their language, the others are counted', async () => {
    const c = await create('winter');
    expect((await marketing.get(`/v1/campaigns/${c.id}/audience`).expect(200)).body.customers).toBe(4);
    await marketing.post(`/v1/campaigns/${c.id}/start`).send({}).expect(200);
    await run();
    expect(smtp.to(vips[0]!.email).map((m) => m.raw)).toEqual([expect.stringMatching(/Subject: winter Angebot/)]);
    expect(smtp.to(vips[2]!.email)).toHaveLength(1);
    expect(smtp.to(vips[3]!.email)).toHaveLength(0);
    const stats = (await marketing.get(`/v1/campaigns/${c.id}/stats`).expect(200)).body;
    expect(stats).toMatchObject({ status: 'completed', targeted: 4, sent: 3, skipped: 1, optedOut: 1, queued: 0 });
    expect(stats.breakdown).toEqual(expect.arrayContaining([expect.objectContaining({ state: 'sent', language: 'de', n: 1 }), expect.objectContaining({ state: 'sent', language: 'en', n: 2 })]));
    // Run again by mistake: the fan-out is keyed by campaign, run and customer.
    await t.database.sql`select graphile_worker.add_job('campaigns.fan_out', json_build_object('campaignId', ${c.id}::text))`;
    await t.database.sql`update campaigns.campaigns set status = 'running', cursor = null where id = ${c.id}`;
    await run();
    expect(smtp.to(vips[0]!.email)).toHaveLength(1);
  });

  it('a customer who recharges after the campaign reached them counts as its conversion, once', async () => {
    const [c] = (await marketing.get('/v1/campaigns').expect(200)).body.items.filter((x: { code: string }) => x.code === 'winter');
    const account = (await t.http.post(`/v1/customers/${vips[0]!.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    for (const key of ['conv-1', 'conv-2']) {
      await t.http.post(`/v1/billing-accounts/${account.id}/recharges`).set('idempotency-key', key).send({ amount: { amount: 1500, currency: 'EUR' } }).expect(201);
    }
    // One who was skipped (no consent) and recharges is no conversion.
    const other = (await t.http.post(`/v1/customers/${vips[3]!.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    await t.http.post(`/v1/billing-accounts/${other.id}/recharges`).set('idempotency-key', 'conv-3').send({ amount: { amount: 1500, currency: 'EUR' } }).expect(201);
    await run();
    expect((await marketing.get(`/v1/campaigns/${c.id}/stats`).expect(200)).body).toMatchObject({ sent: 3, conversions: 1, conversionRate: 1 / 3 });
  });

  it('the frequency cap skips a second marketing mail the same day', async () => {
    const c = await create('spring');
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200); // no body: now
    await run();
    const stats = (await marketing.get(`/v1/campaigns/${c.id}/stats`).expect(200)).body;
    expect(stats).toMatchObject({ sent: 0, skipped: 4 });
    const capped = stats.breakdown.filter((b: { reason: string }) => b.reason === 'frequency_cap').reduce((n: number, b: { n: number }) => n + b.n, 0);
    expect(capped).toBe(3);
  });

  it('scheduled for later, paused, resumed; a recurring one schedules its next run; cancelled ones stay cancelled', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const c = await create('weekly', { repeatEveryDays: 7, segment: { segments: ['consumer'] } });
    const started = (await marketing.post(`/v1/campaigns/${c.id}/start`).send({ at: later }).expect(200)).body;
    expect(started.status).toBe('scheduled');
    expect(new Date(started.scheduledAt).getTime()).toBe(new Date(later).getTime());
    expect((await marketing.post(`/v1/campaigns/${c.id}/pause`).expect(200)).body.status).toBe('paused');
    expect((await marketing.post(`/v1/campaigns/${c.id}/start`).send({}).expect(409)).body.code).toBe('campaign_state');
    // Paused before its time, it waits for it again.
    expect((await marketing.post(`/v1/campaigns/${c.id}/resume`).expect(200)).body.status).toBe('scheduled');
    await run();
    expect((await marketing.get(`/v1/campaigns/${c.id}`).expect(200)).body).toMatchObject({ status: 'scheduled', run: 1 });
    // Its time comes (the job brought forward).
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`fan-out:${c.id}`}`;
    await run();
    const after = (await marketing.get(`/v1/campaigns/${c.id}`).expect(200)).body;
    expect(after).toMatchObject({ status: 'scheduled', run: 2, targeted: 0 });
    expect(new Date(after.scheduledAt).getTime()).toBe(new Date(later).getTime() + 7 * 86_400_000);
    // The second run comes (brought forward too): the day's cap skips it. Each run is counted apart.
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`fan-out:${c.id}`}`;
    await run();
    const stats = (run?: number) => marketing.get(`/v1/campaigns/${c.id}/stats${run ? `?run=${run}` : ''}`).expect(200).then((r) => r.body);
    expect(await stats(1)).toMatchObject({ run: 1, targeted: 1, sent: 1, skipped: 0 });
    expect(await stats(2)).toMatchObject({ run: 2, targeted: 1, sent: 0, skipped: 1, breakdown: [expect.objectContaining({ reason: 'frequency_cap' })] });
    expect(await stats()).toMatchObject({ run: 3, targeted: 0, sent: 1, skipped: 1 });
    expect((await marketing.get(`/v1/campaigns/${c.id}/stats?run=0`).expect(400)).body.code).toBe('validation_failed');

    const draft = await create('cancelled_one');
    expect((await marketing.post(`/v1/campaigns/${draft.id}/cancel`).expect(200)).body.status).toBe('cancelled');
    expect((await marketing.post(`/v1/campaigns/${draft.id}/start`).send({}).expect(409)).body.code).toBe('campaign_state');
  });

  it('a segment by region (any home, installation or billing address, case ignored), language, consent and account type', async () => {
    const made = async (body: Record<string, unknown>, account?: 'prepaid' | 'postpaid') => {
      const c = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Seg', familyName: 'Ment', segment: 'enterprise', ...body }).expect(201)).body;
      if (account) await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: account, currency: 'EUR', ...(account === 'postpaid' ? { billCycleDay: 1 } : {}) }).expect(201);
      return c.id as string;
    };
    const address = (kind: string, region: string) => ({ addresses: [{ kind, line1: 'Rua 1', city: 'Porto', country: 'PT', region }] });
    await made({ preferredLanguage: 'pt-BR', ...address('installation', 'Norte'), consents: [{ channel: 'sms', granted: true, source: 'web' }] }, 'prepaid');
    await made({ preferredLanguage: 'pt', ...address('billing', 'NORTE') }, 'postpaid');
    await made({ preferredLanguage: 'es', ...address('home', 'Centro'), consents: [{ channel: 'sms', granted: true, source: 'web' }] }, 'prepaid');
    let n = 0;
    const audience = async (segment: Record<string, unknown>) => {
      const c = (await marketing.post('/v1/campaigns').send({ code: `segment_${++n}`, name: 'Segment', channels: ['sms'], segment: { segments: ['enterprise'], ...segment } }).expect(201)).body;
      return (await marketing.get(`/v1/campaigns/${c.id}/audience`).expect(200)).body.customers;
    };
    expect(await audience({})).toBe(3);
    expect(await audience({ regions: ['norte'] })).toBe(2);
    expect(await audience({ languages: ['pt'] })).toBe(2);
    expect(await audience({ languages: ['pt-br'] })).toBe(1);
    expect(await audience({ consent: 'sms' })).toBe(2);
    expect(await audience({ accountType: 'postpaid' })).toBe(1);
    expect(await audience({ regions: ['Norte'], consent: 'sms', accountType: 'prepaid' })).toBe(1);
  });

  it('refuses a voice channel, a taken code and strangers', async () => {
    expect((await marketing.post('/v1/campaigns').send({ code: 'calls', name: 'Call everyone', channels: ['voice'], segment: {} }).expect(422)).body.code).toBe('channel_not_allowed');
    await create('taken');
    expect((await marketing.post('/v1/campaigns').send({ code: 'taken', name: 'Again', channels: ['email'], segment: {} }).expect(409)).body.code).toBe('campaign_exists');
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/campaigns').send({ code: 'csr', name: 'x', channels: ['email'], segment: {} }).expect(403);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: vips[0]!.id }));
    await me.get('/v1/campaigns').expect(403);
  });
});
