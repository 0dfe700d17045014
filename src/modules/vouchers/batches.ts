import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { sellableAddOn } from '../orders/index.js';
import { voucherErrors } from './errors.js';
import { type PinHasher, randomPins } from './pins.js';
import { pinExports, serialCounter, voucherBatches, vouchers } from './tables.js';

export interface NewBatch { name: string; faceValue?: { amount: number; currency: string }; bundle?: { addOnId: string }; quantity: number; pinLength: number; validFrom?: Date; validUntil: Date }

/** Vouchers written per transaction of the generation job: its unit of progress and of retry. */
const CHUNK = 10_000;

/** A batch takes the next serial numbers and is generated in the background (`vouchers.generate_batch`). */
export async function createBatch(db: Db, ctx: Ctx, input: NewBatch) {
  return db.transaction(async (tx) => {
    // A bundle voucher gives a one-off pack on sale now (checked again when it is redeemed): a
    // recurring pack would renew, and be credited when it ends, as if it had been paid for.
    if (input.bundle && (await sellableAddOn(tx, input.bundle.addOnId)).addOn.kind !== 'one_off') throw voucherErrors.bundle_not_one_off();
    await tx.insert(serialCounter).values({ id: 1, last: 100_000_000_000 }).onConflictDoNothing();
    const [counter] = await tx.update(serialCounter).set({ last: sql`${serialCounter.last} + ${input.quantity}` }).where(eq(serialCounter.id, 1)).returning();
    const serialTo = counter!.last;
    const [batch] = await tx.insert(voucherBatches).values({
      id: uuidv7(), name: input.name, faceValue: input.faceValue?.amount ?? null, currency: input.faceValue?.currency ?? null, addOnId: input.bundle?.addOnId ?? null,
      quantity: input.quantity, pinLength: input.pinLength,
      serialFrom: serialTo - input.quantity + 1, serialTo, validFrom: input.validFrom ?? await databaseNow(tx), validUntil: input.validUntil, createdBy: actorOf(ctx),
    }).returning();
    await enqueue(tx, 'vouchers.generate_batch', { batchId: batch!.id }, { jobKey: `voucher-batch:${batch!.id}`, maxAttempts: 5 });
    await audit(tx, ctx, { action: 'voucher_batch.created', entityType: 'voucher_batch', entityId: batch!.id, details: { quantity: input.quantity, faceValue: input.faceValue, bundle: input.bundle } });
    return batch!;
  });
}

/**
 * The generation job: CHUNK vouchers per transaction, each with its progress, so that a retry
 * goes on from the last committed chunk. A PIN that happens to equal one already in circulation
 * (the hash is unique across all vouchers) is drawn again.
 */
export async function generateBatch(db: Db, crypto: FieldCrypto, hash: PinHasher, batchId: string) {
  for (;;) {
    const done = await db.transaction(async (tx) => {
      const [batch] = await tx.select().from(voucherBatches).where(eq(voucherBatches.id, batchId)).for('update');
      if (!batch || batch.status !== 'generating') return true;
      if (batch.generated === batch.quantity) {
        await tx.update(voucherBatches).set({ status: 'generated' }).where(eq(voucherBatches.id, batchId));
        await emit(tx, 'voucher_batch.generated', { batchId, quantity: batch.quantity, serialFrom: batch.serialFrom, serialTo: batch.serialTo }, { aggregateId: batchId });
        return true;
      }
      let serials = Array.from({ length: Math.min(CHUNK, batch.quantity - batch.generated) }, (_, i) => batch.serialFrom + batch.generated + i);
      while (serials.length) {
        const pins = randomPins(serials.length, batch.pinLength);
        const written = new Set((await tx.execute<{ serial: string }>(sql`
          insert into ${vouchers} (serial, batch_id, pin_hash, valid_from, valid_until)
          select s, ${batchId}, decode(h, 'hex'), ${batch.validFrom.toISOString()}::timestamptz, ${batch.validUntil.toISOString()}::timestamptz
          from unnest(${sql.param(serials)}::bigint[], ${sql.param(pins.map((p) => hash(p).toString('hex')))}::text[]) as x(s, h)
          on conflict (pin_hash) do nothing returning serial`)).map((r) => Number(r.serial)));
        const kept = serials.flatMap((s, i) => (written.has(s) ? [{ batchId, serial: s, pinSealed: crypto.encrypt(pins[i]!) }] : []));
        for (let i = 0; i < kept.length; i += 5000) await tx.insert(pinExports).values(kept.slice(i, i + 5000));
        serials = serials.filter((s) => !written.has(s));
      }
      await tx.update(voucherBatches).set({ generated: sql`${voucherBatches.generated} + ${Math.min(CHUNK, batch.quantity - batch.generated)}` }).where(eq(voucherBatches.id, batchId));
      return false;
    });
    if (done) return;
  }
}

