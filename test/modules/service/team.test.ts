import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
let csr: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
});
afterAll(async () => { await t.close(); });

const customer = async (segment: string, preferredLanguage = 'en') =>
  (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Queue', familyName: 'Test', segment, preferredLanguage }).expect(201)).body.id as string;
const open = async (customerId: string, serviceType: string, language = 'en') =>
  (await csr.post('/v1/tickets').send({ customerId, serviceType, language, channel: 'phone', subject: 'Help please', description: 'Something is wrong' }).expect(201)).body;

describe('queues and agents', () => {
  it('a new ticket lands in the first queue rule that fits its service type, language and segment, else its service type\'s queue', async () => {
    await t.http.post('/v1/service/queue-rules').send({ segment: 'vip', queue: 'vip-desk', position: 1 }).expect(201);
    await t.http.post('/v1/service/queue-rules').send({ serviceType: 'mobile', language: 'de', queue: 'mobile-de', position: 5 }).expect(201);
    const catchAll = (await t.http.post('/v1/service/queue-rules').send({ language: 'fr', queue: 'francophone', position: 9 }).expect(201)).body;
    const consumer = await customer('consumer');
    const vip = await customer('vip');
    expect((await open(vip, 'mobile', 'de')).queue).toBe('vip-desk');
    expect((await open(consumer, 'mobile', 'de')).queue).toBe('mobile-de');
    expect((await open(consumer, 'internet', 'de')).queue).toBe('internet');
    expect((await open(consumer, 'billing', 'fr')).queue).toBe('francophone');
    // No language given: the customer's preferred one.
    const german = await customer('consumer', 'de-AT');
    const untold = (await csr.post('/v1/tickets').send({ customerId: german, serviceType: 'mobile', channel: 'phone', subject: 'Kein Netz', description: 'Seit heute' }).expect(201)).body;
    expect(untold).toMatchObject({ language: 'de', queue: 'mobile-de' });
    // Re-categorised: routed again, unless staff name the queue.
    const ticket = await open(consumer, 'internet', 'de');
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ serviceType: 'mobile' }).expect(200)).body.queue).toBe('mobile-de');
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ serviceType: 'billing', queue: 'escalations' }).expect(200)).body.queue).toBe('escalations');
    await t.http.delete(`/v1/service/queue-rules/${catchAll.id}`).expect(200);
    expect((await open(consumer, 'billing', 'fr')).queue).toBe('billing');
    expect((await t.http.delete(`/v1/service/queue-rules/${catchAll.id}`).expect(404)).body.code).toBe('queue_rule_not_found');
    expect((await csr.get('/v1/service/queue-rules').expect(200)).body.items.map((r: { queue: string }) => r.queue)).toEqual(['vip-desk', 'mobile-de']);
  });

  it('tickets are assigned to registered, active agents only; only supervisors register them; customers see neither', async () => {
    const consumer = await customer('consumer');
    const ticket = await open(consumer, 'internet');
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ assigneeId: 'nobody' }).expect(422)).body.code).toBe('unknown_agent');
    await csr.put('/v1/service/agents/ines').send({ name: 'Ines' }).expect(403);
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    expect((await supervisor.put('/v1/service/agents/ines').send({ name: 'Ines', queues: ['internet'], languages: ['en', 'es'] }).expect(200)).body)
      .toMatchObject({ id: 'ines', tier: 'agent', active: true, queues: ['internet'] });
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ assigneeId: 'ines' }).expect(200)).body).toMatchObject({ assigneeId: 'ines', status: 'open' });
    // Ines leaves: her open ticket goes back to its queue, her resolved one stays hers.
    const done = await open(consumer, 'internet');
    await csr.patch(`/v1/tickets/${done.id}`).send({ assigneeId: 'ines' }).expect(200);
    await csr.post(`/v1/tickets/${done.id}/transitions`).send({ to: 'resolved', reason: 'Router restarted' }).expect(200);
    await supervisor.put('/v1/service/agents/ines').send({ name: 'Ines', queues: ['internet'], active: false }).expect(200);
    expect((await csr.get(`/v1/tickets/${ticket.id}`).expect(200)).body).toMatchObject({ assigneeId: null, queue: 'internet', status: 'open' });
    expect((await csr.get(`/v1/tickets/${done.id}`).expect(200)).body).toMatchObject({ assigneeId: 'ines', status: 'resolved' });
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ assigneeId: 'ines' }).expect(422)).body.code).toBe('unknown_agent');
    // Unassigning needs no agent.
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ assigneeId: null }).expect(200)).body.assigneeId).toBeNull();
    await supervisor.put('/v1/service/agents/pablo').send({ name: 'Pablo', queues: ['internet', 'mobile'], languages: ['es'] }).expect(200);
    expect((await csr.get('/v1/service/agents?language=es&active=true').expect(200)).body.items.map((a: { id: string }) => a.id)).toEqual(['pablo']);
    expect((await csr.get('/v1/service/agents?queue=internet').expect(200)).body.items.map((a: { id: string }) => a.id)).toEqual(['ines', 'pablo']);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: consumer }));
    await me.get('/v1/service/agents').expect(403);
    await me.get('/v1/service/queue-rules').expect(403);
    await supervisor.put('/v1/service/agents/bad%20id').send({ name: 'X' }).expect(400);
  });
});
