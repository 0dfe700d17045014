import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller, closeAll, keyFor, type TestApp, testWorkers } from '../../support/app.js';
import { smtpSink } from '../../support/smtp.js';

// Campaigns sent at once by two workers (two apps on one database) to the same customers.
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let one: TestApp;
let two: TestApp;
beforeAll(async () => {
  smtp = await smtpSink();
  const env = { SMTP_URL: smtp.url, QUIET_HOURS: '00:00-00:00', MARKETING_CAP_PER_DAY: '1', EMAIL_SEND_RATE: '0', CAMPAIGN_SEND_RATE: '0' };
  [one, two] = await testWorkers(env, env) as [TestApp, TestApp];
});
afterAll(() => closeAll(one, two, smtp));

describe('frequency caps under concurrency', () => {
  it('three campaigns sent at once by two workers: each customer gets one marketing mail, the others are skipped for the cap', async () => {
    const emails = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const email = `cap-${process.pid}-${i}@example.org`;
      await one.http.post('/v1/customers').send({
        type: 'individual', givenName: 'Cal', familyName: 'Cap', segment: 'enterprise',
        contactPoints: [{ kind: 'email', value: email, isPrimary: true }], consents: [{ channel: 'email', granted: true, source: 'web' }],
      }).expect(201);
      return email;
    }));
    const marketing = asCaller(one, await keyFor(one, { principalKind: 'staff', role: 'marketing' }));
    const ids: string[] = [];
    for (const code of ['cap_a', 'cap_b', 'cap_c']) {
      await marketing.put(`/v1/message-templates/campaign.${code}/email/en`).send({ subject: code, body: 'Dear {{customer.name}}, an offer.' }).expect(200);
      ids.push((await marketing.post('/v1/campaigns').send({ code, name: code, channels: ['email'], segment: { segments: ['enterprise'] } }).expect(201)).body.id);
    }
    await Promise.all(ids.map((id) => marketing.post(`/v1/campaigns/${id}/start`).expect(200)));
    for (let i = 0; i < 3; i++) await Promise.all([one.runWorker(), two.runWorker()]);
    for (const email of emails) expect(smtp.to(email)).toHaveLength(1);
    const stats = await Promise.all(ids.map(async (id) => (await marketing.get(`/v1/campaigns/${id}/stats`).expect(200)).body));
    expect(stats.reduce((n, s) => n + s.sent, 0)).toBe(30);
    expect(stats.reduce((n, s) => n + s.skipped, 0)).toBe(60);
  });
});
