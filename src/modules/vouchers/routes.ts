import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import { type AppError, problems } from '../../platform/http/errors.js';
import { idempotencyHeaders, keyInTransaction, replayIfTaken } from '../../platform/http/idempotency.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { createBatch, downloadPins, getBatch, listBatches } from './batches.js';
import { voucherErrors } from './errors.js';
import type { PinHasher } from './pins.js';
import { redeem, type RedemptionSettings } from './redemption.js';
import { RedemptionGroups } from './redemption-groups.js';
import { activate, block, distribute, getVoucher, listVouchers, unblock } from './stock.js';
import { voucherStates } from './tables.js';
import { currencyCode } from '../../platform/http/money.js';
import { instant } from '../../platform/http/instant.js';

const tags = ['vouchers'];
const serial = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const range = { serialFrom: serial, serialTo: serial };
const reason = z.string().trim().min(3).max(500);

const batchView = z.object({
  id: z.uuid(), name: z.string(), faceValue: z.object({ amount: z.number().int(), currency: z.string() }).nullable(), bundle: z.object({ addOnId: z.uuid() }).nullable(),
  quantity: z.number().int(),
  generated: z.number().int().describe('Progress of the generation job'), status: z.enum(['generating', 'generated', 'failed']), pinLength: z.number().int(),
  serialFrom: z.number().int(), serialTo: z.number().int(), validFrom: z.date(), validUntil: z.date(),
  pinsDownloadedAt: z.date().nullable(), createdBy: z.string(), createdAt: z.date(),
});
type BatchRow = Awaited<ReturnType<typeof getBatch>>;
const asBatch = (b: BatchRow) => ({
  ...b, faceValue: b.faceValue !== null && b.currency !== null ? { amount: b.faceValue, currency: b.currency } : null, bundle: b.addOnId ? { addOnId: b.addOnId } : null,
});

const voucherView = z.object({
  serial: z.number().int(), batchId: z.uuid(), state: z.enum(voucherStates), partnerId: z.uuid().nullable(), validFrom: z.date(), validUntil: z.date(),
  activatedAt: z.date().nullable(), redeemedAt: z.date().nullable(),
});
const rangeResult = z.object({ serialFrom: z.number().int(), serialTo: z.number().int(), count: z.number().int() });
const blockResult = z.object({ serialFrom: z.number().int(), serialTo: z.number().int(), changed: z.number().int(), unchanged: z.number().int().describe('Vouchers of the range this change did not apply to') });

export interface VoucherDeps { db: Db; crypto: FieldCrypto; hash: PinHasher; redemption: RedemptionSettings; registry?: Registry }