/** A batch whose job gave up: it stays visible as failed, and its vouchers are never sold. */
export async function failBatch(db: Db, batchId: string) {
  await db.transaction(async (tx) => {
    await tx.update(voucherBatches).set({ status: 'failed' }).where(and(eq(voucherBatches.id, batchId), eq(voucherBatches.status, 'generating')));
    await tx.delete(pinExports).where(eq(pinExports.batchId, batchId));
  });
}

export async function getBatch(db: Db, id: string) {
  const [batch] = await db.select().from(voucherBatches).where(eq(voucherBatches.id, id));
  if (!batch) throw voucherErrors.batch_not_found();
  return batch;
}

export async function listBatches(db: Db, q: { limit: number; before?: string }) {
  return db.select().from(voucherBatches).where(q.before ? lt(voucherBatches.id, q.before) : undefined).orderBy(desc(voucherBatches.id)).limit(q.limit + 1);
}

/** Rows per FETCH of the download's cursor, and so per chunk written to the response. */
const PIN_CHUNK = 5000;

/** The reader of a PIN download went away before its end: thrown inside the transaction, it rolls back. */
class DownloadAbandoned extends Error {}

export interface PinDownload {
  batch: typeof voucherBatches.$inferSelect;
  /**
   * `serial,pin` lines in serial order, a header first, in chunks of PIN_CHUNK rows: read it to its
   * end (the transaction then commits before the last read returns), or stop (`return()`, as a
   * destroyed stream does) and it rolls back.
   */
  csv: AsyncIterable<string>;
}

/**
 * The clear PINs, once: the download marks the batch, puts the vouchers in stock (they are printed)
 * and deletes the sealed PINs in one transaction, which stays open while the CSV streams out: the
 * sealed PINs are read through a server-side cursor and unsealed PIN_CHUNK at a time, each chunk
 * only when the reader asks for it, so memory stays bounded whatever the batch size. A refusal
 * (not ready, already downloaded) is thrown before anything is returned, so before any response
 * byte.
 *
 * Why the transaction spans the whole stream: the PINs exist nowhere else, so deleting them must
 * commit only once the last row has been handed over. A reader that goes away mid-stream, or any
 * failure on the way, rolls everything back: the batch is not marked, its vouchers are not in
 * stock, the sealed PINs stay, and the download can simply be repeated. The price is that the
 * batch's rows stay locked (and a pool connection taken) for as long as the client takes to read.
 * Once the last row is handed over the commit goes ahead; a download lost after that cannot be
 * repeated: block the batch's range and print another.
 */
