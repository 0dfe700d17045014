import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { customerWithAccount } from '../orders/fixtures.js';

let t: TestApp;
let supervisor: ReturnType<typeof asCaller>;
let a: { id: string; as: ReturnType<typeof asCaller> };
let b: typeof a;
const now = Date.now();
const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
/** The period the data below is built in: from two hours ago to an hour ahead. */
const period = { from: at(-120), to: at(60) };

async function staff(role: string) {
  const key = (await t.http.post('/v1/api-keys').send({ name: role, principalKind: 'staff', role }).expect(201)).body;
  const id = `key:${key.id as string}`;
  await t.http.put(`/v1/service/agents/${id}`).send({ name: role }).expect(200);
  return { id, as: asCaller(t, `Bearer ${key.secret as string}`) };
}
const kpis = (groupBy: string, p = period) => supervisor.get('/v1/service/kpis').query({ ...p, groupBy }).expect(200).then((r) => r.body.items);
/** One expected row: floats compared to 9 places (2/3 is what Postgres computes, not what we type). */
const row = (key: string | null, [handledContacts, averageHandlingSeconds, firstContactResolutionRate]: (number | null)[],
  [csatResponses, csatAverage, csatSatisfiedRate]: (number | null)[], [slaCompliance, resolvedTickets, reopenRate, backlog]: (number | null)[]) => {
  const f = (n: number | null) => (n === null ? null : expect.closeTo(n, 9));
  return {
    key, handledContacts, averageHandlingSeconds: f(averageHandlingSeconds), firstContactResolutionRate: f(firstContactResolutionRate),
    csatResponses, csatAverage: f(csatAverage), csatSatisfiedRate: f(csatSatisfiedRate), slaCompliance: f(slaCompliance), resolvedTickets, reopenRate: f(reopenRate), backlog,
  };
};

/*
 * Tickets (all opened now):        Interactions (minutes from now):
 *  T1 c1 internet phone  A  policy, breached, resolved      i1 A c1 in  phone 300 ticket_opened T1  -110
 *  T2 c2 internet chat   B  queue tier2, policy, met,       i2 A c1 in  phone 120 resolved      T1   -90  (c1 again at -30: not FCR)
 *                           resolved, reopened, resolved    i3 A c3 in  chat   60 resolved      -    -80  (c3 again 2 days after `to`: not FCR)
 *  T3 c3 mobile   app    A  no policy, resolved             i4 B c2 in  chat  240 resolved      T2   -70  (FCR)
 *  T4 c1 billing  phone  -  new (backlog)                   i5 B c2 out phone  90 callback      T5   -50
 *  T5 c2 mobile   email  B  open (backlog)                  i6 B c1 in  email 180 ticket_updated T4  -30
 * Surveys answered: T1 by A 2, T2 by B 5 and 4, T3 by A 3.  i9 A c4 in  app   130 resolved      -    -20  (c4 again 8 days later: FCR)
 * Outside the period: i7 (3 hours ago), i8 (after `to`), i10 (8 days ahead).
 */
