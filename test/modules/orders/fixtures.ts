import type { TestApp } from '../../support/app.js';

const GiB = 1024 ** 3;
let seq = 0;
const code = (prefix: string) => `${prefix}-${process.pid % 1000}-${++seq}`;

export const planTerms = (dataGiB: number | 'unlimited' = 5, usageCap: Record<string, unknown> = { behaviour: 'charge_on' }) => ({
  allowances: { dataBytes: dataGiB === 'unlimited' ? 'unlimited' : dataGiB * GiB, voiceSeconds: 'unlimited', smsCount: 500 },
  rates: { data: [{ upTo: null, unitSize: 1024 ** 2, pricePerUnit: 1 }] },
  usageCap,
});

/** An active plan; returns its id and code. */
export async function activePlan(t: TestApp, over: { kind?: 'prepaid' | 'postpaid'; fee?: number; dataGiB?: number | 'unlimited'; currency?: string; usageCap?: Record<string, unknown> } = {}) {
  const body = {
    code: code('PLAN'), name: 'Plan', kind: over.kind ?? 'postpaid',
    recurringFee: { amount: over.fee ?? 3100, currency: over.currency ?? 'EUR' }, terms: planTerms(over.dataGiB, over.usageCap),
  };
  const plan = (await t.http.post('/v1/price-plans').send(body).expect(201)).body;
  await t.http.post(`/v1/price-plans/${plan.id}/publish`).expect(200);
  return { id: plan.id as string, code: body.code, versionId: plan.currentVersion.id as string };
}

/** An active add-on; one-off packs last `validityHours`, recurring ones the cycle. */
export async function activeAddOn(t: TestApp, over: { kind?: 'one_off' | 'recurring'; fee?: number; zone?: string; compatiblePlans?: string[]; exclusiveGroup?: string | null; validityHours?: number } = {}) {
  const kind = over.kind ?? 'one_off';
  const body = {
    code: code('PACK'), name: 'Pack', kind, fee: { amount: over.fee ?? 500, currency: 'EUR' },
    terms: {
      allowances: { dataBytes: 2 * GiB }, zone: over.zone ?? 'home', compatiblePlans: over.compatiblePlans ?? [], exclusiveGroup: over.exclusiveGroup ?? null,
      ...(kind === 'one_off' ? { validityHours: over.validityHours ?? 168 } : {}),
    },
  };
  const addOn = (await t.http.post('/v1/add-ons').send(body).expect(201)).body;
  await t.http.post(`/v1/add-ons/${addOn.id}/publish`).expect(200);
  return { id: addOn.id as string, code: body.code };
}

let numbers = 0;
/** `count` fresh numbers (of a category) and SIMs in the pools. */
export async function stock(t: TestApp, count: number, opts: { category?: string; sims?: number } = {}) {
  const base = 4915100000000 + (++numbers) * 100_000 + (process.pid % 100) * 1000;
  if (count) await t.http.post('/v1/inventory/msisdns/import').send({ ranges: [{ from: `+${base}`, to: `+${base + count - 1}`, category: opts.category ?? 'standard' }] }).expect(201);
  const sims = Array.from({ length: opts.sims ?? count }, (_, i) => ({
    iccid: `8949${String(base).slice(-8)}${String(i).padStart(6, '0')}`, imsi: `26${String(numbers).padStart(4, '0')}${String(process.pid % 1000).padStart(3, '0')}${String(i).padStart(6, '0')}`, puk: '12345678',
  }));
  if (sims.length) await t.http.post('/v1/inventory/sims/import').send({ items: sims }).expect(201);
  return { firstNumber: `+${base}`, sims: sims.map((s) => s.iccid) };
}

export async function customerWithAccount(t: TestApp, type: 'prepaid' | 'postpaid' = 'postpaid', billCycleDay = 1) {
  const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Ada', familyName: 'Line' }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`)
    .send({ type, currency: 'EUR', ...(type === 'postpaid' ? { billCycleDay } : {}) }).expect(201)).body;
  return { customerId: customer.id as string, accountId: account.id as string };
}

/** Places an order, runs the worker, and returns the order as it ended. */
export async function fulfilled(t: TestApp, body: Record<string, unknown>) {
  const placed = await t.http.post('/v1/orders').send(body).expect(201);
  await t.runJobs();
  return (await t.http.get(`/v1/orders/${placed.body.id}`).expect(200)).body;
}

/** Moves a line's cycle end (and what was scheduled for it) to a second ago and renews it, as a test cannot wait a month. */
export async function reachCycleEnd(t: TestApp, lineId: string, orderIds: string[] = []) {
  const boundary = new Date(Date.now() - 1000).toISOString();
  await t.database.sql`update orders.lines set cycle_start = ${boundary}::timestamptz - interval '30 days', cycle_end = ${boundary}::timestamptz where id = ${lineId}`;
  await t.database.sql`update orders.orders set scheduled_for = ${boundary}::timestamptz where id = any(${orderIds}::uuid[])`;
  await t.database.sql`update orders.allowance_buckets set valid_from = ${boundary}::timestamptz - interval '30 days', valid_until = ${boundary}::timestamptz where line_id = ${lineId}`;
  await t.database.sql`update orders.line_add_ons set starts_at = ${boundary}::timestamptz - interval '30 days', expires_at = ${boundary}::timestamptz where line_id = ${lineId} and kind = 'recurring'`;
  await t.database.sql`select graphile_worker.add_job('orders.renew_cycles', '{}'::json)`;
  await t.runJobs();
}
