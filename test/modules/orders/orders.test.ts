import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingCycle, prorateAllowances, prorateChange } from '../../../src/modules/orders/index.js';
import { testApp, type TestApp } from '../../support/app.js';
import { activeAddOn, activePlan, customerWithAccount, fulfilled, reachCycleEnd, stock } from './fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const charges = async (lineId: string) => (await t.http.get(`/v1/lines/${lineId}/charges`).expect(200)).body.items as Record<string, any>[];
const eventsOf = async (aggregateId: string) => (await t.database.sql`select type from platform.events where aggregate_id = ${aggregateId} order by id`).map((e) => e.type);
const addJob = (task: string) => t.database.sql`select graphile_worker.add_job(${task}, '{}'::json)`;

describe('a change of the account\'s bill-cycle day', () => {
  it('reaches its postpaid lines: the current cycle ends as it was, the next ends on the new day with its fee prorated', async () => {
    const plan = await activePlan(t, { fee: 3000 });
    await stock(t, 1);
    const { customerId, accountId } = await customerWithAccount(t, 'postpaid', 1);
    const { lineId } = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const day = ((new Date().getUTCDate() + 9) % 28) + 1;
    await t.http.patch(`/v1/customers/${customerId}/billing-accounts/${accountId}`).send({ billCycleDay: day }).expect(200);
    await t.runJobs();
    expect((await t.database.sql`select next_bill_cycle_day from orders.lines where id = ${lineId}`)[0]!.next_bill_cycle_day).toBe(day);
    await reachCycleEnd(t, lineId);
    expect((await t.database.sql`select bill_cycle_day, next_bill_cycle_day from orders.lines where id = ${lineId}`)[0]).toEqual({ bill_cycle_day: day, next_bill_cycle_day: null });
    const [row] = await t.database.sql`select cycle_start, cycle_end from orders.lines where id = ${lineId}`;
    const [start, end] = [new Date(row!.cycle_start), new Date(row!.cycle_end)];
    const natural = billingCycle(day, start);
    expect(end.toISOString()).toBe(natural.end.toISOString());
    const fee = prorateChange({ cycle: natural, at: start, to: { ref: 'x', fee: { amount: 3000, currency: 'EUR' } } })[0]!.amount;
    expect(fee).toBeLessThan(3000);
    const renewal = (await charges(lineId)).find((c) => c.description === 'Plan fee for the cycle' && c.periodFrom === start.toISOString());
    expect(renewal!.amount).toBe(fee);
    expect(await eventsOf(lineId)).toContain('line.bill_cycle_changed');
  });
});

