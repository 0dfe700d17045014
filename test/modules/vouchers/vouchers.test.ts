import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activeAddOn, activePlan, customerWithAccount, fulfilled, stock } from '../orders/fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

const DAY = 86_400_000;
let keySeq = 0;
const idem = () => `redeem-${process.pid}-${++keySeq}`;

/** A generated batch whose PINs were downloaded (so its vouchers are in stock): serial → PIN. */
async function printedBatch(quantity: number, faceValue = 1500) {
  const batch = (await t.http.post('/v1/voucher-batches').send({
    name: `Recharge ${faceValue}`, faceValue: { amount: faceValue, currency: 'EUR' }, quantity, validUntil: new Date(Date.now() + 365 * DAY).toISOString(),
  }).expect(201)).body;
  expect(batch).toMatchObject({ status: 'generating', generated: 0, quantity, pinLength: 14 });
  await t.runJobs();
  const csv = (await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(200).expect('content-type', /text\/csv/)).text;
  const pins = new Map(csv.trim().split('\n').slice(1).map((l) => l.split(',')).map(([s, p]) => [Number(s), p!]));
  return { batch, pins };
}

/** A printed batch sold whole: every voucher active. */
async function soldBatch(quantity: number, faceValue: number) {
  const printed = await printedBatch(quantity, faceValue);
  await t.http.post('/v1/vouchers/activations').send({ serialFrom: printed.batch.serialFrom, serialTo: printed.batch.serialTo }).expect(200);
  return { ...printed, s: printed.batch.serialFrom as number };
}

/** A prepaid account of a customer of its own, its balance opened by a first look. */
async function openAccount(currency = 'EUR') {
  const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Ada', familyName: 'Prepaid' }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency }).expect(201)).body;
  await balance(account.id);
  return account.id as string;
}

/** Time passes: a batch's validity, and so its vouchers', has ended. */
async function endValidity(batchId: string) {
  await t.database.sql`update vouchers.voucher_batches set valid_from = now() - interval '2 days', valid_until = now() - interval '1 minute' where id = ${batchId}`;
  await t.database.sql`update vouchers.vouchers set valid_from = now() - interval '2 days', valid_until = now() - interval '1 minute' where batch_id = ${batchId}`;
}