export async function downloadPins(db: Db, crypto: FieldCrypto, ctx: Ctx, id: string): Promise<PinDownload> {
  const claimed = deferred<PinDownload['batch']>();
  const relay = chunkRelay();
  const transaction = db.transaction(async (tx) => {
    // A download already streaming holds the batch: a second one is told so at once, not left waiting with a connection.
    await tx.execute(sql`set local lock_timeout = '1s'`);
    const [batch] = await tx.update(voucherBatches).set({ pinsDownloadedAt: sql`now()`, pinsDownloadedBy: actorOf(ctx) })
      .where(and(eq(voucherBatches.id, id), eq(voucherBatches.status, 'generated'), isNull(voucherBatches.pinsDownloadedAt))).returning()
      .catch((err: unknown) => {
        const code = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
        if (code === '55P03') throw voucherErrors.pins_download_in_progress();
        throw err;
      });
    await tx.execute(sql`set local lock_timeout = 0`);
    if (!batch) {
      const existing = await getBatch(db, id);
      throw existing.pinsDownloadedAt ? voucherErrors.pins_already_downloaded(`Downloaded at ${existing.pinsDownloadedAt.toISOString()} by ${existing.pinsDownloadedBy}`) : voucherErrors.batch_not_ready();
    }
    await tx.update(vouchers).set({ state: 'in_stock', updatedAt: sql`now()` }).where(and(eq(vouchers.batchId, id), eq(vouchers.state, 'generated')));
    // Blocked before the download: an unblock returns them to stock, not to a state nothing leaves.
    await tx.update(vouchers).set({ blockedFrom: 'in_stock', updatedAt: sql`now()` }).where(and(eq(vouchers.batchId, id), eq(vouchers.blockedFrom, 'generated')));
    claimed.resolve(batch);
    // A reader that stops reading without going away must not hold the batch's locks for ever.
    await tx.execute(sql`set local idle_in_transaction_session_timeout = '2min'`);
    // A cursor without HOLD: it lives and dies with this transaction.
    await tx.execute(sql`declare pin_download no scroll cursor for select serial, pin_sealed from ${pinExports} where batch_id = ${id} order by serial`);
    for (;;) {
      if (!(await relay.wanted())) throw new DownloadAbandoned();
      const rows = await tx.execute<{ serial: string; pin_sealed: string }>(sql`fetch forward ${sql.raw(String(PIN_CHUNK))} from pin_download`);
      if (!rows.length) break;
      let chunk = '';
      for (const r of rows) chunk += `${r.serial},${crypto.decrypt(r.pin_sealed)}\n`;
      relay.offer(chunk);
    }
    const deleted = await tx.execute(sql`delete from ${pinExports} where batch_id = ${id}`);
    await audit(tx, ctx, { action: 'voucher_batch.pins_downloaded', entityType: 'voucher_batch', entityId: id, details: { count: deleted.count } });
  });
  // Before the claim: the refusal goes to the caller. After it: the reader sees the failure.
  transaction.catch((err: unknown) => claimed.reject(err));
  const batch = await claimed.promise;

  let headed = false;
  let finished = false;
  const csv: AsyncIterator<string> & AsyncIterable<string> = {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      if (finished) return { done: true, value: undefined };
      if (!headed) {
        headed = true;
        return { done: false, value: 'serial,pin\n' };
      }
      // The last read ends when the transaction has committed (or throws if it failed).
      const chunk = await Promise.race([relay.take(), transaction.then(() => null)]);
      if (chunk === null) {
        finished = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: chunk };
    },
    async return() {
      if (!finished) {
        finished = true;
        relay.leave();
        await transaction.catch(() => {});
      }
      return { done: true, value: undefined };
    },
  };
  return { batch, csv };
}

interface Deferred<T> { promise: Promise<T>; resolve(value: T): void; reject(err: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/**
 * One chunk at a time from a producer inside a transaction to a reader outside it: the producer
 * makes the next chunk only once the reader asks for it, and `wanted()` answers false once the
 * reader has left (even if it left while a chunk it had asked for was being made).
 */
function chunkRelay() {
  let want = deferred<boolean>();
  let give = deferred<string>();
  let gone = false;
  return {
    wanted: () => (gone ? Promise.resolve(false) : want.promise),
    offer(chunk: string) {
      const given = give;
      want = deferred();
      give = deferred();
      given.resolve(chunk);
    },
    take() {
      const taking = give.promise;
      want.resolve(true);
      return taking;
    },
    leave() {
      gone = true;
      want.resolve(false);
    },
  };
}
