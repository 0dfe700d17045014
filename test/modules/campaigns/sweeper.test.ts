import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, closeAll, keyFor, type TestApp, testWorkers } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { crossLowBalance } from './fixtures.js';

// A worker with no mail server configured, then one with: the five-minute sweep makes nothing wait for ever.
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let bare: TestApp;
let mail: TestApp;
beforeAll(async () => {
  smtp = await smtpSink();
  [bare, mail] = await testWorkers({ QUIET_HOURS: '00:00-00:00' }, { QUIET_HOURS: '00:00-00:00', SMTP_URL: smtp.url }) as [TestApp, TestApp];
});
afterAll(() => closeAll(bare, mail, smtp));

const sweep = async () => {
  await mail.database.sql`select graphile_worker.add_job('campaigns.sweep', '{}'::json)`;
  await mail.runWorker();
};
const customer = async (email: string, segment = 'consumer') => (await bare.http.post('/v1/customers').send({
  type: 'individual', givenName: 'Sam', familyName: 'Sweep', segment, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
  consents: [{ channel: 'email', granted: true, source: 'web' }],
}).expect(201)).body.id as string;

describe('the sweep', () => {
  it('sends what waited queued for a provider once one is there: triggered messages and campaigns alike, a recurring one between its runs too', async () => {
    const marketing = asCaller(bare, await keyFor(bare, { principalKind: 'staff', role: 'marketing' }));
    await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Low balance', body: 'Your balance is {{balance}}.' }).expect(200);
    await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['email'] }).expect(201);
    await marketing.put('/v1/message-templates/campaign.later/email/en').send({ subject: 'An offer', body: 'Dear {{customer.name}}, an offer.' }).expect(200);
    const low = await customer(`sweep-low-${process.pid}@example.org`);
    await customer(`sweep-vip-${process.pid}@example.org`, 'vip');
    const account = (await bare.http.post(`/v1/customers/${low}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    await crossLowBalance(bare, account.id);
    const c = (await marketing.post('/v1/campaigns').send({ code: 'later', name: 'Later', channels: ['email'], segment: { segments: ['vip'] }, repeatEveryDays: 7 }).expect(201)).body;
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200);
    for (let i = 0; i < 3; i++) await bare.runJobs();
    const states = () => bare.database.sql<{ state: string; campaign: boolean }[]>`select state, campaign_id is not null as campaign from campaigns.messages order by campaign_id nulls first`;
    expect(await states()).toEqual([{ state: 'queued', campaign: false }, { state: 'queued', campaign: true }]);
    expect((await marketing.get(`/v1/campaigns/${c.id}`).expect(200)).body).toMatchObject({ status: 'scheduled', run: 2 });
    // Their jobs wait, untried, for a worker with a mail server; here they are lost.
    const jobs = await bare.database.sql<{ task_identifier: string; attempts: number }[]>`select task_identifier, attempts from graphile_worker.jobs where task_identifier like 'campaigns.send%' order by 1`;
    expect(jobs).toEqual([{ task_identifier: 'campaigns.send.email', attempts: 0 }, { task_identifier: 'campaigns.send_campaign.email', attempts: 0 }]);
    await bare.database.sql`select graphile_worker.remove_job(key) from graphile_worker.jobs where task_identifier like 'campaigns.send%'`;

    await sweep(); // not five minutes yet: nothing to do
    expect(smtp.received).toHaveLength(0);
    await bare.database.sql`update campaigns.messages set updated_at = now() - interval '6 minutes'`;
    await sweep();
    expect(await states()).toEqual([{ state: 'sent', campaign: false }, { state: 'sent', campaign: true }]);
    expect(smtp.received.map((m) => m.raw.match(/^Subject: (.*)$/m)?.[1]).sort()).toEqual(['An offer', 'Low balance']);
  });

  it('a worker without a channel\'s provider leaves its sends to one with it, which sends at once', async () => {
    const marketing = asCaller(bare, await keyFor(bare, { principalKind: 'staff', role: 'marketing' }));
    await marketing.put('/v1/message-templates/campaign.soon/email/en').send({ subject: 'Soon', body: 'Dear {{customer.name}}, an offer.' }).expect(200);
    const id = (await bare.http.post('/v1/customers').send({
      type: 'individual', givenName: 'Sini', familyName: 'Soon', preferredLanguage: 'fi', contactPoints: [{ kind: 'email', value: `sweep-soon-${process.pid}@example.org`, isPrimary: true }],
      consents: [{ channel: 'email', granted: true, source: 'web' }],
    }).expect(201)).body.id as string;
    const c = (await marketing.post('/v1/campaigns').send({ code: 'soon', name: 'Soon', channels: ['email'], segment: { languages: ['fi'] } }).expect(201)).body;
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200);
    for (let i = 0; i < 3; i++) await bare.runJobs();
    const state = async () => (await bare.database.sql<{ state: string }[]>`select state from campaigns.messages where customer_id = ${id}`)[0]!.state;
    expect(await state()).toBe('queued');
    await mail.runWorker();
    expect(await state()).toBe('sent');
  });

  it('a send job from before sends had a task per channel goes its channel\'s way', async () => {
    const id = await customer(`sweep-legacy-${process.pid}@example.org`);
    const [m] = await bare.database.sql<{ id: string }[]>`insert into campaigns.messages (id, customer_id, dedupe_key, channel, kind, state, recipient, subject, body)
      values (gen_random_uuid(), ${id}, ${`legacy:${id}`}, 'email', 'transactional', 'queued', ${`sweep-legacy-${process.pid}@example.org`}, 'Legacy', 'Hello') returning id`;
    await bare.database.sql`select graphile_worker.add_job('campaigns.send', json_build_object('messageId', ${m!.id}::text), job_key => ${`message:${m!.id}`})`;
    await bare.runJobs(); // no mail server here: it is handed on, not sent
    const [{ state }] = await bare.database.sql<{ state: string }[]>`select state from campaigns.messages where id = ${m!.id}`;
    expect(state).toBe('queued');
    await mail.runWorker();
    const [after] = await bare.database.sql<{ state: string }[]>`select state from campaigns.messages where id = ${m!.id}`;
    expect(after!.state).toBe('sent');
  });

  it('sends a held campaign message whose job was lost once its time has passed', async () => {
    const marketing = asCaller(bare, await keyFor(bare, { principalKind: 'staff', role: 'marketing' }));
    await marketing.put('/v1/message-templates/campaign.night/email/en').send({ subject: 'Good morning', body: 'Dear {{customer.name}}, an offer.' }).expect(200);
    const id = await customer(`sweep-held-${process.pid}@example.org`, 'enterprise');
    const c = (await marketing.post('/v1/campaigns').send({ code: 'night', name: 'Night', channels: ['email'], segment: { segments: ['enterprise'] } }).expect(201)).body;
    await marketing.post(`/v1/campaigns/${c.id}/start`).expect(200);
    await bare.runJobs(); // the fan-out: queued, nothing to send it with
    // As if held by quiet hours that ended six minutes ago, its job gone.
    await bare.database.sql`update campaigns.messages set state = 'held', reason = 'quiet_hours until then', next_attempt_at = now() - interval '6 minutes',
      updated_at = now() - interval '8 hours' where customer_id = ${id}`;
    await sweep();
    const [m] = await bare.database.sql<{ state: string }[]>`select state from campaigns.messages where customer_id = ${id}`;
    expect(m!.state).toBe('sent');
  });

  it('fails a message left sending for ten minutes as of unknown outcome, never sending it again by itself', async () => {
    const id = await customer(`sweep-stranded-${process.pid}@example.org`);
    const [m] = await bare.database.sql<{ id: string }[]>`insert into campaigns.messages (id, customer_id, dedupe_key, channel, kind, state, recipient, body, attempts, updated_at)
      values (gen_random_uuid(), ${id}, ${`stranded:${id}`}, 'email', 'transactional', 'sending', 'x@example.org', 'Hello', 1, now() - interval '11 minutes') returning id`;
    const before = smtp.received.length;
    await sweep();
    const { body } = await bare.http.get(`/v1/messages/${m!.id}`).expect(200);
    expect(body).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^Outcome unknown/) });
    expect(smtp.received).toHaveLength(before);
  });
});
