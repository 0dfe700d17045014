import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { customerWithAccount } from '../orders/fixtures.js';

let t: TestApp;
let csr: ReturnType<typeof asCaller>;
let policies: { generic: string; mobileHigh: string };
beforeAll(async () => {
  t = await testApp();
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
  const always = (await t.http.post('/v1/business-calendars').send({ name: '24/7', calendar: { kind: '24x7' } }).expect(201)).body;
  const office = (await t.http.post('/v1/business-calendars').send({
    name: 'Berlin office', calendar: { kind: 'business', timeZone: 'Europe/Berlin', hours: { 1: [{ from: '08:00', to: '18:00' }], 2: [{ from: '08:00', to: '18:00' }] }, holidays: ['2026-12-25'] },
  }).expect(201)).body;
  policies = {
    generic: (await t.http.post('/v1/sla-policies').send({ name: 'Standard', calendarId: office.id, firstResponseMinutes: 240, resolutionMinutes: 2400, position: 10 }).expect(201)).body.id,
    mobileHigh: (await t.http.post('/v1/sla-policies').send({
      name: 'Mobile, high', serviceType: 'mobile', priority: 'high', calendarId: always.id, firstResponseMinutes: 15, nextResponseMinutes: 30, resolutionMinutes: 120, warnPercent: 50,
    }).expect(201)).body.id,
  };
});
afterAll(async () => { await t.close(); });

/** Moves a ticket's past back by `minutes`, as a test cannot wait for an SLA to run out. */
async function age(ticketId: string, minutes: number) {
  await t.database.sql`update service.tickets set created_at = created_at - make_interval(mins => ${minutes}),
    first_response_at = first_response_at - make_interval(mins => ${minutes}), awaiting_reply_since = awaiting_reply_since - make_interval(mins => ${minutes}) where id = ${ticketId}`;
  await t.database.sql`update service.ticket_history set at = at - make_interval(mins => ${minutes}) where ticket_id = ${ticketId}`;
}
const sla = async (id: string) => (await csr.get(`/v1/tickets/${id}`).expect(200)).body.sla;
const breaches = async (id: string) => (await t.database.sql`select type, payload->>'target' as target from platform.events
  where aggregate_id = ${id} and type in ('ticket.sla_warning', 'ticket.sla_breached') order by id`).map((e) => `${e.type}:${e.target}`);
const detect = async () => {
  await t.database.sql`select graphile_worker.add_job('service.detect_sla_breaches', '{}'::json)`;
  await t.runJobs();
};

