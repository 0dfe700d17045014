/*
 * The "customer 360 view" scenario's world: CUSTOMERS customers, each with a phone, half with an
 * SMS consent, one billing account (7 in 10 prepaid with a balance and its ledger entry, the rest
 * postpaid with last month's invoice, a third of them still open and some of those overdue), one
 * active line on a plan (3 in 10 with an active pack) and its orders; a third have tickets (a
 * resolved one; every second of those an open one measured by an SLA policy; one in ten of those a
 * third, recurring), half an interaction, one in a hundred are affected by an open incident and
 * one in a hundred has an account locked out of voucher redemption.
 *
 * The catalog (two plans, a pack), the SLA calendar and policy and the incident are made through
 * the API; the rest is written straight into the bench's throw-away database, as usage.ts does for
 * its lines: 100,000 customers through the API would take minutes and measure the create path, not
 * the view. The rows are what the modules would have written (ids time-ordered UUIDs, every check
 * and foreign key satisfied); then the tables are vacuumed and analysed, as a long-lived database's
 * would be.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { EMBEDDED_DB_NAME } from '../../src/platform/db/open.js';
import { pgUrl } from './pgbench.js';
import { log, type BenchServer } from './server.js';

export const CUSTOMERS = Number(process.env.BENCH_VIEW_CUSTOMERS ?? 100_000);
const MSISDN_PREFIX = '+49173'; // outside the orders (+4917000…) and usage (+49171…) scenarios' ranges

type Headers = Record<string, string>;

async function post<T>(baseUrl: string, headers: Headers, path: string, body?: unknown): Promise<T> {
  const { 'content-type': _, ...bare } = headers;
  const res = await fetch(`${baseUrl}${path}`, body === undefined ? { method: 'POST', headers: bare } : { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status !== 201 && res.status !== 200) throw new Error(`customer view setup: POST ${path} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

type Plan = { id: string; currentVersion: { id: string } };
const planBody = (kind: 'prepaid' | 'postpaid') => ({
  code: `BENCH-VIEW-${kind.toUpperCase()}`, name: `Bench view ${kind}`, kind, recurringFee: { amount: kind === 'prepaid' ? 0 : 1999, currency: 'EUR' },
  terms: { allowances: { dataBytes: 10737418240, voiceSeconds: 'unlimited', smsCount: 500 }, rates: {}, usageCap: { behaviour: 'block' } },
});

/** `pathsFile`: every seeded customer's view path, one a line; the load picks one at random each request. */
export interface CustomerViewWorld { customers: number; pathsFile: string }

