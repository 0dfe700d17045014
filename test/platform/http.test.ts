import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { anon, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

describe('health and readiness', () => {
  it('answers /healthz and /readyz without credentials', async () => {
    await anon(t).get('/healthz').expect(200, { status: 'ok' });
    const ready = await anon(t).get('/readyz').expect(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.migrations).toBeGreaterThan(0);
  });

  it('gives every response a request id, and echoes a caller-chosen one only when it is plain', async () => {
    const res = await anon(t).get('/healthz').set('x-request-id', 'trace-abc-123');
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    for (const forged of ['x'.repeat(65), 'a b', '<script>']) {
      const other = await anon(t).get('/healthz').set('x-request-id', forged);
      expect(other.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    }
  });
});

describe('problem+json errors', () => {
  it('refuses broken JSON with a 400 problem', async () => {
    const res = await t.http.post('/v1/customers').set('content-type', 'application/json').send('{"broken json');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('malformed_body');
  });

  it('lists the invalid fields of a body', async () => {
    const res = await t.http.post('/v1/customers').send({ type: 'martian', givenName: 42 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.type', 'body.givenName']));
  });

  it('answers 404 problem for an unknown route and for an unknown id', async () => {
    const route = await t.http.get('/v1/nowhere').expect(404);
    expect(route.body.code).toBe('route_not_found');
    const id = await t.http.get('/v1/customers/00000000-0000-4000-8000-000000000000').expect(404);
    expect(id.body.code).toBe('customer_not_found');
    expect(id.headers['content-type']).toMatch(/problem\+json/);
  });

  it('refuses a malformed id or huge strings with 400, never 500', async () => {
    await t.http.get('/v1/customers/not-an-id').expect(400);
    const huge = await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'x'.repeat(100_000), familyName: 'y' });
    expect(huge.status).toBe(400);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await t.http.post('/v1/customers').set('content-type', 'application/json').send(JSON.stringify({ pad: 'x'.repeat(2_000_000) }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('refuses an unsupported content type with 415', async () => {
    const res = await t.http.post('/v1/customers').set('content-type', 'text/csv').send('a,b');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported_media_type');
  });
});

describe('API documentation', () => {
  it('serves the OpenAPI 3.1 document and a browsable UI without credentials', async () => {
    const doc = await anon(t).get('/docs/json').expect(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/v1/customers'].post.operationId).toBe('createCustomer');
    const ui = await anon(t).get('/docs/').expect(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('security headers and metrics', () => {
  it('sets helmet headers', async () => {
    const res = await anon(t).get('/healthz');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('exposes Prometheus metrics for requests, jobs, outbox and pool', async () => {
    await t.http.get('/v1/customers').expect(200);
    const res = await anon(t).get('/metrics').expect(200);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/v1\/customers",status="200"\} \d+/);
    expect(res.text).toContain('http_request_duration_seconds_bucket');
    expect(res.text).toContain('jobs_queue_depth{state="ready"}');
    expect(res.text).toContain('outbox_lag_seconds');
    expect(res.text).toContain('db_connections');
  });
});

describe('values the database refuses', () => {
  it('answers 400, not 500, for a NUL character or an impossible date, and writes nothing', async () => {
    const count = async () => (await t.database.sql`select (select count(*) from platform.events) + (select count(*) from platform.audit_log)
      + (select count(*) from customers.contact_points) as n`)[0]!.n;
    const before = await count();
    const nul = await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Ada', familyName: 'L\u0000', contactPoints: [{ kind: 'email', value: 'nul@example.com' }] });
    expect(nul.status).toBe(400);
    expect(nul.body.code).toBe('invalid_value');
    expect(await count()).toBe(before);
    const search = await t.http.get('/v1/customers/search').query({ name: 'ab\u0000cd' });
    expect(search.status).toBe(400);
    const c = await t.http.post('/v1/customers').send({ type: 'individual', givenName: 'Old', familyName: 'Doc' }).expect(201);
    const doc = await t.http.post(`/v1/customers/${c.body.id}/identity-documents`).send({ kind: 'passport', number: 'P1234567', issuingCountry: 'GB', expiresOn: '0000-01-01' });
    expect(doc.status).toBe(400);
  });
});

describe('errors raised before any route', () => {
  it('answers a request Node cannot parse (raw UTF-8 in the URL) with a 400 problem, not a bare "Client Error"', async () => {
    await t.app.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.app.server.address() as import('node:net').AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from('GET /v1/outages?postcode=Gebühr HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')));
      let text = '';
      socket.on('data', (d) => { text += d.toString('utf8'); }).on('end', () => resolve(text)).on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('answers a malformed URL with a 400 problem', async () => {
    const res = await t.http.get('/v1/customers/%zz');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.code).toBe('bad_request');
  });
});
