import { run } from 'graphile-worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, workerLogger } from '../../src/platform/jobs/jobs.js';
import { freshDatabase, testApp, type TestApp } from '../support/app.js';

// Nothing a second instance needs may live in process memory: two apps share one database here.
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  const url = await freshDatabase();
  a = await testApp({ url });
  b = await testApp({ url });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

async function until(check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two instances on one database', () => {
  it('replays on instance B an idempotent POST first made on instance A', async () => {
    const body = { type: 'individual', givenName: 'Twin', familyName: 'Instance' };
    const first = await a.http.post('/v1/customers').set('idempotency-key', 'twin-1').send(body).expect(201);
    const second = await b.http.post('/v1/customers').set('idempotency-key', 'twin-1').send(body).expect(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    const [row] = await a.database.sql`select count(*)::int as n from customers.customers where given_name = 'Twin'`;
    expect(row!.n).toBe(1);
  });

  it('runs each job exactly once with a worker on each instance', async () => {
    await a.database.sql`create table public.runs (job int not null, worker text not null)`;
    const runs = new Map<string, number>();
    const task = (worker: string) => async (payload: unknown) => {
      const { n } = payload as { n: number };
      runs.set(worker, (runs.get(worker) ?? 0) + 1);
      await a.database.sql`insert into public.runs (job, worker) values (${n}, ${worker})`;
    };
    const logger = workerLogger(pino({ level: 'silent' }));
    const workers = await Promise.all(['A', 'B'].map((w, i) => run({
      connectionString: (i ? b : a).database.url, concurrency: 4, noHandleSignals: true, pollInterval: 100, logger,
      taskList: { 'test.count': task(w) },
    })));
    const total = 200;
    // Half the jobs are enqueued through each instance's own connection pool.
    await Promise.all(Array.from({ length: total }, (_, n) => (n % 2 ? b : a).database.db.transaction((tx) => enqueue(tx, 'test.count', { n }))));
    await until(async () => Number((await a.database.sql`select count(*)::int as n from public.runs`)[0]!.n) >= total);
    await Promise.all(workers.map((w) => w.stop()));
    const [dups] = await a.database.sql`select count(*)::int as n, count(distinct job)::int as d from public.runs`;
    expect(dups).toEqual({ n: total, d: total });
    expect(runs.get('A')! + runs.get('B')!).toBe(total);
  });

  it('redeems each voucher once when the groups of both instances race for the same PINs', async () => {
    const batch = (await a.http.post('/v1/voucher-batches').send({
      name: 'Twin recharge', faceValue: { amount: 500, currency: 'EUR' }, quantity: 10, validUntil: new Date(Date.now() + 86_400_000).toISOString(),
    }).expect(201)).body;
    await a.runJobs();
    const csv = (await a.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(200)).text;
    const pins = csv.trim().split('\n').slice(1).map((l) => l.split(',')[1]!);
    await a.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialTo }).expect(200);
    const accounts: string[] = [];
    for (let i = 0; i < 20; i++) {
      const customer = (await a.http.post('/v1/customers').send({ type: 'individual', givenName: 'Twin', familyName: `Payer ${i}` }).expect(201)).body;
      const account = (await a.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
      await a.http.get(`/v1/billing-accounts/${account.id}/balance`).expect(200);
      accounts.push(account.id);
    }
    // Every PIN four times, twice through each instance, each time to another account.
    const sends = pins.flatMap((pin, i) => [0, 1, 2, 3].map((j) => ({ via: j % 2 ? b : a, pin, billingAccountId: accounts[(i * 4 + j) % 20]! })));
    const results = await Promise.all(sends.map((r, n) => r.via.http.post('/v1/voucher-redemptions').set('idempotency-key', `twin-redeem-${n}`)
      .send({ pin: r.pin, billingAccountId: r.billingAccountId })));
    for (const pin of pins) {
      const mine = results.filter((_, n) => sends[n]!.pin === pin);
      expect(mine.filter((r) => r.status === 201)).toHaveLength(1);
      expect(mine.filter((r) => r.status !== 201).every((r) => ['voucher_already_redeemed', 'redemption_busy'].includes(r.body.code))).toBe(true);
    }
    const [money] = await a.database.sql`select sum(amount)::int as total, count(*)::int as entries from billing.ledger_entries where billing_account_id = any(${accounts})`;
    expect(money).toEqual({ total: 5000, entries: 10 });
    for (const id of accounts) expect((await a.http.get(`/v1/billing-accounts/${id}/ledger/reconciliation`).expect(200)).body.consistent).toBe(true);
  });
});
