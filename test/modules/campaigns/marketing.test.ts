import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { activePlan, fulfilled, stock } from '../orders/fixtures.js';
import { crossLowBalance, dayZone, nightZone } from './fixtures.js';

let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, QUIET_HOURS: '21:00-08:00' } });
  const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  await marketing.put('/v1/message-templates/order.completed/email/en').send({ subject: 'Welcome aboard', body: 'Hi {{customer.name}}: 20% off your first data pack this week.' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Upsell after activation', eventType: 'order.completed', channels: ['email'], kind: 'marketing' }).expect(201);
  await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Balance low', body: 'Your balance is {{balance}}.' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['email'] }).expect(201);
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const [night, day] = [nightZone, dayZone];

let seq = 0;
async function activated(who: { consent: boolean; timeZone: string }) {
  const email = `m${process.pid}-${++seq}@example.org`;
  const customer = (await t.http.post('/v1/customers').send({
    type: 'individual', givenName: 'Mo', familyName: `Arketing${seq}`, timeZone: who.timeZone, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
    consents: who.consent ? [{ channel: 'email', granted: true, source: 'web_signup' }] : [],
  }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
  await stock(t, 1);
  await fulfilled(t, { type: 'new_line', billingAccountId: account.id, planId: plan.id });
  for (let i = 0; i < 3; i++) await t.runJobs();
  return { customerId: customer.id as string, accountId: account.id as string, email };
}
const messagesOf = async (customerId: string) => (await t.http.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items;

describe('marketing messages', () => {
  it('go only to customers who consented; the bill-like notice reaches the others all the same', async () => {
    const keen = await activated({ consent: true, timeZone: day });
    expect(smtp.to(keen.email).map((m) => m.raw)).toEqual([expect.stringMatching(/Subject: Welcome aboard/)]);
    const silent = await activated({ consent: false, timeZone: day });
    expect(await messagesOf(silent.customerId)).toMatchObject([{ kind: 'marketing', state: 'skipped', reason: 'no_consent' }]);
    expect(smtp.to(silent.email)).toEqual([]);
    await crossLowBalance(t, silent.accountId);
    for (let i = 0; i < 3; i++) await t.runJobs();
    expect(smtp.to(silent.email).map((m) => m.raw)).toEqual([expect.stringMatching(/Subject: Balance low/)]);
  });

  it('wait for the end of the customer\'s quiet hours (held, not dropped), then go', async () => {
    const sleeper = await activated({ consent: true, timeZone: night });
    const [held] = await messagesOf(sleeper.customerId);
    expect(held).toMatchObject({ state: 'held', reason: expect.stringMatching(/^quiet_hours until /), attempts: 0 });
    expect(new Date(held.nextAttemptAt).getTime()).toBeGreaterThan(Date.now());
    expect(smtp.to(sleeper.email)).toEqual([]);
    // Morning comes (the job brought forward) while it is still night there: held again, not sent.
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${held.id}`}`;
    await t.runJobs();
    expect((await messagesOf(sleeper.customerId))[0]).toMatchObject({ state: 'held' });
    // It is day in the customer's zone now.
    await t.database.sql`update campaigns.messages set time_zone = ${day} where id = ${held.id}`;
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${held.id}`}`;
    await t.runJobs();
    expect((await messagesOf(sleeper.customerId))[0]).toMatchObject({ state: 'sent', reason: null, attempts: 1 });
    expect(smtp.to(sleeper.email)).toHaveLength(1);
  });

  it('a customer who withdraws consent while a message is held does not get it in the morning', async () => {
    const changed = await activated({ consent: true, timeZone: night });
    const [held] = await messagesOf(changed.customerId);
    expect(held.state).toBe('held');
    await t.http.put(`/v1/customers/${changed.customerId}/consents/email`).send({ granted: false, source: 'call-centre' }).expect(200);
    await t.database.sql`update campaigns.messages set time_zone = ${day} where id = ${held.id}`;
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${held.id}`}`;
    await t.runJobs();
    expect((await messagesOf(changed.customerId))[0]).toMatchObject({ state: 'skipped', reason: 'no_consent' });
    expect(smtp.to(changed.email)).toEqual([]);
  });
});
