import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
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
      operationId: 'listEvents', tags: ['events'], summary: 'Domain events in commit order; follow nextCursor (an empty page with a cursor means: poll again later)',
      querystring: pageQuery.extend({ type: z.string().max(100).optional() }),
      response: { 200: page(event), ...problems(400) },
    },
  }, async (req) => {
    const after = decodeCursor(req.query.cursor, z.tuple([z.number().int(), z.uuid()]));
    // Only transactions older than every running one: nothing can commit behind the cursor later.
    const where: SQL[] = [sql`${events.txid} < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`];
    if (after) where.push(sql`(${events.txid}, ${events.id}) > (${after[0]}, ${after[1]}::uuid)`);
    if (req.query.type) where.push(eq(events.type, req.query.type));
    const rows = await db.select({ id: events.id, type: events.type, aggregateId: events.aggregateId, payload: events.payload, occurredAt: events.occurredAt, txid: events.txid })
      .from(events).where(and(...where)).orderBy(asc(events.txid), asc(events.id)).limit(req.query.limit + 1);
    const page = toPage(rows, req.query.limit, (r) => [r.txid, r.id]);
    return { ...page, items: page.items.map(({ txid: _t, ...e }) => e) };
  });
};
