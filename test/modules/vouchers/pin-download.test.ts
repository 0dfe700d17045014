import { createServer, request, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinHasher } from '../../../src/modules/vouchers/pins.js';
import { ADMIN_KEY, testApp, type TestApp } from '../../support/app.js';

let t: TestApp;
// A Unix socket, not TCP: its buffers hold a few hundred kilobytes, where loopback TCP's can take
// the whole 1 MB download, which would then commit before the client hangs up, however fast it is.
const socketPath = path.join(tmpdir(), `pin-download-${process.pid}.sock`);
let unix: Server;
beforeAll(async () => {
  t = await testApp();
  await t.app.app.ready();
  rmSync(socketPath, { force: true });
  unix = createServer((req, res) => t.app.app.routing(req, res));
  await new Promise<void>((resolve) => unix.listen(socketPath, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => unix.close(resolve));
  await t.close();
});

const DAY = 86_400_000;
const QUANTITY = 50_000;

async function generatedBatch(quantity: number) {
  const batch = (await t.http.post('/v1/voucher-batches').send({
    name: 'Streamed', faceValue: { amount: 1000, currency: 'EUR' }, quantity, validUntil: new Date(Date.now() + 365 * DAY).toISOString(),
  }).expect(201)).body;
  await t.runJobs();
  return batch as { id: string; serialFrom: number; serialTo: number };
}

/** Whether a download's transaction holds the batch row (it does from the claim to the commit or rollback). */
async function batchLocked(id: string) {
  try {
    await t.database.sql.begin(async (tx) => { await tx`select 1 from vouchers.voucher_batches where id = ${id} for update nowait`; });
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') return true;
    throw err;
  }
}

async function until(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A real client on a real socket: reads the head of the download, stops reading, then hangs up. */
function abandonedDownload(id: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; received: string; hangUp: () => void }>((resolve, reject) => {
    const req = request({ socketPath, path: `/v1/voucher-batches/${id}/pins`, headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
      res.setEncoding('utf8');
      res.once('data', (chunk: string) => {
        res.pause();
        resolve({ status: res.statusCode!, headers: res.headers, received: chunk, hangUp: () => { res.destroy(); req.destroy(); } });
      });
      res.once('error', () => {});
    });
    req.once('error', reject);
    req.end();
  });
}

/** A real client reading a download to its end: `complete` is false when the server cut it short. */
function fullDownload(id: string) {
  return new Promise<{ status: number; text: string; complete: boolean }>((resolve, reject) => {
    const req = request({ socketPath, path: `/v1/voucher-batches/${id}/pins`, headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('error', () => {});
      res.once('close', () => resolve({ status: res.statusCode!, text, complete: res.complete }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('PIN download, streamed', () => {
  it('a download the client abandons mid-stream rolls back: the batch stays downloadable, and the next download gives every PIN exactly once', async () => {
    const batch = await generatedBatch(QUANTITY);

    const first = await abandonedDownload(batch.id);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(first.received.startsWith('serial,pin\n')).toBe(true);
    // Mid-stream: the transaction is still open, and not all of the CSV has left.
    expect(await batchLocked(batch.id)).toBe(true);
    // A second download meanwhile is told at once, not left waiting.
    expect((await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(409)).body.code).toBe('pins_download_in_progress');
    first.hangUp();
    await until(async () => !(await batchLocked(batch.id)));

    const [state] = await t.database.sql`select pins_downloaded_at from vouchers.voucher_batches where id = ${batch.id}`;
    expect(state!.pins_downloaded_at).toBeNull();
    const [kept] = await t.database.sql`select count(*)::int as n from vouchers.pin_exports where batch_id = ${batch.id}`;
    expect(kept!.n).toBe(QUANTITY);
    const states = await t.database.sql`select state, count(*)::int as n from vouchers.vouchers where batch_id = ${batch.id} group by state`;
    expect(states.map((s) => ({ ...s }))).toEqual([{ state: 'generated', n: QUANTITY }]);
    const audited = await t.database.sql`select count(*)::int as n from platform.audit_log where action = 'voucher_batch.pins_downloaded' and entity_id = ${batch.id}`;
    expect(audited[0]!.n).toBe(0);

    const res = await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="vouchers-${batch.serialFrom}-${batch.serialTo}.csv"`);
    expect(res.headers['cache-control']).toBe('no-store');
    const lines = res.text.split('\n');
    expect(lines[0]).toBe('serial,pin');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(1, -1).map((l) => l.split(','));
    expect(first.received.length).toBeLessThan(res.text.length);
    expect(rows.map(([s]) => Number(s))).toEqual(Array.from({ length: QUANTITY }, (_, i) => batch.serialFrom + i));
    const pins = rows.map(([, p]) => p!);
    expect(new Set(pins).size).toBe(QUANTITY);

    // Every PIN is the one whose keyed hash the voucher of its serial holds.
    const [key] = await t.database.sql`select value from platform.settings where name = 'voucher_pin_key'`;
    const hash = pinHasher(key!.value as string);
    const stored = new Map((await t.database.sql`select serial::text, encode(pin_hash, 'hex') as h from vouchers.vouchers where batch_id = ${batch.id}`)
      .map((v) => [Number(v.serial), v.h as string]));
    expect(stored.size).toBe(QUANTITY);
    expect(rows.every(([s, p]) => stored.get(Number(s)) === hash(p!).toString('hex'))).toBe(true);

    // Committed: the sealed PINs are gone, the vouchers in stock, the download audited once, and a repeat refused.
    const [left] = await t.database.sql`select count(*)::int as n from vouchers.pin_exports where batch_id = ${batch.id}`;
    expect(left!.n).toBe(0);
    const inStock = await t.database.sql`select state, count(*)::int as n from vouchers.vouchers where batch_id = ${batch.id} group by state`;
    expect(inStock.map((s) => ({ ...s }))).toEqual([{ state: 'in_stock', n: QUANTITY }]);
    const audit = await t.database.sql`select details from platform.audit_log where action = 'voucher_batch.pins_downloaded' and entity_id = ${batch.id}`;
    expect(audit.map((a) => a.details)).toEqual([{ count: QUANTITY }]);
    expect((await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(409)).body.code).toBe('pins_already_downloaded');
  }, 120_000);

  it('a failure mid-stream cuts the response short and rolls back: the batch stays downloadable', async () => {
    const batch = await generatedBatch(6000);
    // The second chunk (serials 5,001 on) holds a sealed PIN that cannot be unsealed.
    const bad = batch.serialFrom + 5500;
    const [saved] = await t.database.sql`select pin_sealed from vouchers.pin_exports where batch_id = ${batch.id} and serial = ${bad}`;
    await t.database.sql`update vouchers.pin_exports set pin_sealed = 'v1.nokey.x.y.z' where batch_id = ${batch.id} and serial = ${bad}`;
    const cut = await fullDownload(batch.id);
    expect(cut.status).toBe(200);
    expect(cut.complete).toBe(false);
    expect(cut.text.startsWith('serial,pin\n')).toBe(true);
    await until(async () => !(await batchLocked(batch.id)));
    const [state] = await t.database.sql`select pins_downloaded_at from vouchers.voucher_batches where id = ${batch.id}`;
    expect(state!.pins_downloaded_at).toBeNull();
    const [kept] = await t.database.sql`select count(*)::int as n from vouchers.pin_exports where batch_id = ${batch.id}`;
    expect(kept!.n).toBe(6000);

    await t.database.sql`update vouchers.pin_exports set pin_sealed = ${saved!.pin_sealed as string} where batch_id = ${batch.id} and serial = ${bad}`;
    const whole = await fullDownload(batch.id);
    expect(whole).toMatchObject({ status: 200, complete: true });
    expect(whole.text.trim().split('\n')).toHaveLength(6001);
  }, 60_000);

  it('refuses before sending anything: a batch still generating is not ready', async () => {
    const batch = (await t.http.post('/v1/voucher-batches').send({
      name: 'Not yet', faceValue: { amount: 1000, currency: 'EUR' }, quantity: 10, validUntil: new Date(Date.now() + DAY).toISOString(),
    }).expect(201)).body;
    const res = await t.http.get(`/v1/voucher-batches/${batch.id}/pins`).expect(409).expect('content-type', /application\/problem\+json/);
    expect(res.body.code).toBe('batch_not_ready');
    expect(await batchLocked(batch.id)).toBe(false);
  });
});
