import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import { listSpendCaps, removeSpendCap, setSpendCap } from './spend-caps.js';
import { listRejected, rateBatch, rerateRejected } from './usage.js';
import { currencyCode } from '../../platform/http/money.js';
import { isoInstantDate } from '../../platform/http/instant.js';

const tags = ['billing'];
const MAX_BATCH = 10_000;

const usageRecord = z.object({
  recordId: z.string().min(1).max(100).describe('Unique per record at its source: a record sent again is not rated again'),
  msisdn: z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number'),
  usageType: z.enum(['data', 'voice', 'sms']),
  zone: z.string().regex(/^(home|roaming-[a-z0-9-]{1,32})$/).default('home'),
  quantity: z.number().int().min(1).max(10 ** 13).describe('Bytes, seconds or messages'),
  startedAt: isoInstantDate,
}).strict();

export const usageRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/usage/batches', {
    config: { auth: 'usage:ingest' },
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      operationId: 'rateUsageBatch', tags,
      summary: 'Rate a batch of usage records (up to 10,000): allowance buckets first (packs by earliest expiry, then the plan), '
        + 'then the plan\'s tiers; prepaid balances debited once per batch, postpaid usage kept for the bill run. '
        + 'Duplicates are skipped; unknown lines, late and future records, and records no amount can price exactly are kept in the rejected queue.',
      body: z.object({ records: z.array(usageRecord).min(1).max(MAX_BATCH) }).strict(),
      response: {
        200: z.object({
          batchId: z.uuid(), received: z.number().int(), duplicates: z.number().int(), rated: z.number().int(), rejected: z.number().int(),
          charges: z.array(z.object({ billingAccountId: z.uuid(), amount: z.number().int(), unpaid: z.number().int(), currency: z.string() }))
            .describe('Prepaid debits of this batch (postpaid usage is billed by the bill run)'),
        }),
        ...problems(400, 413, 422),
      },
    },
  }, async (req) => rateBatch(db, ctxOf(req), req.body.records));

  app.get('/v1/usage/rejected', {
    config: { auth: 'usage:ingest' },
    schema: {
      operationId: 'listRejectedUsage', tags, summary: 'Usage records that were not rated, newest first, with the reason',
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() }),
      response: {
        200: page(z.object({ id: z.uuid(), recordId: z.string(), batchId: z.uuid(), reason: z.string(), record: z.record(z.string(), z.unknown()), receivedAt: z.date() })),
        ...problems(400),
      },
    },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listRejected(db, { limit: req.query.limit, after }), req.query.limit, (r) => [r.id]);
  });

  app.post('/v1/usage/rejected/:id/rerate', {
    // An operator's decision, not mediation's: the key that sends records cannot also wave them through.
    config: { auth: 'billing:adjust' },
    schema: {
      operationId: 'rerateRejectedUsage', tags,
      summary: 'Send a rejected record through rating again (its line exists now, or a late record the operator accepts into the current cycle); audited',
      params: z.object({ id: z.uuid() }),
      response: {
        200: z.object({
          batchId: z.uuid(), recordId: z.string(), rated: z.number().int(), rejected: z.number().int(),
          charges: z.array(z.object({ billingAccountId: z.uuid(), amount: z.number().int(), unpaid: z.number().int(), currency: z.string() })),
        }),
        ...problems(400, 404, 409),
      },
    },
  }, async (req) => rerateRejected(db, ctxOf(req), req.params.id));

  const capParams = z.object({ id: z.uuid().describe('The line'), setBy: z.enum(['customer', 'operator']) });
  const capView = z.object({ lineId: z.uuid(), setBy: z.enum(['customer', 'operator']), amount: z.number().int(), currency: z.string(), updatedAt: z.date() });

  app.get('/v1/lines/:id/spend-caps', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'listSpendCaps', tags, summary: 'The line\'s spend caps per cycle (the lower of the customer\'s and the operator\'s holds)',
      params: capParams.pick({ id: true }), response: { 200: z.object({ items: z.array(capView) }), ...problems(400, 404) },
    },
  }, async (req) => ({ items: await listSpendCaps(db, ctxOf(req), req.params.id) }));

  app.put('/v1/lines/:id/spend-caps/:setBy', {
    config: { auth: 'spend_caps:write' },
    schema: {
      operationId: 'setSpendCap', tags, summary: 'Cap what the line may spend on usage per cycle; reaching it bars the line until the next cycle',
      params: capParams, body: z.object({ amount: z.number().int().min(0).max(100_000_000), currency: currencyCode }).strict(),
      response: { 200: capView, ...problems(400, 403, 404, 409, 422) },
    },
  }, async (req) => setSpendCap(db, ctxOf(req), req.params.id, req.params.setBy, req.body));

  app.delete('/v1/lines/:id/spend-caps/:setBy', {
    config: { auth: 'spend_caps:write' },
    schema: { operationId: 'removeSpendCap', tags, params: capParams, response: { 204: z.null(), ...problems(400, 403, 404) } },
  }, async (req, reply) => {
    await removeSpendCap(db, ctxOf(req), req.params.id, req.params.setBy);
    return reply.status(204).send(null);
  });
};
