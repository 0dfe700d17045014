import { parseQuietHours, quietUntil } from '../../../src/modules/campaigns/send-rules.js';
import { asCaller, keyFor, type TestApp } from '../../support/app.js';
import { activePlan, fulfilled, stock } from '../orders/fixtures.js';

/** A new prepaid balance (0.00) is below the default threshold already: no threshold, then one above it, crosses it (balance.low). */
export async function crossLowBalance(t: TestApp, accountId: string) {
  await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: null }).expect(200);
  await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: 1000 }).expect(200);
}

/** In English: a marketing mail on activation (order.completed, "Welcome aboard") and the transactional low-balance mail. */
export async function upsellAndLowBalanceMail(t: TestApp) {
  const marketing = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'marketing' }));
  await marketing.put('/v1/message-templates/order.completed/email/en').send({ subject: 'Welcome aboard', body: 'Hi {{customer.name}}: 20% off your first data pack this week.' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Upsell after activation', eventType: 'order.completed', channels: ['email'], kind: 'marketing' }).expect(201);
  await marketing.put('/v1/message-templates/balance.low/email/en').send({ subject: 'Balance low', body: 'Your balance is {{balance}}.' }).expect(200);
  await marketing.post('/v1/message-triggers').send({ name: 'Low balance', eventType: 'balance.low', channels: ['email'] }).expect(201);
}

let seq = 0;
/** A customer with an email address, in a time zone, with email marketing consent or not, whose new prepaid line has been activated (and its events handled). */
export async function activatedCustomer(t: TestApp, who: { consent: boolean; timeZone: string }) {
  const email = `a${process.pid}-${++seq}@example.org`;
  const customer = (await t.http.post('/v1/customers').send({
    type: 'individual', givenName: 'Al', familyName: `Activated${seq}`, timeZone: who.timeZone, contactPoints: [{ kind: 'email', value: email, isPrimary: true }],
    consents: who.consent ? [{ channel: 'email', granted: true, source: 'web_signup' }] : [],
  }).expect(201)).body;
  const account = (await t.http.post(`/v1/customers/${customer.id}/billing-accounts`).send({ type: 'prepaid', currency: 'EUR' }).expect(201)).body;
  const plan = await activePlan(t, { kind: 'prepaid', fee: 0 });
  await stock(t, 1);
  await fulfilled(t, { type: 'new_line', billingAccountId: account.id, planId: plan.id });
  for (let i = 0; i < 3; i++) await t.runJobs();
  return { customerId: customer.id as string, accountId: account.id as string, email };
}

// Fixed-offset zones, one per hour.
const zones = Array.from({ length: 24 }, (_, i) => `Etc/GMT${i - 12 >= 0 ? '+' : '-'}${Math.abs(i - 12)}`).filter((z) => z !== 'Etc/GMT-0');
const quiet = parseQuietHours('21:00-08:00');
const quietNowAndSoon = (z: string) => [new Date(), new Date(Date.now() + 120_000)].map((at) => quietUntil(at, z, quiet) !== null);
/** With QUIET_HOURS 21:00-08:00: a zone where it is night now and in two minutes, and one where it is day. */
export const nightZone = zones.find((z) => quietNowAndSoon(z).every(Boolean))!;
export const dayZone = zones.find((z) => quietNowAndSoon(z).every((q) => !q))!;
