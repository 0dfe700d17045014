/*
 * The "place new-line order" scenario's world, built through the HTTP API like any operator would:
 * a published postpaid plan, POOL numbers and SIMs, one customer with a postpaid billing account.
 * Every accepted order reserves one number and one SIM, so the load is capped at POOL requests.
 */
import { log } from './server.js';

export const POOL = 100_000;
const SIM_BATCH = 25_000; // 4 requests of about 2.3 MB (the import limit is 100,000 rows / 16 MiB)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Headers = Record<string, string>;

async function post<T>(baseUrl: string, headers: Headers, path: string, body?: unknown): Promise<T> {
  // A body-less POST must not announce JSON (Fastify refuses an empty JSON body).
  const { 'content-type': _, ...bare } = headers;
  const res = await fetch(`${baseUrl}${path}`, body === undefined ? { method: 'POST', headers: bare } : { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status !== 201 && res.status !== 200) throw new Error(`orders setup: POST ${path} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

export interface OrdersWorld { billingAccountId: string; planId: string; body: string }

export async function setupOrders(baseUrl: string, headers: Headers): Promise<OrdersWorld> {
  const started = Date.now();
  const plan = await post<{ id: string }>(baseUrl, headers, '/v1/price-plans', {
    code: 'BENCH-L', name: 'Bench L', kind: 'postpaid', recurringFee: { amount: 2999, currency: 'EUR' },
    terms: { allowances: { dataBytes: 21474836480, voiceSeconds: 'unlimited', smsCount: 1000 }, rates: {}, usageCap: { behaviour: 'block' } },
  });
  await post(baseUrl, headers, `/v1/price-plans/${plan.id}/publish`);

  const last = String(4917000000000 + POOL - 1);
  await post(baseUrl, headers, '/v1/inventory/msisdns/import', { ranges: [{ from: '+4917000000000', to: `+${last}`, category: 'standard' }] });
  for (let from = 0; from < POOL; from += SIM_BATCH) {
    const items = Array.from({ length: Math.min(SIM_BATCH, POOL - from) }, (_, k) => {
      const n = from + k;
      return { iccid: `8949${String(n).padStart(15, '0')}`, imsi: `262019${String(n).padStart(9, '0')}`, puk: String(10_000_000 + n) };
    });
    await post(baseUrl, headers, '/v1/inventory/sims/import', { items });
  }

  const customer = await post<{ id: string }>(baseUrl, headers, '/v1/customers', { type: 'individual', givenName: 'Bench', familyName: 'Orders' });
  const account = await post<{ id: string }>(baseUrl, headers, `/v1/customers/${customer.id}/billing-accounts`, { type: 'postpaid', currency: 'EUR', billCycleDay: 1 });
  const body = JSON.stringify({ type: 'new_line', billingAccountId: account.id, planId: plan.id });
  // One order by hand: a setup that the load would only reject (all 4xx) fails here, with the reason.
  await post(baseUrl, headers, '/v1/orders', JSON.parse(body));
  log(`orders setup: plan, ${POOL} numbers, ${POOL} SIMs, customer and billing account in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { billingAccountId: account.id, planId: plan.id, body };
}

async function anyOrder(baseUrl: string, headers: Headers, status: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/v1/orders?status=${status}&limit=1`, { headers });
  if (res.status !== 200) throw new Error(`GET /v1/orders answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { items: unknown[] }).items.length > 0;
}

/**
 * The server's in-process worker fulfils the accepted orders during and after the load. Wait until
 * none is left (so it does not eat into the pgbench floor), and say how long that took.
 */
export async function waitForFulfilment(baseUrl: string, headers: Headers, deadlineSec: number) {
  const started = Date.now();
  const pending = async () => (await anyOrder(baseUrl, headers, 'acknowledged')) || (await anyOrder(baseUrl, headers, 'in_progress'));
  while (await pending()) {
    if (Date.now() - started > deadlineSec * 1000) {
      log(`orders: fulfilment backlog not drained after ${deadlineSec} s; going on (the floor below is measured beside it)`);
      return;
    }
    await sleep(500);
  }
  log(`orders: fulfilment backlog drained ${((Date.now() - started) / 1000).toFixed(1)} s after the load${(await anyOrder(baseUrl, headers, 'failed')) ? '; some orders FAILED' : ', no order failed'}`);
}
