import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taxOf } from '../../../src/modules/billing/invoice-rules.js';
import { asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';
import { activePlan, customerWithAccount, fulfilled, stock } from '../orders/fixtures.js';

let t: TestApp;
beforeAll(async () => { t = await testApp({ env: { TAX_RATES: 'DE:1900,FR:2000', PAYMENT_TERMS_DAYS: '14' } }); });
afterAll(async () => { await t.close(); });

const MiB = 1024 ** 2;
let keys = 0;

/** A postpaid customer in Germany with one line and some usage, all moved into last month's cycle. */
async function billedLastMonth() {
  const plan = await activePlan(t, { kind: 'postpaid', fee: 3100, dataGiB: 1 });
  await stock(t, 1);
  const { accountId, customerId } = await customerWithAccount(t, 'postpaid', 1);
  await t.http.post(`/v1/customers/${customerId}/addresses`).send({ kind: 'billing', line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE' }).expect(201);
  const order = await fulfilled(t, { type: 'new_line', billingAccountId: accountId, planId: plan.id });
  const line = (await t.http.get(`/v1/lines/${order.lineId}`).expect(200)).body;
  await t.http.post('/v1/usage/batches').send({ records: [{ recordId: `inv-${accountId}`, msisdn: line.msisdn, usageType: 'data', quantity: 1024 * MiB + 300 * MiB, startedAt: new Date().toISOString() }] }).expect(200);
  // The test cannot wait for the month to end: what happened is moved into the cycle that has.
  await t.database.sql`update orders.charge_lines set created_at = date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' - interval '1 day',
    period_from = date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' - interval '1 day' where billing_account_id = ${accountId}`;
  await t.database.sql`update billing.usage_records set started_at = date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' - interval '1 day' where billing_account_id = ${accountId}`;
  const [charges] = await t.database.sql`select coalesce(sum(amount), 0)::int as sum from orders.charge_lines where billing_account_id = ${accountId}`;
  const [usage] = await t.database.sql`select coalesce(sum(amount), 0)::int as sum from billing.usage_records where billing_account_id = ${accountId}`;
  expect(usage!.sum).toBeGreaterThan(0); // beyond the part of the allowance a line joining mid-cycle gets
  return { accountId, customerId, lineId: line.id as string, expectedSubtotal: charges!.sum + usage!.sum };
}
const invoicesOf = async (accountId: string) => (await t.http.get(`/v1/billing-accounts/${accountId}/invoices`).expect(200)).body.items;
const pay = (invoiceId: string, amount: number, processorRef: string) =>
  t.http.post(`/v1/invoices/${invoiceId}/payments`).set('idempotency-key', `p-${++keys}`).send({ amount, currency: 'EUR', processorRef });

describe('bill run and invoices', () => {
  it('invoices last month\'s charges and usage with the country\'s tax, numbered without gaps, once', async () => {
    const { accountId, expectedSubtotal } = await billedLastMonth();
    expect((await t.http.post('/v1/billing/bill-runs').expect(200)).body.issued).toBeGreaterThanOrEqual(1);
    const [summary] = await invoicesOf(accountId);
    const invoice = (await t.http.get(`/v1/invoices/${summary.id}`).expect(200)).body;
    expect(invoice.number).toMatch(new RegExp(`^${new Date().getUTCFullYear()}-\\d{6}$`));
    expect(invoice).toMatchObject({ country: 'DE', taxRateBp: 1900, subtotal: expectedSubtotal, tax: taxOf(expectedSubtotal, 1900), paid: 0 });
    expect(invoice.total).toBe(invoice.subtotal + invoice.tax);
    expect(invoice.lines.map((l: { kind: string }) => l.kind).sort()).toEqual(['charge', 'usage']);
    const due = new Date(invoice.dueAt).getTime() - new Date(invoice.issuedAt).getTime();
    expect(due).toBe(14 * 86_400_000);

    await t.http.post('/v1/billing/bill-runs').expect(200);
    expect(await invoicesOf(accountId)).toHaveLength(1);
    const numbers = (await t.database.sql`select number from billing.invoices order by number`).map((r) => Number(r.number.split('-')[1]));
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    const [{ unbilled }] = await t.database.sql`select count(*)::int as unbilled from orders.charge_lines where billing_account_id = ${accountId} and billed_at is null` as unknown as [{ unbilled: number }];
    expect(unbilled).toBe(0);
    const events = await t.database.sql`select type from platform.events where aggregate_id = ${accountId} and type like 'invoice.%'`;
    expect(events.map((e) => e.type)).toEqual(['invoice.issued']);

    // The database keeps it as issued: only settlement moves.
    await expect(t.database.sql`update billing.invoices set total = 1 where id = ${invoice.id}`).rejects.toThrow(/immutable/);
    await expect(t.database.sql`delete from billing.invoice_lines where invoice_id = ${invoice.id}`).rejects.toThrow(/append-only/);
    await t.database.sql`update billing.invoices set dunning = dunning where id = ${invoice.id}`;

    const html = await t.http.get(`/v1/invoices/${invoice.id}/document`).expect(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toContain(invoice.number);
    expect(html.text).toContain((invoice.total / 100).toFixed(2));
  });

  it('takes partial, full and over-payment: the rest is credit for the next invoice; a payment counts once', async () => {
    const { accountId } = await billedLastMonth();
    await t.http.post('/v1/billing/bill-runs').expect(200);
    const [invoice] = await invoicesOf(accountId);
    const first = (await pay(invoice.id, 1000, `psp-${accountId}-1`).expect(201)).body;
    expect(first).toMatchObject({ applied: 1000, credit: 0 });
    expect((await t.http.get(`/v1/invoices/${invoice.id}`).expect(200)).body.due).toBe(invoice.total - 1000);
    expect((await pay(invoice.id, 1000, `psp-${accountId}-1`).expect(409)).body.code).toBe('duplicate_payment');
    const rest = (await pay(invoice.id, invoice.total - 1000 + 250, `psp-${accountId}-2`).expect(201)).body;
    expect(rest).toMatchObject({ applied: invoice.total - 1000, credit: 250 });
    const after = (await t.http.get(`/v1/invoices/${invoice.id}`).expect(200)).body;
    expect(after).toMatchObject({ paid: invoice.total, due: 0 });
    const types = (await t.database.sql`select type from platform.events where aggregate_id = ${accountId} and type in ('payment.received', 'invoice.paid') order by id`).map((e) => e.type);
    expect(types).toEqual(['payment.received', 'invoice.paid', 'payment.received']);
    await t.http.post(`/v1/invoices/${invoice.id}/payments`).send({ amount: 1, currency: 'EUR', processorRef: 'no-key' }).expect(400);
    await t.http.post(`/v1/invoices/${invoice.id}/payments`).set('idempotency-key', 'card').send({ amount: 1, currency: 'EUR', processorRef: 'x', cardNumber: '4111111111111111' }).expect(400);
    await t.http.post(`/v1/invoices/${invoice.id}/payments`).set('idempotency-key', 'card2').send({ amount: 1, currency: 'EUR', processorRef: '4111 1111 1111 1111' }).expect(400);
    await t.http.post(`/v1/invoices/${invoice.id}/payments`).set('idempotency-key', 'prefix').send({ amount: 1, currency: 'EUR', processorRef: 'credit-note:CN-1' }).expect(400);
  });

  it('reminds on the configured days after the due date, then bars the lines; paying lifts the bar', async () => {
    const { accountId, lineId } = await billedLastMonth();
    await t.http.post('/v1/billing/bill-runs').expect(200);
    const [invoice] = await invoicesOf(accountId);
    // Issued invoices are immutable in the database: the test moves the clock past the due date with triggers off.
    await t.database.sql.begin(async (sql) => {
      await sql`set local session_replication_role = replica`;
      await sql`update billing.invoices set due_at = now() - interval '25 days' where id = ${invoice.id}`;
    });
    // A cap had barred the line already: dunning takes it over, so the next cycle does not free it.
    await t.database.sql`update orders.lines set status = 'barred', restriction = 'spend_cap', status_reason = 'cap' where id = ${lineId}`;
    await t.http.post('/v1/billing/dunning-runs').expect(200);
    await t.http.post('/v1/billing/dunning-runs').expect(200);
    const types = (await t.database.sql`select type, payload->>'daysLate' as late from platform.events where aggregate_id = ${accountId} and type in ('invoice.reminder', 'invoice.lines_suspended') order by id`)
      .map((e) => `${e.type}${e.late ? `:${e.late}` : ''}`);
    expect(types).toEqual(['invoice.reminder:3', 'invoice.reminder:10', 'invoice.lines_suspended']);
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body).toMatchObject({ status: 'barred', restriction: 'dunning' });
    await pay(invoice.id, invoice.total, `psp-dun-${accountId}`).expect(201);
    expect((await t.http.get(`/v1/lines/${lineId}`).expect(200)).body).toMatchObject({ status: 'active', restriction: null });
  });

  it('corrects an issued invoice by credit notes: less due, then account credit that pays the next invoice', async () => {
    const { accountId, customerId } = await billedLastMonth();
    await t.http.post('/v1/billing/bill-runs').expect(200);
    const [invoice] = await invoicesOf(accountId);
    const note = (await t.http.post(`/v1/invoices/${invoice.id}/credit-notes`).set('idempotency-key', `cn-${invoice.id}`).send({ amount: 100, reason: 'Outage on the 3rd' }).expect(201)).body;
    expect(note).toMatchObject({ number: expect.stringMatching(/^CN-\d{4}-\d{6}$/), subtotal: 100, tax: 19, total: 119, accountCredit: 0 });
    const after = (await t.http.get(`/v1/invoices/${invoice.id}`).expect(200)).body;
    expect(after).toMatchObject({ total: invoice.total, credited: 119, due: invoice.total - 119 });
    expect(after.creditNotes).toMatchObject([{ issuedBy: expect.stringMatching(/^staff:.+/) }]);
    // The customer reads that staff issued it, not which member of staff.
    const customer = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    expect((await customer.get(`/v1/invoices/${invoice.id}`).expect(200)).body.creditNotes).toMatchObject([{ number: note.number, issuedBy: 'staff' }]);
    await pay(invoice.id, invoice.total - 119, `psp-cn-${accountId}`).expect(201);
    // Already paid: a further credit note becomes the account's credit.
    const second = (await t.http.post(`/v1/invoices/${invoice.id}/credit-notes`).set('idempotency-key', `cn2-${invoice.id}`).send({ amount: 200, reason: 'Goodwill' }).expect(201)).body;
    expect(second.accountCredit).toBe(238);
    const tooMuch = await t.http.post(`/v1/invoices/${invoice.id}/credit-notes`).set('idempotency-key', `cn3-${invoice.id}`).send({ amount: invoice.total, reason: 'Everything' }).expect(422);
    expect(tooMuch.body.code).toBe('credit_exceeds_invoice');
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    expect((await csr.post(`/v1/invoices/${invoice.id}/credit-notes`).send({ amount: 6000, reason: 'Big' }).expect(403)).body.code).toBe('supervisor_required');
    // The credit pays the next invoice when it is issued.
    const [credit] = await t.database.sql`select (amount - applied)::int as left from billing.payments where billing_account_id = ${accountId} and processor_ref like 'credit-note:%'`;
    expect(credit!.left).toBe(238);
  });

  it('a credit note that settles what is still due makes the invoice paid; notes and credits show on the documents', async () => {
    const { accountId, customerId } = await billedLastMonth();
    await t.http.post('/v1/billing/bill-runs').expect(200);
    const [invoice] = await invoicesOf(accountId);
    await pay(invoice.id, invoice.total - 119, `psp-part-${accountId}`).expect(201);
    const paidEvents = async () => (await t.database.sql`select count(*)::int as n from platform.events where type = 'invoice.paid' and payload->>'invoiceId' = ${invoice.id}`)[0]!.n;
    expect(await paidEvents()).toBe(0);
    const note = (await t.http.post(`/v1/invoices/${invoice.id}/credit-notes`).set('idempotency-key', `cn-settle-${invoice.id}`).send({ amount: 100, reason: 'Outage <3rd>' }).expect(201)).body;
    expect(note.accountCredit).toBe(0);
    expect(await paidEvents()).toBe(1);
    expect((await t.http.get(`/v1/invoices/${invoice.id}`).expect(200)).body.due).toBe(0);

    const html = (await t.http.get(`/v1/invoices/${invoice.id}/document`).expect(200)).text;
    expect(html).toContain(`Credited (${note.number})`);
    expect(html).toContain('1.19 EUR');
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    const doc = await me.get(`/v1/invoices/${invoice.id}/credit-notes/${note.id}/document`).expect(200).expect('content-type', /text\/html/);
    expect(doc.text).toContain(`Credit note ${note.number}`);
    expect(doc.text).toContain('Outage &#60;3rd&#62;');
    expect(doc.text).toContain('1.19 EUR');
    const stranger = await customerWithAccount(t, 'postpaid');
    const other = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: stranger.customerId }));
    expect((await other.get(`/v1/invoices/${invoice.id}/credit-notes/${note.id}/document`).expect(404)).body.code).toBe('invoice_not_found');
    expect((await me.get(`/v1/invoices/${invoice.id}/credit-notes/${invoice.id}/document`).expect(404)).body.code).toBe('credit_note_not_found');
  });

  it('a postpaid account that closes is invoiced at once: the last cycle, then the current one so far, marked final', async () => {
    const { accountId, customerId, lineId, expectedSubtotal } = await billedLastMonth();
    // Something this month too: a one-off credit on the line.
    await t.database.sql`insert into orders.charge_lines (id, line_id, billing_account_id, kind, ref, description, amount, currency)
      values (gen_random_uuid(), ${lineId}, ${accountId}, 'charge', 'test', 'Installation', 2500, 'EUR')`;
    // Not while a line still runs on it: what the line ran up afterwards would never be billed.
    const close = () => t.http.patch(`/v1/customers/${customerId}/billing-accounts/${accountId}`).send({ status: 'closed' });
    expect((await close().expect(409)).body.code).toBe('billing_account_in_use');
    await fulfilled(t, { type: 'terminate', lineId, reason: 'Leaving' });
    await close().expect(200);
    await t.runJobs();
    const issued = await t.database.sql`select payload->>'final' as final, (payload->'total'->>'amount')::int as total from platform.events
      where type = 'invoice.issued' and aggregate_id = ${accountId} order by id`;
    expect(issued.map((e) => e.final)).toEqual(['false', 'true']);
    const [last, final] = (await invoicesOf(accountId)).sort((a: { number: string }, b: { number: string }) => a.number.localeCompare(b.number));
    expect((await t.http.get(`/v1/invoices/${last.id}`).expect(200)).body.subtotal).toBe(expectedSubtotal);
    // The final one: this month's installation, and the unused part of the plan fee credited at termination.
    const finalInvoice = (await t.http.get(`/v1/invoices/${final.id}`).expect(200)).body;
    expect(finalInvoice.lines.map((l: { description: string }) => l.description)).toContain('Installation');
    expect(finalInvoice.lines.some((l: { amount: number }) => l.amount < 0)).toBe(true);
    expect(finalInvoice.subtotal).toBe(finalInvoice.lines.reduce((n: number, l: { amount: number }) => n + l.amount, 0));
    // The bill run leaves a closed account alone.
    await t.http.post('/v1/billing/bill-runs').expect(200);
    expect(await invoicesOf(accountId)).toHaveLength(2);
  });

  it('a customer sees their own invoices only; a CSR cannot run bills', async () => {
    const mine = await billedLastMonth();
    const theirs = await customerWithAccount(t, 'postpaid');
    await t.http.post('/v1/billing/bill-runs').expect(200);
    const [invoice] = await invoicesOf(mine.accountId);
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: mine.customerId }));
    await me.get(`/v1/invoices/${invoice.id}`).expect(200);
    await me.get(`/v1/invoices/${invoice.id}/document`).expect(200);
    const other = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId: theirs.customerId }));
    expect((await other.get(`/v1/invoices/${invoice.id}`).expect(404)).body.code).toBe('invoice_not_found');
    await other.get(`/v1/billing-accounts/${mine.accountId}/invoices`).expect(404);
    await other.post(`/v1/invoices/${invoice.id}/payments`).set('idempotency-key', 'x').send({ amount: 1, currency: 'EUR', processorRef: 'x' }).expect(403);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/billing/bill-runs').expect(403);
  });
});