describe('a new line', () => {
  it('is acknowledged, fulfilled by the worker, and becomes a line with its allowances and first charge', async () => {
    const plan = await activePlan(t, { fee: 3100 });
    const { firstNumber } = await stock(t, 3);
    const { customerId, accountId } = await customerWithAccount(t);

    const placed = await t.http.post('/v1/orders').send({ type: 'new_line', billingAccountId: accountId, planId: plan.id }).expect(201);
    expect(placed.headers.location).toBe(`/v1/orders/${placed.body.id}`);
    expect(placed.body).toMatchObject({ status: 'acknowledged', customerId, lineId: null, effective: 'now' });
    expect(placed.body.items.map((i: { kind: string }) => i.kind)).toEqual(['plan', 'msisdn', 'sim']);
    expect(placed.body.items[1].msisdn).toBe(firstNumber);

    await t.runJobs();
    const order = (await t.http.get(`/v1/orders/${placed.body.id}`).expect(200)).body;
    expect(order.status).toBe('completed');
    expect(order.history.map((h: { status: string }) => h.status)).toEqual(['acknowledged', 'in_progress', 'completed']);
    expect(order.history[0].at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await eventsOf(order.id)).toEqual(['order.acknowledged', 'order.in_progress', 'order.completed']);

    const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    expect(line).toMatchObject({ customerId, status: 'active', msisdn: firstNumber, kind: 'postpaid', plan: { id: plan.id, version: 1, recurringFee: { amount: 3100 } } });
    // Joining the account's cycle part-way, the line gets the part of the allowance it pays for.
    const share = prorateAllowances({ dataBytes: 5 * 1024 ** 3, smsCount: 500 }, { start: new Date(line.cycle.start), end: new Date(line.cycle.end) }, new Date(line.activatedAt));
    expect(line.allowances.map((b: { usageType: string; total: number | null }) => [b.usageType, b.total])).toEqual(
      expect.arrayContaining([['data', share.dataBytes], ['voice', null], ['sms', share.smsCount]]));
    expect(await eventsOf(line.id)).toEqual(['line.activated']);

    // Postpaid: the first cycle is charged from activation to the cycle's end, by the second.
    const [first] = await charges(line.id);
    const expected = prorateChange({ cycle: { start: new Date(line.cycle.start), end: new Date(line.cycle.end) }, at: new Date(first!.periodFrom), to: { ref: 'x', fee: { amount: 3100, currency: 'EUR' } } });
    expect(first).toMatchObject({ kind: 'charge', amount: expected[0]!.amount, currency: 'EUR', orderId: order.id });

    const [n] = await t.database.sql`select status, assigned_to from orders.msisdns where msisdn = ${firstNumber}`;
    expect(n).toEqual({ status: 'assigned', assigned_to: line.id });
    expect((await t.http.get(`/v1/lines?customerId=${customerId}`).expect(200)).body.items.map((l: { id: string }) => l.id)).toEqual([line.id]);
  });

  it('on an account billed on the 31st follows the month-end cycle the rules give', async () => {
    const plan = await activePlan(t);
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'postpaid', 31);
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    const expected = billingCycle(31, new Date(line.activatedAt));
    expect(line.cycle).toEqual({ start: expected.start.toISOString(), end: expected.end.toISOString(), billCycleDay: 31 });
  });

  it('on prepaid pays the whole first cycle and takes a chosen number, SIM, pack and device', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 1000 });
    const pack = await activeAddOn(t, { fee: 300 });
    const { firstNumber, sims } = await stock(t, 5);
    await t.http.post('/v1/devices').send({ sku: `ROUTER-${process.pid}`, name: 'Router', price: { amount: 4900, currency: 'EUR' } }).expect(201);
    await t.http.post(`/v1/devices/ROUTER-${process.pid}/units/import`).send({ serials: ['SN-0001', 'SN-0002'] }).expect(201);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    const chosen = `+${BigInt(firstNumber) + 3n}`;
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id, msisdn: chosen, iccid: sims[4], addOnIds: [pack.id], deviceSku: `ROUTER-${process.pid}` });
    expect(order.status).toBe('completed');
    const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    expect(line).toMatchObject({ msisdn: chosen, iccid: sims[4], kind: 'prepaid' });
    expect(line.addOns).toHaveLength(1);
    expect((await charges(line.id)).map((c) => [c.kind, c.amount]).sort()).toEqual([['one_off', 300], ['one_off', 4900], ['recurring', 1000]]);
    const [unit] = await t.database.sql`select status, assigned_to from orders.device_units where serial = 'SN-0001'`;
    expect(unit).toEqual({ status: 'assigned', assigned_to: order.customerId });
  });
});

