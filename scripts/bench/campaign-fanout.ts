/*
 * The "campaign fan-out" scenario: FANOUT_CUSTOMERS customers (written straight into the bench's
 * throw-away database, as customer-view.ts does: a million through the API would measure the
 * create path), each with an email address and consent (one in ten has none, one in five prefers
 * German), then one marketing campaign to all of them started through the API. It measures from
 * the start to the campaign's completion: every customer has a message row, queued or skipped with
 * its reason. No SMTP server is configured, so the messages stay queued: sending is not measured.
 */
import postgres from 'postgres';
import { EMBEDDED_DB_NAME } from '../../src/platform/db/open.js';
import { pgUrl } from './pgbench.js';
import { log, type BenchServer } from './server.js';
import type { Row } from './types.js';

export const FANOUT_CUSTOMERS = Number(process.env.BENCH_FANOUT_CUSTOMERS ?? 1_000_000);
const TARGET_SECONDS = 60;

type Headers = Record<string, string>;
async function call(baseUrl: string, headers: Headers, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`campaign fan-out: ${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res.json() as Promise<Record<string, unknown>>;
}

export async function campaignFanOutScenario(server: BenchServer, headers: Headers): Promise<Row> {
  const sql = postgres(pgUrl({ port: server.pgPort, password: server.pgPassword, dataDir: server.dataDir }, EMBEDDED_DB_NAME), { max: 1, onnotice: () => {} });
  try {
    const seeded = Date.now();
    await sql.begin(async (tx) => {
      await tx`create temp table seed on commit drop as select n, uuidv7() as id from generate_series(1, ${FANOUT_CUSTOMERS}::int) as n`;
      await tx`insert into customers.customers (id, type, segment, given_name, family_name, preferred_language)
        select id, 'individual', 'consumer', 'Fan', 'Out ' || n, case when n % 5 = 0 then 'de' else 'en' end from seed`;
      await tx`insert into customers.contact_points (id, customer_id, kind, value, is_primary) select uuidv7(), id, 'email', 'fan' || n || '@example.org', true from seed`;
      await tx`insert into customers.consents (customer_id, channel, granted, source) select id, 'email', true, 'bench' from seed where n % 10 <> 0`;
    });
    await sql`vacuum (analyze) customers.customers, customers.contact_points, customers.consents`;
    log(`campaign fan-out: ${FANOUT_CUSTOMERS} customers in SQL in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

    const { baseUrl } = server;
    for (const language of ['en', 'de']) {
      await call(baseUrl, headers, 'PUT', `/v1/message-templates/campaign.bench_fanout/email/${language}`, { subject: 'Winter offer', body: 'Dear {{customer.name}}, two months free.' });
    }
    const campaign = await call(baseUrl, headers, 'POST', '/v1/campaigns', { code: 'bench_fanout', name: 'Bench fan-out', channels: ['email'], segment: {} });
    const started = Date.now();
    await call(baseUrl, headers, 'POST', `/v1/campaigns/${campaign.id as string}/start`, {});
    let status = '';
    while (status !== 'completed') {
      await new Promise((r) => setTimeout(r, 250));
      status = (await call(baseUrl, headers, 'GET', `/v1/campaigns/${campaign.id as string}`)).status as string;
      if (Date.now() - started > 30 * 60_000) throw new Error('campaign fan-out: not completed in 30 minutes');
    }
    const seconds = (Date.now() - started) / 1000;
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from campaigns.messages where campaign_id = ${campaign.id as string}`;
    log(`campaign fan-out: ${n} messages for ${FANOUT_CUSTOMERS} customers in ${seconds.toFixed(1)} s (${(n / seconds).toFixed(0)}/s): `
      + `the ${FANOUT_CUSTOMERS.toLocaleString('en')} in < ${TARGET_SECONDS} s target is ${seconds < TARGET_SECONDS ? 'met' : 'NOT met'}`);
    return { scenario: `campaign fan-out (${FANOUT_CUSTOMERS} recipients)`, throughputPerSec: n / seconds, p50Ms: 0, p99Ms: 0, non2xx: FANOUT_CUSTOMERS - n, errors: 0 };
  } finally {
    await sql.end();
  }
}
