import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, closeAll, keyFor, type TestApp, testWorkers } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { crossLowBalance } from './fixtures.js';

// Two apps on one database are two workers: the send-rate limits hold over both.
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let one: TestApp;
let two: TestApp;
const EMAIL_PER_SECOND = 5;
const CAMPAIGN_PER_SECOND = 2;
beforeAll(async () => {
  smtp = await smtpSink();
  const env = { SMTP_URL: smtp.url, QUIET_HOURS: '00:00-00:00', EMAIL_SEND_RATE: String(EMAIL_PER_SECOND), CAMPAIGN_SEND_RATE: String(CAMPAIGN_PER_SECOND) };
  [one, two] = await testWorkers(env, env) as [TestApp, TestApp];
});
afterAll(() => closeAll(one, two, smtp));

let n = 0;
async function customers(count: number, opts: { account?: boolean; segment?: string } = {}) {
  return Promise.all(Array.from({ length: count }, async () => {
    const c = (await one.http.post('/v1/customers').send({
      type: 'individual', givenName: 'Rae', familyName: 'Rate', segment: opts.segment ?? 'consumer',
      contactPoints: [{ kind: 'email', value: `rate-${process.pid}-${++n}@example.org`, isPrimary: true }], consents: [{ channel: 'email', granted: true, source: 'web' }],
    }).expect(201)).body;
    const account = opts.account ? (await one.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body : undefined;
    return { id: c.id as string, accountId: account?.id as string };
  }));
}

/** The most messages sent within any one second, and the time from the first to the last. */
async function pace(where: { campaignId?: string; customerIds?: string[] }) {
  const rows = where.campaignId
    ? await one.database.sql<{ t: number }[]>`select extract(epoch from sent_at)::float8 as t from campaigns.messages where campaign_id = ${where.campaignId} and state = 'sent' order by sent_at`
    : await one.database.sql<{ t: number }[]>`select extract(epoch from sent_at)::float8 as t from campaigns.messages where customer_id = any(${where.customerIds!}::uuid[]) and state = 'sent' order by sent_at`;
  const times = rows.map((r) => r.t);
  const busiest = Math.max(...times.map((t0) => times.filter((t) => t >= t0 && t < t0 + 1).length));
  return { sent: times.length, busiest, spanSeconds: times.at(-1)! - times[0]! };
}

describe('send-rate limits over all workers', () => {
  it('two workers together send no faster than the provider limit; nothing is lost or sent twice', async () => {
    const many = await customers(20, { account: true });
    await one.http.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['email'] }).expect(201);
    await one.http.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Low balance', body: 'Your balance is {{balance}}.' }).expect(200);
    for (const c of many) await crossLowBalance(one, c.accountId);
    await one.relayEvents();
    await Promise.all([one.runWorker(), two.runWorker()]);
    const p = await pace({ customerIds: many.map((c) => c.id) });
    expect(p.sent).toBe(20);
    expect(smtp.received.filter((m) => m.raw.includes('Subject: Low balance'))).toHaveLength(20);
    // One every 1/5 s: 20 take 19 spacings, and no second holds more than the rate (and one). sent_at, taken once
    // the server answered, jitters with a busy machine: a fifth of slack on the span, and the busiest second may
    // gather a few late ones; unlimited, all 20 go within half a second.
    expect(p.spanSeconds).toBeGreaterThanOrEqual(0.8 * (20 - 1) / EMAIL_PER_SECOND);
    expect(p.busiest).toBeLessThanOrEqual(2 * EMAIL_PER_SECOND);
  });

  it('campaigns together keep to their own, lower limit', async () => {
    await customers(6, { segment: 'vip' });
    const marketing = asCaller(one, await keyFor(one, { principalKind: 'staff', role: 'marketing' }));
    await marketing.put('/v1/message-templates/campaign.paced/email/en').send({ subject: 'Paced', body: 'Dear {{customer.name}}, an offer.' }).expect(200);
    const c = (await marketing.post('/v1/campaigns').send({ code: 'paced', name: 'Paced', channels: ['email'], segment: { segments: ['vip'] } }).expect(201)).body;
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200);
    for (let i = 0; i < 3; i++) await one.runJobs();
    const p = await pace({ campaignId: c.id });
    expect(p.sent).toBe(6);
    expect(p.spanSeconds).toBeGreaterThanOrEqual(0.8 * (6 - 1) / CAMPAIGN_PER_SECOND);
    expect(p.busiest).toBeLessThanOrEqual(2 * CAMPAIGN_PER_SECOND);
  });
});
