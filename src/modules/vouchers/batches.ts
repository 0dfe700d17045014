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

/**
 * The clear PINs, once: the download marks the batch, deletes the sealed PINs and puts the
 * vouchers in stock (they are printed) in one transaction. A download that is lost on the way
 * cannot be repeated: block the batch's range and print another.
 */
export async function downloadPins(db: Db, crypto: FieldCrypto, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [batch] = await tx.update(voucherBatches).set({ pinsDownloadedAt: sql`now()`, pinsDownloadedBy: actorOf(ctx) })
      .where(and(eq(voucherBatches.id, id), eq(voucherBatches.status, 'generated'), isNull(voucherBatches.pinsDownloadedAt))).returning();
    if (!batch) {
      const existing = await getBatch(db, id);
      throw existing.pinsDownloadedAt ? voucherErrors.pins_already_downloaded(`Downloaded at ${existing.pinsDownloadedAt.toISOString()} by ${existing.pinsDownloadedBy}`) : voucherErrors.batch_not_ready();
    }
    const rows = await tx.execute<{ serial: string; pin_sealed: string }>(sql`delete from ${pinExports} where batch_id = ${id} returning serial, pin_sealed`);
    rows.sort((a, b) => Number(a.serial) - Number(b.serial));
    await tx.update(vouchers).set({ state: 'in_stock', updatedAt: sql`now()` }).where(and(eq(vouchers.batchId, id), eq(vouchers.state, 'generated')));
    // Blocked before the download: an unblock returns them to stock, not to a state nothing leaves.
    await tx.update(vouchers).set({ blockedFrom: 'in_stock', updatedAt: sql`now()` }).where(and(eq(vouchers.batchId, id), eq(vouchers.blockedFrom, 'generated')));
    await audit(tx, ctx, { action: 'voucher_batch.pins_downloaded', entityType: 'voucher_batch', entityId: id, details: { count: rows.length } });
    // A million PINs take seconds to unseal: in slices, so that the server goes on answering meanwhile.
    const lines = ['serial,pin'];
    for (let i = 0; i < rows.length; i += 5000) {
      for (const r of rows.slice(i, i + 5000)) lines.push(`${r.serial},${crypto.decrypt(r.pin_sealed)}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { batch, csv: lines.join('\n') + '\n' };
  });
}
