import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { crossLowBalance } from './fixtures.js';

let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
let provider: ReturnType<typeof asCaller>;
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url } });
  const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Balance low', body: 'Your balance is {{balance}}.' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['email'] }).expect(201);
  provider = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['messages:inbound'] }));
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

let seq = 0;
const run = async () => { for (let i = 0; i < 3; i++) await t.runJobs(); };
/** A customer with an email address and email marketing consent, sent a low-balance mail. */
async function mailed() {
  const email = `bounce${process.pid}-${++seq}@example.org`;
  const customer = (await t.http.post('/v1/customers').send({
    type: 'individual', givenName: 'Bo', familyName: `Unce${seq}`, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
    consents: [{ channel: 'email', granted: true, source: 'web_signup' }],
  }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  await crossLowBalance(t, account.id);
  await run();
  const [message] = await messagesOf(customer.id);
  return { customerId: customer.id as string, accountId: account.id as string, email, message };
}
const messagesOf = async (customerId: string) => (await t.http.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items;
const report = (events: Record<string, unknown>[]) => provider.post('/v1/inbound/email-events')
  .send({ events: events.map((e) => ({ occurredAt: new Date().toISOString(), ...e })) });

describe('what the mail provider reports about mail we sent', () => {
  it('delivered, then a complaint: the message is delivered, and email marketing consent is withdrawn once', async () => {
    const { customerId, email, message } = await mailed();
    expect(message).toMatchObject({ state: 'sent', channel: 'email', providerMessageId: expect.any(String) });
    // The id the provider reports is the mail's own Message-ID.
    expect(smtp.to(email)[0]!.raw).toContain(`Message-ID: ${message.providerMessageId}`);

    const delivered = { type: 'delivered', providerMessageId: message.providerMessageId, recipient: email };
    expect((await report([delivered, delivered]).expect(200)).body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['delivered', 'delivered']);
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'delivered', deliveredAt: expect.any(String) });

    const complaint = { type: 'complained', providerMessageId: message.providerMessageId, recipient: email, occurredAt: new Date().toISOString() };
    expect((await report([complaint]).expect(200)).body.results).toEqual([{ providerMessageId: message.providerMessageId, outcome: 'consent_withdrawn' }]);
    expect((await report([complaint]).expect(200)).body.results[0].outcome).toBe('noted');
    const customer = (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body;
    expect(customer.consents).toMatchObject([{ channel: 'email', granted: false, source: 'email_complaint' }]);
    const [{ n }] = await t.database.sql`select count(*)::int as n from customers.consent_history where customer_id = ${customerId} and source = 'email_complaint'`;
    expect(n).toBe(1);
    // The customer consents again; the old complaint sent once more does not undo it.
    await new Promise((r) => setTimeout(r, 5));
    await t.http.put(`/v1/customers/${customerId}/consents/email`).send({ granted: true, source: 'web' }).expect(200);
    expect((await report([complaint]).expect(200)).body.results[0].outcome).toBe('noted');
    expect((await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.consents).toMatchObject([{ channel: 'email', granted: true }]);
  });

  it('a permanent bounce fails the message and marks the address: later mail passes it over; a transient one is only noted', async () => {
    const { customerId, accountId, email, message } = await mailed();
    const bounce = { type: 'bounced', providerMessageId: message.providerMessageId, recipient: email.toUpperCase(), occurredAt: new Date().toISOString() };
    expect((await report([{ ...bounce, permanent: false, reason: '451 4.2.2 mailbox full' }]).expect(200)).body.results[0].outcome).toBe('noted');
    expect((await messagesOf(customerId))[0].state).toBe('sent');

    expect((await report([{ ...bounce, permanent: true, reason: '550 5.1.1 user unknown' }]).expect(200)).body.results[0].outcome).toBe('bounced');
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'failed', reason: 'bounced: 550 5.1.1 user unknown' });
    const point = (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.contactPoints[0];
    expect(point).toMatchObject({ value: email, undeliverableSince: expect.any(String), undeliverableReason: 'bounced: 550 5.1.1 user unknown' });

    // A mail made before the bounce (a campaign's, say) and sent after it does not go there (its id sorts it last).
    const [queued] = await t.database.sql<{ id: string }[]>`insert into campaigns.messages (id, customer_id, dedupe_key, channel, kind, state, recipient, subject, body)
      values ('00000000-0000-7000-8000-000000000001', ${customerId}, ${`made-before:${customerId}`}, 'email', 'transactional', 'queued', ${email}, 'Earlier', 'Hello') returning id`;
    await t.database.sql`select graphile_worker.add_job('campaigns.send.email', json_build_object('messageId', ${queued!.id}::text), job_key => ${`message:${queued!.id}`})`;
    await run();
    expect((await t.http.get(`/v1/messages/${queued!.id}`).expect(200)).body).toMatchObject({ state: 'skipped', reason: 'undeliverable' });

    // The next low balance: no address to send it to.
    await crossLowBalance(t, accountId);
    await run();
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'skipped', reason: 'no_contact' });
    expect(smtp.to(email)).toHaveLength(1);

    // The customer says the address works again (removed, added back): the old bounce sent once more does not mark it.
    const removed = (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.contactPoints[0];
    await t.http.delete(`/v1/customers/${customerId}/contact-points/${removed.id}`).expect(200);
    await t.http.post(`/v1/customers/${customerId}/contact-points`).send({ kind: 'email', value: email, isPrimary: true }).expect(201);
    await report([{ ...bounce, permanent: true, reason: '550 5.1.1 user unknown' }]).expect(200);
    expect((await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.contactPoints).toMatchObject([{ value: email, undeliverableSince: null }]);
    await t.http.delete(`/v1/customers/${customerId}/contact-points/${(await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.contactPoints[0].id}`).expect(200);

    // A new address is used at once.
    const fresh = `fresh${process.pid}-${seq}@example.org`;
    await t.http.post(`/v1/customers/${customerId}/contact-points`).send({ kind: 'email', value: fresh, isPrimary: true }).expect(201);
    await crossLowBalance(t, accountId);
    await run();
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'sent', recipient: fresh });
  });

  it('a permanent bounce for mail we do not know still marks the address; a complaint without one withdraws the consent of whoever has the address', async () => {
    const { customerId, email } = await mailed();
    const unknown = { providerMessageId: '<not-ours@example.net>', recipient: email };
    expect((await report([{ ...unknown, type: 'bounced', permanent: true }, { ...unknown, type: 'complained' }]).expect(200)).body.results.map((r: { outcome: string }) => r.outcome))
      .toEqual(['unknown', 'consent_withdrawn']);
    const customer = (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body;
    expect(customer.contactPoints[0]).toMatchObject({ undeliverableSince: expect.any(String), undeliverableReason: 'bounced: permanent failure' });
    expect(customer.consents).toMatchObject([{ channel: 'email', granted: false }]);
  });

  it('an event that comes before its send is recorded is kept, and the sweep applies it once the message is there', async () => {
    const { message } = await mailed();
    // As if the provider answered between taking the mail and our recording it: the id is not known yet.
    await t.database.sql`update campaigns.messages set provider_message_id = null where id = ${message.id}`;
    const event = { type: 'delivered', providerMessageId: message.providerMessageId, recipient: message.recipient };
    expect((await report([event]).expect(200)).body.results[0].outcome).toBe('unknown');
    await t.database.sql`update campaigns.messages set provider_message_id = ${message.providerMessageId} where id = ${message.id}`;
    await t.database.sql`select graphile_worker.add_job('campaigns.sweep', '{}'::json)`;
    await run();
    expect((await t.http.get(`/v1/messages/${message.id}`).expect(200)).body).toMatchObject({ state: 'delivered', deliveredAt: expect.any(String) });
    const [{ n }] = await t.database.sql`select count(*)::int as n from campaigns.early_email_events where provider_message_id = ${message.providerMessageId}`;
    expect(n).toBe(0);
  });

  it('only the mail provider\'s key may report; a bounce must say whether it is permanent', async () => {
    const event = { type: 'delivered', providerMessageId: '<x@example.net>', recipient: 'x@example.org', occurredAt: new Date().toISOString() };
    await anon(t).post('/v1/inbound/email-events').send({ events: [event] }).expect(401);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/inbound/email-events').send({ events: [event] }).expect(403);
    const { customerId } = await mailed();
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await me.post('/v1/inbound/email-events').send({ events: [event] }).expect(403);
    const bad = await provider.post('/v1/inbound/email-events').send({ events: [{ ...event, type: 'bounced' }] }).expect(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.errors).toMatchObject([{ path: 'body.events.0.permanent' }]);
  });
});
