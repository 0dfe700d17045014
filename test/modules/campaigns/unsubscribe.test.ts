import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeLinks } from '../../../src/modules/campaigns/unsubscribe.js';
import { anon, testApp, type TestApp } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';
import { activatedCustomer, crossLowBalance, dayZone, upsellAndLowBalanceMail } from './fixtures.js';

const PUBLIC_URL = 'https://crm.example.test';
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let t: TestApp;
beforeAll(async () => {
  smtp = await smtpSink();
  t = await testApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL, QUIET_HOURS: '21:00-08:00' } });
  await upsellAndLowBalanceMail(t);
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

// A zone where it is day now and in two minutes: marketing is not held for quiet hours.
const day = dayZone;

/** A customer who consented to email marketing gets the upsell mail once a line is activated. */
async function activated() {
  const who = await activatedCustomer(t, { consent: true, timeZone: day });
  const mails = smtp.to(who.email);
  expect(mails).toHaveLength(1);
  return { ...who, raw: mails[0]!.raw };
}

/** The mail's header section, unfolded (RFC 5322 §2.2.3), by lower-case name. */
function headersOf(raw: string) {
  const section = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const all = new Map<string, string[]>();
  for (const line of section.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    all.set(name, [...(all.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return all;
}

/** The one-click link of a marketing mail, as a path on this API. */
function linkOf(raw: string) {
  const h = headersOf(raw);
  expect(h.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
  const [value] = h.get('list-unsubscribe') ?? [];
  const url = /^<(https:[^>]+)>$/.exec(value ?? '')?.[1];
  expect(url, `List-Unsubscribe: ${value}`).toMatch(new RegExp(`^${PUBLIC_URL}/v1/unsubscribe/[^/]+$`));
  return new URL(url!).pathname;
}

async function until(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const consentOf = async (customerId: string) =>
  (await t.http.get(`/v1/customers/${customerId}`).expect(200)).body.consents.find((c: { channel: string }) => c.channel === 'email');
const withdrawals = async (customerId: string) =>
  (await t.database.sql`select actor from customers.consent_history where customer_id = ${customerId} and source = 'one_click_unsubscribe'`).map((r) => r.actor);

describe('one-click unsubscribe (RFC 8058)', () => {
  it('a marketing mail carries List-Unsubscribe and List-Unsubscribe-Post; the provider\'s form POST withdraws email marketing consent, once', async () => {
    const { customerId, raw } = await activated();
    const path = linkOf(raw);
    expect(await consentOf(customerId)).toMatchObject({ granted: true, source: 'web_signup' });

    // As Gmail sends it: no credentials, the key/value pair of List-Unsubscribe-Post as a form.
    const res = await anon(t).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ unsubscribed: true });
    expect(await consentOf(customerId)).toMatchObject({ channel: 'email', granted: false, source: 'one_click_unsubscribe' });
    expect(await withdrawals(customerId)).toEqual(['staff:system']);

    // Again (a provider retrying, the person clicking twice), even with an empty body: the same answer, nothing more recorded.
    await anon(t).post(path).type('form').send('').expect(200, { unsubscribed: true });
    await anon(t).post(path).expect(200, { unsubscribed: true });
    expect(await withdrawals(customerId)).toHaveLength(1);
    expect(await consentOf(customerId)).toMatchObject({ granted: false, source: 'one_click_unsubscribe' });
  });

  it('opening the link shows a page whose button POSTs the form, and changes nothing by itself (link scanners fetch it)', async () => {
    const { customerId, raw } = await activated();
    const path = linkOf(raw);
    for (let i = 0; i < 2; i++) {
      const res = await anon(t).get(path).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/<form method="post">/);
      expect(res.text).toMatch(/<input type="hidden" name="List-Unsubscribe" value="One-Click">/);
    }
    expect(await consentOf(customerId)).toMatchObject({ granted: true, source: 'web_signup' });
    expect(await withdrawals(customerId)).toEqual([]);

    // The button, from a browser: a multipart form (RFC 8058's preferred encoding) and a page in answer.
    const res = await anon(t).post(path).set('accept', 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8').field('List-Unsubscribe', 'One-Click').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/You are unsubscribed/);
    expect(await consentOf(customerId)).toMatchObject({ granted: false, source: 'one_click_unsubscribe' });
  });

  it('clicks racing for one customer record one withdrawal', async () => {
    const { customerId, raw } = await activated();
    const path = linkOf(raw);
    // The consent row is held locked, so that every click has read "granted" or queued before any writes.
    const holder = await t.database.sql.reserve();
    await holder`begin`;
    await holder`select 1 from customers.consents where customer_id = ${customerId} and channel = 'email' for update`;
    const clicks = Array.from({ length: 3 }, () => anon(t).post(path).type('form').send('List-Unsubscribe=One-Click').then((r) => r.status));
    // (pg_stat_activity is read once per transaction unless the snapshot is cleared.)
    await until(async () => (await holder`select pg_stat_clear_snapshot(), (select count(*)::int from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock') as n`)[0]!.n === 3);
    await holder`commit`;
    holder.release();
    expect(await Promise.all(clicks)).toEqual([200, 200, 200]);
    expect(await withdrawals(customerId)).toHaveLength(1);
    expect(await consentOf(customerId)).toMatchObject({ granted: false, source: 'one_click_unsubscribe' });
  });

  it('a forged, altered or foreign link is refused with 404 unsubscribe_link_invalid and changes nothing', async () => {
    const { customerId, raw } = await activated();
    const path = linkOf(raw);
    const token = path.split('/').pop()!;
    const [messageId, mac] = token.split('.') as [string, string];
    const [other] = (await t.http.get(`/v1/messages?customerId=${customerId}`).expect(200)).body.items;
    expect(other.id).toBe(messageId);
    const flipped = `${messageId}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const otherMessage = `${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}.${mac}`;
    // Signed right, but with another key (another installation's, or the raw auth secret of a guess).
    const foreign = unsubscribeLinks('y'.repeat(32), PUBLIC_URL).url(messageId).split('/').pop()!;
    for (const bad of [flipped, otherMessage, foreign, messageId, 'nonsense', `${token}x`]) {
      for (const req of [anon(t).post(`/v1/unsubscribe/${bad}`).type('form').send('List-Unsubscribe=One-Click'), anon(t).get(`/v1/unsubscribe/${bad}`)]) {
        const res = await req.expect(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 404, code: 'unsubscribe_link_invalid' });
      }
    }
    expect(await consentOf(customerId)).toMatchObject({ granted: true, source: 'web_signup' });
    expect(await withdrawals(customerId)).toEqual([]);
  });

  it('transactional mail (a low balance) carries no List-Unsubscribe', async () => {
    const { accountId, email } = await activated();
    await crossLowBalance(t, accountId);
    for (let i = 0; i < 3; i++) await t.runJobs();
    const notice = smtp.to(email).find((m) => /Subject: Balance low/.test(m.raw));
    expect(notice).toBeDefined();
    const h = headersOf(notice!.raw);
    expect(h.has('list-unsubscribe')).toBe(false);
    expect(h.has('list-unsubscribe-post')).toBe(false);
  });
});
