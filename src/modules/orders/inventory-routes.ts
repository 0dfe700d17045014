import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import { acceptCsvItems } from '../../platform/http/csv.js';
import { httpErrors, problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import * as inventory from './inventory.js';

const tags = ['orders'];
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number');
const category = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower-case, e.g. "standard" or "golden"').default('standard');
const MAX_IMPORT = 100_000;
// 100,000 SIM rows of about 90 bytes each.
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

const isE164 = (v: string) => /^\+[1-9]\d{6,14}$/.test(v);
/** How many numbers a range holds; 0 when its ends are not (yet) valid numbers of one length. */
const rangeSize = (r: { from: string; to: string }) =>
  isE164(r.from) && isE164(r.to) && r.from.length === r.to.length ? Number(BigInt(r.to) - BigInt(r.from)) + 1 : 0;

/** A range is every number from `from` to `to`, both of the same length. */
const range = z.object({ from: e164, to: e164, category }).strict()
  .refine((r) => !isE164(r.from) || !isE164(r.to) || rangeSize(r) > 0, 'to ≥ from, both of the same length');

// The total is checked before anything is expanded: a body cannot make the server count to ten million.
const msisdnImport = z.object({
  items: z.array(z.object({ msisdn: e164, category }).strict()).max(MAX_IMPORT).default([]),
  ranges: z.array(range).max(100).default([]),
}).strict()
  .refine((b) => b.items.length + b.ranges.length > 0, 'send items, ranges or both')
  .refine((b) => b.items.length + b.ranges.reduce((n, r) => n + rangeSize(r), 0) <= MAX_IMPORT, `at most ${MAX_IMPORT} numbers per import`);

const simImport = z.object({
  items: z.array(z.object({
    iccid: z.string().regex(/^89\d{16,18}$/, 'an ICCID: 18 to 20 digits starting with 89'),
    imsi: z.string().regex(/^\d{15}$/, '15 digits'),
    puk: z.string().regex(/^\d{8}$/, '8 digits'),
  }).strict()).min(1).max(MAX_IMPORT),
}).strict();

const counts = z.object({ available: z.number().int(), reserved: z.number().int(), assigned: z.number().int(), quarantined: z.number().int() });
const reservation = z.object({ id: z.string(), reservedUntil: z.date() });

export const inventoryRoutes: FastifyPluginAsyncZod<{ db: Db; crypto: FieldCrypto }> = async (app, { db, crypto }) => {
  acceptCsvItems(app);
  app.post('/v1/inventory/msisdns/import', {
    config: { auth: 'inventory:write', idempotent: true },
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      operationId: 'importMsisdns', tags, summary: 'Add numbers by list and/or range, all or nothing (bad or existing rows are reported). Also takes text/csv with a header row "msisdn,category".',
      headers: idempotencyHeaders, body: msisdnImport, response: { 201: z.object({ imported: z.number().int() }), ...problems(400, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await inventory.importMsisdns(db, ctxOf(req), [...req.body.items, ...inventory.expandRanges(req.body.ranges)])));

  app.post('/v1/inventory/sims/import', {
    config: { auth: 'inventory:write', idempotent: true },
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      operationId: 'importSims', tags, summary: 'Add SIM cards, all or nothing; the PUK is stored encrypted. Also takes text/csv with a header row "iccid,imsi,puk".',
      headers: idempotencyHeaders, body: simImport, response: { 201: z.object({ imported: z.number().int() }), ...problems(400, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await inventory.importSims(db, crypto, ctxOf(req), req.body.items)));

  app.post('/v1/inventory/:kind/reservations', {
    config: { auth: 'inventory:write', idempotent: true },
    schema: {
      operationId: 'reserveResource', tags, summary: 'Reserve one available number (of a category, "standard" unless said, or a given one) or SIM for an order',
      params: z.object({ kind: z.enum(['msisdns', 'sims']) }),
      headers: idempotencyHeaders,
      body: z.object({
        reservedFor: z.string().min(1).max(100).describe('The order (or other holder) the reservation is for'),
        category: z.string().max(32).optional().describe('Numbers only'),
        id: z.string().max(32).optional().describe('A specific number or ICCID'),
        ttlSeconds: z.number().int().min(10).max(86_400).default(900),
      }).strict(),
      response: { 201: reservation, ...problems(400, 409) },
    },
  }, async (req, reply) => {
    if (req.params.kind === 'sims' && req.body.category) throw httpErrors.validation_failed('SIM cards have no category');
    const kind = req.params.kind === 'msisdns' ? 'msisdn' : 'sim';
    const within = kind === 'msisdn' && !req.body.id ? (req.body.category ?? 'standard') : undefined;
    const { category: _, ...rest } = req.body;
    return reply.status(201).send(await inventory.reserveOne(db, kind, { ...rest, within }));
  });

  app.get('/v1/inventory/summary', {
    config: { auth: 'inventory:read' },
    schema: {
      operationId: 'inventorySummary', tags, summary: 'How many numbers and SIMs are in each state',
      response: { 200: z.object({ msisdns: counts, sims: counts, devices: counts }), ...problems(400) },
    },
  }, async () => inventory.inventorySummary(db));
};
