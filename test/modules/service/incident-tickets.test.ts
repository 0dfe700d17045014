import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
let monitoring: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  monitoring = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['incidents:report'] }));
});
afterAll(async () => { await t.close(); });

let seq = 0;
const unique = (prefix: string) => `${prefix}${process.pid}x${++seq}`;
const customer = async (address: { postcode?: string; region?: string }) => (await t.http.post('/v1/customers').send({
  type: 'individual', givenName: 'Area', familyName: `Resident ${++seq}`,
  addresses: [{ kind: 'home', line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE', ...address }],
}).expect(201)).body.id as string;
const alert = (status: 'firing' | 'resolved', fingerprint: string, labels: Record<string, string>) => ({
  version: '4', groupKey: '{}:{alertname="SiteDown"}', truncatedAlerts: 0, status, receiver: 'crm', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
  alerts: [{
    status, labels: { alertname: 'SiteDown', severity: 'major', service: 'mobile', ...labels }, annotations: { summary: 'Mobile outage', public_description: 'Calls and data are down near you.' },
    startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint,
  }],
});
const affectedEvents = async (incidentId: string) => (await t.database.sql<{ payload: { reason: string; customerIds: string[]; status: string } }[]>`
  select payload from platform.events where aggregate_id = ${incidentId} and type = 'outage.customers_affected' order by id`).map((e) => e.payload);
const surveyToken = async (ticketId: string) => (await t.database.sql<{ payload: { token: string } }[]>`
  select payload from platform.events where aggregate_id = ${ticketId} and type = 'ticket.csat_requested' order by id desc limit 1`)[0]?.payload.token;
const openAs = async (customerId: string, serviceType: string) => {
  const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
  return (await me.post('/v1/tickets').send({ customerId, serviceType, channel: 'app', subject: 'No signal at home', description: 'Nothing works since noon' }).expect(201)).body;
};

describe('tickets during an outage', () => {
  it('an incident lists the customers of its areas; their new tickets wait on it and are resolved with it, with a survey each', async () => {
    const postcode = unique('P');
    const region = unique('R');
    const [a, b, elsewhere] = [await customer({ postcode }), await customer({ postcode: postcode.toLowerCase() }), await customer({ region })];
    const fingerprint = unique('fp');
    const opened = (await monitoring.post('/v1/monitoring/alertmanager').send(alert('firing', fingerprint, { postcode })).expect(200)).body.items[0];
    const incidentId = opened.incidentId as string;
    const told = await affectedEvents(incidentId);
    expect(told).toMatchObject([{ reason: 'affected', status: 'open' }]);
    expect(told[0]!.customerIds.sort()).toEqual([a, b].sort());
    const [{ payload: openedEvent }] = await t.database.sql<{ payload: { affectedCustomers: number } }[]>`
      select payload from platform.events where aggregate_id = ${incidentId} and type = 'outage.opened'`;
    expect(openedEvent!.affectedCustomers).toBe(2);

    // A mobile ticket of an affected customer waits on the incident; a billing one, or one from elsewhere, does not.
    const linked = await openAs(a, 'mobile');
    expect(linked).toMatchObject({ incidentId, status: 'pending', pendingOn: 'third_party' });
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: a }));
    const thread = (await me.get(`/v1/tickets/${linked.id}/messages`).expect(200)).body.items;
    expect(thread.at(-1)).toMatchObject({ authorKind: 'system', body: expect.stringContaining('Calls and data are down near you.') });
    expect(await openAs(a, 'billing')).toMatchObject({ incidentId: null, status: 'new' });
    expect(await openAs(elsewhere, 'mobile')).toMatchObject({ incidentId: null });
    // An outage ticket belongs to it whatever services the incident names.
    expect(await openAs(b, 'outage')).toMatchObject({ incidentId, status: 'pending' });

    // The alert now names the other region too: only the newly touched customer is told.
    await monitoring.post('/v1/monitoring/alertmanager').send(alert('firing', fingerprint, { postcode, region })).expect(200);
    expect((await affectedEvents(incidentId)).at(-1)).toMatchObject({ reason: 'affected', customerIds: [elsewhere] });

    await monitoring.post('/v1/monitoring/alertmanager').send(alert('resolved', fingerprint, { postcode, region })).expect(200);
    await t.runJobs();
    await t.runJobs();
    const after = (await t.http.get(`/v1/tickets/${linked.id}`).expect(200)).body;
    expect(after).toMatchObject({ status: 'resolved', incidentId });
    const history = (await t.http.get(`/v1/tickets/${linked.id}/history`).expect(200)).body.items.map((h: { status: string }) => h.status);
    expect(history).toEqual(['new', 'pending', 'resolved']);
    expect((await me.get(`/v1/tickets/${linked.id}/messages`).expect(200)).body.items.at(-1).body).toMatch(/The outage is over/);
    expect(await surveyToken(linked.id)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const over = (await affectedEvents(incidentId)).at(-1)!;
    expect(over).toMatchObject({ reason: 'resolved', status: 'resolved' });
    expect(over.customerIds.sort()).toEqual([a, b, elsewhere].sort());
  });

  it('a ticket opened while its incident is being resolved is never left waiting on a resolved incident', async () => {
    const postcode = unique('P');
    const people = await Promise.all(Array.from({ length: 8 }, () => customer({ postcode })));
    const fingerprint = unique('fp');
    const incidentId = (await monitoring.post('/v1/monitoring/alertmanager').send(alert('firing', fingerprint, { postcode })).expect(200)).body.items[0].incidentId;
    const [tickets] = await Promise.all([
      Promise.all(people.map((c) => openAs(c, 'mobile'))),
      monitoring.post('/v1/monitoring/alertmanager').send(alert('resolved', fingerprint, { postcode })).expect(200),
    ]);
    await t.runJobs();
    await t.runJobs();
    for (const ticket of tickets) {
      const now = (await t.http.get(`/v1/tickets/${ticket.id}`).expect(200)).body;
      if (now.incidentId) expect(now.status).toBe('resolved');
      else expect(now.status).toBe('new');
    }
    const [{ n }] = await t.database.sql`select count(*)::int as n from service.tickets where incident_id = ${incidentId} and status = 'pending'`;
    expect(n).toBe(0);
  });
});

