import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { crossLowBalance } from './fixtures.js';

let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
let marketing: ReturnType<typeof asCaller>;
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, MESSAGE_MAX_ATTEMPTS: '3' } });
  marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Your balance is low', body: 'Hello {{customer.name}}, your balance is {{balance}}.' }).expect(200);
  await marketing.put('/v1/message-templates/balance.low/email/de').send({
    subject: 'Ihr Guthaben ist niedrig', body: 'Hallo {{customer.name}}, Ihr Guthaben beträgt {{balance}}.', html: '<p>Hallo {{customer.name}}, Ihr Guthaben beträgt <b>{{balance}}</b>.</p>',
  }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['sms', 'email'] }).expect(201);
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

let seq = 0;
async function lowBalance(who: { language: string; email?: string; companyName?: string }) {
  const email = who.email ?? `ada${process.pid}-${++seq}@example.org`;
  const customer = (await t.http.post('/v1/customers').send({
    type: 'individual', givenName: 'Ada', familyName: `Lovelace${seq}`, companyName: who.companyName, preferredLanguage: who.language, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
  }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  await crossLowBalance(t, account.id);
  return { customerId: customer.id as string, email };
}
const messagesOf = async (customerId: string) => (await t.http.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items;
const run = async () => { for (let i = 0; i < 3; i++) await t.runJobs(); };

describe('triggered messages', () => {
  it('a low-balance event becomes one email in the customer\'s language that the SMTP server receives; delivered again, it sends nothing more', async () => {
    const { customerId, email } = await lowBalance({ language: 'de' });
    await run();
    const mine = smtp.to(email);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.raw).toMatch(/Subject: Ihr Guthaben ist niedrig/);
    expect(mine[0]!.raw.replace(/=\r\n/g, '')).toMatch(/Ihr Guthaben betr(=C3=A4|ä)gt 0,00(=C2=A0| )=E2=82=AC|0,00/);
    const [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ channel: 'email', state: 'sent', language: 'de', kind: 'transactional', recipient: email, attempts: 1, providerMessageId: expect.any(String) });
    // Marketing follows the message, not whom it went to or what it said.
    expect((await marketing.get(`/v1/messages/${message.id}`).expect(200)).body).toMatchObject({ state: 'sent', recipient: null, body: null, subject: null });

    // The outbox delivers the same event to the subscriber once more: no second message.
    await t.database.sql`select graphile_worker.add_job('platform.deliver_event', json_build_object('eventId', ${message.eventId}::text, 'subscriber', 'campaigns.dispatch'))`;
    await run();
    expect(await messagesOf(customerId)).toHaveLength(1);
    expect(smtp.to(email)).toHaveLength(1);
  });

  it('a language without a template falls back to the operator\'s; a customer no channel reaches gets a skipped message with the reason', async () => {
    // A company name on an individual's file (a side business) is not how they are addressed.
    const { customerId, email } = await lowBalance({ language: 'fr', companyName: 'Analytical Engines Ltd' });
    await run();
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'sent', language: 'en', body: expect.stringMatching(/^Hello Ada Lovelace\d+, your balance is 0,00\s€\.$/) });
    // The English words, the French customer's way of writing money.
    expect(smtp.to(email)).toHaveLength(1);

    const unreachable = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'No', familyName: 'Contact' }).expect(201)).body;
    const account = (await t.http.post(`/v1/customers/${unreachable.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    await crossLowBalance(t, account.id);
    await run();
    expect(await messagesOf(unreachable.id)).toMatchObject([{ state: 'skipped', reason: 'no_contact', channel: 'sms' }]);
  });

  it('marketing reads what kind of failure it was, not the provider\'s answer, which may name the address', async () => {
    smtp.refuse(550, 1, '<ada@example.org>: Recipient address rejected');
    const { customerId } = await lowBalance({ language: 'en' });
    await run();
    const [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'failed', reason: expect.stringContaining('Recipient address rejected') });
    const seen = (await marketing.get(`/v1/messages/${message.id}`).expect(200)).body;
    expect(seen).toMatchObject({ state: 'failed', reason: 'Refused', recipient: null });
    expect(seen.deliveryAttempts.map((a: { response: string | null }) => a.response)).toEqual([null]);
    expect((await marketing.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items[0].reason).toBe('Refused');
    expect(JSON.stringify((await marketing.get(`/v1/messages/${message.id}`)).body)).not.toContain('ada@example.org');
  });

  it('a refusing server is tried again with backoff; at the end the message is dead-lettered, and a re-drive delivers it', async () => {
    smtp.refuse(421, 10);
    const { customerId, email } = await lowBalance({ language: 'en' });
    await run();
    let [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'queued', attempts: 1, nextAttemptAt: expect.any(String) });
    // The backoff is minutes long: bring the retries forward instead of waiting.
    for (let i = 0; i < 2; i++) {
      await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${message.id}`}`;
      await run();
    }
    message = (await t.http.get(`/v1/messages/${message.id}`).expect(200)).body;
    expect(message).toMatchObject({ state: 'failed', attempts: 3, reason: expect.stringMatching(/^Gave up after 3 attempts/) });
    expect(message.deliveryAttempts.map((a: { outcome: string; response: string }) => a.outcome)).toEqual(['transient_error', 'transient_error', 'transient_error']);
    expect(message.deliveryAttempts[0].response).toMatch(/421/);
    expect((await t.http.get('/v1/messages?state=failed').expect(200)).body.items.map((m: { id: string }) => m.id)).toContain(message.id);
    expect(smtp.to(email)).toHaveLength(0);

    smtp.refuse(0, 0);
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    await marketing.post(`/v1/messages/${message.id}/redrive`).expect(403);
    await supervisor.post(`/v1/messages/${message.id}/redrive`).expect(200);
    await run();
    expect((await t.http.get(`/v1/messages/${message.id}`).expect(200)).body).toMatchObject({ state: 'sent', attempts: 1 });
    expect(smtp.to(email)).toHaveLength(1);
    expect((await supervisor.post(`/v1/messages/${message.id}/redrive`).expect(409)).body.code).toBe('message_not_failed');
  });

  it('an erased customer\'s messages keep their counts but lose recipient and text', async () => {
    const { customerId } = await lowBalance({ language: 'en' });
    await run();
    await t.http.post(`/v1/customers/${customerId}/erase`).expect(200);
    await run();
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'sent', recipient: null, body: null, subject: null });
  });

  it('a permanent refusal fails at once', async () => {
    smtp.refuse(550, 1);
    const { customerId } = await lowBalance({ language: 'en' });
    await run();
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'failed', attempts: 1, reason: expect.stringMatching(/^Refused: 550/) });
  });
});

describe('transactional opt-out', () => {
  it('a customer who said no to transactional email gets no balance warning by email (skipped, opted_out); saying yes again brings it back', async () => {
    const email = `optout${process.pid}@example.org`;
    const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Opt', familyName: 'Out', contactPoints: [{ kind: 'email', value: email, isPrimary: true }] }).expect(201)).body;
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: customer.id }));
    expect((await me.put(`/v1/customers/${customer.id}/transactional-opt-outs/email`).expect(200)).body).toEqual({ customerId: customer.id, channel: 'email', optedOut: true });
    expect((await me.put(`/v1/customers/${customer.id}/transactional-opt-outs/voice`).expect(422)).body.code).toBe('channel_not_allowed');
    const stranger = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Some', familyName: 'One' }).expect(201)).body;
    await me.put(`/v1/customers/${stranger.id}/transactional-opt-outs/email`).expect(404);
    const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    await crossLowBalance(t, account.id);
    await run();
    expect(await messagesOf(customer.id)).toMatchObject([{ state: 'skipped', reason: 'opted_out', channel: 'email' }]);
    expect(smtp.to(email)).toEqual([]);
    await me.delete(`/v1/customers/${customer.id}/transactional-opt-outs/email`).expect(200);
    await crossLowBalance(t, account.id);
    await run();
    expect(smtp.to(email)).toHaveLength(1);
  });
});

describe('inbound email', () => {
  it('a mail from a customer, handed over by the provider\'s webhook, opens a ticket once however often it is posted; strangers are refused', async () => {
    const { customerId, email } = await lowBalance({ language: 'en' });
    const provider = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['messages:inbound'] }));
    const mail = { messageId: `<in-${customerId}@mail.example>`, from: email.toUpperCase(), to: 'care@telco.example', subject: 'Invoice question', text: 'Why was I charged twice?' };
    expect((await provider.post('/v1/inbound/email').send(mail).expect(202)).body).toEqual({ duplicate: false, customers: 1 });
    expect((await provider.post('/v1/inbound/email').send(mail).expect(202)).body).toEqual({ duplicate: true, customers: 1 });
    const tickets = (await t.http.get(`/v1/tickets?customerId=${customerId}`).expect(200)).body.items;
    expect(tickets).toMatchObject([{ channel: 'email', subject: 'Invoice question', status: 'new' }]);
    await provider.post('/v1/inbound/email').send({ ...mail, from: 'not-an-address' }).expect(400);
    await marketing.post('/v1/inbound/email').send(mail).expect(403);
  });
});

describe('templates and triggers', () => {
  it('templates are checked against their purpose\'s variables and previewed with the SMS encoding and parts', async () => {
    const bad = await marketing.put('/v1/message-templates/balance.low/sms/en').send({ body: 'Balance {{balanse}}' }).expect(422);
    expect(bad.body).toMatchObject({ code: 'template_invalid', detail: expect.stringMatching(/balanse/) });
    expect((await marketing.put('/v1/message-templates/no.such/sms/en').send({ body: 'x' }).expect(422)).body.code).toBe('unknown_purpose');
    await marketing.put('/v1/message-templates/balance.low/sms/ru').send({ body: 'Баланс {{balance}}' }).expect(200);
    const preview = (await marketing.post('/v1/message-templates/balance.low/sms/ru/preview').send({ locale: 'ru-RU' }).expect(200)).body;
    expect(preview).toMatchObject({ subject: null, sms: { encoding: 'UCS-2', dataCoding: 8, parts: 1 } });
    expect(preview.body).toMatch(/^Баланс 12,50\s€$/);
    await marketing.put('/v1/message-templates/balance.low/sms/en').send({ body: `Low balance: {{balance}}. ${'x'.repeat(160)}` }).expect(200);
    expect((await marketing.post('/v1/message-templates/balance.low/sms/en/preview').send({}).expect(200)).body.sms).toMatchObject({ encoding: 'GSM-7', parts: 2 });
    await marketing.post('/v1/message-templates/balance.low/sms/xx/preview').send({}).expect(404);
    expect((await marketing.put('/v1/message-templates/balance.low/email/it').send({ body: 'Nessun oggetto' }).expect(422)).body.code).toBe('template_invalid');
    expect((await marketing.post('/v1/message-templates/balance.low/sms/ru/preview').send({ timeZone: 'Mars/Olympus' }).expect(422)).body.code).toBe('preview_invalid');
    expect((await marketing.post('/v1/message-templates/balance.low/sms/ru/preview').send({ values: { balance: 'lots' } }).expect(422)).body.code).toBe('preview_invalid');
  });

  it('there is no voice channel: a template or trigger naming one is refused with a stable code; others may not configure', async () => {
    for (const channel of ['voice', 'call', 'telemarketing']) {
      expect((await marketing.put(`/v1/message-templates/balance.low/${channel}/en`).send({ body: 'Hi' }).expect(422)).body.code).toBe('channel_not_allowed');
      expect((await marketing.post('/v1/message-triggers').send({ name: 'Call them', eventType: 'balance.low', channels: ['email', channel] }).expect(422)).body.code).toBe('channel_not_allowed');
    }
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/message-triggers').send({ name: 'x', eventType: 'balance.low', channels: ['email'] }).expect(403);
    await csr.get('/v1/messages').expect(403);
    const trigger = (await marketing.post('/v1/message-triggers').send({ name: 'Paid', eventType: 'payment.received', channels: ['email'] }).expect(201)).body;
    expect((await marketing.patch(`/v1/message-triggers/${trigger.id}`).send({ active: false }).expect(200)).body.active).toBe(false);
    expect((await marketing.post('/v1/message-triggers').send({ name: 'x', eventType: 'no.such', channels: ['email'] }).expect(422)).body.code).toBe('unknown_purpose');
  });
});