describe('SLA on tickets', () => {
  it('the most specific policy applies; its clock runs on its calendar, a breach is announced once, and a response meets its target', async () => {
    const { customerId } = await customerWithAccount(t);
    const ticket = (await csr.post('/v1/tickets').send({ customerId, serviceType: 'mobile', priority: 'high', channel: 'phone', subject: 'No signal', description: 'Since noon' }).expect(201)).body;
    expect(ticket.slaPolicyId).toBe(policies.mobileHigh);
    expect(await sla(ticket.id)).toMatchObject({ policyName: 'Mobile, high', first_response: { targetMinutes: 15, state: 'ok', met: false }, next_response: null, resolution: { targetMinutes: 120, state: 'ok' } });

    await age(ticket.id, 10); // 10 of 15 minutes: past the 50 % warning
    await detect();
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response']);
    await age(ticket.id, 10);
    const late = await sla(ticket.id);
    expect(late.first_response).toMatchObject({ state: 'breached', elapsedMinutes: 20 });
    expect(new Date(late.first_response.dueAt).getTime()).toBeLessThan(Date.now());
    await detect();
    await detect();
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response', 'ticket.sla_breached:first_response']);

    // A public reply is the first response (late); the customer's next message starts the next-response clock.
    await csr.post(`/v1/tickets/${ticket.id}/messages`).send({ body: 'Resetting your network profile now' }).expect(201);
    expect((await sla(ticket.id)).first_response).toMatchObject({ met: true, state: 'breached' });
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await me.post(`/v1/tickets/${ticket.id}/messages`).send({ body: 'Still nothing' }).expect(201);
    expect((await sla(ticket.id)).next_response).toMatchObject({ targetMinutes: 30, state: 'ok', met: false });
    await csr.post(`/v1/tickets/${ticket.id}/messages`).send({ body: 'Escalated to the radio team' }).expect(201);
    expect((await sla(ticket.id)).next_response).toBeNull();
  });

  it('a ticket moved to another policy has new targets: their warnings and breaches are announced again', async () => {
    const always = (await t.http.post('/v1/business-calendars').send({ name: 'Round the clock', calendar: { kind: '24x7' } }).expect(201)).body;
    const policy = async (priority: string, firstResponseMinutes: number) => (await t.http.post('/v1/sla-policies').send({
      name: `Internet, ${priority}`, serviceType: 'internet', priority, calendarId: always.id, firstResponseMinutes, resolutionMinutes: 600, warnPercent: 50,
    }).expect(201)).body.id as string;
    const [high, urgent] = [await policy('high', 30), await policy('urgent', 20)];
    const { customerId } = await customerWithAccount(t);
    const ticket = (await csr.post('/v1/tickets').send({ customerId, serviceType: 'internet', priority: 'high', channel: 'phone', subject: 'Slow fibre', description: 'Since Monday' }).expect(201)).body;
    expect(ticket.slaPolicyId).toBe(high);
    await age(ticket.id, 20); // 20 of 30 minutes: warned
    await detect();
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response']);
    expect((await csr.patch(`/v1/tickets/${ticket.id}`).send({ priority: 'urgent' }).expect(200)).body.slaPolicyId).toBe(urgent);
    await detect(); // 20 of 20 minutes under the new policy
    await detect();
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response', 'ticket.sla_warning:first_response', 'ticket.sla_breached:first_response']);
    const announced = await t.database.sql`select payload->>'policyId' as policy from platform.events where aggregate_id = ${ticket.id} and type like 'ticket.sla_%' order by id`;
    expect(announced.map((e) => e.policy)).toEqual([high, urgent, urgent]);
  });

  it('the job measures a ticket when its next warning or breach is due, not every minute; a change of the ticket makes it due at once', async () => {
    const always = (await t.http.post('/v1/business-calendars').send({ name: 'All hours', calendar: { kind: '24x7' } }).expect(201)).body;
    await t.http.post('/v1/sla-policies').send({ name: 'Installation', serviceType: 'installation', calendarId: always.id, firstResponseMinutes: 30, resolutionMinutes: 600, warnPercent: 50 }).expect(201);
    const { customerId } = await customerWithAccount(t);
    const ticket = (await csr.post('/v1/tickets').send({ customerId, serviceType: 'installation', channel: 'phone', subject: 'Technician visit', description: 'Router to install' }).expect(201)).body;
    const checkAt = async () => (await t.database.sql`select (extract(epoch from sla_check_at) * 1000)::float8 as ms from service.tickets where id = ${ticket.id}`)[0]!.ms as number;
    // In milliseconds, as the job reads it.
    const opened = Math.floor((await t.database.sql`select (extract(epoch from min(at)) * 1000)::float8 as ms from service.ticket_history where ticket_id = ${ticket.id}`)[0]!.ms as number);
    expect(await checkAt()).toBeLessThanOrEqual(Date.now()); // new: due at once
    await detect();
    expect(await checkAt()).toBe(opened + 15 * 60_000); // the first response's warning

    // Its clock moved 20 minutes on behind the job's back: nothing looks before the check is due.
    await t.database.sql`update service.ticket_history set at = at - interval '20 minutes' where ticket_id = ${ticket.id}`;
    await detect();
    expect(await breaches(ticket.id)).toEqual([]);
    await t.database.sql`update service.tickets set sla_check_at = date_trunc('milliseconds', now()) where id = ${ticket.id}`; // the check comes due
    await detect();
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response']);
    expect(await checkAt()).toBe(opened - 20 * 60_000 + 30 * 60_000); // then its breach

    // A first response: due at once, and then the resolution's warning is next.
    await csr.post(`/v1/tickets/${ticket.id}/messages`).send({ body: 'The technician comes Thursday' }).expect(201);
    expect(await checkAt()).toBeLessThanOrEqual(Date.now());
    await detect();
    expect(await checkAt()).toBe(opened - 20 * 60_000 + 300 * 60_000);
    expect(await breaches(ticket.id)).toEqual(['ticket.sla_warning:first_response']);
  });

  it('pending pauses the resolution clock; a new priority means another policy, its targets counted from the start', async () => {
    const { customerId } = await customerWithAccount(t);
    const { id } = (await csr.post('/v1/tickets').send({ customerId, serviceType: 'mobile', priority: 'high', channel: 'app', subject: 'Roaming', description: 'No data in Spain' }).expect(201)).body;
    await csr.post(`/v1/tickets/${id}/transitions`).send({ to: 'pending', pendingOn: 'customer' }).expect(200);
    await age(id, 60); // opened an hour ago, pending ever since
    const paused = await sla(id);
    expect(paused.resolution).toMatchObject({ elapsedMinutes: 0, dueAt: null, state: 'ok' });
    await asCaller(t, await keyFor(t, { principalKind: 'customer', customerId })).post(`/v1/tickets/${id}/messages`).send({ body: 'Here is the screenshot' }).expect(201);
    expect((await sla(id)).resolution.dueAt).not.toBeNull(); // running again

    const lowered = (await csr.patch(`/v1/tickets/${id}`).send({ priority: 'normal' }).expect(200)).body;
    expect(lowered.slaPolicyId).toBe(policies.generic);
    expect((await sla(id))).toMatchObject({ policyName: 'Standard', first_response: { targetMinutes: 240 }, resolution: { targetMinutes: 2400 } });
  });

  it('a calendar the rules cannot use is refused; only supervisors configure SLAs', async () => {
    const bad = await t.http.post('/v1/business-calendars').send({ name: 'x', calendar: { kind: 'business', timeZone: 'Mars/Olympus', hours: { 1: [{ from: '08:00', to: '18:00' }] } } }).expect(422);
    expect(bad.body.code).toBe('invalid_calendar');
    await t.http.post('/v1/business-calendars').send({ name: 'x', calendar: { kind: 'business', timeZone: 'Europe/Berlin', hours: { 1: [{ from: '8am', to: '18:00' }] } } }).expect(400);
    await csr.post('/v1/sla-policies').send({ name: 'x', calendarId: policies.generic, firstResponseMinutes: 1, resolutionMinutes: 1 }).expect(403);
    expect((await t.http.post('/v1/sla-policies').send({ name: 'x', calendarId: policies.generic, firstResponseMinutes: 1, resolutionMinutes: 1 }).expect(404)).body.code).toBe('calendar_not_found');
    // A minute a week cannot hold a year of working minutes within two years: refused, not measured for ever.
    const sparse = (await t.http.post('/v1/business-calendars').send({ name: 'Sparse', calendar: { kind: 'business', timeZone: 'UTC', hours: { 1: [{ from: '00:00', to: '00:01' }] } } }).expect(201)).body;
    const far = await t.http.post('/v1/sla-policies').send({ name: 'Far', calendarId: sparse.id, firstResponseMinutes: 1, resolutionMinutes: 525_600 }).expect(422);
    expect(far.body.code).toBe('sla_target_unreachable');
    await t.http.post('/v1/sla-policies').send({ name: 'Near', serviceType: 'billing', priority: 'low', calendarId: sparse.id, firstResponseMinutes: 1, resolutionMinutes: 60 }).expect(201);
  });
});
