import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { email, phone } from '../customers/fixtures.js';
import { activeAddOn, activePlan, fulfilled, stock } from '../orders/fixtures.js';

let t: TestApp;
let csr: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
});
afterAll(async () => { await t.close(); });

let seq = 0;
const view = (customerId: string, caller = csr) => caller.get(`/v1/customers/${customerId}/360`);
const open = (customerId: string, body: Record<string, unknown>) =>
  csr.post('/v1/tickets').send({ customerId, channel: 'phone', subject: 'No signal at home', description: 'Since Monday', ...body }).expect(201).then((r) => r.body);

/** A VIP with contacts and consent, a prepaid account holding 2,000 and a line on a plan with a pack, through the API. */
async function vip() {
  const customer = (await t.http.post('/v1/customers').send({
    type: 'individual', segment: 'vip', givenName: 'Grace', familyName: `Hopper${++seq}`,
    contactPoints: [{ kind: 'phone', value: phone(), isPrimary: true }, { kind: 'email', value: email('grace') }],
    consents: [{ channel: 'sms', granted: true, source: 'web-form' }],
  }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  await t.http.post(`/v1/billing-accounts/${account.id}/recharges`).set('idempotency-key', `c360-${process.pid}-${seq}`).send({ amount: { amount: 2000, currency: 'EUR' } }).expect(201);
  const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
  const pack = await activeAddOn(t, { fee: 0 });
  await stock(t, 1);
  const order = await fulfilled(t, { type: 'new_line', billingAccountId: account.id, planId: plan.id });
  expect(order.status).toBe('completed');
  const packOrder = await fulfilled(t, { type: 'add_add_on', lineId: order.lineId, addOnId: pack.id });
  expect(packOrder.status).toBe('completed');
  return { customerId: customer.id as string, accountId: account.id as string, lineId: order.lineId as string, plan, pack, orders: [packOrder.id, order.id] as string[] };
}

describe('customer 360° view', () => {
  it('shows the customer, its accounts\' money, lines with plan and packs, orders, tickets with SLA, contacts, incidents, lockouts and flags', async () => {
    const c = await vip();
    const calendar = (await t.http.post('/v1/business-calendars').send({ name: '24/7', calendar: { kind: '24x7' } }).expect(201)).body;
    await t.http.post('/v1/sla-policies').send({ name: 'Mobile 360', serviceType: 'mobile', calendarId: calendar.id, firstResponseMinutes: 60, resolutionMinutes: 600 }).expect(201);

    const late = await open(c.customerId, { serviceType: 'mobile', priority: 'high', lineId: c.lineId });
    // Two hours ago: its first response is past its 60 minutes.
    await t.database.sql`update service.ticket_history set at = at - interval '2 hours' where ticket_id = ${late.id}`;
    const done = await open(c.customerId, { serviceType: 'billing', subject: 'Top-up missing' });
    await csr.post(`/v1/tickets/${done.id}/transitions`).send({ to: 'resolved', reason: 'Found it' }).expect(200);
    await open(c.customerId, { serviceType: 'billing', subject: 'Top-up missing again' });
    const recurring = await open(c.customerId, { serviceType: 'billing', subject: 'Top-up missing a third time' });
    expect(recurring.recurring).toBe(true);
    const contact = (await csr.post('/v1/interactions').send({
      customerId: c.customerId, channel: 'phone', direction: 'inbound', startedAt: new Date().toISOString(), durationSeconds: 240, outcome: 'ticket_opened', ticketId: late.id, notes: 'Angry about roaming',
    }).expect(201)).body;

    const outage = (await t.http.post('/v1/incidents').send({
      title: 'Mast down in Elm Street', severity: 'major', services: ['mobile'], areas: { cells: ['262-01-1001'] }, statusText: { en: 'Engineers on site' },
    }).expect(201)).body;
    const over = (await t.http.post('/v1/incidents').send({ title: 'Old outage', severity: 'minor', services: ['mobile'], areas: {} }).expect(201)).body;
    await t.http.post(`/v1/incidents/${over.id}/resolve`).expect(200);
    // Outage matching fills this table; here the test says who is affected.
    await t.database.sql`insert into service.incident_customers (incident_id, customer_id) values (${outage.id}, ${c.customerId}), (${over.id}, ${c.customerId})`;

    // Wrong PINs on her line: the account is locked out of redemption.
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: c.customerId }));
    for (let i = 0; i < 5; i++) {
      await me.post('/v1/voucher-redemptions').set('idempotency-key', `c360-pin-${process.pid}-${i}`).send({ pin: String(10_000_000_000_000 + i), lineId: c.lineId }).expect(422);
    }

    const res = await view(c.customerId).expect(200);
    const v = res.body;
    expect(Object.keys(v).sort()).toEqual(['billing', 'customer', 'flags', 'orders', 'service', 'vouchers']);
    expect(v.customer).toMatchObject({
      id: c.customerId, segment: 'vip', displayName: expect.stringMatching(/^Grace Hopper/),
      contactPoints: [expect.objectContaining({ kind: 'phone', isPrimary: true }), expect.objectContaining({ kind: 'email' })],
      consents: [{ channel: 'sms', granted: true, source: 'web-form', recordedAt: expect.any(String) }],
      billingAccounts: [expect.objectContaining({ id: c.accountId, type: 'prepaid', currency: 'EUR', status: 'active' })],
    });
    expect(v.billing).toEqual({ accounts: [{
      billingAccountId: c.accountId, type: 'prepaid', balance: { amount: 2000, currency: 'EUR' }, creditLimit: { amount: 0, currency: 'EUR' }, validUntil: expect.any(String),
      openInvoices: 0, due: { amount: 0, currency: 'EUR' }, overdue: { amount: 0, currency: 'EUR' },
    }] });

    expect(v.orders.lines).toEqual([expect.objectContaining({
      id: c.lineId, kind: 'prepaid', status: 'active', billingAccountId: c.accountId,
      plan: expect.objectContaining({ id: c.plan.id, code: c.plan.code, version: 1, recurringFee: { amount: 0, currency: 'EUR' } }),
      addOns: [expect.objectContaining({ addOnId: c.pack.id, code: c.pack.code, kind: 'one_off', expiresAt: expect.any(String) })],
    })]);
    expect(v.orders.moreLines).toBe(false);
    expect(v.orders.recentOrders.map((o: { id: string; type: string; status: string }) => [o.id, o.type, o.status]))
      .toEqual([[c.orders[0], 'add_add_on', 'completed'], [c.orders[1], 'new_line', 'completed']]);

    const s = v.service;
    expect(s.openTickets.map((x: { id: string }) => x.id)).toEqual([recurring.id, expect.any(String), late.id]);
    expect(s.moreOpenTickets).toBe(false);
    expect(s.openTickets[2]).toMatchObject({ number: late.number, lineId: c.lineId, priority: 'high', sla: {
      policyName: 'Mobile 360', state: 'breached', first_response: { targetMinutes: 60, state: 'breached', met: false }, resolution: { targetMinutes: 600, state: 'ok' },
    } });
    expect(s.openTickets[0]).toMatchObject({ recurring: true, serviceType: 'billing' });
    expect(s.recentTickets).toEqual([expect.objectContaining({ id: done.id, status: 'resolved', resolvedAt: expect.any(String) })]);
    // The SLA shown is the ticket's own, as its page measures it.
    const own = (await csr.get(`/v1/tickets/${late.id}`).expect(200)).body.sla;
    expect(s.openTickets[2].sla.first_response.targetMinutes).toBe(own.first_response.targetMinutes);
    expect(s.interactions).toEqual([expect.objectContaining({ id: contact.id, durationSeconds: 240, ticketId: late.id, notes: 'Angry about roaming' })]);
    expect(s.incidents).toEqual([expect.objectContaining({ id: outage.id, status: 'open', severity: 'major', statusText: { en: 'Engineers on site' } })]);
    expect(s.recurringIssue).toBe(true);

    expect(v.vouchers).toEqual({ pinLockouts: [{ billingAccountId: c.accountId, lockedUntil: expect.any(String) }], pinFailures: [] });
    expect(new Date(v.vouchers.pinLockouts[0].lockedUntil).getTime()).toBeGreaterThan(Date.now());

    expect(v.flags.map((f: { code: string; source: string }) => `${f.source}:${f.code}`).sort()).toEqual([
      'customers:vip', 'service:affected_by_incident', 'service:recurring_issue', 'service:sla_breached', 'vouchers:fraud_alert',
    ]);
    // A read of personal data by staff: audited like GET /v1/customers/{id}.
    const [audited] = await t.database.sql`select count(*)::int as n from platform.audit_log where action = 'customer.read' and entity_id = ${c.customerId}`;
    expect(audited!.n).toBe(1);
  });

  it('a customer with nothing yet has empty parts and no flags; an unknown customer is 404', async () => {
    const bare = (await t.http.post('/v1/customers').send({ type: 'business', companyName: `Bare ${++seq} Ltd` }).expect(201)).body;
    expect((await view(bare.id).expect(200)).body).toEqual({
      customer: expect.objectContaining({ id: bare.id, segment: 'consumer', billingAccounts: [] }),
      billing: { accounts: [] },
      orders: { lines: [], moreLines: false, recentOrders: [] },
      service: { openTickets: [], moreOpenTickets: false, recentTickets: [], interactions: [], incidents: [], recurringIssue: false },
      vouchers: { pinLockouts: [], pinFailures: [] },
      flags: [],
    });
    expect((await view(randomUUID()).expect(404)).body.code).toBe('customer_not_found');
    expect((await view('not-a-uuid').expect(400)).body.code).toBe('validation_failed');
  });

  it('a postpaid account shows what its open invoices ask for; wrong PINs short of a lockout are shown without a flag', async () => {
    const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Alan', familyName: `Turing${++seq}` }).expect(201)).body;
    const postpaid = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'postpaid', currency: 'EUR', billCycleDay: 1 }).expect(201)).body;
    const prepaid = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    // An issued invoice past its due date (the bill run's work, written here as it would leave it).
    await t.database.sql`insert into billing.invoices (id, number, billing_account_id, customer_id, currency, period_start, period_end, tax_rate_bp, subtotal, tax, total, paid, due_at)
      values (${randomUUID()}, ${`T360-${process.pid}-${seq}`}, ${postpaid.id}, ${customer.id}, 'EUR', now() - interval '2 months', now() - interval '1 month', 1900, 1000, 190, 1190, 190, now() - interval '3 days')`;
    await t.database.sql`insert into vouchers.pin_failures (key, window_start, failures) values (${`account:${prepaid.id}`}, now(), 2)`;
    const v = (await view(customer.id).expect(200)).body;
    expect(v.billing.accounts).toEqual([
      { billingAccountId: postpaid.id, type: 'postpaid', balance: null, creditLimit: null, validUntil: null, openInvoices: 1, due: { amount: 1000, currency: 'EUR' }, overdue: { amount: 1000, currency: 'EUR' } },
      expect.objectContaining({ billingAccountId: prepaid.id, type: 'prepaid', balance: { amount: 0, currency: 'EUR' }, openInvoices: 0 }),
    ]);
    expect(v.vouchers).toEqual({ pinLockouts: [], pinFailures: [{ billingAccountId: prepaid.id, failures: 2, since: expect.any(String) }] });
    expect(v.flags).toEqual([{ code: 'overdue_invoices', source: 'billing', detail: expect.any(String) }]);
  });

  it('a part that cannot be read shows its error; the rest of the view still answers', async () => {
    const c = await vip();
    // A real failure: the vouchers table is out of reach for a moment (this test file's own database).
    await t.database.sql`alter table vouchers.pin_failures rename to pin_failures_away`;
    try {
      const v = (await view(c.customerId).expect(200)).body;
      expect(v.vouchers).toEqual({ error: 'unavailable' });
      expect(v.billing.accounts[0].balance).toEqual({ amount: 2000, currency: 'EUR' });
      expect(v.orders.lines).toHaveLength(1);
      expect(v.flags.map((f: { code: string }) => f.code)).toEqual(['vip']);
    } finally {
      await t.database.sql`alter table vouchers.pin_failures_away rename to pin_failures`;
    }
    expect((await view(c.customerId).expect(200)).body.vouchers).toEqual({ pinLockouts: [], pinFailures: [] });
  });
});

describe('who may see it', () => {
  const forbidden = (res: { status: number; body: { code: string } }) => {
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.code).toBe('forbidden');
  };

  it('staff who serve customers; not the customer itself, a partner, marketing or a key without service:agent_read', async () => {
    const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Ada', familyName: `Byron${++seq}`, partnerId: randomUUID() }).expect(201)).body;
    for (const role of ['csr', 'supervisor', 'admin']) {
      await view(customer.id, asCaller(t, await keyFor(t, { principalKind: 'staff', role }))).expect(200);
    }
    forbidden(await view(customer.id, asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: customer.id }))));
    forbidden(await view(customer.id, asCaller(t, await keyFor(t, { principalKind: 'partner', partnerId: customer.partnerId }))));
    forbidden(await view(customer.id, asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }))));
    forbidden(await view(customer.id, asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['customers:read', 'service:read'] }))));
    const none = await anon(t).get(`/v1/customers/${customer.id}/360`);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthenticated');
  });
});