beforeAll(async () => {
  t = await testApp();
  supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
  [a, b] = [await staff('csr'), await staff('csr')];
  const [c1, c2, c3, c4] = [await customerWithAccount(t), await customerWithAccount(t), await customerWithAccount(t), await customerWithAccount(t)].map((c) => c.customerId);
  const always = (await t.http.post('/v1/business-calendars').send({ name: '24/7', calendar: { kind: '24x7' } }).expect(201)).body;
  await t.http.post('/v1/sla-policies').send({ name: 'Internet', serviceType: 'internet', calendarId: always.id, firstResponseMinutes: 1, resolutionMinutes: 60 }).expect(201);

  const open = async (customerId: string, serviceType: string, channel: string, patch?: Record<string, unknown>) => {
    const { id } = (await t.http.post('/v1/tickets').send({ customerId, serviceType, channel, subject: 'Something is wrong', description: 'Details' }).expect(201)).body;
    if (patch) await t.http.patch(`/v1/tickets/${id}`).send(patch).expect(200);
    return id as string;
  };
  const move = (id: string, to: string, caller: Pick<ReturnType<typeof asCaller>, 'post'> = t.http) => caller.post(`/v1/tickets/${id}/transitions`).send({ to }).expect(200);

  const t1 = await open(c1, 'internet', 'phone', { assigneeId: a.id });
  // Its first response is 5 minutes late, as the breach job finds (a test cannot wait for the clock).
  await t.database.sql`update service.tickets set created_at = created_at - interval '5 minutes' where id = ${t1}`;
  await t.database.sql`update service.ticket_history set at = at - interval '5 minutes' where ticket_id = ${t1}`;
  await t.database.sql`select graphile_worker.add_job('service.detect_sla_breaches', '{}'::json)`;
  await t.runJobs();
  await move(t1, 'resolved');
  const t2 = await open(c2, 'internet', 'chat', { assigneeId: b.id, queue: 'tier2' });
  await b.as.post(`/v1/tickets/${t2}/messages`).send({ body: 'On it' }).expect(201);
  await move(t2, 'resolved');
  await move(t2, 'open', asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: c2 })));
  await move(t2, 'resolved');
  const t3 = await open(c3, 'mobile', 'app', { assigneeId: a.id });
  await move(t3, 'resolved');
  const t4 = await open(c1, 'billing', 'phone');
  const t5 = await open(c2, 'mobile', 'email', { assigneeId: b.id });

  const contact = (agent: typeof a, customerId: string, direction: string, channel: string, durationSeconds: number, outcome: string, ticketId: string | undefined, startedAt: string) =>
    agent.as.post('/v1/interactions').send({ customerId, direction, channel, durationSeconds, outcome, ticketId, startedAt }).expect(201);
  await contact(a, c1, 'inbound', 'phone', 300, 'ticket_opened', t1, at(-110));
  await contact(a, c1, 'inbound', 'phone', 120, 'resolved', t1, at(-90));
  await contact(a, c3, 'inbound', 'chat', 60, 'resolved', undefined, at(-80));
  await contact(b, c2, 'inbound', 'chat', 240, 'resolved', t2, at(-70));
  await contact(b, c2, 'outbound', 'phone', 90, 'callback_scheduled', t5, at(-50));
  await contact(b, c1, 'inbound', 'email', 180, 'ticket_updated', t4, at(-30));
  await contact(a, c4, 'inbound', 'app', 130, 'resolved', undefined, at(-20));
  await contact(a, c3, 'inbound', 'phone', 30, 'abandoned', undefined, at(-180));
  await contact(b, c3, 'inbound', 'phone', 100, 'resolved', undefined, at(60 + 2 * 1440));
  await contact(b, c4, 'inbound', 'app', 45, 'resolved', undefined, at(-20 + 8 * 1440));

  // Each resolution sent a survey; the customer answers it with the token the event carried.
  const tokens = async (ticketId: string) => (await t.database.sql<{ token: string }[]>`
    select payload->>'token' as token from platform.events where type = 'ticket.csat_requested' and aggregate_id = ${ticketId} order by id`).map((e) => e.token);
  const answer = (token: string, score: number) => t.http.post(`/v1/csat/${token}`).send({ score }).expect(201);
  await answer((await tokens(t1))[0]!, 2);
  const [first, second] = await tokens(t2);
  await answer(first!, 5);
  await answer(second!, 4);
  await answer((await tokens(t3))[0]!, 3);
});
afterAll(async () => { await t.close(); });

