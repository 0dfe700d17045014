/*
 * The "rate usage batch" scenario's world: LINES active postpaid lines with their plan buckets.
 * The plan, the customers and their billing accounts are made through the API; the lines and
 * buckets are written straight into the bench's throw-away database in two INSERT … SELECT
 * statements, because fulfilling 100,000 orders through the API (about 150 a second) would take
 * some eleven minutes. The rows are what fulfilment writes for a new postpaid line (orders.lines,
 * one orders.allowance_buckets row per allowance of the plan), with the plan's full allowance.
 */
import postgres from 'postgres';
import { EMBEDDED_DB_NAME } from '../../src/platform/db/open.js';
import { pgUrl } from './pgbench.js';
import { log, type BenchServer } from './server.js';
import type { UsageWorld } from './types.js';

export const LINES = 100_000;
const ACCOUNTS = 100;
/** Line n (1..LINES) has +49171 and n in seven digits: outside the orders scenario's +4917000000000 range. */
export const MSISDN_PREFIX = '+49171';
export const MSISDN_DIGITS = 7;

type Headers = Record<string, string>;

async function post<T>(baseUrl: string, headers: Headers, path: string, body?: unknown): Promise<T> {
  const { 'content-type': _, ...bare } = headers;
  const res = await fetch(`${baseUrl}${path}`, body === undefined ? { method: 'POST', headers: bare } : { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status !== 201 && res.status !== 200) throw new Error(`usage setup: POST ${path} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

export async function setupUsage(server: BenchServer, headers: Headers): Promise<UsageWorld> {
  const started = Date.now();
  const { baseUrl } = server;
  const plan = await post<{ id: string; currentVersion: { id: string } }>(baseUrl, headers, '/v1/price-plans', {
    code: 'BENCH-USAGE', name: 'Bench usage', kind: 'postpaid', recurringFee: { amount: 2999, currency: 'EUR' },
    terms: {
      allowances: { dataBytes: 21474836480, voiceSeconds: 'unlimited', smsCount: 1000 },
      rates: { data: [{ upTo: null, unitSize: 1048576, pricePerUnit: 1 }], sms: [{ upTo: null, unitSize: 1, pricePerUnit: 9 }] },
      usageCap: { behaviour: 'charge_on' },
    },
  });
  await post(baseUrl, headers, `/v1/price-plans/${plan.id}/publish`);

  const accounts: { customer_id: string; billing_account_id: string }[] = [];
  for (let i = 0; i < ACCOUNTS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, async (_, k) => {
      const customer = await post<{ id: string }>(baseUrl, headers, '/v1/customers', { type: 'individual', givenName: 'Bench', familyName: `Usage ${i + k}` });
      const account = await post<{ id: string }>(baseUrl, headers, `/v1/customers/${customer.id}/billing-accounts`, { type: 'postpaid', currency: 'EUR', billCycleDay: 1 });
      accounts.push({ customer_id: customer.id, billing_account_id: account.id });
    }));
  }
  const api = Date.now();

  const sql = postgres(pgUrl({ port: server.pgPort, password: server.pgPassword, dataDir: server.dataDir }, EMBEDDED_DB_NAME), { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      // Bill-cycle day 1: this calendar month (UTC) is the cycle; activated a minute ago, as a line
      // fulfilled now would be (its plan buckets valid from activation to the cycle's end).
      await tx`
        insert into orders.lines (id, customer_id, billing_account_id, kind, currency, msisdn, iccid, plan_id, plan_version_id, status,
          bill_cycle_day, cycle_start, cycle_end, activated_at, order_id)
        select gen_random_uuid(), a.customer_id, a.billing_account_id, 'postpaid', 'EUR', ${MSISDN_PREFIX} || lpad(n::text, ${MSISDN_DIGITS}, '0'),
          '8949' || lpad(n::text, 14, '0'), ${plan.id}::uuid, ${plan.currentVersion.id}::uuid, 'active', 1,
          date_trunc('month', now() at time zone 'UTC') at time zone 'UTC',
          (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC',
          now() - interval '1 minute', gen_random_uuid()
        from generate_series(1, ${LINES}) as n
        join json_to_recordset(${JSON.stringify(accounts.map((a, i) => ({ ...a, i })))}::text::json) as a(i int, customer_id uuid, billing_account_id uuid)
          on a.i = n % ${ACCOUNTS}`;
      await tx`
        insert into orders.allowance_buckets (id, line_id, line_add_on_id, usage_type, zone, total, used, valid_from, valid_until)
        select gen_random_uuid(), l.id, null, b.usage_type, 'home', b.total, 0, l.activated_at, l.cycle_end
        from orders.lines l
        cross join (values ('data', 21474836480::bigint), ('voice', null), ('sms', 1000)) as b(usage_type, total)
        where l.plan_id = ${plan.id}::uuid`;
    });
    // A long-lived table is vacuumed (hint bits set, tuples frozen) by autovacuum: the rows seeded a
    // second ago would otherwise make the first pass over them pay for that.
    await sql`vacuum (freeze, analyze) orders.lines, orders.allowance_buckets`;
    const [{ lines, buckets }] = await sql<{ lines: number; buckets: number }[]>`
      select (select count(*)::int from orders.lines where plan_id = ${plan.id}::uuid) as lines,
        (select count(*)::int from orders.allowance_buckets b join orders.lines l on l.id = b.line_id where l.plan_id = ${plan.id}::uuid) as buckets`;
    if (lines !== LINES || buckets !== 3 * LINES) throw new Error(`usage setup: seeded ${lines} lines and ${buckets} buckets, expected ${LINES} and ${3 * LINES}`);
  } finally {
    await sql.end();
  }
  log(`usage setup: plan and ${ACCOUNTS} postpaid accounts through the API in ${((api - started) / 1000).toFixed(1)} s, `
    + `${LINES} lines and ${3 * LINES} buckets in SQL in ${((Date.now() - api) / 1000).toFixed(1)} s`);
  return { lines: LINES, msisdnPrefix: MSISDN_PREFIX, msisdnDigits: MSISDN_DIGITS };
}
