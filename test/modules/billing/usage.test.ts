import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activeAddOn, activePlan, customerWithAccount, fulfilled, stock } from '../orders/fixtures.js';

let t: TestApp;
let mediation: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  mediation = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['usage:ingest'] }));
});
afterAll(async () => { await t.close(); });

const MiB = 1024 ** 2;
const GiB = 1024 * MiB;
let seq = 0;
const record = (msisdn: string, over: Record<string, unknown> = {}) => ({
  recordId: `cdr-${process.pid}-${++seq}`, msisdn, usageType: 'data', zone: 'home', quantity: MiB, startedAt: new Date().toISOString(), ...over,
});
const ingest = (records: unknown[]) => mediation.post('/v1/usage/batches').send({ records });

/** A prepaid line on a plan with 5 GiB of home data, data at 1 cent per MiB after it, and a 2 GiB EU roaming pack. */
async function prepaidLine() {
  const plan = await activePlan(t, { kind: 'prepaid', fee: 1000, dataGiB: 5 });
  const roaming = await activeAddOn(t, { zone: 'roaming-eu', fee: 0 });
  await stock(t, 1);
  const { accountId } = await customerWithAccount(t, 'prepaid');
  const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id, addOnIds: [roaming.id] });
  const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
  await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `rc-${accountId}`).send({ amount: { amount: 2000, currency: 'EUR' } }).expect(201);
  return { lineId: line.id as string, msisdn: line.msisdn as string, accountId };
}
const balance = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/balance`).expect(200)).body.amount;
const buckets = async (lineId: string) => Object.fromEntries((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body.allowances
  .filter((b: { usageType: string }) => b.usageType === 'data').map((b: { zone: string; used: number }) => [b.zone, b.used]));

describe('usage rating', () => {
  it('eats the roaming pack, then the plan allowance, then money; a batch sent twice is charged once', async () => {
    const { lineId, msisdn, accountId } = await prepaidLine();
    const batch = [
      record(msisdn, { zone: 'roaming-eu', quantity: 1.5 * GiB }),
      record(msisdn, { zone: 'roaming-eu', quantity: GiB }), // 0.5 GiB over the pack: charged at the plan's rate
      record(msisdn, { quantity: 6 * GiB }), // 5 GiB from the plan, 1 GiB charged
    ];
    const first = (await ingest(batch).expect(200)).body;
    expect(first).toMatchObject({ received: 3, duplicates: 0, rated: 3, rejected: 0, charges: [{ billingAccountId: accountId, amount: 512 + 1024, unpaid: 0, currency: 'EUR' }] });
    expect(await buckets(lineId)).toEqual({ 'roaming-eu': 2 * GiB, home: 5 * GiB });
    expect(await balance(accountId)).toBe(2000 - 1536);

    const again = (await ingest(batch).expect(200)).body;
    expect(again).toMatchObject({ received: 3, duplicates: 3, rated: 0, charges: [] });
    expect(await balance(accountId)).toBe(464);
    const rows = await t.database.sql`select chargeable::float8, amount::float8 as amount from billing.usage_records where line_id = ${lineId} order by started_at, record_id`;
    expect(rows.map((r) => r.amount).reduce((a, b) => a + b, 0)).toBe(1536);
    const events = await t.database.sql`select payload->>'percent' as percent from platform.events where aggregate_id = ${lineId} and type = 'allowance.threshold_reached' order by id`;
    expect(events.map((e) => e.percent)).toEqual(['80', '100', '80', '100']);
    const ledger = (await t.http.get(`/v1/billing-accounts/${accountId}/ledger/reconciliation`).expect(200)).body;
    expect(ledger.consistent).toBe(true);
  });

  it('usage the balance cannot cover is taken as far as it goes, the rest reported, and the line barred', async () => {
    const { lineId, msisdn, accountId } = await prepaidLine();
    await ingest([record(msisdn, { quantity: 5 * GiB })]).expect(200); // the whole allowance
    const res = (await ingest([record(msisdn, { quantity: 3 * GiB })]).expect(200)).body; // 3072 owed, 2000 on the balance
    expect(res.charges).toEqual([{ billingAccountId: accountId, amount: 2000, unpaid: 1072, currency: 'EUR' }]);
    expect(await balance(accountId)).toBe(0);
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line).toMatchObject({ status: 'barred', statusReason: 'The prepaid balance does not cover the usage' });
    const [unpaid] = await t.database.sql`select payload->'owed'->>'amount' as owed from platform.events where aggregate_id = ${accountId} and type = 'usage.unpaid'`;
    expect(unpaid!.owed).toBe('1072');
    // The rest is a debt: the next recharge lifts the bar and the collection job takes it.
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `debt-${accountId}`).send({ amount: { amount: 3000, currency: 'EUR' } }).expect(201);
    await t.runJobs();
    await t.database.sql`select graphile_worker.add_job('billing.collect_prepaid_charges', '{}'::json)`;
    await t.runJobs();
    expect(await balance(accountId)).toBe(3000 - 1000 - 1072); // the plan fee the line's order left to collect, and the debt
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body.status).toBe('active');
  });

  it('a record that would cost more than an amount holds exactly is kept in the rejected queue; the rest of its batch is rated', async () => {
    const terms = { allowances: { dataBytes: 0, voiceSeconds: 0, smsCount: 0 }, rates: { data: [{ upTo: null, unitSize: 1, pricePerUnit: 1000 }] }, usageCap: { behaviour: 'charge_on' } };
    const plan = (await t.http.post('/v1/price-plans').send({ code: `DEAR${process.pid}`, name: 'Dear bytes', kind: 'postpaid', recurringFee: { amount: 0, currency: 'EUR' }, terms }).expect(201)).body;
    await t.http.post(`/v1/price-plans/${plan.id}/publish`).expect(200);
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'postpaid', 1);
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const { msisdn } = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    const wrong = record(msisdn, { quantity: 1e13 });
    expect((await ingest([wrong, record(msisdn, { quantity: 1000 })]).expect(200)).body).toMatchObject({ rated: 1, rejected: 1 });
    const [{ n }] = await t.database.sql`select count(*)::int as n from billing.usage_records where line_id = ${order.lineId}`;
    expect(n).toBe(1);
    const rejected = (await mediation.get('/v1/usage/rejected?limit=5').expect(200)).body.items;
    expect(rejected.find((r: { recordId: string }) => r.recordId === wrong.recordId)).toMatchObject({ reason: 'charge_out_of_range' });
  });

  it('keeps records it cannot rate, with the reason: unknown line, late, future', async () => {
    const { msisdn, lineId } = await prepaidLine();
    await t.database.sql`update orders.lines set activated_at = '2019-01-01T00:00:00Z' where id = ${lineId}`;
    const res = (await ingest([
      record('+999000111222'),
      record(msisdn, { startedAt: '2020-01-01T00:00:00Z' }),
      record(msisdn, { startedAt: new Date(Date.now() + 3_600_000).toISOString() }),
      record(msisdn),
    ]).expect(200)).body;
    expect(res).toMatchObject({ rated: 1, rejected: 3 });
    const rejected = (await mediation.get('/v1/usage/rejected?limit=3').expect(200)).body.items;
    expect(rejected.map((r: { reason: string }) => r.reason).sort()).toEqual(['future_record', 'late_record', 'unknown_line']);
    expect(rejected.find((r: { reason: string }) => r.reason === 'unknown_line').record.msisdn).toBe('+999000111222');
  });

  it('a record from before the line was activated belongs to an earlier holder of the number: not this line', async () => {
    const { msisdn } = await prepaidLine();
    const res = (await ingest([record(msisdn, { startedAt: new Date(Date.now() - 3_600_000).toISOString() })]).expect(200)).body;
    expect(res).toMatchObject({ rated: 0, rejected: 1 });
  });

  it('an operator re-rates a rejected record: audited, rated once, and a still-unknown line goes back to the queue', async () => {
    const { msisdn, lineId } = await prepaidLine();
    await t.database.sql`update orders.lines set activated_at = now() - interval '100 days' where id = ${lineId}`;
    const late = record(msisdn, { startedAt: new Date(Date.now() - 40 * 86_400_000).toISOString(), quantity: 10 * MiB });
    const unknown = record('+999000333444');
    await ingest([late, unknown]).expect(200);
    const queue = (await mediation.get('/v1/usage/rejected?limit=200').expect(200)).body.items;
    const lateRow = queue.find((r: { recordId: string }) => r.recordId === late.recordId);
    const unknownRow = queue.find((r: { recordId: string }) => r.recordId === unknown.recordId);
    await mediation.post(`/v1/usage/rejected/${lateRow.id}/rerate`).expect(403);
    const res = (await t.http.post(`/v1/usage/rejected/${lateRow.id}/rerate`).expect(200)).body;
    expect(res).toMatchObject({ recordId: late.recordId, rated: 1, rejected: 0 });
    await t.http.post(`/v1/usage/rejected/${lateRow.id}/rerate`).expect(404);
    const [rated] = await t.database.sql`select count(*)::int as n from billing.usage_records where record_id = ${late.recordId} and line_id = ${lineId}`;
    expect(rated!.n).toBe(1);
    const [audited] = await t.database.sql`select details->>'reason' as reason from platform.audit_log where action = 'usage.rerated' and entity_id = ${late.recordId}`;
    expect(audited!.reason).toBe('late_record');
    expect((await t.http.post(`/v1/usage/rejected/${unknownRow.id}/rerate`).expect(200)).body).toMatchObject({ rated: 0, rejected: 1 });
    const again = (await mediation.get('/v1/usage/rejected?limit=200').expect(200)).body.items.filter((r: { recordId: string }) => r.recordId === unknown.recordId);
    expect(again).toHaveLength(1);
  });

  it('postpaid usage is rated and kept for the bill run, not debited; bad input and callers are refused', async () => {
    const plan = await activePlan(t, { kind: 'postpaid', dataGiB: 1 });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'postpaid');
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    const res = (await ingest([record(line.msisdn, { quantity: 2 * GiB })]).expect(200)).body;
    expect(res).toMatchObject({ rated: 1, charges: [] });
    const [row] = await t.database.sql`select amount::float8 as amount, billed_at from billing.usage_records where line_id = ${line.id}`;
    expect(row!.amount).toBeGreaterThan(0);
    expect(row!.billed_at).toBeNull();

    expect((await ingest([]).expect(400)).body.code).toBe('validation_failed');
    expect((await ingest([record(line.msisdn, { quantity: -1 })]).expect(400)).body.code).toBe('validation_failed');
    // The largest record a batch accepts, past the allowance, is stored and priced, not a server error.
    expect((await ingest([record(line.msisdn, { quantity: 10 ** 13 })]).expect(200)).body.rated).toBe(1);
    expect((await ingest([record(line.msisdn, { usageType: 'fax' })]).expect(400)).body.code).toBe('validation_failed');
    await anon(t).post('/v1/usage/batches').send({ records: [record(line.msisdn)] }).expect(401);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/usage/batches').send({ records: [record(line.msisdn)] }).expect(403);
  });

  it('two batches with the same records at once rate them once', async () => {
    const { msisdn, accountId } = await prepaidLine();
    const batch = Array.from({ length: 20 }, () => record(msisdn, { quantity: 300 * MiB }));
    const results = await Promise.all([ingest(batch), ingest(batch), ingest(batch)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.body.rated).reduce((a, b) => a + b, 0)).toBe(20);
    // 6000 MiB: 5120 from the plan, 880 MiB charged at 1 cent.
    expect(await balance(accountId)).toBe(2000 - 880);
  });

  it('a large batch is rated in parts by number: sent three times at once, every record counts once; record ids are kept as sent', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 0, dataGiB: 5 });
    await stock(t, 4);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    const lines = [];
    for (let i = 0; i < 4; i++) lines.push((await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id })).lineId as string);
    const msisdns = await Promise.all(lines.map(async (id) => (await t.http.get(`/v1/lines/${id}`).expect(200)).body.msisdn as string));
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `rc-parts-${accountId}`).send({ amount: { amount: 20_000, currency: 'EUR' } }).expect(201);
    // 400 records of 20 MiB a line: 8000 MiB, of which 2880 MiB past the plan's 5 GiB, at 1 cent each.
    const odd = ['tab\there', 'back\\slash', 'new\nline', 'ünïcødé "quoted"'];
    const batch = Array.from({ length: 1600 }, (_, i) => record(msisdns[i % 4]!, { quantity: 20 * MiB, ...(i < odd.length ? { recordId: `${odd[i]}-${process.pid}-${seq}` } : {}) }));
    const results = await Promise.all([ingest(batch), ingest(batch), ingest(batch)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.body.rated).reduce((a, b) => a + b, 0)).toBe(1600);
    expect(results.map((r) => r.body.duplicates).reduce((a, b) => a + b, 0)).toBe(3200);

    const usage = await t.database.sql`select count(*)::int as n, sum(amount)::float8 as amount from billing.ledger_entries where billing_account_id = ${accountId} and type = 'usage'`;
    expect(usage[0]!.amount).toBe(-4 * 2880);
    expect(usage[0]!.n).toBeGreaterThan(1); // one debit per part of the batch with the account's lines in it
    expect(await balance(accountId)).toBe(20_000 - 4 * 2880);
    expect((await t.http.get(`/v1/billing-accounts/${accountId}/ledger/reconciliation`).expect(200)).body.consistent).toBe(true);
    const kept = await t.database.sql`select record_id from billing.usage_records where record_id = any(${batch.slice(0, odd.length).map((r) => r.recordId)})`;
    expect(kept.map((r) => r.record_id).sort()).toEqual(batch.slice(0, odd.length).map((r) => r.recordId).sort());
  });
});

describe('usage limits', () => {
  async function postpaidLine(usageCap: Record<string, unknown>) {
    const plan = await activePlan(t, { kind: 'postpaid', dataGiB: 1, usageCap });
    await stock(t, 1);
    const { accountId, customerId } = await customerWithAccount(t, 'postpaid');
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
    const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
    return { lineId: line.id as string, msisdn: line.msisdn as string, customerId };
  }
  const lineOf = async (id: string) => (await t.http.get(`/v1/lines/${id}`).expect(200)).body;
  const capEvents = async (lineId: string) => (await t.database.sql`select payload->>'cap' as cap from platform.events where aggregate_id = ${lineId} and type = 'usage.cap_reached'`).map((e) => e.cap);

  it('a plan that blocks bars the line when its allowance is used up, and charges nothing past it', async () => {
    const { lineId, msisdn } = await postpaidLine({ behaviour: 'block' });
    await ingest([record(msisdn, { quantity: 2 * GiB })]).expect(200);
    expect(await lineOf(lineId)).toMatchObject({ status: 'barred', restriction: 'usage_cap' });
    const [row] = await t.database.sql`select amount::float8 as amount from billing.usage_records where line_id = ${lineId}`;
    expect(row!.amount).toBe(0);
    await ingest([record(msisdn, { quantity: GiB })]).expect(200);
    expect(await capEvents(lineId)).toEqual(['allowance']);
  });

  it('a plan that throttles slows the line instead', async () => {
    const { lineId, msisdn } = await postpaidLine({ behaviour: 'throttle', throttleKbps: 128 });
    await ingest([record(msisdn, { quantity: 2 * GiB })]).expect(200);
    expect(await lineOf(lineId)).toMatchObject({ status: 'active', restriction: 'usage_cap', throttleKbps: 128 });
    const events = await t.database.sql`select type from platform.events where aggregate_id = ${lineId} and type = 'line.throttled'`;
    expect(events).toHaveLength(1);
  });

  it('a spend cap charges up to the cap, bars the line, and the next cycle lifts it', async () => {
    const { lineId, msisdn, customerId } = await postpaidLine({ behaviour: 'charge_on' });
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await me.put(`/v1/lines/${lineId}/spend-caps/customer`).send({ amount: 2000, currency: 'EUR' }).expect(200);
    expect((await me.put(`/v1/lines/${lineId}/spend-caps/operator`).send({ amount: 1, currency: 'EUR' }).expect(403)).body.code).toBe('forbidden_cap');
    await t.http.put(`/v1/lines/${lineId}/spend-caps/operator`).send({ amount: 1500, currency: 'EUR' }).expect(200);
    expect((await me.get(`/v1/lines/${lineId}/spend-caps`).expect(200)).body.items).toHaveLength(2);
    // 1 GiB allowance, then 2 GiB at 1 cent per MiB = 2048, capped by the operator's 1500.
    await ingest([record(msisdn, { quantity: 3 * GiB })]).expect(200);
    const [row] = await t.database.sql`select amount::float8 as amount from billing.usage_records where line_id = ${lineId}`;
    expect(row!.amount).toBe(1500);
    expect(await lineOf(lineId)).toMatchObject({ status: 'barred', restriction: 'spend_cap' });
    expect(await capEvents(lineId)).toEqual(['spend_cap']);

    await t.database.sql`update orders.lines set cycle_start = now() - interval '31 days', cycle_end = now() - interval '1 second' where id = ${lineId}`;
    await t.database.sql`select graphile_worker.add_job('orders.renew_cycles', '{}'::json)`;
    await t.runJobs();
    expect(await lineOf(lineId)).toMatchObject({ status: 'active', restriction: null });

    // A terminated line runs up nothing more: no cap is set on it.
    await fulfilled(t, { type: 'terminate', lineId, reason: 'Moving abroad' });
    const ended = await t.http.put(`/v1/lines/${lineId}/spend-caps/operator`).send({ amount: 900, currency: 'EUR' }).expect(409);
    expect(ended.body.code).toBe('line_terminated');
  });

  it('raising or removing the cap above what the cycle cost lets the line run again', async () => {
    const { lineId, msisdn } = await postpaidLine({ behaviour: 'charge_on' });
    await t.http.put(`/v1/lines/${lineId}/spend-caps/operator`).send({ amount: 100, currency: 'EUR' }).expect(200);
    await ingest([record(msisdn, { quantity: 2 * GiB })]).expect(200);
    expect(await lineOf(lineId)).toMatchObject({ status: 'barred', restriction: 'spend_cap' });
    await t.http.put(`/v1/lines/${lineId}/spend-caps/operator`).send({ amount: 100, currency: 'EUR' }).expect(200);
    expect((await lineOf(lineId)).status).toBe('barred'); // the cycle has cost 100: still at the cap
    await t.http.delete(`/v1/lines/${lineId}/spend-caps/operator`).expect(204);
    expect(await lineOf(lineId)).toMatchObject({ status: 'active', restriction: null });
  });

  it('a recharge lifts a bar for an empty balance', async () => {
    const { lineId, msisdn, accountId } = await prepaidLine();
    await ingest([record(msisdn, { quantity: 8 * GiB })]).expect(200);
    expect(await lineOf(lineId)).toMatchObject({ status: 'barred', restriction: 'balance' });
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `lift-${accountId}`).send({ amount: { amount: 500, currency: 'EUR' } }).expect(201);
    await t.runJobs();
    expect(await lineOf(lineId)).toMatchObject({ status: 'active', restriction: null });
  });
});

describe('prepaid charges', () => {
  const collect = async () => {
    await t.database.sql`select graphile_worker.add_job('billing.collect_prepaid_charges', '{}'::json)`;
    await t.runJobs();
  };

  it('plan fees and packs are taken from the balance once; a fee it cannot pay bars the line until a recharge', async () => {
    const plan = await activePlan(t, { kind: 'prepaid', fee: 1500 });
    const pack = await activeAddOn(t, { fee: 400 });
    await stock(t, 1);
    const { accountId } = await customerWithAccount(t, 'prepaid');
    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `pc-${accountId}`).send({ amount: { amount: 1000, currency: 'EUR' } }).expect(201);
    const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id, addOnIds: [pack.id] });
    await collect();
    // 1000 on the balance: the pack (400) is taken, the plan fee (1500) is not and bars the line.
    const ledger = (await t.http.get(`/v1/billing-accounts/${accountId}/ledger`).expect(200)).body.items;
    expect(ledger.map((e: { type: string; amount: number }) => [e.type, e.amount])).toEqual([['fee', -400], ['recharge', 1000]]);
    expect((await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body).toMatchObject({ status: 'barred', restriction: 'balance' });

    await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `pc2-${accountId}`).send({ amount: { amount: 2000, currency: 'EUR' } }).expect(201);
    await t.runJobs();
    await collect();
    await collect();
    expect(await balance(accountId)).toBe(1000 - 400 + 2000 - 1500);
    expect((await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body).toMatchObject({ status: 'active', restriction: null });
    const [open] = await t.database.sql`select count(*)::int as n from orders.charge_lines where line_id = ${order.lineId} and billed_at is null`;
    expect(open!.n).toBe(0);
  });
});

describe('usage record ids', () => {
  it('are forgotten after the retention, when a record sent again would be refused as late anyway', async () => {
    const { msisdn } = await prepaidLine();
    const old = record(msisdn);
    const recent = record(msisdn);
    await ingest([old, recent]).expect(200);
    await t.database.sql`update billing.usage_record_ids set received_at = now() - interval '101 days' where record_id = ${old.recordId}`;
    await t.database.sql`select graphile_worker.add_job('billing.forget_usage_ids', '{}'::json)`;
    await t.runJobs();
    const kept = (await t.database.sql`select record_id from billing.usage_record_ids where record_id = any(${[old.recordId, recent.recordId]}::text[])`).map((r) => r.record_id);
    expect(kept).toEqual([recent.recordId]);
    // The forgotten one, sent again months later, started before any open cycle: refused, not charged.
    const again = (await ingest([{ ...old, startedAt: new Date(Date.now() - 101 * 86_400_000).toISOString() }]).expect(200)).body;
    expect(again).toMatchObject({ duplicates: 0, rated: 0, rejected: 1 });
    // Nor by hand: nothing tells it from a copy rated long ago.
    const [queued] = await t.database.sql`select id from billing.rejected_usage where record_id = ${old.recordId}`;
    expect((await t.http.post(`/v1/usage/rejected/${queued!.id}/rerate`).expect(409)).body.code).toBe('record_beyond_dedupe');
  });
});

describe('records around the cycle boundary', () => {
  it('a record from the last hours of the previous cycle is rated on its own time\'s buckets; an older one waits', async () => {
    const { msisdn, lineId } = await prepaidLine();
    const [line] = await t.database.sql`select cycle_start from orders.lines where id = ${lineId}`;
    // The line was active before this cycle, and its old plan bucket ran until the boundary.
    await t.database.sql`update orders.lines set activated_at = ${line!.cycle_start}::timestamptz - interval '40 days' where id = ${lineId}`;
    await t.database.sql`insert into orders.allowance_buckets (id, line_id, usage_type, zone, total, used, valid_from, valid_until)
      values (gen_random_uuid(), ${lineId}, 'data', 'home', ${100 * MiB}, 0, ${line!.cycle_start}::timestamptz - interval '30 days', ${line!.cycle_start}::timestamptz)`;
    const at = (hoursBefore: number) => new Date(new Date(line!.cycle_start).getTime() - hoursBefore * 3_600_000).toISOString();
    const res = (await ingest([record(msisdn, { startedAt: at(2), quantity: 50 * MiB }), record(msisdn, { startedAt: at(7) })]).expect(200)).body;
    expect(res).toMatchObject({ rated: 1, rejected: 1, charges: [] });
    const [old] = await t.database.sql`select used::float8 from orders.allowance_buckets where line_id = ${lineId} and valid_until = ${line!.cycle_start}::timestamptz`;
    expect(old!.used).toBe(50 * MiB);
  });
});