describe('service KPIs', () => {
  it('in total: handling time, first-contact resolution, CSAT, SLA compliance, resolutions, reopen rate and backlog', async () => {
    expect(await kpis('none')).toEqual([row(null, [7, 160, 2 / 6], [4, 3.5, 0.5], [0.5, 3, 1 / 5, 2])]);
  });

  it('per agent: the interaction\'s agent, the survey\'s agent, the ticket\'s assignee (none: key null)', async () => {
    const items = await kpis('agent');
    expect(items.map((r: { key: string | null }) => r.key)).toEqual([a.id, b.id].sort().concat([null as never]));
    expect(items).toEqual(expect.arrayContaining([
      row(a.id, [4, 152.5, 1 / 4], [2, 2.5, 0], [0, 2, 0, 0]),
      row(b.id, [3, 170, 1 / 2], [2, 4.5, 1], [1, 1, 1 / 2, 1]),
      row(null, [0, null, null], [0, null, null], [null, 0, 0, 1]),
    ]));
  });

  it('per queue and per category (service type): contacts without a ticket under key null', async () => {
    expect(await kpis('queue')).toEqual([
      row('billing', [1, 180, 0], [0, null, null], [null, 0, 0, 1]),
      row('internet', [2, 210, 0], [1, 2, 0], [0, 1, 0, 0]),
      row('mobile', [1, 90, null], [1, 3, 0], [null, 1, 0, 1]),
      row('tier2', [1, 240, 1], [2, 4.5, 1], [1, 1, 1, 0]),
      row(null, [2, 95, 1 / 2], [0, null, null], [null, 0, null, 0]),
    ]);
    expect(await kpis('category')).toEqual([
      row('billing', [1, 180, 0], [0, null, null], [null, 0, 0, 1]),
      row('internet', [3, 220, 1 / 3], [3, 11 / 3, 2 / 3], [1 / 2, 2, 1 / 2, 0]),
      row('mobile', [1, 90, null], [1, 3, 0], [null, 1, 0, 1]),
      row(null, [2, 95, 1 / 2], [0, null, null], [null, 0, null, 0]),
    ]);
  });

  it('per channel: of the interaction for contacts, of the ticket for the rest', async () => {
    expect(await kpis('channel')).toEqual([
      row('app', [1, 130, 1], [1, 3, 0], [null, 1, 0, 0]),
      row('chat', [2, 150, 1 / 2], [2, 4.5, 1], [1, 1, 1, 0]),
      row('email', [1, 180, 0], [0, null, null], [null, 0, 0, 1]),
      row('phone', [3, 170, 0], [1, 2, 0], [0, 1, 0, 1]),
    ]);
  });

  it('another period: the backlog is the tickets opened before its end still open now; an empty total is one row of nothing', async () => {
    expect(await kpis('none', { from: at(60), to: at(120) })).toEqual([row(null, [0, null, null], [0, null, null], [null, 0, null, 2])]);
    expect(await kpis('none', { from: at(-3 * 1440), to: at(-2 * 1440) })).toEqual([row(null, [0, null, null], [0, null, null], [null, 0, null, 0])]);
    expect(await kpis('queue', { from: at(-3 * 1440), to: at(-2 * 1440) })).toEqual([]);
  });

  it('are for supervisors: a CSR or a customer is refused (403); a period that is not one is a 400 problem', async () => {
    const res = await supervisor.get('/v1/service/kpis').query(period).expect(200);
    expect(res.body).toMatchObject({ from: period.from, to: period.to, groupBy: 'none' });
    await a.as.get('/v1/service/kpis').query(period).expect(403);
    const { customerId } = await customerWithAccount(t);
    await asCaller(t, await keyFor(t, { principalKind: 'customer', customerId })).get('/v1/service/kpis').query(period).expect(403);
    for (const bad of [
      { from: period.to, to: period.from }, { from: period.from, to: period.from }, { from: at(-400 * 1440), to: at(0) },
      { from: '2026-01-01', to: '2026-02-01' }, { to: period.to }, { ...period, groupBy: 'region' },
    ]) {
      const refused = await supervisor.get('/v1/service/kpis').query(bad).expect(400);
      expect(refused.type, JSON.stringify(bad)).toBe('application/problem+json');
      expect(refused.body).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });
});
