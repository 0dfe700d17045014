import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { problems } from '../http/errors.js';
import { decodeCursor, encodeCursor, page, pageQuery } from '../http/pagination.js';
import { readFeed } from './feed.js';

const event = z.object({ id: z.uuid(), type: z.string(), aggregateId: z.string().nullable(), payload: z.record(z.string(), z.unknown()), occurredAt: z.date() });

/** A pull feed of domain events for billing/OSS and other systems to follow. */
export const eventRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/events', {
    config: { auth: 'events:read' },
    schema: {
      operationId: 'listEvents', tags: ['events'],
      summary: 'Domain events. Always continue from nextCursor (it is the position after the last event served, or the cursor sent when nothing new is visible yet); no event ever appears behind a cursor already handed out',
      querystring: pageQuery.extend({ type: z.string().max(100).optional() }),
      response: { 200: page(event), ...problems(400) },
    },
  }, async (req) => {
    const after = decodeCursor(req.query.cursor, z.tuple([z.number().int(), z.uuid()]));
    const rows = await readFeed(db, { after, type: req.query.type, limit: req.query.limit });
    const items = rows.slice(0, req.query.limit);
    const last = items.at(-1);
    return {
      items: items.map(({ txid: _t, ...e }) => e),
      nextCursor: last ? encodeCursor([last.txid, last.id]) : (req.query.cursor ?? null),
    };
  });
};
