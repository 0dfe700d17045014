import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credit } from '../../../src/modules/billing/index.js';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp({ env: { ADJUSTMENT_SUPERVISOR_ABOVE: '5000' } }); });
afterAll(async () => { await t.close(); });

let keys = 0;
async function prepaidAccount(type: 'prepaid' | 'postpaid' = 'prepaid') {
  const customer = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Pre', familyName: 'Paid' }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type, currency: 'EUR', ...(type === 'postpaid' ? { billCycleDay: 1 } : {}) }).expect(201)).body;
  return { customerId: customer.id as string, accountId: account.id as string };
}
const recharge = (accountId: string, amount: number, extra: Record<string, unknown> = {}) =>
  t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', `r-${++keys}`).send({ amount: { amount, currency: 'EUR' }, ...extra });
const adjust = (accountId: string, amount: number, reason = 'Goodwill for an outage') =>
  t.http.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount, currency: 'EUR', reason });
const balance = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/balance`).expect(200)).body;
const reconciled = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/ledger/reconciliation`).expect(200)).body;

describe('prepaid balance ledger', () => {
  it('a recharge credits the balance, extends its validity, and lands on the ledger with the running balance', async () => {
    const { accountId, customerId } = await prepaidAccount();
    expect(await balance(accountId)).toMatchObject({ amount: 0, currency: 'EUR', creditLimit: 0, lowBalanceThreshold: 500, validUntil: null });
    const entry = (await recharge(accountId, 2000, { paymentRef: 'psp-tx-1001' }).expect(201)).body;
    expect(entry).toMatchObject({ seq: 1, type: 'recharge', amount: 2000, balanceAfter: 2000, refType: 'payment', refId: 'psp-tx-1001' });
    const b = await balance(accountId);
    expect(b.amount).toBe(2000);
    const days = (new Date(b.validUntil).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
    await recharge(accountId, 500).expect(201);
    const ledger = (await t.http.get(`/v1/billing-accounts/${accountId}/ledger`).expect(200)).body.items;
    expect(ledger.map((e: { amount: number; balanceAfter: number }) => [e.amount, e.balanceAfter])).toEqual([[500, 2500], [2000, 2000]]);
    expect(await reconciled(accountId)).toEqual({ balance: 2500, entriesSum: 2500, entries: 2, lastBalanceAfter: 2500, consistent: true });
    const events = await t.database.sql`select type, payload from platform.events where aggregate_id = ${accountId} order by id`;
    expect(events.map((e) => e.type)).toEqual(['balance.credited', 'balance.credited']);
    // Written by the credit's own statement, with the balance it left.
    expect(events[1]!.payload).toEqual({
      billingAccountId: accountId, customerId, balance: { amount: 2500, currency: 'EUR' }, entryId: ledger[0].id, type: 'recharge', amount: { amount: 500, currency: 'EUR' },
    });
  });

  it('the same payment reported twice credits once; a recharge without Idempotency-Key is refused', async () => {
    const { accountId } = await prepaidAccount();
    await recharge(accountId, 1000, { paymentRef: 'psp-dup' }).expect(201);
    expect((await recharge(accountId, 1000, { paymentRef: 'psp-dup' }).expect(409)).body.code).toBe('duplicate_entry');
    const noKey = await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).send({ amount: { amount: 1000, currency: 'EUR' } }).expect(400);
    expect(noKey.body.code).toBe('idempotency_key_required');
    // A retry with the same key answers the first result and credits nothing more.
    const first = await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', 'same').send({ amount: { amount: 300, currency: 'EUR' } }).expect(201);
    const again = await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', 'same').send({ amount: { amount: 300, currency: 'EUR' } }).expect(201);
    expect(again.body.id).toBe(first.body.id);
    expect((await balance(accountId)).amount).toBe(1300);
  });

  it('refuses wrong currency, postpaid accounts, card-number-like extras, and unknown accounts', async () => {
    const { accountId } = await prepaidAccount();
    const wrong = await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', 'usd').send({ amount: { amount: 100, currency: 'USD' } }).expect(422);
    expect(wrong.body.code).toBe('currency_mismatch');
    const post = await prepaidAccount('postpaid');
    expect((await recharge(post.accountId, 100).expect(409)).body.code).toBe('not_prepaid');
    expect((await t.http.post(`/v1/billing-accounts/${accountId}/recharges`).set('idempotency-key', 'card').send({ amount: { amount: 100, currency: 'EUR' }, cardNumber: '4111111111111111' }).expect(400)).body.code).toBe('validation_failed');
    expect((await recharge('01900000-0000-7000-8000-0000000000ff', 100).expect(404)).body.code).toBe('billing_account_not_found');
    expect((await recharge(accountId, 0).expect(400)).body.code).toBe('validation_failed');
    expect(await reconciled(accountId)).toMatchObject({ balance: 0, entries: 0, consistent: true });
  });

  it('100 concurrent debits against one balance: never below zero, and the ledger sums to the balance', async () => {
    const { accountId } = await prepaidAccount();
    await recharge(accountId, 5000).expect(201);
    const results = await Promise.all(Array.from({ length: 100 }, () => adjust(accountId, -120, 'Concurrent debit test')));
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(ok).toHaveLength(41); // 41 × 120 = 4920 ≤ 5000 < 42 × 120
    expect(refused.every((r) => r.status === 409 && r.body.code === 'insufficient_balance')).toBe(true);
    expect((await balance(accountId)).amount).toBe(80);
    expect(await reconciled(accountId)).toEqual({ balance: 80, entriesSum: 80, entries: 42, lastBalanceAfter: 80, consistent: true });
    const [low] = await t.database.sql`select min(balance_after)::int as min from billing.ledger_entries where billing_account_id = ${accountId}`;
    expect(low!.min).toBe(80);
    // Crossing below the 500 threshold warned once, not on every later debit.
    const [warned] = await t.database.sql`select count(*)::int as n from platform.events where aggregate_id = ${accountId} and type = 'balance.low'`;
    expect(warned!.n).toBe(1);
    expect((await t.http.get('/v1/billing/reconciliation').expect(200)).body).toEqual({ mismatches: [] });
  });

  it('transfers move money both ways at once: all or nothing, no deadlock, nothing made or lost', async () => {
    const a = await prepaidAccount();
    const b = await prepaidAccount();
    await recharge(a.accountId, 3000).expect(201);
    await recharge(b.accountId, 1000).expect(201);
    const send = (from: string, to: string, amount: number) => t.http.post(`/v1/billing-accounts/${from}/transfers`).set('idempotency-key', `t-${++keys}`)
      .send({ toBillingAccountId: to, amount: { amount, currency: 'EUR' } });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? send(a.accountId, b.accountId, 150) : send(b.accountId, a.accountId, 100))));
    expect(results.every((r) => r.status === 201 || (r.status === 409 && r.body.code === 'insufficient_balance'))).toBe(true);
    const [x, y] = [(await balance(a.accountId)).amount, (await balance(b.accountId)).amount];
    expect(x + y).toBe(4000);
    expect(Math.min(x, y)).toBeGreaterThanOrEqual(0);
    expect((await reconciled(a.accountId)).consistent).toBe(true);
    expect((await reconciled(b.accountId)).consistent).toBe(true);
    const moved = results.find((r) => r.status === 201)!.body;
    expect(moved.from).toMatchObject({ type: 'transfer', refType: 'transfer', refId: moved.id });
    expect(moved.to.amount).toBe(-moved.from.amount);
    // Refused: to itself, beyond the balance, without a key.
    expect((await send(a.accountId, a.accountId, 1).expect(422)).body.code).toBe('same_account');
    expect((await send(a.accountId, b.accountId, 1_000_000).expect(409)).body.code).toBe('insufficient_balance');
    await t.http.post(`/v1/billing-accounts/${a.accountId}/transfers`).send({ toBillingAccountId: b.accountId, amount: { amount: 1, currency: 'EUR' } }).expect(400);
  });

  it('a transfer moves only the sender\'s own money, and lands on an expired balance as a recharge does', async () => {
    const from = await prepaidAccount();
    const to = await prepaidAccount();
    const send = (amount: number) => t.http.post(`/v1/billing-accounts/${from.accountId}/transfers`).set('idempotency-key', `t-${++keys}`)
      .send({ toBillingAccountId: to.accountId, amount: { amount, currency: 'EUR' } });
    await t.http.patch(`/v1/billing-accounts/${from.accountId}/balance`).send({ creditLimit: 1000 }).expect(200);
    await recharge(from.accountId, 200).expect(201);
    expect((await send(300).expect(409)).body.code).toBe('insufficient_balance'); // 200 of its own; the 1000 lent stays put
    await recharge(to.accountId, 300).expect(201);
    await t.database.sql`update billing.balances set valid_until = now() - interval '1 day' where billing_account_id = ${to.accountId}`;
    await send(150).expect(201);
    const ledger = (await t.http.get(`/v1/billing-accounts/${to.accountId}/ledger`).expect(200)).body.items;
    expect(ledger.map((e: { type: string; amount: number }) => [e.type, e.amount])).toEqual([['transfer', 150], ['expiry', -300], ['recharge', 300]]);
    const after = await balance(to.accountId);
    expect(after.amount).toBe(150);
    expect(new Date(after.validUntil).getTime()).toBeGreaterThan(Date.now());
  });

  it('a customer transfers between its own accounts only; a CSR above the limit needs a supervisor', async () => {
    const mine = await prepaidAccount();
    const second = (await t.http.post(`/v1/customers/${mine.customerId}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body.id as string;
    const stranger = await prepaidAccount();
    await recharge(mine.accountId, 2000).expect(201);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: mine.customerId }));
    const send = (caller: typeof me, from: string, to: string, amount: number) => caller.post(`/v1/billing-accounts/${from}/transfers`).set('idempotency-key', `t-${++keys}`)
      .send({ toBillingAccountId: to, amount: { amount, currency: 'EUR' } });
    await send(me, mine.accountId, second, 500).expect(201);
    expect((await send(me, mine.accountId, stranger.accountId, 100).expect(404)).body.code).toBe('billing_account_not_found');
    expect((await send(me, stranger.accountId, mine.accountId, 100).expect(404)).body.code).toBe('billing_account_not_found');
    expect((await balance(second)).amount).toBe(500);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    expect((await send(csr, mine.accountId, stranger.accountId, 6000).expect(403)).body.code).toBe('supervisor_required');
    await send(csr, mine.accountId, stranger.accountId, 300).expect(201);
    const partner = asCaller(t, await keyFor(t, { principalKind: 'partner', partnerId: '00000000-0000-7000-8000-000000000001' }));
    await send(partner, mine.accountId, second, 1).expect(403);
  });

  it('a credit limit lets the balance go below zero, only that far; only a supervisor sets it', async () => {
    const { accountId } = await prepaidAccount();
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    expect((await csr.patch(`/v1/billing-accounts/${accountId}/balance`).send({ creditLimit: 1000 }).expect(403)).body.code).toBe('supervisor_required');
    await csr.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: null }).expect(200);
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    expect((await supervisor.patch(`/v1/billing-accounts/${accountId}/balance`).send({ creditLimit: 1000 }).expect(200)).body.creditLimit).toBe(1000);
    await adjust(accountId, -1000).expect(201);
    expect((await adjust(accountId, -1).expect(409)).body.code).toBe('insufficient_balance');
    expect((await supervisor.patch(`/v1/billing-accounts/${accountId}/balance`).send({ creditLimit: 500 }).expect(409)).body.code).toBe('credit_limit_below_debt');
    expect((await balance(accountId)).amount).toBe(-1000);
  });

  it('a CSR adjusts small amounts with a reason; larger ones need a supervisor; every one is audited', async () => {
    const { accountId } = await prepaidAccount();
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    const small = (await csr.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount: 5000, currency: 'EUR', reason: 'Outage goodwill' }).expect(201)).body;
    expect(small).toMatchObject({ type: 'adjustment', amount: 5000, reason: 'Outage goodwill' });
    expect((await csr.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount: -5001, currency: 'EUR', reason: 'Big fix' }).expect(403)).body.code).toBe('supervisor_required');
    await csr.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount: 10, currency: 'EUR' }).expect(400);
    const supervisor = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'supervisor' }));
    await supervisor.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount: -5001, currency: 'EUR', reason: 'Reverse a double credit' }).expect(409);
    await supervisor.post(`/v1/billing-accounts/${accountId}/adjustments`).set('idempotency-key', `a-${++keys}`).send({ amount: -4000, currency: 'EUR', reason: 'Reverse a double credit' }).expect(201);
    const audited = await t.database.sql`select action, details->>'reason' as reason from platform.audit_log where entity_id = ${accountId} and action = 'balance.adjusted' order by id`;
    expect(audited).toEqual([{ action: 'balance.adjusted', reason: 'Outage goodwill' }, { action: 'balance.adjusted', reason: 'Reverse a double credit' }]);
  });

  it('the ledger cannot be rewritten, and expired balances are emptied once', async () => {
    const { accountId } = await prepaidAccount();
    await recharge(accountId, 700).expect(201);
    await expect(t.database.sql`update billing.ledger_entries set amount = 1 where billing_account_id = ${accountId}`).rejects.toThrow(/append-only/);
    await expect(t.database.sql`delete from billing.ledger_entries where billing_account_id = ${accountId}`).rejects.toThrow(/append-only/);
    await t.database.sql`update billing.balances set valid_until = now() - interval '1 second' where billing_account_id = ${accountId}`;
    for (let i = 0; i < 2; i++) {
      await t.database.sql`select graphile_worker.add_job('billing.expire_balances', '{}'::json)`;
      await t.runJobs();
    }
    expect((await balance(accountId)).amount).toBe(0);
    const ledger = (await t.http.get(`/v1/billing-accounts/${accountId}/ledger`).expect(200)).body.items;
    expect(ledger.map((e: { type: string; amount: number }) => [e.type, e.amount])).toEqual([['expiry', -700], ['recharge', 700]]);
  });

  it('customers and partners read only their own balance; they cannot recharge or adjust', async () => {
    const mine = await prepaidAccount();
    const theirs = await prepaidAccount();
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: mine.customerId }));
    await me.get(`/v1/billing-accounts/${mine.accountId}/balance`).expect(200);
    await me.get(`/v1/billing-accounts/${mine.accountId}/ledger`).expect(200);
    expect((await me.get(`/v1/billing-accounts/${theirs.accountId}/balance`).expect(404)).body.code).toBe('billing_account_not_found');
    await me.get(`/v1/billing-accounts/${theirs.accountId}/ledger`).expect(404);
    await me.get(`/v1/billing-accounts/${theirs.accountId}/ledger/reconciliation`).expect(404);
    await me.post(`/v1/billing-accounts/${mine.accountId}/recharges`).set('idempotency-key', 'me').send({ amount: { amount: 100, currency: 'EUR' } }).expect(403);
    await me.post(`/v1/billing-accounts/${mine.accountId}/adjustments`).set('idempotency-key', 'me-a').send({ amount: 100, currency: 'EUR', reason: 'Free money' }).expect(403);
    await me.get('/v1/billing/reconciliation').expect(403);
    const partner = asCaller(t, await keyFor(t, { principalKind: 'partner', partnerId: '01900000-0000-7000-8000-0000000000bb' }));
    await partner.get(`/v1/billing-accounts/${mine.accountId}/balance`).expect(404);
    const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
    await marketing.get(`/v1/billing-accounts/${mine.accountId}/balance`).expect(403);
  });

  it('expired money is neither spent nor carried into a new validity', async () => {
    const { accountId } = await prepaidAccount();
    await recharge(accountId, 900).expect(201);
    await t.database.sql`update billing.balances set valid_until = now() - interval '1 second' where billing_account_id = ${accountId}`;
    expect((await adjust(accountId, -100).expect(409)).body.code).toBe('balance_expired');
    await recharge(accountId, 300).expect(201);
    const ledger = (await t.http.get(`/v1/billing-accounts/${accountId}/ledger`).expect(200)).body.items;
    expect(ledger.map((e: { type: string; amount: number }) => [e.type, e.amount])).toEqual([['recharge', 300], ['expiry', -900], ['recharge', 900]]);
    expect((await balance(accountId)).amount).toBe(300);
    expect((await reconciled(accountId)).consistent).toBe(true);
  });

  it('one processor payment credits one account; a closed account takes no money by hand', async () => {
    const a = await prepaidAccount();
    const b = await prepaidAccount();
    await recharge(a.accountId, 100, { paymentRef: 'psp-shared' }).expect(201);
    expect((await recharge(b.accountId, 100, { paymentRef: 'psp-shared' }).expect(409)).body.code).toBe('duplicate_entry');
    await t.http.patch(`/v1/customers/${a.customerId}/billing-accounts/${a.accountId}`).send({ status: 'closed' }).expect(200);
    expect((await recharge(a.accountId, 100).expect(409)).body.code).toBe('account_closed');
    expect((await adjust(a.accountId, 100).expect(409)).body.code).toBe('account_closed');
    await t.http.post(`/v1/billing-accounts/${b.accountId}/adjustments`).send({ amount: 1, currency: 'EUR', reason: 'No key' }).expect(400);
  });

  it('a refused credit inside a caller\'s transaction leaves that transaction usable', async () => {
    const { accountId } = await prepaidAccount();
    const m = { billingAccountId: accountId, currency: 'EUR', type: 'voucher' as const, refType: 'voucher', actor: 'system:test' };
    await t.database.db.transaction(async (tx) => {
      await credit(tx, { ...m, amount: 100, refId: 'V-1' });
      await expect(credit(tx, { ...m, amount: 100, refId: 'V-1' })).rejects.toMatchObject({ code: 'duplicate_entry' });
      await credit(tx, { ...m, amount: 50, refId: 'V-2' });
    });
    expect((await balance(accountId)).amount).toBe(150);
    expect(await reconciled(accountId)).toMatchObject({ entries: 2, consistent: true });
  });

  it('raising the warning threshold above the balance warns once; customers see who moved money only by kind', async () => {
    const { accountId, customerId } = await prepaidAccount();
    await recharge(accountId, 800).expect(201);
    await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: 1000 }).expect(200);
    await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: 1200 }).expect(200);
    const [warned] = await t.database.sql`select count(*)::int as n from platform.events where aggregate_id = ${accountId} and type = 'balance.low'`;
    expect(warned!.n).toBe(1);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    const [entry] = (await me.get(`/v1/billing-accounts/${accountId}/ledger`).expect(200)).body.items;
    expect(entry.actor).toBe('staff');
  });
});
