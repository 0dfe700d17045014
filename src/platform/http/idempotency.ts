import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { httpErrors } from './errors.js';
import { idempotencyKeys } from './tables.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours Idempotency-Key (declare `headers: idempotencyHeaders` in its schema). */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
}

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional()
    .describe('Retry-safe key: the same key and body replay the first response for 24 hours'),
});

const KEEP = sql`interval '24 hours'`;

function requestHash(req: FastifyRequest) {
  return createHash('sha256').update(JSON.stringify([req.method, req.routeOptions.url, req.params, req.body ?? null])).digest('base64url');
}

/**
 * Stores the first response per (principal, key) in Postgres so any instance can replay it.
 * A key whose request died mid-flight stays "in flight" (409) until it expires rather than risk
 * running a money-moving request twice.
 */
export const idempotencyPlugin = fp(async (app: FastifyInstance, opts: { db: Db }) => {
  const { db } = opts;
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.idempotent || !req.principal) return;
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return;
    const principal = `${req.principal.kind}:${req.principal.id}`;
    const hash = requestHash(req);
    const claimed = await db.insert(idempotencyKeys).values({ principal, key, requestHash: hash, state: 'in_flight' })
      .onConflictDoUpdate({
        target: [idempotencyKeys.principal, idempotencyKeys.key],
        set: { requestHash: hash, state: 'in_flight', responseStatus: null, responseBody: null, responseHeaders: null, createdAt: sql`now()` },
        setWhere: sql`${idempotencyKeys.createdAt} < now() - ${KEEP}`,
      }).returning({ key: idempotencyKeys.key });
    if (claimed.length) {
      req.idempotency = { principal, key };
      return;
    }
    const [prior] = await db.select().from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.principal, principal), eq(idempotencyKeys.key, key)));
    if (!prior) throw httpErrors.idempotency_request_in_flight(); // expired and re-claimed between our two statements
    if (prior.state === 'in_flight') throw httpErrors.idempotency_request_in_flight();
    if (prior.requestHash !== hash) throw httpErrors.idempotency_key_reused();
    // The stored body is already the serialised response: bypass the route's schema serializer.
    reply.status(prior.responseStatus!).headers({ ...prior.responseHeaders, 'idempotent-replayed': 'true' });
    return reply.serializer((body) => JSON.stringify(body)).send(prior.responseBody);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotency;
    if (!claim) return payload;
    req.idempotency = null;
    const where = and(eq(idempotencyKeys.principal, claim.principal), eq(idempotencyKeys.key, claim.key));
    if (reply.statusCode >= 500) {
      // Nothing was done (the transaction rolled back): let the client retry with the same key.
      await db.delete(idempotencyKeys).where(where);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'location']) {
      const v = reply.getHeader(h);
      if (typeof v === 'string') headers[h] = v;
    }
    let body: unknown = null;
    try {
      body = typeof payload === 'string' && payload ? JSON.parse(payload) : null;
    } catch {
      body = payload;
    }
    await db.update(idempotencyKeys).set({ state: 'done', responseStatus: reply.statusCode, responseBody: body, responseHeaders: headers }).where(where);
    return payload;
  });
}, { name: 'platform-idempotency', dependencies: ['platform-auth'] });

/** Cron task body: forget keys older than the replay window. */
export async function purgeIdempotencyKeys(db: Db) {
  await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.createdAt} < now() - ${KEEP}`);
}
