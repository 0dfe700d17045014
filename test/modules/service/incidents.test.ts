import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anon, asCaller, keyFor, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
let monitoring: ReturnType<typeof asCaller>;
beforeAll(async () => {
  t = await testApp();
  monitoring = asCaller(t, await keyFor(t, { principalKind: 'integration', capabilities: ['incidents:report'] }));
});
afterAll(async () => { await t.close(); });

let seq = 0;
const fp = () => `${process.pid}${(++seq).toString(16).padStart(8, '0')}`;
/** An Alertmanager webhook (version 4) as Alertmanager sends it. */
const webhook = (status: 'firing' | 'resolved', alerts: { fingerprint: string; labels?: Record<string, string>; annotations?: Record<string, string>; endsAt?: string }[]) => ({
  version: '4', groupKey: '{}:{alertname="SiteDown"}', truncatedAlerts: 0, status, receiver: 'telco-crm',
  groupLabels: { alertname: 'SiteDown' }, commonLabels: { alertname: 'SiteDown' }, commonAnnotations: {}, externalURL: 'http://alertmanager:9093',
  alerts: alerts.map((a) => ({
    status, labels: { alertname: 'SiteDown', severity: 'critical', service: 'mobile,internet', ...a.labels },
    annotations: { summary: 'Cell site down', description: 'bts-17.core.internal unreachable, see runbook', public_description: 'Mobile and fixed internet are down around the site', ...a.annotations },
    startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: a.endsAt ?? '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint: a.fingerprint,
  })),
});
const outages = async (q: string) => (await anon(t).get(`/v1/outages?${q}`).expect(200)).body.items;
const events = async (id: string) => (await t.database.sql`select type from platform.events where aggregate_id = ${id} and type like 'outage.%' order by id`).map((e) => e.type);

