import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { activatedCustomer, crossLowBalance, dayZone, nightZone, upsellAndLowBalanceMail } from './fixtures.js';

let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, QUIET_HOURS: '21:00-08:00' } });
  await upsellAndLowBalanceMail(t);
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const [night, day] = [nightZone, dayZone];

const activated = (who: { consent: boolean; timeZone: string }) => activatedCustomer(t, who);
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
