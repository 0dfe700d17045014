import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
let csr: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp({ env: { RECURRING_TICKETS: '3', RECURRING_WINDOW_DAYS: '30' } });
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
  const always = (await t.http.post('/v1/business-calendars').send({ name: '24/7', calendar: { kind: '24x7' } }).expect(201)).body;
  await t.http.post('/v1/sla-policies').send({ name: 'Internet', serviceType: 'internet', calendarId: always.id, firstResponseMinutes: 30, resolutionMinutes: 600 }).expect(201);
  for (const rule of [
    { trigger: 'segment', segment: 'vip', tier: 'supervisor' },
    { trigger: 'sla_breached', target: 'first_response', tier: 'specialist' },
    { trigger: 'sla_warning', tier: 'supervisor', serviceType: 'installation' },
    { trigger: 'recurring', serviceType: 'billing', tier: 'supervisor' },
  ]) await t.http.post('/v1/escalation-rules').send(rule).expect(201);
});
afterAll(async () => { await t.close(); });

const customer = async (segment = 'consumer') =>
  (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Esc', familyName: 'Alation', segment }).expect(201)).body.id as string;
const open = (customerId: string, serviceType: string) =>
  csr.post('/v1/tickets').send({ customerId, serviceType, channel: 'phone', subject: 'Something broke', description: 'Details' }).expect(201).then((r) => r.body);
const escalations = async (id: string) => (await csr.get(`/v1/tickets/${id}/escalations`).expect(200)).body;

describe('escalation', () => {
  it('a VIP customer\'s ticket starts with the supervisor; why is recorded', async () => {
    const ticket = await open(await customer('vip'), 'mobile');
    expect(ticket.tier).toBe('supervisor');
    expect((await escalations(ticket.id)).items).toMatchObject([{ fromTier: 'agent', toTier: 'supervisor', reason: 'A vip customer', ruleId: expect.any(String) }]);
    expect((await open(await customer(), 'mobile')).tier).toBe('agent');
  });

  it('a breached first response goes to the specialists, once, through the SLA job and the outbox', async () => {
    const ticket = await open(await customer(), 'internet');
    await t.database.sql`update service.ticket_history set at = at - interval '45 minutes' where ticket_id = ${ticket.id}`;
    for (let i = 0; i < 2; i++) {
      await t.database.sql`select graphile_worker.add_job('service.detect_sla_breaches', '{}'::json)`;
      await t.runJobs();
    }
    const after = (await csr.get(`/v1/tickets/${ticket.id}`).expect(200)).body;
    expect(after.tier).toBe('specialist');
    expect((await escalations(ticket.id)).items.map((e: { toTier: string; reason: string }) => `${e.toTier}: ${e.reason}`)).toEqual(['specialist: SLA breached: first response']);
    const [sent] = await t.database.sql`select count(*)::int as n from platform.events where type = 'ticket.escalated' and aggregate_id = ${ticket.id}`;
    expect(sent!.n).toBe(1);
  });

  it('the third billing ticket in 30 days is recurring: flagged, linked to the two before, and escalated', async () => {
    const customerId = await customer();
    const first = await open(customerId, 'billing');
    const second = await open(customerId, 'billing');
    await open(customerId, 'mobile');
    expect([first.recurring, second.recurring]).toEqual([false, false]);
    const third = await open(customerId, 'billing');
    expect(third).toMatchObject({ recurring: true, tier: 'supervisor' });
    const { items, links } = await escalations(third.id);
    expect(items[0].reason).toBe('3 billing tickets in 30 days');
    expect(links.map((l: { relatedId: string }) => l.relatedId).sort()).toEqual([first.id, second.id].sort());
  });

  it('tickets opened at the same moment still see each other: of five at once, the third, fourth and fifth are recurring', async () => {
    const customerId = await customer();
    const opened = await Promise.all(Array.from({ length: 5 }, () => open(customerId, 'internet')));
    expect(opened.filter((x) => x.recurring)).toHaveLength(3);
  });

  it('a person escalates with a reason; customers cannot; rules are for supervisors', async () => {
    const customerId = await customer();
    const ticket = await open(customerId, 'mobile');
    expect((await csr.post(`/v1/tickets/${ticket.id}/escalations`).send({ tier: 'management', reason: 'Press enquiry' }).expect(200)).body.tier).toBe('management');
    await csr.post(`/v1/tickets/${ticket.id}/escalations`).send({ tier: 'management', reason: 'Again' }).expect(409);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await me.post(`/v1/tickets/${ticket.id}/escalations`).send({ tier: 'management', reason: 'Now!' }).expect(403);
    await csr.post('/v1/escalation-rules').send({ trigger: 'recurring', tier: 'management' }).expect(403);
    await t.http.post('/v1/escalation-rules').send({ trigger: 'segment', tier: 'management' }).expect(400);
  });
});
