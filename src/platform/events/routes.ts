import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { problems } from '../http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../http/pagination.js';
import { events } from './tables.js';

const event = z.object({ id: z.uuid(), type: z.string(), aggregateId: z.string().nullable(), payload: z.record(z.string(), z.unknown()), occurredAt: z.date() });

/** A pull feed of domain events, oldest first, for billing/OSS and other systems to follow. */
export const eventRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/events', {
    config: { auth: 'events:read' },
    schema: {
      operationId: 'listEvents', tags: ['events'], summary: 'Domain events in commit order of their ids; follow with nextCursor',
      querystring: pageQuery.extend({ type: z.string().max(100).optional() }),
      response: { 200: page(event), ...problems(400) },
    },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    const where: SQL[] = [];
    if (after) where.push(gt(events.id, after));
    if (req.query.type) where.push(eq(events.type, req.query.type));
    const rows = await db.select({ id: events.id, type: events.type, aggregateId: events.aggregateId, payload: events.payload, occurredAt: events.occurredAt })
      .from(events).where(and(...where)).orderBy(asc(events.id)).limit(req.query.limit + 1);
    return toPage(rows, req.query.limit, (r) => [r.id]);
  });
};
