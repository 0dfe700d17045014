import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activePlan, customerWithAccount, fulfilled, stock } from '../orders/fixtures.js';

let t: TestApp;
let csr: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
});
afterAll(async () => { await t.close(); });

let seq = 0;
const word = (prefix: string) => `${prefix}${process.pid}x${++seq}`;
const open = (caller: typeof csr, body: Record<string, unknown>) => caller.post('/v1/tickets').send({ channel: 'phone', subject: 'No signal at home', description: 'Since Monday', ...body });
const customerKey = async (customerId: string) => asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
const statuses = async (id: string) => (await csr.get(`/v1/tickets/${id}/history`).expect(200)).body.items.map((h: { status: string }) => h.status);

describe('tickets', () => {
  it('are opened by a CSR or by the customer, numbered, queued by service type, their description the first public message', async () => {
    const { customerId } = await customerWithAccount(t);
    const ticket = (await open(csr, { customerId, serviceType: 'mobile', priority: 'high' }).expect(201)).body;
    expect(ticket).toMatchObject({ number: expect.stringMatching(/^T-\d{6,}$/), status: 'new', serviceType: 'mobile', categorisedBy: 'caller', queue: 'mobile', priority: 'high' });
    const me = await customerKey(customerId);
    const mine = (await open(me, { customerId, serviceType: 'billing', channel: 'app', subject: 'Invoice too high', priority: 'urgent' }).expect(201)).body;
    // A customer does not set its own priority: staff raise it.
    expect(mine).toMatchObject({ channel: 'app', priority: 'normal' });
    expect((await csr.get(`/v1/tickets/${mine.id}`).expect(200)).body.openedBy).toMatch(/^customer:/);
    expect((await me.get(`/v1/tickets/${ticket.id}/messages`).expect(200)).body.items).toMatchObject([{ visibility: 'public', body: 'Since Monday' }]);
    const [event] = await t.database.sql`select payload->>'number' as number from platform.events where type = 'ticket.created' and aggregate_id = ${ticket.id}`;
    expect(event!.number).toBe(ticket.number);
  });

  it('without a category: triaged by the first rule whose keyword it holds, or refused; a subcategory must be offered', async () => {
    const { customerId } = await customerWithAccount(t);
    const keyword = word('fibrebox');
    await t.http.post('/v1/ticket-subcategories').send({ serviceType: 'internet', code: 'router', name: 'Router and fibre box' }).expect((r) => expect([201, 409]).toContain(r.status));
    await t.http.post('/v1/ticket-triage-rules').send({ keyword, serviceType: 'internet', subcategory: 'router', position: 10 }).expect(201);
    const triaged = (await open(csr, { customerId, subject: 'Help', description: `The ${keyword.toUpperCase()} blinks red` }).expect(201)).body;
    expect(triaged).toMatchObject({ serviceType: 'internet', subcategory: 'router', categorisedBy: 'triage', queue: 'internet' });
    expect((await open(csr, { customerId, subject: 'Help', description: `nothing to match ${word('zz')}` }).expect(422)).body.code).toBe('ticket_uncategorised');
    // A keyword is a whole word: inside another word it does not match.
    expect((await open(csr, { customerId, subject: 'Help', description: `my ${keyword}s are fine` }).expect(422)).body.code).toBe('ticket_uncategorised');
    expect((await open(csr, { customerId, serviceType: 'mobile', subcategory: 'no_such_thing' }).expect(422)).body.code).toBe('unknown_subcategory');
    await csr.post('/v1/ticket-triage-rules').send({ keyword: 'x1', serviceType: 'mobile', position: 1 }).expect(403);
  });

  it('go new → open → pending; the customer\'s reply opens them again; resolved ones reopen within the window, then close', async () => {
    const { customerId } = await customerWithAccount(t);
    const me = await customerKey(customerId);
    const { id } = (await open(csr, { customerId, serviceType: 'mobile' }).expect(201)).body;
    await t.http.put('/v1/service/agents/agent-7').send({ name: 'Agent Seven', queues: ['mobile-tier2'] }).expect(200);
    expect((await csr.patch(`/v1/tickets/${id}`).send({ assigneeId: 'agent-7', queue: 'mobile-tier2' }).expect(200)).body).toMatchObject({ status: 'open', assigneeId: 'agent-7', queue: 'mobile-tier2' });
    await csr.post(`/v1/tickets/${id}/transitions`).send({ to: 'pending' }).expect(400);
    await csr.post(`/v1/tickets/${id}/transitions`).send({ to: 'pending', pendingOn: 'customer', reason: 'Asked for the SIM number' }).expect(200);
    await me.post(`/v1/tickets/${id}/messages`).send({ body: 'It is 8949 0000 1234' }).expect(201);
    expect((await me.get(`/v1/tickets/${id}`).expect(200)).body.status).toBe('open');
    await csr.post(`/v1/tickets/${id}/transitions`).send({ to: 'resolved', reason: 'New SIM sent' }).expect(200);
    expect((await me.post(`/v1/tickets/${id}/transitions`).send({ to: 'closed' }).expect(409)).body.code).toBe('transition_not_allowed');
    expect((await me.post(`/v1/tickets/${id}/transitions`).send({ to: 'open', reason: 'Still no signal' }).expect(200)).body).toMatchObject({ status: 'open', reopenCount: 1 });
    await csr.post(`/v1/tickets/${id}/transitions`).send({ to: 'resolved' }).expect(200);
    // Past the window: no reopening, and the hourly job closes it.
    await t.database.sql`update service.tickets set resolved_at = now() - interval '8 days' where id = ${id}`;
    expect((await me.post(`/v1/tickets/${id}/transitions`).send({ to: 'open' }).expect(409)).body.code).toBe('reopen_window_passed');
    await t.database.sql`select graphile_worker.add_job('service.close_resolved', '{}'::json)`;
    await t.runJobs();
    expect((await me.get(`/v1/tickets/${id}`).expect(200)).body.status).toBe('closed');
    expect((await me.post(`/v1/tickets/${id}/messages`).send({ body: 'Hello?' }).expect(409)).body.code).toBe('ticket_closed');
    expect(await statuses(id)).toEqual(['new', 'open', 'pending', 'open', 'resolved', 'open', 'resolved', 'closed']);
  });

  it('a customer sees its own tickets only, and public replies only; internal notes, assignment and resolving are for staff', async () => {
    const mine = await customerWithAccount(t);
    const theirs = await customerWithAccount(t);
    const me = await customerKey(mine.customerId);
    const { id } = (await open(csr, { customerId: mine.customerId, serviceType: 'billing' }).expect(201)).body;
    const other = (await open(csr, { customerId: theirs.customerId, serviceType: 'billing' }).expect(201)).body;
    await csr.post(`/v1/tickets/${id}/messages`).send({ body: 'Customer sounded upset; check the roaming charges', visibility: 'internal', channel: 'phone' }).expect(201);
    await csr.post(`/v1/tickets/${id}/messages`).send({ body: 'We are looking into it', channel: 'email' }).expect(201);
    expect((await me.get(`/v1/tickets/${id}/messages`).expect(200)).body.items.map((m: { visibility: string }) => m.visibility)).toEqual(['public', 'public']);
    expect((await csr.get(`/v1/tickets/${id}/messages`).expect(200)).body.items).toHaveLength(3);
    expect((await me.post(`/v1/tickets/${id}/messages`).send({ body: 'psst', visibility: 'internal' }).expect(403)).body.code).toBe('internal_note_not_allowed');
    expect((await me.get(`/v1/tickets/${other.id}`).expect(404)).body.code).toBe('ticket_not_found');
    await me.get(`/v1/tickets/${other.id}/messages`).expect(404);
    await me.post(`/v1/tickets/${other.id}/messages`).send({ body: 'hi' }).expect(404);
    await open(me, { customerId: theirs.customerId, serviceType: 'billing' }).expect(404);
    const listed = (await me.get(`/v1/tickets?customerId=${theirs.customerId}`).expect(200)).body.items;
    expect(listed.map((x: { customerId: string }) => x.customerId)).toEqual([mine.customerId]);
    await me.patch(`/v1/tickets/${id}`).send({ priority: 'urgent' }).expect(403);
    expect((await me.post(`/v1/tickets/${id}/transitions`).send({ to: 'resolved' }).expect(409)).body.code).toBe('transition_not_allowed');
  });

  it('a customer is not shown how the operator works its ticket: queue, agent, tier, SLA targets, who moved it and why', async () => {
    const { customerId } = await customerWithAccount(t);
    const me = await customerKey(customerId);
    const { id } = (await open(me, { customerId, serviceType: 'internet', channel: 'app' }).expect(201)).body;
    await t.http.put('/v1/service/agents/agent-9').send({ name: 'Agent Nine' }).expect(200);
    await csr.patch(`/v1/tickets/${id}`).send({ assigneeId: 'agent-9' }).expect(200);
    await csr.post(`/v1/tickets/${id}/messages`).send({ body: 'We are on it' }).expect(201);
    const hidden = ['queue', 'assigneeId', 'openedBy', 'tier', 'recurring', 'slaPolicyId', 'categorisedBy', 'sla'];
    const seen = (await me.get(`/v1/tickets/${id}`).expect(200)).body;
    expect(Object.keys(seen).filter((k) => hidden.includes(k))).toEqual([]);
    expect(seen).toMatchObject({ status: 'open', subject: 'No signal at home' });
    for (const listed of (await me.get('/v1/tickets').expect(200)).body.items) expect(Object.keys(listed).filter((k) => hidden.includes(k))).toEqual([]);
    // Nor can it find them out by filtering on them: the filters are not its to use.
    for (const probe of ['queue=internet', 'queue=billing', 'assigneeId=agent-9', 'assigneeId=agent-1']) {
      expect((await me.get(`/v1/tickets?${probe}`).expect(200)).body.items.map((x: { id: string }) => x.id)).toContain(id);
    }
    expect((await csr.get(`/v1/tickets/${id}`).expect(200)).body).toMatchObject({ assigneeId: 'agent-9', queue: 'internet', tier: 'agent' });
    const history = (await me.get(`/v1/tickets/${id}/history`).expect(200)).body.items;
    expect(history.map((h: object) => Object.keys(h).sort())).toEqual([['at', 'id', 'status'], ['at', 'id', 'status']]);
    const thread = (await me.get(`/v1/tickets/${id}/messages`).expect(200)).body.items;
    expect(thread).toMatchObject([{ authorKind: 'customer', authorId: expect.any(String) }, { authorKind: 'staff' }]);
    expect(thread[1].authorId).toBeUndefined();
    expect((await csr.get(`/v1/tickets/${id}/messages`).expect(200)).body.items[1].authorId).toEqual(expect.any(String));
  });

  it('a message from an integration is not the operator\'s first response', async () => {
    const { customerId } = await customerWithAccount(t);
    const { id } = (await open(csr, { customerId, serviceType: 'internet' }).expect(201)).body;
    const bot = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['service:write', 'service:read'] }));
    await bot.post(`/v1/tickets/${id}/messages`).send({ body: 'Automatic line test: OK' }).expect(201);
    expect((await csr.get(`/v1/tickets/${id}`).expect(200)).body.firstResponseAt).toBeNull();
    await csr.post(`/v1/tickets/${id}/messages`).send({ body: 'Looking into it' }).expect(201);
    expect((await csr.get(`/v1/tickets/${id}`).expect(200)).body.firstResponseAt).not.toBeNull();
  });

  it('concern the customer\'s own line, order or invoice only', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
    await stock(t, 1);
    const owner = await customerWithAccount(t, 'prepaid');
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: owner.accountId, planId: plan.id });
    const stranger = await customerWithAccount(t);
    const ok = (await open(csr, { customerId: owner.customerId, serviceType: 'mobile', lineId: order.lineId, orderId: order.id }).expect(201)).body;
    expect(ok).toMatchObject({ lineId: order.lineId, orderId: order.id });
    expect((await open(csr, { customerId: stranger.customerId, serviceType: 'mobile', lineId: order.lineId }).expect(404)).body.code).toBe('line_not_found');
    expect((await open(csr, { customerId: stranger.customerId, serviceType: 'mobile', orderId: order.id }).expect(404)).body.code).toBe('order_not_found');
    expect((await open(csr, { customerId: stranger.customerId, serviceType: 'billing', invoiceId: order.id }).expect(404)).body.code).toBe('invoice_not_found');
  });
});