export async function setupCustomerView(server: BenchServer, headers: Headers): Promise<CustomerViewWorld> {
  const started = Date.now();
  const { baseUrl } = server;
  const prepaid = await post<Plan>(baseUrl, headers, '/v1/price-plans', planBody('prepaid'));
  const postpaid = await post<Plan>(baseUrl, headers, '/v1/price-plans', planBody('postpaid'));
  for (const p of [prepaid, postpaid]) await post(baseUrl, headers, `/v1/price-plans/${p.id}/publish`);
  const pack = await post<Plan>(baseUrl, headers, '/v1/add-ons', {
    code: 'BENCH-VIEW-ROAM', name: 'EU roaming 2 GB', kind: 'one_off', fee: { amount: 999, currency: 'EUR' },
    terms: { allowances: { dataBytes: 2147483648 }, zone: 'roaming-eu', validityHours: 168 },
  });
  await post(baseUrl, headers, `/v1/add-ons/${pack.id}/publish`);
  const calendar = await post<{ id: string }>(baseUrl, headers, '/v1/business-calendars', { name: 'Bench 24/7', calendar: { kind: '24x7' } });
  const policy = await post<{ id: string }>(baseUrl, headers, '/v1/sla-policies', {
    name: 'Bench mobile', serviceType: 'mobile', calendarId: calendar.id, firstResponseMinutes: 60, nextResponseMinutes: 240, resolutionMinutes: 1440,
  });
  const incident = await post<{ id: string }>(baseUrl, headers, '/v1/incidents', {
    title: 'Bench: mast down', severity: 'major', services: ['mobile'], areas: { cells: ['262-01-9999'] }, statusText: { en: 'Engineers on site' },
  });
  const api = Date.now();

  const sql = postgres(pgUrl({ port: server.pgPort, password: server.pgPassword, dataDir: server.dataDir }, EMBEDDED_DB_NAME), { max: 1, onnotice: () => {} });
  const pathsFile = path.join(server.dataDir, 'customer-view-paths.txt');
  try {
    await sql.begin(async (tx) => {
      // n, the customer's ids and what it has; Postgres 18's uuidv7() makes time-ordered ids as the app does.
      await tx`
        create temp table seed on commit drop as
        select n, uuidv7() as id, uuidv7() as account_id, uuidv7() as line_id, uuidv7() as order_id,
          case when n % 10 < 7 then 'prepaid' else 'postpaid' end as kind,
          case when n % 50 = 0 then 'vip' when n % 20 = 0 then 'enterprise' else 'consumer' end as segment
        from generate_series(1, ${CUSTOMERS}::int) as n`;
      await tx`
        insert into customers.customers (id, type, segment, given_name, family_name, preferred_language)
        select id, 'individual', segment, 'Bench', 'View ' || n, 'en' from seed`;
      await tx`
        insert into customers.contact_points (id, customer_id, kind, value, is_primary)
        select uuidv7(), id, 'phone', ${MSISDN_PREFIX} || lpad(n::text, 7, '0'), true from seed`;
      await tx`insert into customers.consents (customer_id, channel, granted, source) select id, 'sms', n % 3 <> 0, 'bench' from seed where n % 2 = 0`;
      await tx`
        insert into customers.billing_accounts (id, customer_id, name, type, currency, bill_cycle_day)
        select account_id, id, 'Main account', kind, 'EUR', case when kind = 'postpaid' then 1 end from seed`;
      // Prepaid: a balance that is its ledger (one recharge).
      await tx`
        insert into billing.balances (billing_account_id, customer_id, currency, amount, entries, valid_until)
        select account_id, id, 'EUR', 100 + (n * 37) % 5000, 1, now() + interval '90 days' from seed where kind = 'prepaid'`;
      await tx`
        insert into billing.ledger_entries (id, billing_account_id, seq, type, amount, currency, balance_after, ref_type, ref_id, actor)
        select uuidv7(), account_id, 1, 'recharge', 100 + (n * 37) % 5000, 'EUR', 100 + (n * 37) % 5000, 'payment', 'bench-' || n, 'staff:bench'
        from seed where kind = 'prepaid'`;
      // Postpaid: last month's invoice; two in three paid, the rest open (due dates from ten days ago to nine ahead).
      await tx`
        insert into billing.invoices (id, number, billing_account_id, customer_id, currency, period_start, period_end, tax_rate_bp, subtotal, tax, total, paid, due_at)
        select uuidv7(), 'BV-' || n, account_id, id, 'EUR',
          (date_trunc('month', now() at time zone 'UTC') - interval '1 month') at time zone 'UTC', date_trunc('month', now() at time zone 'UTC') at time zone 'UTC',
          1900, 1999, 380, 2379, case when n % 3 = 0 then 0 else 2379 end, now() + (n % 20 - 10) * interval '1 day'
        from seed where kind = 'postpaid'`;
      await tx`
        insert into orders.orders (id, type, status, customer_id, billing_account_id, line_id, items, history, placed_by, created_at, completed_at)
        select order_id, 'new_line', 'completed', id, account_id, line_id, '[]'::jsonb,
          jsonb_build_array(jsonb_build_object('status', 'acknowledged', 'at', now() - interval '1 day'), jsonb_build_object('status', 'completed', 'at', now() - interval '1 day')),
          'staff:bench', now() - interval '1 day', now() - interval '1 day'
        from seed`;
      await tx`
        insert into orders.lines (id, customer_id, billing_account_id, kind, currency, msisdn, iccid, plan_id, plan_version_id, status,
          bill_cycle_day, cycle_start, cycle_end, activated_at, order_id)
        select line_id, id, account_id, kind, 'EUR', ${MSISDN_PREFIX} || lpad(n::text, 7, '0'), '8972' || lpad(n::text, 14, '0'),
          case when kind = 'prepaid' then ${prepaid.id}::uuid else ${postpaid.id}::uuid end,
          case when kind = 'prepaid' then ${prepaid.currentVersion.id}::uuid else ${postpaid.currentVersion.id}::uuid end, 'active', 1,
          date_trunc('month', now() at time zone 'UTC') at time zone 'UTC', (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC',
          now() - interval '1 day', order_id
        from seed`;
      await tx`
        with packs as (select uuidv7() as pack_order_id, s.id, s.account_id, s.line_id from seed s where n % 10 < 3),
        placed as (
          insert into orders.orders (id, type, status, customer_id, billing_account_id, line_id, items, history, placed_by, completed_at)
          select pack_order_id, 'add_add_on', 'completed', id, account_id, line_id, '[]'::jsonb, '[]'::jsonb, 'staff:bench', now() from packs)
        insert into orders.line_add_ons (id, line_id, add_on_id, add_on_version_id, kind, status, starts_at, expires_at, order_id)
        select uuidv7(), line_id, ${pack.id}::uuid, ${pack.currentVersion.id}::uuid, 'one_off', 'active', now() - interval '1 hour', now() + interval '6 days', pack_order_id from packs`;
      // Tickets: k = 1 resolved (billing, 20 days ago), 2 open (mobile, under the SLA policy, 2 hours ago), 3 open and recurring (billing, yesterday).
      await tx`
        create temp table seed_tickets on commit drop as
        select case k when 1 then uuidv7(interval '-20 days') when 2 then uuidv7(interval '-2 hours') else uuidv7(interval '-1 day') end as id,
          s.id as customer_id, s.n, k, now() - case k when 1 then interval '20 days' when 2 then interval '2 hours' else interval '1 day' end as opened
        from seed s cross join generate_series(1, 3) as k
        where (k = 1 and n % 3 = 0) or (k = 2 and n % 6 = 0) or (k = 3 and n % 60 = 0)`;
      await tx`
        insert into service.tickets (id, number, customer_id, service_type, categorised_by, priority, channel, status, subject, language, queue,
          opened_by, recurring, sla_policy_id, created_at, updated_at, resolved_at, closed_at)
        select id, 'TB-' || n || '-' || k, customer_id, case k when 2 then 'mobile' else 'billing' end, 'caller', 'normal', 'phone',
          case k when 1 then 'closed' else 'open' end, case k when 2 then 'No signal at home' else 'Invoice question' end, 'en', case k when 2 then 'mobile' else 'billing' end,
          'staff:bench', k = 3, case k when 2 then ${policy.id}::uuid end, opened, opened,
          case k when 1 then opened + interval '1 day' end, case k when 1 then opened + interval '8 days' end
        from seed_tickets`;
      await tx`
        insert into service.ticket_history (id, ticket_id, status, actor, at)
        select uuidv7(), t.id, h.status, 'staff:bench', t.opened + h.after
        from seed_tickets t cross join lateral (values ('new', interval '0'), ('open', interval '10 minutes'), ('resolved', interval '1 day'), ('closed', interval '8 days')) as h(status, after)
        where t.k = 1 or h.status in ('new', 'open')`;
      await tx`
        insert into service.interactions (id, customer_id, channel, direction, started_at, duration_seconds, outcome, agent_id)
        select uuidv7(), id, 'phone', 'inbound', now() - (n % 60) * interval '1 day', 60 + n % 600, 'resolved', 'key:bench' from seed where n % 2 = 0`;
      await tx`insert into service.incident_customers (incident_id, customer_id) select ${incident.id}::uuid, id from seed where n % 100 = 0`;
      await tx`
        insert into vouchers.pin_failures (key, window_start, failures, locked_until)
        select 'account:' || account_id, now(), 0, now() + interval '1 day' from seed where kind = 'prepaid' and n % 100 = 1`;
      const ids = await tx<{ id: string }[]>`select id from seed`;
      writeFileSync(pathsFile, ids.map((r) => `/v1/customers/${r.id}/360\n`).join(''));
    });
    await sql`vacuum (freeze, analyze) customers.customers, customers.contact_points, customers.consents, customers.billing_accounts,
      billing.balances, billing.ledger_entries, billing.invoices, orders.orders, orders.lines, orders.line_add_ons,
      service.tickets, service.ticket_history, service.interactions, service.incident_customers, vouchers.pin_failures`;
    const [{ customers }] = await sql<{ customers: number }[]>`select count(*)::int as customers from customers.customers where family_name like 'View %'`;
    if (customers !== CUSTOMERS) throw new Error(`customer view setup: seeded ${customers} customers, expected ${CUSTOMERS}`);
  } finally {
    await sql.end();
  }
  log(`customer view setup: catalog, SLA policy and incident through the API in ${((api - started) / 1000).toFixed(1)} s, `
    + `${CUSTOMERS} customers with accounts, lines, orders, tickets and interactions in SQL in ${((Date.now() - api) / 1000).toFixed(1)} s`);
  return { customers: CUSTOMERS, pathsFile };
}