describe('satisfaction surveys', () => {
  const resolvedTicket = async () => {
    const customerId = await customer({});
    const ticket = (await t.http.post('/v1/tickets').send({ customerId, serviceType: 'billing', channel: 'phone', subject: 'Wrong invoice', description: 'Charged twice' }).expect(201)).body;
    await t.http.put('/v1/service/agents/agent-anna').send({ name: 'Anna', queues: ['billing'] }).expect(200);
    await t.http.patch(`/v1/tickets/${ticket.id}`).send({ assigneeId: 'agent-anna' }).expect(200);
    await t.http.post(`/v1/tickets/${ticket.id}/transitions`).send({ to: 'resolved', reason: 'Refunded' }).expect(200);
    return { ticket, token: (await surveyToken(ticket.id))! };
  };

  it('a resolution asks once; a bad answer opens a follow-up that a supervisor closes; a good one does not', async () => {
    const { ticket, token } = await resolvedTicket();
    expect((await anon(t).get(`/v1/csat/${token}`).expect(200)).body).toMatchObject({ ticketNumber: ticket.number, answered: false, expired: false });
    await anon(t).post(`/v1/csat/${token}`).send({ score: 6 }).expect(400);
    expect((await anon(t).post(`/v1/csat/${token}`).send({ score: 2, comment: 'Took a week' }).expect(201)).body).toMatchObject({ score: 2 });
    const again = await anon(t).post(`/v1/csat/${token}`).send({ score: 5 }).expect(409);
    expect(again.body.code).toBe('survey_answered');
    expect((await t.http.get(`/v1/tickets/${ticket.id}/surveys`).expect(200)).body.items).toMatchObject([{ resolution: 0, agentId: 'agent-anna', score: 2, comment: 'Took a week' }]);

    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.get('/v1/service/follow-ups').expect(403);
    const task = (await supervisor.get('/v1/service/follow-ups?status=open').expect(200)).body.items.find((f: { ticketId: string }) => f.ticketId === ticket.id);
    expect(task).toMatchObject({ kind: 'negative_csat', status: 'open' });
    await csr.post(`/v1/service/follow-ups/${task.id}/done`).send({ outcome: 'Called back' }).expect(403);
    expect((await supervisor.post(`/v1/service/follow-ups/${task.id}/done`).send({ outcome: 'Called back, credited 5.00' }).expect(200)).body).toMatchObject({ status: 'done', outcome: 'Called back, credited 5.00' });
    expect((await supervisor.post(`/v1/service/follow-ups/${task.id}/done`).send({ outcome: 'Again' }).expect(409)).body.code).toBe('follow_up_done');

    const happy = await resolvedTicket();
    await anon(t).post(`/v1/csat/${happy.token}`).send({ score: 5 }).expect(201);
    const [{ n }] = await t.database.sql`select count(*)::int as n from service.follow_up_tasks where ticket_id = ${happy.ticket.id}`;
    expect(n).toBe(0);
  });

  it('an answer does not wait for a change of its ticket in progress', async () => {
    const { ticket, token } = await resolvedTicket();
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => { locked = r; });
    const agent = t.database.sql.begin(async (tx) => {
      await tx`select id from service.tickets where id = ${ticket.id} for update`;
      locked();
      await held;
    });
    await lockTaken;
    const answered = await Promise.race([
      anon(t).post(`/v1/csat/${token}`).send({ score: 4 }).then((res) => res.status),
      new Promise((r) => setTimeout(() => r('waited'), 3000)),
    ]);
    release();
    await agent;
    expect(answered).toBe(201);
  });

  it('a reopened and again resolved ticket is asked again; expired and unknown links are refused; customers cannot read the answers', async () => {
    const { ticket, token } = await resolvedTicket();
    await t.http.post(`/v1/tickets/${ticket.id}/transitions`).send({ to: 'open', reason: 'Still wrong' }).expect(200);
    await t.http.post(`/v1/tickets/${ticket.id}/transitions`).send({ to: 'resolved' }).expect(200);
    const second = (await surveyToken(ticket.id))!;
    expect(second).not.toBe(token);
    await t.database.sql`update service.csat_surveys set expires_at = now() - interval '1 second' where ticket_id = ${ticket.id} and resolution = 0`;
    expect((await anon(t).post(`/v1/csat/${token}`).send({ score: 3 }).expect(410)).body.code).toBe('survey_expired');
    await anon(t).post(`/v1/csat/${second}`).send({ score: 4 }).expect(201);
    expect((await anon(t).post(`/v1/csat/${'x'.repeat(32)}`).send({ score: 4 }).expect(404)).body.code).toBe('survey_not_found');
    await anon(t).get('/v1/csat/short').expect(400);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: ticket.customerId }));
    await me.get(`/v1/tickets/${ticket.id}/surveys`).expect(403);
  });
});
