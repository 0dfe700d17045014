import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { problems } from '../http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../http/pagination.js';
import { listAudit } from './audit.js';

const entry = z.object({
  id: z.uuid(), at: z.date(), actorKind: z.string(), actorId: z.string(), action: z.string(),
  entityType: z.string(), entityId: z.string(), requestId: z.string().nullable(), details: z.record(z.string(), z.unknown()),
});

export const auditRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/audit-events', {
    config: { auth: 'audit:read' },
    schema: {
      operationId: 'listAuditEvents', tags: ['audit'], summary: 'Who changed or read what, newest first',
      querystring: pageQuery.extend({
        entityType: z.string().max(100).optional(), entityId: z.string().max(100).optional(),
        actorId: z.string().max(100).optional(), action: z.string().max(100).optional(),
      }),
      response: { 200: page(entry), ...problems(400) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    const rows = await listAudit(db, { ...req.query, before });
    return toPage(rows, req.query.limit, (r) => [r.id]);
  });
};