export const voucherRoutes: FastifyPluginAsyncZod<VoucherDeps> = async (app, { db, crypto, hash, redemption, registry }) => {
  const groups = redemption.groupSize > 0 ? new RedemptionGroups(db, redemption, { size: redemption.groupSize, groups: 2 }, app.log, registry) : undefined;
  app.post('/v1/voucher-batches', {
    config: { auth: 'vouchers:manage' },
    schema: {
      operationId: 'createVoucherBatch', tags,
      summary: 'Order a batch of vouchers (up to 1,000,000) worth money (faceValue) or a pack (bundle), generated in the background: follow its progress on the batch',
      body: z.object({
        name: z.string().trim().min(1).max(200),
        faceValue: z.object({ amount: z.number().int().min(1).max(100_000_000), currency: currencyCode }).strict().optional(),
        bundle: z.object({ addOnId: z.uuid().describe('An add-on pack on sale, given to the line the voucher is redeemed on') }).strict().optional(),
        quantity: z.number().int().min(1).max(1_000_000),
        pinLength: z.number().int().min(10).max(20).default(14).describe('Decimal digits, each uniformly random'),
        validFrom: instant.optional(), validUntil: instant,
      }).strict().refine((b) => b.validUntil > (b.validFrom ?? new Date()) && b.validUntil > new Date(), { message: 'validUntil must be after validFrom (and in the future)', path: ['validUntil'] })
        .refine((b) => (b.faceValue === undefined) !== (b.bundle === undefined), { message: 'name exactly one of faceValue and bundle', path: ['faceValue'] }),
      response: { 201: batchView, ...problems(400, 404, 409) },
    },
  }, async (req, reply) => reply.status(201).send(asBatch(await createBatch(db, ctxOf(req), req.body))));

  app.get('/v1/voucher-batches', {
    config: { auth: 'vouchers:manage' },
    schema: { operationId: 'listVoucherBatches', tags, summary: 'Voucher batches, newest first', querystring: pageQuery, response: { 200: page(batchView), ...problems(400) } },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage((await listBatches(db, { limit: req.query.limit, before })).map(asBatch), req.query.limit, (b) => [b.id]);
  });

  app.get('/v1/voucher-batches/:id', {
    config: { auth: 'vouchers:manage' },
    schema: { operationId: 'getVoucherBatch', tags, summary: 'A voucher batch and its generation progress', params: z.object({ id: z.uuid() }), response: { 200: batchView, ...problems(400, 404) } },
  }, async (req) => asBatch(await getBatch(db, req.params.id)));

  app.get('/v1/voucher-batches/:id/pins', {
    config: { auth: 'vouchers:manage' },
    schema: {
      operationId: 'downloadVoucherPins', tags,
      summary: 'The clear PINs of a generated batch as CSV (serial,pin), for the printer: once only. The download puts the vouchers in stock; a second one is refused.',
      params: z.object({ id: z.uuid() }), response: { 200: z.string().describe('text/csv'), ...problems(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { batch, csv } = await downloadPins(db, crypto, ctxOf(req), req.params.id);
    // Streamed (Fastify pipes it, with backpressure, past the serializer). Destroying the stream
    // ends the download's transaction: Fastify does so when the client goes away, and so do we
    // should the response close before Fastify has piped it (the transaction would wait forever).
    const body = Readable.from(csv, { objectMode: false });
    if (reply.raw.destroyed) body.destroy();
    else reply.raw.once('close', () => body.destroy());
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="vouchers-${batch.serialFrom}-${batch.serialTo}.csv"`)
      .header('cache-control', 'no-store').send(body as unknown as string); // the schema's text/csv, as a stream
  });

  app.post('/v1/vouchers/distributions', {
    config: { auth: 'vouchers:manage' },
    schema: {
      operationId: 'distributeVouchers', tags, summary: 'Hand a serial range in stock to a reseller (all of it, or nothing)',
      body: z.object({ ...range, partnerId: z.uuid() }).strict(), response: { 200: rangeResult, ...problems(400, 409, 422) },
    },
  }, async (req) => distribute(db, ctxOf(req), req.body));

  app.post('/v1/vouchers/activations', {
    config: { auth: 'vouchers:sell' },
    schema: {
      operationId: 'activateVouchers', tags, summary: 'Sell a serial range: a reseller from its own stock, staff from stock or any reseller\'s (all of it, or nothing)',
      body: z.object(range).strict(), response: { 200: rangeResult, ...problems(400, 409, 422) },
    },
  }, async (req) => activate(db, ctxOf(req), req.body));

  app.post('/v1/vouchers/blocks', {
    config: { auth: 'vouchers:manage' },
    schema: {
      operationId: 'blockVouchers', tags, summary: 'Block a serial range (stolen stock), with a reason: every voucher not yet redeemed or expired; audited',
      body: z.object({ ...range, reason }).strict(), response: { 200: blockResult, ...problems(400, 422) },
    },
  }, async (req) => block(db, ctxOf(req), req.body));

  app.post('/v1/vouchers/unblocks', {
    config: { auth: 'vouchers:manage' },
    schema: {
      operationId: 'unblockVouchers', tags, summary: 'Unblock a serial range, with a reason: each voucher returns to the state the block interrupted (expired if its validity ended); audited',
      body: z.object({ ...range, reason }).strict(), response: { 200: blockResult, ...problems(400, 422) },
    },
  }, async (req) => unblock(db, ctxOf(req), req.body));

  app.get('/v1/vouchers', {
    config: { auth: 'vouchers:read' },
    schema: {
      operationId: 'listVouchers', tags, summary: 'Vouchers by serial (a reseller sees those distributed to it)',
      querystring: pageQuery.extend({ batchId: z.uuid().optional(), state: z.enum(voucherStates).optional() }), response: { 200: page(voucherView), ...problems(400) },
    },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, z.tuple([z.number().int()])) ?? [];
    return toPage(await listVouchers(db, ctxOf(req), { ...req.query, after }), req.query.limit, (v) => [v.serial]);
  });

  app.get('/v1/vouchers/:serial', {
    config: { auth: 'vouchers:read' },
    schema: { operationId: 'getVoucher', tags, summary: 'One voucher by its printed serial number', params: z.object({ serial: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }), response: { 200: voucherView, ...problems(400, 404) } },
  }, async (req) => {
    const v = await getVoucher(db, ctxOf(req), req.params.serial);
    if (!v) throw voucherErrors.voucher_not_found();
    return v;
  });

  app.post('/v1/voucher-redemptions', {
    config: { auth: 'vouchers:redeem', idempotent: 'in-transaction' },
    schema: {
      operationId: 'redeemVoucher', tags,
      summary: 'Redeem a voucher by PIN onto a prepaid line or account (a bundle voucher: onto a line, which gets its pack): the voucher is used and the balance credited '
        + '(or the pack given) together, once; Idempotency-Key required. '
        + 'Wrong PINs count against the line or account, the caller and the address; past a limit redemptions are locked out for a while (429).',
      headers: idempotencyHeaders,
      body: z.object({
        pin: z.string().trim().min(4).max(40).regex(/^[0-9 -]+$/, 'digits (spaces and dashes are ignored)'),
        lineId: z.uuid().optional(), billingAccountId: z.uuid().optional(),
      }).strict().refine((b) => (b.lineId === undefined) !== (b.billingAccountId === undefined), { message: 'name exactly one of lineId and billingAccountId' }),
      response: {
        201: z.object({
          serial: z.number().int(), faceValue: z.object({ amount: z.number().int(), currency: z.string() }).nullable(), billingAccountId: z.uuid(), lineId: z.uuid().nullable(),
          entryId: z.uuid().nullable().describe('The ledger entry of the credit'), balance: z.object({ amount: z.number().int(), currency: z.string() }).nullable(),
          bundle: z.object({ addOnId: z.uuid(), orderId: z.uuid().describe('The completed add-on order that gave the pack') }).nullable(), redeemedAt: z.date(),
        }),
        ...problems(400, 404, 409, 422, 429),
      },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw voucherErrors.idempotency_key_required();
    const key = keyInTransaction(req, reply, crypto);
    let answer: string | undefined;
    try {
      const redeemed = await redeem(db, groups, ctxOf(req), hash, redemption, req.ip, req.body, key && {
        turn: key.turn, answer: (tx, r) => { answer = key.answer(tx, 201, r); }, refuse: key.refuse, held: key.held,
        answerRow: (r) => {
          const stored = key.answerRow(201, r);
          answer = stored.text;
          return stored.row;
        },
      });
      return key && answer !== undefined ? key.send(answer) : reply.status(201).send(redeemed);
    } catch (err) {
      const replayed = key && await replayIfTaken(db, crypto, req, reply, err);
      if (replayed) return replayed;
      const until = (err as AppError).code === 'redemption_locked_out' ? (err as AppError).extra.lockedUntil : undefined;
      if (typeof until === 'string') reply.header('retry-after', String(Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000))));
      if ((err as AppError).code === 'redemption_busy') reply.header('retry-after', '1');
      throw err;
    }
  });
};