describe('changes to a line', () => {
  async function newLine(opts: { fee?: number; kind?: 'prepaid' | 'postpaid' } = {}) {
    const plan = await activePlan(t, { fee: opts.fee ?? 3100, kind: opts.kind });
    await stock(t, 2);
    const { accountId } = await customerWithAccount(t, opts.kind ?? 'postpaid');
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    return { lineId: order.lineId as string, plan };
  }

  it('a plan change now credits the unused old plan and charges the rest of the new one, by the second', async () => {
    const { lineId } = await newLine({ fee: 3100 });
    const bigger = await activePlan(t, { fee: 6200, dataGiB: 'unlimited' });
    const order = await fulfilled(t, { type: 'change_plan', lineId, planId: bigger.id });
    expect(order.status).toBe('completed');
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.plan).toMatchObject({ id: bigger.id, recurringFee: { amount: 6200 } });
    expect(line.allowances.find((b: { usageType: string; source: string }) => b.usageType === 'data' && b.source === 'plan').total).toBeNull();

    const mine = (await charges(lineId)).filter((c) => c.orderId === order.id);
    const at = new Date(mine[0]!.periodFrom);
    const cycle = { start: new Date(line.cycle.start), end: new Date(line.cycle.end) };
    const expected = prorateChange({ cycle, at, from: { ref: 'a', fee: { amount: 3100, currency: 'EUR' } }, to: { ref: 'b', fee: { amount: 6200, currency: 'EUR' } } });
    expect(mine.map((c) => [c.kind, c.amount]).sort()).toEqual(expected.map((l) => [l.kind, l.amount]).sort());
    expect(await eventsOf(lineId)).toContain('line.plan_changed');
  });

  it('a plan change at the next cycle waits for the boundary, then applies without proration', async () => {
    const { lineId, plan } = await newLine();
    const smaller = await activePlan(t, { fee: 1000, dataGiB: 1 });
    const placed = (await t.http.post('/v1/orders').send({ type: 'change_plan', lineId, planId: smaller.id, effective: 'next_cycle' }).expect(201)).body;
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(new Date(placed.scheduledFor)).toEqual(new Date(line.cycle.end));
    expect(line.pendingOrders).toEqual([expect.objectContaining({ id: placed.id, type: 'change_plan', status: 'acknowledged' })]);
    // A second change while one is pending is refused.
    expect((await t.http.post('/v1/orders').send({ type: 'change_plan', lineId, planId: smaller.id }).expect(409)).body.code).toBe('plan_change_pending');

    await t.runJobs(); // not due: nothing happens
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body.plan.id).toBe(plan.id);

    await reachCycleEnd(t, lineId, [placed.id]);
    const after = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(after.plan.id).toBe(smaller.id);
    expect(new Date(after.cycle.start).getTime()).toBeLessThan(Date.now());
    expect(new Date(after.cycle.end).getTime()).toBeGreaterThan(Date.now());
    expect(after.allowances.find((b: { usageType: string }) => b.usageType === 'data').total).toBe(1024 ** 3);
    expect((await t.http.get(`/v1/orders/${placed.id}`).expect(200)).body.status).toBe('completed');
    expect((await charges(lineId)).filter((c) => c.orderId === placed.id)).toEqual([]);
    // The new cycle is charged in advance at the new plan's fee.
    expect((await charges(lineId)).filter((c) => c.orderId === null).map((c) => [c.kind, c.amount, c.periodFrom])).toEqual([['recurring', 1000, after.cycle.start]]);
    expect(await eventsOf(lineId)).toEqual(['line.activated', 'line.plan_changed', 'line.cycle_renewed']);
  });

  it('a roaming pack is bought, shows its own bucket, and expires', async () => {
    const { lineId } = await newLine();
    const roaming = await activeAddOn(t, { zone: 'roaming-eu', validityHours: 168, fee: 700 });
    const order = await fulfilled(t, { type: 'add_add_on', lineId, addOnId: roaming.id });
    expect(order.status).toBe('completed');
    let line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.addOns).toEqual([expect.objectContaining({ addOnId: roaming.id, kind: 'one_off' })]);
    expect(new Date(line.addOns[0].expiresAt).getTime() - new Date(line.addOns[0].startsAt).getTime()).toBe(168 * 3600_000);
    expect(line.allowances.filter((b: { zone: string }) => b.zone === 'roaming-eu')).toHaveLength(1);
    expect((await charges(lineId)).find((c) => c.orderId === order.id)).toMatchObject({ kind: 'one_off', amount: 700 });

    await t.database.sql`update orders.line_add_ons set starts_at = now() - interval '8 days', expires_at = now() - interval '1 second' where line_id = ${lineId}`;
    await t.database.sql`update orders.allowance_buckets set valid_from = now() - interval '8 days', valid_until = now() - interval '1 second' where line_id = ${lineId} and line_add_on_id is not null`;
    await addJob('orders.expire_add_ons');
    await t.runJobs();
    line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.addOns).toEqual([]);
    expect(line.allowances.filter((b: { zone: string }) => b.zone === 'roaming-eu')).toEqual([]);
    const [pack] = await t.database.sql`select status from orders.line_add_ons where line_id = ${lineId}`;
    expect(pack!.status).toBe('expired');
    expect(await eventsOf(lineId)).toContain('add_on.expired');
  });

  it('refuses an incompatible pack and a second pack of an exclusive group', async () => {
    const { lineId } = await newLine();
    const elsewhere = await activeAddOn(t, { compatiblePlans: ['SOME-OTHER-PLAN'] });
    expect((await t.http.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: elsewhere.id }).expect(422)).body.code).toBe('add_on_incompatible');
    const night1 = await activeAddOn(t, { exclusiveGroup: 'night' });
    const night2 = await activeAddOn(t, { exclusiveGroup: 'night' });
    expect((await fulfilled(t, { type: 'add_add_on', lineId, addOnId: night1.id })).status).toBe('completed');
    expect((await t.http.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: night2.id }).expect(409)).body.code).toBe('add_on_exclusive');
  });

  it('a recurring pack is prorated in (fee and allowance), renewed with the cycle, and leaves at the cycle end when removed', async () => {
    const { lineId, plan } = await newLine({ fee: 3100 });
    const pack = await activeAddOn(t, { kind: 'recurring', fee: 3100 });
    const bought = await fulfilled(t, { type: 'add_add_on', lineId, addOnId: pack.id });
    const [charge] = (await charges(lineId)).filter((c) => c.orderId === bought.id);
    let line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    const cycle = { start: new Date(line.cycle.start), end: new Date(line.cycle.end) };
    const at = new Date(charge!.periodFrom);
    expect(charge).toMatchObject({ kind: 'charge', amount: prorateChange({ cycle, at, to: { ref: 'p', fee: { amount: 3100, currency: 'EUR' } } })[0]!.amount });
    expect(line.addOns[0].expiresAt).toBe(line.cycle.end);
    const bucket = line.allowances.find((b: { source: string }) => b.source === 'add_on');
    expect(bucket.total).toBe(prorateAllowances({ dataBytes: 2 * 1024 ** 3 }, cycle, at).dataBytes);
    expect((await t.http.post('/v1/orders').send({ type: 'add_add_on', lineId, addOnId: pack.id }).expect(409)).body.code).toBe('add_on_already_active');

    // Removal waits for the cycle's end: the pack was paid for the cycle, and nothing is credited.
    const removal = (await t.http.post('/v1/orders').send({ type: 'remove_add_on', lineId, lineAddOnId: line.addOns[0].id }).expect(201)).body;
    expect(removal).toMatchObject({ effective: 'next_cycle', scheduledFor: line.cycle.end });
    await t.runJobs();
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body.addOns).toHaveLength(1);

    await reachCycleEnd(t, lineId, [removal.id]);
    line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.addOns).toEqual([]);
    expect(line.allowances.filter((b: { source: string }) => b.source === 'add_on')).toEqual([]);
    expect((await t.http.get(`/v1/orders/${removal.id}`).expect(200)).body.status).toBe('completed');
    const all = await charges(lineId);
    expect(all.filter((c) => c.orderId === removal.id)).toEqual([]);
    // The new cycle's fee is the plan's alone, charged in advance.
    expect(all.filter((c) => c.orderId === null).map((c) => [c.kind, c.ref, c.amount])).toEqual([['recurring', plan.versionId, 3100]]);
  });

  it('a recurring pack kept over the boundary is renewed with its full allowance and charged for the new cycle', async () => {
    const { lineId } = await newLine({ fee: 3100 });
    const pack = await activeAddOn(t, { kind: 'recurring', fee: 900 });
    await fulfilled(t, { type: 'add_add_on', lineId, addOnId: pack.id });
    await reachCycleEnd(t, lineId, []);
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.addOns).toHaveLength(1);
    expect(line.addOns[0].expiresAt).toBe(line.cycle.end);
    expect(line.allowances.find((b: { source: string }) => b.source === 'add_on').total).toBe(2 * 1024 ** 3);
    expect((await charges(lineId)).filter((c) => c.orderId === null).map((c) => c.amount).sort()).toEqual([3100, 900].sort());
    // A second renewal pass changes nothing.
    await addJob('orders.renew_cycles');
    await t.runJobs();
    expect((await charges(lineId)).filter((c) => c.orderId === null)).toHaveLength(2);
  });

  it('suspend, resume, replace the SIM, terminate: the number and SIMs go to quarantine and the unused fee is credited', async () => {
    const { lineId } = await newLine({ fee: 3100 });
    expect((await t.http.post('/v1/orders').send({ type: 'resume', lineId }).expect(409)).body.code).toBe('line_state');
    expect((await fulfilled(t, { type: 'suspend', lineId, reason: 'Lost phone' })).status).toBe('completed');
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body).toMatchObject({ status: 'suspended', statusReason: 'Lost phone' });
    expect((await fulfilled(t, { type: 'resume', lineId })).status).toBe('completed');

    const { sims } = await stock(t, 0, { sims: 1 });
    const before = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect((await fulfilled(t, { type: 'replace_sim', lineId, iccid: sims[0] })).status).toBe('completed');
    const [oldSim] = await t.database.sql`select status from orders.sims where iccid = ${before.iccid}`;
    expect(oldSim!.status).toBe('quarantined');
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body.iccid).toBe(sims[0]);

    const later = await activePlan(t, { fee: 100 });
    const waiting = (await t.http.post('/v1/orders').send({ type: 'change_plan', lineId, planId: later.id, effective: 'next_cycle' }).expect(201)).body;
    const ended = await fulfilled(t, { type: 'terminate', lineId, reason: 'Moving abroad' });
    expect(ended.status).toBe('completed');
    expect((await t.http.get(`/v1/orders/${waiting.id}`).expect(200)).body).toMatchObject({ status: 'cancelled', reason: 'The line was terminated' });
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line).toMatchObject({ status: 'terminated', statusReason: 'Moving abroad', allowances: [] });
    const [credit] = (await charges(lineId)).filter((c) => c.orderId === ended.id);
    expect(credit).toMatchObject({ kind: 'credit' });
    const [num] = await t.database.sql`select status, quarantined_until > now() + interval '89 days' as long from orders.msisdns where msisdn = ${line.msisdn}`;
    expect(num).toEqual({ status: 'quarantined', long: true });
    expect((await t.http.post('/v1/orders').send({ type: 'suspend', lineId, reason: 'x' }).expect(409)).body.code).toBe('line_state');
    expect(await eventsOf(lineId)).toEqual(['line.activated', 'line.suspended', 'line.resumed', 'line.sim_replaced', 'line.terminated']);
  });
});
