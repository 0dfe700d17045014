/*
 * The "SMS delivery" scenario: a local SMSC (the smpp package's server side) that accepts every
 * submit_sm and at once sends its delivery receipt, SMS_CUSTOMERS customers with a phone and SMS
 * consent (written in SQL, as customer-view.ts does), and one SMS campaign to them started through
 * the API. It measures from the start until every message is delivered (receipt applied): the
 * fan-out, the sender (the send-rate limits are lifted for the bench), submit_sm round trips
 * within the SMPP window, and the receipts.
 */
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import smpp from 'smpp';
import { EMBEDDED_DB_NAME } from '../../src/platform/db/open.js';
import { pgUrl } from './pgbench.js';
import { log, type BenchServer } from './server.js';
import type { Row } from './types.js';

export const SMS_CUSTOMERS = Number(process.env.BENCH_SMS_CUSTOMERS ?? 20_000);

/** The SMSC: binds anyone, accepts everything, reports each part delivered right away. */
export async function benchSmsc() {
  let next = 0;
  const server = smpp.createServer((session) => {
    session.on('error', () => {});
    session.on('bind_transceiver', (pdu: smpp.PDU) => session.send(pdu.response({ system_id: 'bench-smsc' })));
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: smpp.PDU) => { session.send(pdu.response()); session.close(); });
    session.on('submit_sm', (pdu: smpp.PDU) => {
      const id = `b${(++next).toString(16)}`;
      session.send(pdu.response({ message_id: id }));
      session.deliver_sm({
        source_addr: pdu.destination_addr, destination_addr: pdu.source_addr, esm_class: 0x04,
        short_message: Buffer.from(`id:${id} sub:001 dlvrd:001 submit date:2611240000 done date:2611240000 stat:DELIVRD err:000 text:`, 'latin1'),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `smpp://bench:bench@127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

type Headers = Record<string, string>;
async function call(baseUrl: string, headers: Headers, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`SMS delivery: ${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res.json() as Promise<Record<string, unknown>>;
}

export async function smsDeliveryScenario(server: BenchServer, headers: Headers): Promise<Row> {
  const sql = postgres(pgUrl({ port: server.pgPort, password: server.pgPassword, dataDir: server.dataDir }, EMBEDDED_DB_NAME), { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      await tx`create temp table seed on commit drop as select n, uuidv7() as id from generate_series(1, ${SMS_CUSTOMERS}::int) as n`;
      await tx`insert into customers.customers (id, type, segment, given_name, family_name, preferred_language) select id, 'individual', 'consumer', 'Sms', 'Bench ' || n, 'en' from seed`;
      await tx`insert into customers.contact_points (id, customer_id, kind, value, is_primary) select uuidv7(), id, 'phone', '+49176' || lpad(n::text, 7, '0'), true from seed`;
      await tx`insert into customers.consents (customer_id, channel, granted, source) select id, 'sms', true, 'bench' from seed`;
    });
    const { baseUrl } = server;
    await call(baseUrl, headers, 'PUT', '/v1/message-templates/campaign.bench_sms/sms/en', { body: 'Hi {{customer.name}}, 2 GB extra this weekend. Reply STOP to opt out.' });
    const campaign = await call(baseUrl, headers, 'POST', '/v1/campaigns', { code: 'bench_sms', name: 'Bench SMS', channels: ['sms'], segment: { consent: 'sms' } });
    const started = Date.now();
    await call(baseUrl, headers, 'POST', `/v1/campaigns/${campaign.id as string}/start`, {});
    let delivered = 0;
    while (delivered < SMS_CUSTOMERS) {
      await new Promise((r) => setTimeout(r, 500));
      delivered = (await call(baseUrl, headers, 'GET', `/v1/campaigns/${campaign.id as string}/stats`)).delivered as number;
      if (Date.now() - started > 20 * 60_000) throw new Error(`SMS delivery: ${delivered} of ${SMS_CUSTOMERS} delivered after 20 minutes`);
    }
    const seconds = (Date.now() - started) / 1000;
    log(`SMS delivery: ${delivered} SMS submitted and reported delivered in ${seconds.toFixed(1)} s (${(delivered / seconds).toFixed(0)}/s)`);
    return { scenario: `SMS delivery with receipts (${SMS_CUSTOMERS})`, throughputPerSec: delivered / seconds, p50Ms: 0, p99Ms: 0, non2xx: 0, errors: 0 };
  } finally {
    await sql.end();
  }
}
