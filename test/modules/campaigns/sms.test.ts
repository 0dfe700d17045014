import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeShortMessage } from '../../../src/modules/campaigns/sms-encoding.js';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { smscSink } from '../../support/smsc.js';
import { crossLowBalance } from './fixtures.js';

let smsc: Awaited<ReturnType<typeof smscSink>>;
let t: TestApp;
beforeAll(async () => {
  smsc = await smscSink();
  t = await testApp({ env: { SMPP_URL: smsc.url, SMPP_SOURCE_ADDR: 'TelcoCRM' } });
  await smsc.waitBound();
  const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  await marketing.put('/v1/message-templates/balance.low/sms/en').send({ body: 'Balance low: {{balance}}. Top up at *100#' }).expect(200);
  await marketing.put('/v1/message-templates/balance.low/sms/es').send({ body: 'Saldo bajo: {{balance}}. Recarga en *100#' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['sms'] }).expect(201);
  await marketing.put('/v1/message-templates/balance.low/sms/it').send({ body: `Credito basso: {{balance}}. ${'Ricarica subito per continuare a navigare e chiamare senza interruzioni. '.repeat(3)}` }).expect(200);
  await marketing.put('/v1/message-templates/sms.stop_received/sms/en').send({ body: 'You will get no more offers by SMS ({{keyword}}).' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Opt-out confirmation', eventType: 'sms.stop_received', channels: ['sms'] }).expect(201);
});
afterAll(async () => {
  await t.close();
  await smsc.close();
});

let seq = 0;
async function customer(language: string, consent = false) {
  const phone = `+3460${process.pid % 10000}${(++seq).toString().padStart(3, '0')}`;
  const c = (await t.http.post('/v1/customers').send({
    type: 'individual', givenName: 'Sofía', familyName: `Ruiz${seq}`, preferredLanguage: language, contactPoints: [{ kind: 'phone', value: phone, isPrimary: true }],
    consents: consent ? [{ channel: 'sms', granted: true, source: 'retail-store' }] : [],
  }).expect(201)).body;
  return { customerId: c.id as string, phone };
}
const run = async () => { for (let i = 0; i < 3; i++) await t.runJobs(); };
const sentTo = (phone: string) => smsc.submitted.filter((s) => `+${s.destination}` === phone);
const messagesOf = async (customerId: string) => (await t.http.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items;

async function lowBalance(language: string) {
  const who = await customer(language);
  const account = (await t.http.post(`/v1/customers/${who.customerId}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  await crossLowBalance(t, account.id);
  await run();
  return who;
}

describe('SMS over SMPP', () => {
  it('a long SMS goes in concatenated parts; receipts for both arriving together deliver it', async () => {
    const { customerId, phone } = await lowBalance('it');
    const parts = sentTo(phone);
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => p.esmClass)).toEqual([0x40, 0x40]);
    expect(await Promise.all(parts.map((p) => smsc.receipt(p.messageId, 'DELIVRD')))).toEqual([0, 0]);
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'delivered' });
  });

  it('a long SMS whose second part is throttled is tried again with that part alone, under the first part\'s reference', async () => {
    smsc.refuse(0, 0x58); // the first part taken, the second ESME_RTHROTTLED
    const { customerId, phone } = await lowBalance('it');
    let [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'queued', attempts: 1 });
    expect(sentTo(phone)).toHaveLength(1);
    await t.database.sql`update campaigns.messages set next_attempt_at = now() where id = ${message.id}`;
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${message.id}`}`;
    await run();
    const parts = sentTo(phone);
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => [...p.octets.subarray(3, 6)])).toEqual([[parts[0]!.octets[3], 2, 1], [parts[0]!.octets[3], 2, 2]]);
    expect(await Promise.all(parts.map((p) => smsc.receipt(p.messageId, 'DELIVRD')))).toEqual([0, 0]);
    [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('a long SMS whose first part failed while the rest waited for a retry is failed, the rest not sent', async () => {
    smsc.refuse(0, 0x58);
    const { customerId, phone } = await lowBalance('it');
    let [message] = await messagesOf(customerId);
    const [first] = sentTo(phone);
    expect(await smsc.receipt(first!.messageId, 'UNDELIV')).toBe(0);
    await t.database.sql`update campaigns.messages set next_attempt_at = now() where id = ${message.id}`;
    await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${message.id}`}`;
    await run();
    expect(sentTo(phone)).toHaveLength(1);
    [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^Receipt: .*UNDELIV/) });
  });

  it('an SMSC that disconnects, then throttles, gets the SMS tried again with backoff until it is dead-lettered; a re-drive delivers it', async () => {
    smsc.drop(1);
    smsc.refuse(...Array<number>(5).fill(0x58)); // ESME_RTHROTTLED
    const { customerId, phone } = await lowBalance('en');
    let [message] = await messagesOf(customerId);
    for (let attempt = 2; message.state === 'queued' && attempt <= 6; attempt++) {
      await t.database.sql`update campaigns.messages set next_attempt_at = now() where id = ${message.id}`;
      await t.database.sql`update graphile_worker._private_jobs set run_at = now() where key = ${`message:${message.id}`}`;
      await smsc.waitBound();
      await run();
      [message] = await messagesOf(customerId);
    }
    expect(message).toMatchObject({ state: 'failed', attempts: 6, reason: expect.stringMatching(/^Gave up after 6 attempts: .*ESME_RTHROTTLED/) });
    const { body } = await t.http.get(`/v1/messages/${message.id}`).expect(200);
    expect(body.deliveryAttempts.map((a: { outcome: string; response: string }) => a.response)).toEqual([
      expect.stringMatching(/closed before the submit_sm_resp/), ...Array(5).fill(expect.stringMatching(/ESME_RTHROTTLED/))]);
    expect(sentTo(phone)).toHaveLength(0);
    await t.http.post(`/v1/messages/${message.id}/redrive`).expect(200);
    await run();
    const [sms] = sentTo(phone);
    await smsc.receipt(sms!.messageId, 'DELIVRD');
    [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('an SMS the SMSC refuses for good is dead-lettered; a re-drive sends it again and its new receipt delivers it', async () => {
    smsc.refuse(0x0b);
    const { customerId, phone } = await lowBalance('en');
    let [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'failed', reason: expect.stringMatching(/ESME_RINVDSTADR/) });
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    await supervisor.post(`/v1/messages/${message.id}/redrive`).expect(200);
    await run();
    const [sms] = sentTo(phone);
    await smsc.receipt(sms!.messageId, 'DELIVRD');
    [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('a low-balance event becomes one SMS in the customer\'s language that the SMSC receives, then reports delivered; the event delivered twice sends once', async () => {
    const { customerId, phone } = await lowBalance('es');
    const [sms] = sentTo(phone);
    expect(sentTo(phone)).toHaveLength(1);
    expect(sms!.dataCoding).toBe(0);
    expect(decodeShortMessage(sms!.octets, sms!.dataCoding)).toMatch(/^Saldo bajo: 0,00\s€\. Recarga en \*100#$/);
    let [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ channel: 'sms', state: 'sent', language: 'es', providerMessageId: sms!.messageId });

    expect(await smsc.receipt(sms!.messageId, 'DELIVRD')).toBe(0);
    [message] = await messagesOf(customerId);
    expect(message).toMatchObject({ state: 'delivered', deliveredAt: expect.any(String) });

    await t.database.sql`select graphile_worker.add_job('platform.deliver_event', json_build_object('eventId', ${message.eventId}::text, 'subscriber', 'campaigns.dispatch'))`;
    await run();
    expect(sentTo(phone)).toHaveLength(1);
  });

  it('an undeliverable receipt fails the message with the SMSC\'s words, for the dead-letter view', async () => {
    const { customerId, phone } = await lowBalance('en');
    await smsc.receipt(sentTo(phone)[0]!.messageId, 'UNDELIV');
    expect((await messagesOf(customerId))[0]).toMatchObject({ state: 'failed', reason: expect.stringMatching(/stat:UNDELIV/) });
  });

  it('STOP by SMS withdraws SMS marketing consent and is confirmed by SMS', async () => {
    const { customerId, phone } = await customer('en', true);
    expect(await smsc.mo(phone, 'Stop')).toBe(0);
    expect(await smsc.mo(phone, 'Stop')).toBe(0); // the SMSC sends it again (our answer lost): handled once
    const consents = (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.consents;
    expect(consents).toMatchObject([{ channel: 'sms', granted: false, source: 'sms_keyword:STOP' }]);
    await run();
    expect(sentTo(phone).map((s) => decodeShortMessage(s.octets, s.dataCoding))).toEqual(['You will get no more offers by SMS (STOP).']);
    // Any other text changes no consent.
    const other = await customer('en', true);
    await smsc.mo(other.phone, 'Stop the bill please');
    expect((await t.http.get(`/v1/customers/${other.customerId}`).expect(200)).body.consents).toMatchObject([{ channel: 'sms', granted: true }]);
  });

  it('any other SMS from a customer is their contact: a new ticket (then a reply on it), and an interaction each time', async () => {
    const { customerId, phone } = await customer('en');
    expect(await smsc.mo(phone, 'My data stopped working this morning')).toBe(0);
    const [ticket] = (await t.http.get(`/v1/tickets?customerId=${customerId}`).expect(200)).body.items;
    expect(ticket).toMatchObject({ channel: 'sms', serviceType: 'mobile', status: 'new', subject: 'My data stopped working this morning' });
    await t.http.post(`/v1/tickets/${ticket.id}/transitions`).send({ to: 'pending', pendingOn: 'customer' }).expect(200);
    await smsc.mo(phone, 'Restarted, still nothing');
    expect((await t.http.get(`/v1/tickets/${ticket.id}`).expect(200)).body.status).toBe('open');
    const thread = (await t.http.get(`/v1/tickets/${ticket.id}/messages`).expect(200)).body.items;
    expect(thread.map((m: { body: string; channel: string }) => `${m.channel}: ${m.body}`)).toEqual(['sms: My data stopped working this morning', 'sms: Restarted, still nothing']);
    const contacts = (await t.http.get(`/v1/customers/${customerId}/interactions`).expect(200)).body.items;
    expect(contacts.map((i: { outcome: string }) => i.outcome).sort()).toEqual(['ticket_opened', 'ticket_updated']);
    // A number nobody has: kept, matched to no one.
    expect(await smsc.mo('+999000111', 'hello?')).toBe(0);
    const [unknown] = await t.database.sql`select customer_ids from campaigns.inbound_messages where sender = '+999000111'`;
    expect(unknown!.customer_ids).toEqual([]);
  });
});