describe('incidents from monitoring', () => {
  it('Alertmanager: a firing alert opens an incident, firing again updates it, resolved closes it; the public status shows it by area meanwhile', async () => {
    const postcode = `P${process.pid}${++seq}`;
    const fingerprint = fp();
    const first = (await monitoring.post('/v1/monitoring/alertmanager').send(webhook('firing', [{ fingerprint, labels: { postcode, cell: 'CELL-17' } }])).expect(200)).body.items;
    expect(first).toMatchObject([{ outcome: 'opened' }]);
    const id = first[0].incidentId;
    expect((await t.http.get(`/v1/incidents/${id}`).expect(200)).body).toMatchObject({
      title: 'Cell site down', severity: 'critical', status: 'open', services: ['mobile', 'internet'], areas: { cells: ['CELL-17'], postcodes: [postcode] }, source: 'alertmanager',
    });
    expect(await outages(`postcode=${postcode}`)).toMatchObject([{ id, title: 'Cell site down', statusText: { en: 'Mobile and fixed internet are down around the site' } }]);
    expect(await outages('postcode=NOWHERE')).toEqual([]);

    // Alertmanager repeats the same notification: nothing new, nothing announced; a staff edit stands.
    await t.http.patch(`/v1/incidents/${id}`).send({ title: 'Mobile site down in the old town' }).expect(200);
    const repeated = (await monitoring.post('/v1/monitoring/alertmanager').send(webhook('firing', [{ fingerprint, labels: { postcode, cell: 'CELL-17' } }])).expect(200)).body.items;
    expect(repeated).toMatchObject([{ outcome: 'unchanged', incidentId: id }]);
    const again = (await monitoring.post('/v1/monitoring/alertmanager').send(webhook('firing', [{ fingerprint, labels: { postcode, severity: 'warning' } }])).expect(200)).body.items;
    expect(again).toMatchObject([{ outcome: 'updated', incidentId: id }]);
    // The alert changed its severity and cells, not its summary: the staff's title stays.
    expect((await t.http.get(`/v1/incidents/${id}`).expect(200)).body).toMatchObject({ title: 'Mobile site down in the old town', severity: 'minor', areas: { cells: [] } });
    const resolved = (await monitoring.post('/v1/monitoring/alertmanager').send(webhook('resolved', [{ fingerprint, labels: { postcode }, endsAt: new Date().toISOString() }])).expect(200)).body.items;
    expect(resolved).toMatchObject([{ outcome: 'resolved', incidentId: id }]);
    expect((await t.http.get(`/v1/incidents/${id}`).expect(200)).body).toMatchObject({ status: 'resolved', severity: 'minor', endedAt: expect.any(String) });
    expect(await outages(`postcode=${postcode}`)).toEqual([]);
    expect(await events(id)).toEqual(['outage.opened', 'outage.updated', 'outage.updated', 'outage.resolved']);
    // Resolved twice: nothing more happens.
    expect((await monitoring.post('/v1/monitoring/alertmanager').send(webhook('resolved', [{ fingerprint }])).expect(200)).body.items).toMatchObject([{ outcome: 'ignored' }]);
  });

  it('the plain JSON form for other tools, deduplicated the same way; bad payloads and strangers are refused', async () => {
    const body = { fingerprint: fp(), status: 'firing', title: 'Fibre cut', severity: 'major', services: ['internet'], areas: { regions: ['north'] }, statusText: { en: 'Digging crew on site' } };
    const opened = (await monitoring.post('/v1/monitoring/alerts').send(body).expect(200)).body;
    expect((await monitoring.post('/v1/monitoring/alerts').send(body).expect(200)).body).toMatchObject({ outcome: 'unchanged', incidentId: opened.incidentId });
    expect((await monitoring.post('/v1/monitoring/alerts').send({ ...body, severity: 'critical' }).expect(200)).body).toMatchObject({ outcome: 'updated', incidentId: opened.incidentId });
    expect(await outages('region=north')).toEqual(expect.arrayContaining([expect.objectContaining({ id: opened.incidentId })]));
    await monitoring.post('/v1/monitoring/alertmanager').send({ ...webhook('firing', [{ fingerprint: fp() }]), version: '3' }).expect(400);
    await monitoring.post('/v1/monitoring/alerts').send({ ...body, services: ['television'] }).expect(400);
    await anon(t).post('/v1/monitoring/alerts').send(body).expect(401);
    const csr = asCaller(t, await keyFor(t, { principalKind: 'staff', role: 'csr' }));
    await csr.post('/v1/monitoring/alerts').send(body).expect(403);
    await anon(t).get('/v1/outages').expect(400);
  });

  it('planned maintenance is announced ahead and opens when it starts; staff update and resolve by hand', async () => {
    const startsAt = new Date(Date.now() + 3_600_000).toISOString();
    const planned = (await t.http.post('/v1/incidents').send({
      title: 'Core router upgrade', severity: 'minor', services: ['internet'], areas: { regions: ['south'] }, statusText: { en: 'Short interruptions', de: 'Kurze Unterbrechungen' }, startsAt,
    }).expect(201)).body;
    expect(planned.status).toBe('scheduled');
    await t.database.sql`update service.incidents set starts_at = now() - interval '1 minute' where id = ${planned.id}`;
    await t.database.sql`select graphile_worker.add_job('service.start_scheduled_incidents', '{}'::json)`;
    await t.runJobs();
    // A merge patch: the English text changes, the German stays; areas and text survive a change of severity.
    expect((await t.http.patch(`/v1/incidents/${planned.id}`).send({ statusText: { en: 'Running late' } }).expect(200)).body)
      .toMatchObject({ status: 'open', statusText: { en: 'Running late', de: 'Kurze Unterbrechungen' } });
    expect((await t.http.patch(`/v1/incidents/${planned.id}`).send({ severity: 'major' }).expect(200)).body)
      .toMatchObject({ severity: 'major', areas: { regions: ['south'] }, statusText: { en: 'Running late', de: 'Kurze Unterbrechungen' } });
    // Agents' views are not for customers.
    const customerId = (await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Out', familyName: 'Age' }).expect(201)).body.id;
    const me = asCaller(t, await keyFor(t, { principalKind: 'customer', customerId }));
    for (const url of [`/v1/incidents/${planned.id}`, '/v1/incidents', '/v1/kb-articles?q=x', '/v1/sla-policies', '/v1/business-calendars']) await me.get(url).expect(403);
    await t.http.post(`/v1/incidents/${planned.id}/resolve`).expect(200);
    expect((await t.http.post(`/v1/incidents/${planned.id}/resolve`).expect(409)).body.code).toBe('incident_resolved');
    expect(await events(planned.id)).toEqual(['outage.scheduled', 'outage.opened', 'outage.updated', 'outage.updated', 'outage.resolved']);
  });
});

describe('times a client sends', () => {
  it('outside the years 1900 to 9999 are refused with 400, not kept (nor a 500): lists stay readable', async () => {
    const body = { title: 'Odd times', severity: 'minor', services: ['internet'], areas: { regions: ['north'] }, statusText: { en: 'Odd' } };
    for (const startsAt of ['0030-06-01T00:00:00Z', '+010000-01-01T00:00:00Z', 253402300800000, -8.64e15]) {
      const res = await t.http.post('/v1/incidents').send({ ...body, startsAt }).expect(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'body.startsAt', message: expect.stringContaining('1900 and 9999') }] });
    }
    await t.http.post('/v1/incidents').send({ ...body, estimatedEndAt: '9999-12-31T23:00:00-02:00' }).expect(400);
    await t.http.get('/v1/incidents').expect(200);
    await t.http.get('/v1/service/kpis?from=2026-01-01T00:00:00Z&to=9999-12-31T23:00:00-02:00').expect(400);
    await t.http.post('/v1/api-keys').send({ name: 'far', principalKind: 'integration', capabilities: ['incidents:report'], expiresAt: '9999-12-31T23:00:00-02:00' }).expect(400);
    await t.http.post('/v1/voucher-batches').send({ name: 'Far', faceValue: { amount: 500, currency: 'EUR' }, quantity: 1, validUntil: 253402300800000 }).expect(400);
    // Times that cannot be meant: a batch valid only in the past, a key expired already, an outage ending before it starts.
    await t.http.post('/v1/voucher-batches').send({ name: 'Past', faceValue: { amount: 500, currency: 'EUR' }, quantity: 1, validFrom: '2000-01-01T00:00:00Z', validUntil: '2001-01-01T00:00:00Z' }).expect(400);
    await t.http.post('/v1/api-keys').send({ name: 'old', principalKind: 'integration', capabilities: ['incidents:report'], expiresAt: '2020-01-01T00:00:00Z' }).expect(400);
    const ends = await t.http.post('/v1/incidents').send({ ...body, startsAt: new Date(Date.now() + 7_200_000).toISOString(), estimatedEndAt: new Date(Date.now() + 3_600_000).toISOString() }).expect(400);
    expect(ends.body.errors).toMatchObject([{ path: 'body.estimatedEndAt' }]);
    const planned = (await t.http.post('/v1/incidents').send({ ...body, startsAt: new Date(Date.now() + 7_200_000).toISOString() }).expect(201)).body;
    const patched = await t.http.patch(`/v1/incidents/${planned.id}`).send({ estimatedEndAt: new Date(Date.now() + 3_600_000).toISOString() }).expect(422);
    expect(patched.body.code).toBe('incident_end_before_start');
    // Monitoring's times out of those years are taken as not said: the alert still opens its incident.
    const fingerprint = fp();
    const alert = webhook('firing', [{ fingerprint, endsAt: '+275760-09-13T00:00:00.000Z' }]);
    alert.alerts[0]!.startsAt = '-271821-04-20T00:00:00Z';
    expect((await monitoring.post('/v1/monitoring/alertmanager').send(alert).expect(200)).body.items).toMatchObject([{ outcome: 'opened' }]);
  });
});
