import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { activePlan, fulfilled, stock } from '../orders/fixtures.js';
import { crossLowBalance } from './fixtures.js';

// Segments and trigger conditions by price plan: the orders module answers who is on a plan.
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
let marketing: ReturnType<typeof asCaller>;
let gold: { id: string; code: string };
const onGold: { id: string; email: string; accountId: string }[] = [];
const onBasic: { id: string; email: string; accountId: string }[] = [];
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, QUIET_HOURS: '00:00-00:00' } });
  marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  gold = await activePlan(t, { kind: 'prepaid' });
  const basic = await activePlan(t, { kind: 'prepaid' });
  await stock(t, 4);
  let n = 0;
  const subscriber = async (planId: string) => {
    const email = `plan-${process.pid}-${++n}@example.org`;
    const c = (await t.http.post('/v1/customers').send({
      type: 'individual', givenName: 'Pat', familyName: 'Plan', contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
      consents: [{ channel: 'email', granted: true, source: 'web' }],
    }).expect(201)).body;
    const account = (await t.http.post(`/v1/customers/${c.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: account.id, planId });
    expect(order.status).toBe('completed');
    return { id: c.id as string, email, accountId: account.id as string };
  };
  onGold.push(await subscriber(gold.id), await subscriber(gold.id));
  onBasic.push(await subscriber(basic.id));
  await marketing.put('/v1/message-templates/campaign.gold_upsell/email/en').send({ subject: 'For gold', body: 'Dear {{customer.name}}, a gold gift.' }).expect(200);
  await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Low balance', body: 'Your balance is {{balance}}.' }).expect(200);
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});
const run = async () => { for (let i = 0; i < 3; i++) await t.runJobs(); };

describe('audiences by price plan', () => {
  it('a campaign to the customers with a line on a plan reaches them and no one else', async () => {
    const c = (await marketing.post('/v1/campaigns').send({ code: 'gold_upsell', name: 'Gold', channels: ['email'], segment: { plans: [gold.code] } }).expect(201)).body;
    expect(c.segment).toEqual({ plans: [gold.code] });
    expect((await marketing.get(`/v1/campaigns/${c.id}/audience`).expect(200)).body.customers).toBe(2);
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200);
    await run();
    expect((await marketing.get(`/v1/campaigns/${c.id}/stats`).expect(200)).body).toMatchObject({ targeted: 2, sent: 2 });
    for (const g of onGold) expect(smtp.to(g.email)).toHaveLength(1);
    expect(smtp.to(onBasic[0]!.email)).toHaveLength(0);
  });

  it('a trigger with a plan condition sends only to customers on that plan', async () => {
    await marketing.post('/v1/message-triggers').send({ name: 'Gold low balance', eventType: 'balance.low', channels: ['email'], conditions: { plans: [gold.code] } }).expect(201);
    await crossLowBalance(t, onGold[0]!.accountId);
    await crossLowBalance(t, onBasic[0]!.accountId);
    await run();
    expect(smtp.to(onGold[0]!.email).filter((m) => m.raw.includes('Subject: Low balance'))).toHaveLength(1);
    expect(smtp.to(onBasic[0]!.email)).toHaveLength(0);
  });

  it('a plan code the catalog never had is refused, for campaigns and triggers', async () => {
    const campaign = await marketing.post('/v1/campaigns').send({ code: 'typo', name: 'Typo', channels: ['email'], segment: { plans: [gold.code, 'GOLDD'] } }).expect(422);
    expect(campaign.body).toMatchObject({ code: 'unknown_price_plan', detail: expect.stringContaining('"GOLDD"') });
    const trigger = await marketing.post('/v1/message-triggers').send({ name: 'Typo', eventType: 'balance.low', channels: ['email'], conditions: { plans: ['GOLDD'] } }).expect(422);
    expect(trigger.body.code).toBe('unknown_price_plan');
  });
});