/** A prepaid line whose account holds nothing yet. */
async function prepaidLine() {
  const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
  await stock(t, 1);
  const { accountId, customerId } = await customerWithAccount(t, 'prepaid');
  const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
  return { lineId: order.lineId as string, accountId, customerId };
}
const balance = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/balance`).expect(200)).body.amount as number;

describe('voucher batches and stock', () => {
  it('generates 100,000 vouchers in the background, gives the PINs once, and moves ranges through distribution, sale, redemption and blocking', async () => {
    const { batch, pins } = await printedBatch(100_000);
    expect(pins.size).toBe(100_000);
    expect(new Set(pins.values()).size).toBe(100_000);
    expect([...pins.values()].every((p) => /^\d{14}$/.test(p))).toBe(true);
    expect([...pins.keys()]).toEqual(Array.from({ length: 100_000 }, (_, i) => batch.serialFrom + i));
    expect((await t.http.get(`/v1/voucher-batches/${batch.id}`).expect(200)).body).toMatchObject({ status: 'generated', generated: 100_000 });
    // Only the keyed hash stays: nothing in the database holds a clear or sealed PIN any more.
    const [kept] = await t.database.sql`select count(*)::int as n from vouchers.pin_exports where batch_id = ${batch.id}`;
    expect(kept!.n).toBe(0);
    const again = await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(409);
    expect(again.body.code).toBe('pins_already_downloaded');

    const partnerId = randomUUID();
    const reseller = asCaller(t, await keyFor(t, { principalKind: 'partner', partnerId }));
    const s = batch.serialFrom as number;
    await t.http.post('/v1/vouchers/distributions').send({ serialFrom: s, serialTo: s + 999, partnerId }).expect(200, { serialFrom: s, serialTo: s + 999, count: 1000 });
    // All or nothing: part of this range is already with the reseller.
    expect((await t.http.post('/v1/vouchers/distributions').send({ serialFrom: s + 990, serialTo: s + 1010, partnerId }).expect(409)).body.code).toBe('vouchers_not_in_state');
    // A reseller sells from its own stock only.
    expect((await reseller.post('/v1/vouchers/activations').send({ serialFrom: s + 999, serialTo: s + 1000 }).expect(409)).body.code).toBe('vouchers_not_in_state');
    await reseller.post('/v1/vouchers/activations').send({ serialFrom: s, serialTo: s + 9 }).expect(200);
    const mine = (await reseller.get('/v1/vouchers?limit=200').expect(200)).body;
    expect(mine.items).toHaveLength(200);
    expect(mine.items.every((v: { partnerId: string }) => v.partnerId === partnerId)).toBe(true);
    expect((await reseller.get(`/v1/vouchers/${s + 5000}`).expect(404)).body.code).toBe('voucher_not_found');
    await reseller.post('/v1/voucher-batches').send({}).expect(403);

    const { lineId, accountId, customerId } = await prepaidLine();
    const redeemed = (await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s)!, lineId }).expect(201)).body;
    expect(redeemed).toMatchObject({ serial: s, faceValue: { amount: 1500, currency: 'EUR' }, billingAccountId: accountId, lineId, balance: { amount: 1500, currency: 'EUR' } });
    expect(await balance(accountId)).toBe(1500);
    const [event] = await t.database.sql`select payload from platform.events where type = 'voucher.redeemed' and aggregate_id = ${String(s)}`;
    expect(event!.payload).toMatchObject({ serial: s, billingAccountId: accountId, partnerId });
    const twice = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s)!, lineId }).expect(409);
    expect(twice.body.code).toBe('voucher_already_redeemed');

    // Stolen stock: the rest of the reseller's range is blocked (the redeemed one stays redeemed), then a part unblocked.
    const blocked = (await t.http.post('/v1/vouchers/blocks').send({ serialFrom: s, serialTo: s + 999, reason: 'Box 17 stolen from the van' }).expect(200)).body;
    expect(blocked).toEqual({ serialFrom: s, serialTo: s + 999, changed: 999, unchanged: 1 });
    const refused = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s + 1)!, lineId }).expect(409);
    expect(refused.body).toMatchObject({ code: 'voucher_blocked', serial: s + 1 });
    const [presented] = await t.database.sql`select payload from platform.events where type = 'voucher.blocked_presented' and aggregate_id = ${String(s + 1)}`;
    expect(presented!.payload).toMatchObject({ serial: s + 1, lineId });
    await t.http.post('/v1/vouchers/unblocks').send({ serialFrom: s + 1, serialTo: s + 1, reason: 'Found in the shop' }).expect(200, { serialFrom: s + 1, serialTo: s + 1, changed: 1, unchanged: 0 });
    expect((await t.http.get(`/v1/vouchers/${s + 1}`).expect(200)).body.state).toBe('active');
    expect((await t.http.get(`/v1/vouchers/${s + 2}`).expect(200)).body.state).toBe('blocked');
    // The first credit opened the balance (a round trip of its own); this one goes in with the voucher's update: the same entries and events.
    const second = (await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s + 1)!, billingAccountId: accountId }).expect(201)).body;
    expect(second).toMatchObject({ serial: s + 1, faceValue: { amount: 1500, currency: 'EUR' }, lineId: null, balance: { amount: 3000, currency: 'EUR' } });
    expect(await balance(accountId)).toBe(3000);
    const byVoucher = async (serial: number) => {
      const [entry] = await t.database.sql`select id, seq::int, type, amount::int, balance_after::int, ref_type, ref_id, actor from billing.ledger_entries where ref_id = ${String(serial)} and billing_account_id = ${accountId}`;
      const [credited] = await t.database.sql`select payload from platform.events where type = 'balance.credited' and payload->>'entryId' = ${entry!.id}`;
      const [event] = await t.database.sql`select payload, request_id is not null as traced from platform.events where type = 'voucher.redeemed' and aggregate_id = ${String(serial)}`;
      return { entry: entry!, credited: credited!.payload, event: event!.payload, traced: event!.traced };
    };
    const [one, two] = [await byVoucher(s), await byVoucher(s + 1)];
    expect(two.entry).toMatchObject({ id: second.entryId, seq: 2, type: 'voucher', amount: 1500, balance_after: 3000, ref_type: 'voucher', actor: one.entry.actor });
    expect(two.credited).toEqual({ ...one.credited, entryId: second.entryId, balance: { amount: 3000, currency: 'EUR' } });
    expect(one.event).toEqual({ serial: s, batchId: batch.id, faceValue: { amount: 1500, currency: 'EUR' }, bundle: null, billingAccountId: accountId, customerId, lineId, partnerId, by: one.entry.actor });
    expect(two.event).toEqual({ ...one.event, serial: s + 1, lineId: null });
    expect([one.traced, two.traced]).toEqual([true, true]);
    const audit = await t.database.sql`select action from platform.audit_log where entity_type = 'voucher_range' order by id`;
    expect(audit.map((a) => a.action)).toEqual(['vouchers.distributed', 'vouchers.activated', 'vouchers.blocked', 'vouchers.unblocked']);
  }, 120_000);

  it('expires, batch by batch, what is left of a batch\'s stock once its validity has ended', async () => {
    const { batch, pins } = await printedBatch(3);
    const later = await printedBatch(1);
    const s = batch.serialFrom as number;
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: s, serialTo: s + 1 }).expect(200);
    const { lineId } = await prepaidLine();
    await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s + 1)!, lineId }).expect(201);
    await endValidity(batch.id);
    const expire = () => t.app.jobs.tasks['vouchers.expire']!({}, {} as never);
    await expire();
    const states = await Promise.all([s, s + 1, s + 2, later.batch.serialFrom].map(async (serial) => (await t.http.get(`/v1/vouchers/${serial}`).expect(200)).body.state));
    expect(states).toEqual(['expired', 'redeemed', 'expired', 'in_stock']);
    const [marked] = await t.database.sql`select expired_at from vouchers.voucher_batches where id = ${batch.id}`;
    expect(marked!.expired_at).not.toBeNull();
    const res = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s)!, lineId }).expect(409);
    expect(res.body.code).toBe('voucher_expired');
    // The batch is done: a second run does not go over it again.
    await expire();
    const events = await t.database.sql`select payload from platform.events where type = 'voucher.expired' and aggregate_id = ${batch.id}`;
    expect(events.map((e) => e.payload)).toEqual([{ batchId: batch.id, count: 2 }]);
  });
});

describe('redemption', () => {
  it('200 concurrent redemptions of one PIN by 200 callers: one credit, 199 clean refusals', async () => {
    const { batch, pins } = await printedBatch(1, 2500);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialFrom }).expect(200);
    const { lineId, accountId } = await prepaidLine();
    const callers = [];
    for (let i = 0; i < 200; i++) callers.push(asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' })));
    const pin = pins.get(batch.serialFrom)!;
    const results = await Promise.all(callers.map((c) => c.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin, lineId })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refusals = results.filter((r) => r.status !== 201);
    expect(refusals).toHaveLength(199);
    // Attempts on one account take turns; one that waits too long for its turn is told to retry (429).
    expect(refusals.every((r) => r.headers['content-type'].startsWith('application/problem+json')
      && ((r.status === 409 && r.body.code === 'voucher_already_redeemed') || (r.status === 429 && r.body.code === 'redemption_busy' && r.headers['retry-after'] === '1')))).toBe(true);
    expect(refusals.some((r) => r.body.code === 'voucher_already_redeemed')).toBe(true);
    const entries = await t.database.sql`select amount::float8 as amount from billing.ledger_entries where billing_account_id = ${accountId} and type = 'voucher'`;
    expect(entries.map((e) => e.amount)).toEqual([2500]);
    expect(await balance(accountId)).toBe(2500);
    expect((await t.http.get(`/v1/billing-accounts/${accountId}/ledger/reconciliation`).expect(200)).body.consistent).toBe(true);
  }, 60_000);

  it('redemptions that arrive together are made in groups, the rest on their own: every right PIN credited once, every wrong one counted', async () => {
    const { pins, s } = await soldBatch(48, 700);
    // Twenty accounts whose balances are open (a first look opens one), two whose are not: a group
    // that wins a voucher for one of those is undone, and its members redeem on their own.
    const open: string[] = [];
    for (let i = 0; i < 20; i++) open.push(await openAccount());
    const unopened = [(await customerWithAccount(t, 'prepaid')).accountId, (await customerWithAccount(t, 'prepaid')).accountId];
    const guesser = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    const sends = [
      // Two vouchers for each open account: the same account is never twice in one group.
      ...Array.from({ length: 40 }, (_, i) => ({ pin: pins.get(s + i)!, billingAccountId: open[i % 20]!, by: t.http })),
      ...unopened.map((billingAccountId, i) => ({ pin: pins.get(s + 40 + i)!, billingAccountId, by: t.http })),
      // One PIN sent three times, to three accounts: one credit.
      ...[0, 1, 2].map((i) => ({ pin: pins.get(s + 42)!, billingAccountId: open[i]!, by: t.http })),
      ...[0, 1, 2].map((i) => ({ pin: String(30_000_000_000_000 + i), billingAccountId: open[19]!, by: guesser })),
    ].map((r) => ({ ...r, key: idem() }));
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await t.http.get('/metrics').expect(200)).text)?.[1] ?? 0);
    const made = 'voucher_redemption_group_members_total{made="true"}';
    const [madeBefore, committedBefore, undoneBefore] = [await metric(made), await metric('voucher_redemption_groups_total{outcome="committed"}'), await metric('voucher_redemption_groups_total{outcome="undone"}')];
    const results = await Promise.all(sends.map((r) => r.by.post('/v1/voucher-redemptions').set('idempotency-key', r.key).send({ pin: r.pin, billingAccountId: r.billingAccountId })));

    expect(results.slice(0, 42).map((r) => r.status)).toEqual(Array(42).fill(201));
    results.slice(0, 42).forEach((r, i) => expect(r.body).toMatchObject({ serial: s + i, billingAccountId: sends[i]!.billingAccountId, faceValue: { amount: 700, currency: 'EUR' } }));
    const copies = results.slice(42, 45);
    expect(copies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(copies.filter((r) => r.status !== 201).every((r) => r.body.code === 'voucher_already_redeemed' || r.body.code === 'redemption_busy')).toBe(true);
    expect(results.slice(45).map((r) => r.body.code)).toEqual(['invalid_pin', 'invalid_pin', 'invalid_pin']);
    const [counted] = await t.database.sql`select failures from vouchers.pin_failures where key = ${`account:${open[19]}`}`;
    expect(counted!.failures).toBe(3);
    await t.database.sql`update vouchers.pin_failures set failures = failures - 3 where key like 'address:%'`;

    // Each account holds exactly what it was given, entry by entry, with one event per credit and per voucher.
    const copyTo = copies.findIndex((r) => r.status === 201);
    for (const [i, accountId] of open.entries()) {
      const expected = 1400 + (i === copyTo ? 700 : 0);
      expect(await balance(accountId)).toBe(expected);
      expect((await t.http.get(`/v1/billing-accounts/${accountId}/ledger/reconciliation`).expect(200)).body.consistent).toBe(true);
    }
    for (const accountId of unopened) expect(await balance(accountId)).toBe(700);
    const serials = Array.from({ length: 43 }, (_, i) => String(s + i));
    const [events] = await t.database.sql`select count(*) filter (where type = 'voucher.redeemed')::int as redeemed, count(distinct aggregate_id)::int as vouchers
      from platform.events where type = 'voucher.redeemed' and aggregate_id = any(${serials})`;
    expect(events).toEqual({ redeemed: 43, vouchers: 43 });
    const [credits] = await t.database.sql`select count(*)::int as n from platform.events where type = 'balance.credited' and payload->>'type' = 'voucher'
      and aggregate_id = any(${[...open, ...unopened]})`;
    expect(credits!.n).toBe(43);
    // A balance opened by its first credit: that credit's event still comes before the voucher's.
    for (const accountId of unopened) {
      const order = await t.database.sql`select type from platform.events
        where (type = 'balance.credited' and aggregate_id = ${accountId}) or (type = 'voucher.redeemed' and payload->>'billingAccountId' = ${accountId}) order by id`;
      expect(order.map((e) => e.type)).toEqual(['balance.credited', 'voucher.redeemed']);
    }

    // Most were made by groups, several to a group; at least one group was undone (an unopened balance).
    const madeByGroups = await metric(made) - madeBefore;
    expect(madeByGroups).toBeGreaterThanOrEqual(10);
    expect(await metric('voucher_redemption_groups_total{outcome="committed"}') - committedBefore).toBeLessThan(madeByGroups);
    expect(await metric('voucher_redemption_groups_total{outcome="undone"}') - undoneBefore).toBeGreaterThanOrEqual(1);

    // One arriving alone is a group of one, its answer stored with it: the same key replays it.
    const alone = { pin: pins.get(s + 43)!, billingAccountId: open[4]! };
    const key = idem();
    const first = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send(alone).expect(201);
    expect(await metric(made)).toBe(madeByGroups + madeBefore + 1);
    const again = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send(alone).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);

    // A right PIN for an account locked out is refused in a group as on its own, beside others made.
    await t.database.sql`insert into vouchers.pin_failures (key, window_start, failures, locked_until) values (${`account:${open[7]}`}, now(), 0, now() + interval '10 minutes')`;
    const beside = await Promise.all([44, 45, 46].map((i, j) => t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem())
      .send({ pin: pins.get(s + i)!, billingAccountId: open[[7, 8, 9][j]!]! })));
    expect(beside.map((r) => r.body.code ?? r.status)).toEqual(['redemption_locked_out', 201, 201]);
    expect((await t.http.get(`/v1/vouchers/${s + 44}`).expect(200)).body.state).toBe('active');
    await t.database.sql`delete from vouchers.pin_failures where key = ${`account:${open[7]}`}`;
  }, 60_000);

  it('wrong PINs from several callers over many accounts at once are each counted and answered, groups and single attempts alike', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 12; i++) accounts.push(await openAccount());
    const callers = await Promise.all([0, 1, 2].map(async () => asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }))));
    const guesses = Array.from({ length: 36 }, (_, i) => ({ by: callers[i % 3]!, billingAccountId: accounts[i % 12]!, pin: String(40_000_000_000_000 + i) }));
    const answers = await Promise.all(guesses.map((g) => g.by.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: g.pin, billingAccountId: g.billingAccountId })));
    expect(answers.every((r) => ['invalid_pin', 'redemption_locked_out', 'redemption_busy'].includes(r.body.code))).toBe(true);
    const [counted] = await t.database.sql`select coalesce(sum(failures), 0)::int as n, count(*) filter (where locked_until > now())::int as locked
      from vouchers.pin_failures where key = any(${accounts.map((a) => `account:${a}`)})`;
    // Each account was tried three times, below its limit of five: every wrong PIN tried is on its account's count.
    expect(counted).toEqual({ n: answers.filter((r) => r.body.code === 'invalid_pin').length, locked: 0 });
    await t.database.sql`delete from vouchers.pin_failures where key like 'address:%' or key = any(${accounts.map((a) => `account:${a}`)})`;
  });

  it('a voucher in another currency than its balance undoes its group: the others are made again without it, and it is refused on its own', async () => {
    const { pins, s } = await soldBatch(6, 900);
    const accounts: string[] = [];
    for (let i = 0; i < 6; i++) accounts.push(await openAccount(i === 3 ? 'USD' : 'EUR'));
    const results = await Promise.all(accounts.map((billingAccountId, i) => t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem())
      .send({ pin: pins.get(s + i)!, billingAccountId })));
    expect(results.map((r) => r.body.code ?? r.status)).toEqual([201, 201, 201, 'currency_mismatch', 201, 201]);
    expect((await t.http.get(`/v1/vouchers/${s + 3}`).expect(200)).body.state).toBe('active');
    for (const [i, id] of accounts.entries()) expect(await balance(id)).toBe(i === 3 ? 0 : 900);
  });

  it('a voucher row held long elsewhere holds up its own redemption, not those grouped with it', async () => {
    const { pins, s } = await soldBatch(8, 400);
    const accounts: string[] = [];
    for (let i = 0; i < 8; i++) accounts.push(await openAccount());
    const redeem = (i: number) => t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s + i)!, billingAccountId: accounts[i]! });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => { locked = r; });
    // Two vouchers held (a long block of their range, say): the first two groups wait on them.
    const holder = t.database.sql.begin(async (tx) => {
      await tx`select serial from vouchers.vouchers where serial in (${s}, ${s + 1}) for update`;
      locked();
      await held;
    });
    await lockTaken;
    // Sent now (a supertest request goes out when it is awaited).
    const stuck = [0, 1].map((i) => redeem(i).then((r) => r));
    await new Promise((r) => setTimeout(r, 50));
    const others = await Promise.race([
      Promise.all([2, 3, 4, 5, 6, 7].map(redeem)).then((rs) => rs.map((r) => r.status)),
      new Promise((r) => setTimeout(() => r('waited'), 4000)),
    ]);
    release();
    await holder;
    expect(others).toEqual(Array(6).fill(201));
    expect((await Promise.all(stuck)).map((r) => r.status)).toEqual([201, 201]);
    for (const id of accounts) expect(await balance(id)).toBe(400);
  });

  it('a closed account takes no voucher, from staff or its customer: 409, the voucher stays as it was', async () => {
    const { pins, s } = await soldBatch(2, 1500);
    const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Cleo', familyName: 'Closed' }).expect(201)).body;
    const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
    await balance(account.id); // opened while it was active
    await t.http.patch(`/v1/customers/${customer.id}/billing-accounts/${account.id}`).send({ status: 'closed' }).expect(200);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: customer.id }));
    for (const [by, i] of [[t.http, 0], [me, 1]] as const) {
      const res = await by.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(s + i)!, billingAccountId: account.id }).expect(409);
      expect(res.body.code).toBe('account_closed');
      expect((await t.http.get(`/v1/vouchers/${s + i}`).expect(200)).body.state).toBe('active');
    }
    const [row] = await t.database.sql`select amount::int from billing.balances where billing_account_id = ${account.id}`;
    expect(row!.amount).toBe(0);
  });

  it('a retried redemption with its Idempotency-Key replays the first answer; without one it is refused', async () => {
    const { batch, pins } = await printedBatch(1);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialFrom }).expect(200);
    const { lineId, accountId } = await prepaidLine();
    const key = idem();
    const first = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send({ pin: pins.get(batch.serialFrom)!, lineId }).expect(201);
    const replay = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send({ pin: pins.get(batch.serialFrom)!, lineId }).expect(201);
    expect(replay.body).toEqual(first.body);
    expect(await balance(accountId)).toBe(1500);
    expect((await t.http.post('/v1/voucher-redemptions').send({ pin: '12345678901234', lineId }).expect(400)).body.code).toBe('idempotency_key_required');
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: '12345678901234', lineId, billingAccountId: accountId }).expect(400)).body.code).toBe('validation_failed');
    await anon(t).post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: '12345678901234', lineId }).expect(401);
  });

  it('one key sent many times at once redeems once, and every copy gets that answer; a refusal replays, a busy one does not', async () => {
    const { batch, pins } = await printedBatch(2);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialTo }).expect(200);
    const { lineId, accountId } = await prepaidLine();
    const key = idem();
    const body = { pin: pins.get(batch.serialFrom)!, lineId };
    const copies = await Promise.all(Array.from({ length: 20 }, () => t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send(body)));
    // A copy that waits more than a second for the first is told it is still in flight (409), as before.
    const answered = copies.filter((r) => r.status === 201);
    expect(copies.filter((r) => r.status !== 201).every((r) => r.status === 409 && r.body.code === 'idempotency_request_in_flight')).toBe(true);
    expect(new Set(answered.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(answered.filter((r) => r.headers['idempotent-replayed'] !== 'true').length).toBe(1);
    expect(answered.every((r) => /^application\/json/.test(r.headers['content-type']!))).toBe(true);
    expect(await balance(accountId)).toBe(1500);
    const [credits] = await t.database.sql`select count(*)::int as n from billing.ledger_entries where billing_account_id = ${accountId} and type = 'voucher'`;
    expect(credits!.n).toBe(1);
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', key).send({ ...body, pin: pins.get(batch.serialTo)! }).expect(422)).body.code).toBe('idempotency_key_reused');

    // A refusal (the voucher is used) is answered once, then replayed.
    const refusedKey = idem();
    const first = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', refusedKey).send(body).expect(409);
    expect(first.body.code).toBe('voucher_already_redeemed');
    const again = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', refusedKey).send(body).expect(409);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');

    // Busy (the account's turn held elsewhere): nothing was done, so the same key may try again.
    const busyKey = idem();
    const next = { pin: pins.get(batch.serialTo)!, lineId };
    const holder = await t.database.sql.reserve();
    try {
      await holder`select pg_advisory_lock(hashtextextended(${`vouchers.redemption:account:${accountId}`}, 0))`;
      const busy = await t.http.post('/v1/voucher-redemptions').set('idempotency-key', busyKey).send(next).expect(429);
      expect(busy.body.code).toBe('redemption_busy');
      await holder`select pg_advisory_unlock_all()`;
    } finally {
      holder.release();
    }
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', busyKey).send(next).expect(201)).headers['idempotent-replayed']).toBeUndefined();

    // Past the replay window a key is used afresh, and its new answer is the one kept.
    await t.database.sql`update platform.idempotency_keys set created_at = now() - interval '25 hours' where key = ${refusedKey}`;
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', refusedKey).send(body).expect(409)).headers['idempotent-replayed']).toBeUndefined();
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', refusedKey).send(body).expect(409)).headers['idempotent-replayed']).toBe('true');

    // Copies of a wrong PIN: counted once, one answer. (The address's count goes back after, for the tests that follow.)
    const other = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: other.customerId }));
    const wrongKey = idem();
    const wrong = await Promise.all(Array.from({ length: 5 }, () => customer.post('/v1/voucher-redemptions').set('idempotency-key', wrongKey).send({ pin: '11111111111111', lineId: other.lineId })));
    const wrongAnswers = wrong.filter((r) => r.status === 422);
    expect(wrongAnswers.length).toBeGreaterThan(0);
    expect(wrong.every((r) => r.status === 422 || r.body.code === 'idempotency_request_in_flight')).toBe(true);
    expect(new Set(wrongAnswers.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(wrongAnswers[0]!.body.code).toBe('invalid_pin');
    const [counted] = await t.database.sql`select failures from vouchers.pin_failures where key = ${`account:${other.accountId}`}`;
    expect(counted!.failures).toBe(1);
    await t.database.sql`update vouchers.pin_failures set failures = failures - 1 where key like 'address:%'`;
  });

  it('a customer redeems on their own line only; an unsold voucher looks like a wrong PIN to them, not to staff', async () => {
    const { batch, pins } = await printedBatch(2);
    const mine = await prepaidLine();
    const other = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: mine.customerId }));
    const unsold = pins.get(batch.serialFrom)!;
    expect((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: unsold, lineId: mine.lineId }).expect(422)).body.code).toBe('invalid_pin');
    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: unsold, lineId: mine.lineId }).expect(409)).body.code).toBe('voucher_not_active');
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialTo }).expect(200);
    expect((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialTo)!, lineId: other.lineId }).expect(404)).body.code).toBe('target_not_found');
    expect((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialTo)!, billingAccountId: other.accountId }).expect(404)).body.code).toBe('target_not_found');
    await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: `${unsold.slice(0, 4)} ${unsold.slice(4, 8)}-${unsold.slice(8)}`, lineId: mine.lineId }).expect(201);
    expect(await balance(mine.accountId)).toBe(1500);
    await customer.get('/v1/vouchers').expect(403);
  });

  it('staff naming an account that does not exist are refused before the PIN counts, and the voucher stays as it was', async () => {
    const { batch, pins } = await printedBatch(1);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialFrom }).expect(200);
    const nobody = '01a20000-0000-7000-8000-000000000000';
    const pin = pins.get(batch.serialFrom)!;
    for (const tried of [pin, '11111111111111']) {
      expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: tried, billingAccountId: nobody }).expect(404)).body.code).toBe('target_not_found');
    }
    expect(await t.database.sql`select failures from vouchers.pin_failures where key = ${`account:${nobody}`}`).toEqual([]);
    expect((await t.http.get(`/v1/vouchers/${batch.serialFrom}`).expect(200)).body.state).toBe('active');
    const { accountId } = await prepaidLine();
    await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin, billingAccountId: accountId }).expect(201);
  });

  it('wrong PINs lock the line out for a while, even for the right PIN, and tell fraud review', async () => {
    const { batch, pins } = await printedBatch(1);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialFrom }).expect(200);
    const { lineId, customerId, accountId } = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    const guesses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: String(10_000_000_000_000 + i), lineId });
      guesses.push(res.status);
      if (res.status === 429) expect(res.body).toMatchObject({ code: 'redemption_locked_out', lockedUntil: expect.any(String) });
    }
    expect(guesses).toEqual([422, 422, 422, 422, 422, 429, 429, 429]);
    const right = await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialFrom)!, lineId }).expect(429);
    expect(right.body.code).toBe('redemption_locked_out');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(60);
    expect(await balance(accountId)).toBe(0);
    const events = await t.database.sql`select payload from platform.events where type = 'voucher.redemption_locked_out' and aggregate_id = ${`account:${accountId}`}`;
    expect(events.map((e) => e.payload)).toEqual([expect.objectContaining({ kind: 'target', failures: 5, lineId })]);
    // The account's count is one, named by the line or by the account.
    expect((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: '12345678901234', billingAccountId: accountId }).expect(429)).body.code).toBe('redemption_locked_out');
    // The lockout ends: the right PIN goes through.
    await t.database.sql`update vouchers.pin_failures set locked_until = now() - interval '1 second' where key = ${`account:${accountId}`}`;
    await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialFrom)!, lineId }).expect(201);
  });

  it('wrong PINs sent side by side take turns: no more than the limit is tried, however they arrive', async () => {
    const other = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: other.customerId }));
    const guess = (i: number) => customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: String(20_000_000_000_000 + i), lineId: other.lineId });
    // The right PIN goes last: it is redeemed only if its turn came before the lockout.
    const { batch, pins } = await printedBatch(1);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialFrom }).expect(200);
    const right = customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialFrom)!, lineId: other.lineId });
    const burst = await Promise.all([...Array.from({ length: 12 }, (_, i) => guess(i)), right]);
    const rightAnswer = burst.pop();
    const codes = burst.map((r) => r.body.code);
    // Those whose turn did not come in time are busy (and not counted); the rest are tried one by one.
    expect(codes.every((c) => ['invalid_pin', 'redemption_busy', 'redemption_locked_out'].includes(c))).toBe(true);
    const tried = codes.filter((c) => c === 'invalid_pin').length;
    expect(tried).toBeLessThanOrEqual(5);
    const [lockout] = await t.database.sql`select locked_until - make_interval(mins => 30) as since from vouchers.pin_failures where key = ${`account:${other.accountId}`} and locked_until is not null`;
    if (rightAnswer!.status === 201) {
      if (lockout) expect(new Date(rightAnswer!.body.redeemedAt).getTime()).toBeLessThan(new Date(lockout.since).getTime());
    } else {
      expect(rightAnswer!.body.code).toMatch(/^(redemption_locked_out|redemption_busy)$/);
    }
    // Sent one by one, the guesses go on until the limit, then the account is locked out.
    const after: string[] = [];
    for (let i = 100; i < 106; i++) after.push((await guess(i)).body.code);
    expect(after).toEqual([...Array(5 - tried).fill('invalid_pin'), ...Array(1 + tried).fill('redemption_locked_out')]);
  });

  it('an account id in capitals counts against the same account', async () => {
    const { accountId, customerId } = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = i % 2 ? accountId.toUpperCase() : accountId;
      codes.push((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: String(40_000_000_000_000 + i), billingAccountId: id })).body.code);
    }
    expect(codes).toEqual(['invalid_pin', 'invalid_pin', 'invalid_pin', 'invalid_pin', 'invalid_pin', 'redemption_locked_out']);
  });

  it('a voucher that expired or was blocked unsold is a wrong PIN to a customer, and still reaches fraud review when blocked', async () => {
    const expired = await printedBatch(1);
    const stolen = await printedBatch(1);
    const { lineId, customerId } = await prepaidLine();
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    await endValidity(expired.batch.id);
    await t.app.jobs.tasks['vouchers.expire']!({}, {} as never);
    await t.http.post('/v1/vouchers/blocks').send({ serialFrom: stolen.batch.serialFrom, serialTo: stolen.batch.serialFrom, reason: 'Stolen from the warehouse' }).expect(200);
    for (const { batch, pins } of [expired, stolen]) {
      expect((await customer.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins.get(batch.serialFrom)!, lineId }).expect(422)).body.code).toBe('invalid_pin');
    }
    const [presented] = await t.database.sql`select payload from platform.events where type = 'voucher.blocked_presented' and aggregate_id = ${String(stolen.batch.serialFrom)}`;
    expect(presented!.payload).toMatchObject({ serial: stolen.batch.serialFrom, lineId });
  });

  it('a bundle voucher gives its pack to the line, at no charge, as a completed add-on order', async () => {
    const pack = await activeAddOn(t, { fee: 900, zone: 'roaming-eu' });
    const batch = (await t.http.post('/v1/voucher-batches').send({
      name: 'Roaming EU pack', bundle: { addOnId: pack.id }, quantity: 2, validUntil: new Date(Date.now() + 30 * DAY).toISOString(),
    }).expect(201)).body;
    expect(batch).toMatchObject({ faceValue: null, bundle: { addOnId: pack.id } });
    await t.runJobs();
    const csv = (await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(200)).text;
    const pins = csv.trim().split('\n').slice(1).map((l) => l.split(',')[1]!);
    await t.http.post('/v1/vouchers/activations').send({ serialFrom: batch.serialFrom, serialTo: batch.serialTo }).expect(200);
    const { lineId, accountId } = await prepaidLine();

    expect((await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins[0], billingAccountId: accountId }).expect(422)).body.code).toBe('bundle_needs_line');
    const res = (await t.http.post('/v1/voucher-redemptions').set('idempotency-key', idem()).send({ pin: pins[0], lineId }).expect(201)).body;
    expect(res).toMatchObject({ faceValue: null, entryId: null, balance: null, bundle: { addOnId: pack.id, orderId: expect.any(String) } });
    const order = (await t.http.get(`/v1/orders/${res.bundle.orderId}`).expect(200)).body;
    expect(order).toMatchObject({ type: 'add_add_on', status: 'completed', reason: `Bundle voucher ${batch.serialFrom}` });
    expect(order.items[0]).toMatchObject({ fee: { amount: 0 }, listFee: { amount: 900 } });
    const line = (await t.http.get(`/v1/lines/${lineId}`).expect(200)).body;
    expect(line.allowances.some((b: { zone: string }) => b.zone === 'roaming-eu')).toBe(true);
    const charges = (await t.http.get(`/v1/lines/${lineId}/charges`).expect(200)).body.items;
    expect(charges.filter((c: { orderId: string }) => c.orderId === order.id)).toEqual([]);
    expect(await balance(accountId)).toBe(0);

    await t.http.post('/v1/voucher-batches').send({ name: 'x', faceValue: { amount: 100, currency: 'EUR' }, bundle: { addOnId: pack.id }, quantity: 1, validUntil: new Date(Date.now() + DAY).toISOString() }).expect(400);
    await t.http.post('/v1/voucher-batches').send({ name: 'x', bundle: { addOnId: randomUUID() }, quantity: 1, validUntil: new Date(Date.now() + DAY).toISOString() }).expect(404);
  });
});
