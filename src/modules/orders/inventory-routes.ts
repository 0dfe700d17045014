import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import { httpErrors, problems } from '../../platform/http/errors.js';
import * as inventory from './inventory.js';

const tags = ['orders'];
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number');
const category = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower-case, e.g. "standard" or "golden"').default('standard');
const MAX_IMPORT = 100_000;
// 100,000 SIM rows of about 90 bytes each.
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

/** A range expands to every number from `from` to `to`, same length, same prefix. */
const range = z.object({ from: e164, to: e164, category }).strict()
  .refine((r) => r.from.length === r.to.length && BigInt(r.to) >= BigInt(r.from), 'to ≥ from, both of the same length')
  .refine((r) => BigInt(r.to) - BigInt(r.from) < BigInt(MAX_IMPORT), `at most ${MAX_IMPORT} numbers per range`);

const msisdnImport = z.object({
  items: z.array(z.object({ msisdn: e164, category }).strict()).max(MAX_IMPORT).default([]),
  ranges: z.array(range).max(100).default([]),
}).strict().refine((b) => b.items.length + b.ranges.length > 0, 'send items, ranges or both');

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
  app.post('/v1/inventory/msisdns/import', {
    config: { auth: 'inventory:write' },
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      operationId: 'importMsisdns', tags, summary: 'Add numbers by list and/or range, all or nothing (bad or existing rows are reported)',
      body: msisdnImport, response: { 201: z.object({ imported: z.number().int() }), ...problems(400, 409, 422) },
    },
  }, async (req, reply) => {
    const rows = [...req.body.items];
    for (const r of req.body.ranges) {
      const prefix = r.from.slice(0, 1);
      const width = r.from.length - 1;
      for (let n = BigInt(r.from); n <= BigInt(r.to); n++) rows.push({ msisdn: prefix + n.toString().padStart(width, '0'), category: r.category });
    }
    if (rows.length > MAX_IMPORT) throw httpErrors.validation_failed(`At most ${MAX_IMPORT} numbers per import`);
    return reply.status(201).send(await inventory.importMsisdns(db, ctxOf(req), rows));
  });

  app.post('/v1/inventory/sims/import', {
    config: { auth: 'inventory:write' },
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      operationId: 'importSims', tags, summary: 'Add SIM cards, all or nothing; the PUK is stored encrypted',
      body: simImport, response: { 201: z.object({ imported: z.number().int() }), ...problems(400, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await inventory.importSims(db, crypto, ctxOf(req), req.body.items)));

  app.post('/v1/inventory/:kind/reservations', {
    config: { auth: 'inventory:write' },
    schema: {
      operationId: 'reserveResource', tags, summary: 'Reserve one available number (of a category, or a given one) or SIM for an order',
      params: z.object({ kind: z.enum(['msisdns', 'sims']) }),
      body: z.object({
        reservedFor: z.string().min(1).max(100).describe('The order (or other holder) the reservation is for'),
        category: z.string().max(32).optional(),
        id: z.string().max(32).optional().describe('A specific number or ICCID'),
        ttlSeconds: z.number().int().min(10).max(86_400).default(900),
      }).strict(),
      response: { 201: reservation, ...problems(400, 409) },
    },
  }, async (req, reply) => {
    const kind = req.params.kind === 'msisdns' ? 'msisdn' : 'sim';
    const row = await db.transaction((tx) => inventory.reserve(tx, kind, req.body));
    return reply.status(201).send({ id: row.id, reservedUntil: new Date(row.reservedUntil) });
  });

  app.get('/v1/inventory/summary', {
    config: { auth: 'inventory:read' },
    schema: {
      operationId: 'inventorySummary', tags, summary: 'How many numbers and SIMs are in each state',
      response: { 200: z.object({ msisdns: counts, sims: counts }), ...problems(400) },
    },
  }, async () => inventory.inventorySummary(db));
};