describe('erasure', () => {
  it('an erased customer\'s words leave its tickets and interactions; the records stay for the counts', async () => {
    const { customerId } = await customerWithAccount(t);
    const ticket = (await open(csr, { customerId, serviceType: 'billing', subject: 'My address is 1 Main St', description: 'Call me on 0170 1234567' }).expect(201)).body;
    await csr.post('/v1/interactions').send({ customerId, channel: 'phone', direction: 'inbound', startedAt: new Date().toISOString(), durationSeconds: 60, outcome: 'resolved', notes: 'Spoke to her husband' }).expect(201);
    await t.http.post(`/v1/customers/${customerId}/erase`).expect(200);
    await t.runJobs();
    expect((await t.http.get(`/v1/tickets/${ticket.id}`).expect(200)).body.subject).toBe('[erased]');
    expect((await t.http.get(`/v1/tickets/${ticket.id}/messages`).expect(200)).body.items.map((m: { body: string }) => m.body)).toEqual(['[erased]']);
    expect((await t.http.get(`/v1/customers/${customerId}/interactions`).expect(200)).body.items).toMatchObject([{ notes: null, durationSeconds: 60 }]);
  });
});

describe('interactions', () => {
  it('every contact is logged by the agent, ticket or not; customers neither log nor read them', async () => {
    const { customerId } = await customerWithAccount(t);
    const other = await customerWithAccount(t);
    const ticket = (await open(csr, { customerId, serviceType: 'mobile' }).expect(201)).body;
    const call = { customerId, channel: 'phone', direction: 'inbound', startedAt: new Date().toISOString(), durationSeconds: 312, outcome: 'ticket_opened', ticketId: ticket.id };
    const logged = (await csr.post('/v1/interactions').send(call).expect(201)).body;
    expect(logged).toMatchObject({ durationSeconds: 312, outcome: 'ticket_opened', ticketId: ticket.id, agentId: expect.any(String) });
    await csr.post('/v1/interactions').send({ ...call, ticketId: undefined, outcome: 'resolved', durationSeconds: 95 }).expect(201);
    expect((await csr.post('/v1/interactions').send({ ...call, customerId: other.customerId }).expect(404)).body.code).toBe('ticket_not_found');
    await csr.post('/v1/interactions').send({ ...call, durationSeconds: -1 }).expect(400);
    const list = (await csr.get(`/v1/customers/${customerId}/interactions`).expect(200)).body.items;
    expect(list.map((i: { durationSeconds: number }) => i.durationSeconds)).toEqual([95, 312]);
    const me = await customerKey(customerId);
    await me.post('/v1/interactions').send(call).expect(403);
    await me.get(`/v1/customers/${customerId}/interactions`).expect(403);
  });
});
