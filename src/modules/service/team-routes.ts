import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { customerSegments } from '../customers/index.js';
import { serviceTypes, tiers } from './tables.js';
import { addQueueRule, listAgents, listQueueRules, removeQueueRule, saveAgent } from './team.js';

const tags = ['service'];
const id = z.uuid();
const queue = z.string().trim().min(1).max(40);
const language = z.string().regex(/^[a-z]{2}$/, 'ISO 639-1, e.g. "de"');
const segment = z.enum(customerSegments);
const ruleView = z.object({
  id, serviceType: z.enum(serviceTypes).nullable(), language: z.string().nullable(), segment: segment.nullable(), queue: z.string(), position: z.number().int(), createdBy: z.string(), createdAt: z.date(),
});
const agentView = z.object({
  id: z.string(), name: z.string(), tier: z.enum(tiers), queues: z.array(z.string()), languages: z.array(z.string()), active: z.boolean(), createdBy: z.string(), createdAt: z.date(), updatedAt: z.date(),
});

/** Who works which tickets: the rules that put a new ticket in a queue, and the agents tickets are assigned to. */
export const teamRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/service/queue-rules', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'addQueueRule', tags,
      summary: 'Route new tickets to a queue by service type, language and customer segment (each left out: any); the lowest position that fits wins, none: the service type\'s queue',
      body: z.object({
        serviceType: z.enum(serviceTypes).nullable().default(null), language: language.nullable().default(null), segment: segment.nullable().default(null), queue, position: z.number().int().min(0).max(100_000),
      }).strict(),
      response: { 201: ruleView, ...problems(400) },
    },
  }, async (req, reply) => reply.status(201).send(await addQueueRule(db, ctxOf(req), req.body)));

  app.get('/v1/service/queue-rules', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'listQueueRules', tags, summary: 'The queue rules in the order they are tried', response: { 200: z.object({ items: z.array(ruleView) }) } },
  }, async () => ({ items: await listQueueRules(db) }));

  app.delete('/v1/service/queue-rules/:id', {
    config: { auth: 'service:configure' },
    schema: { operationId: 'removeQueueRule', tags, summary: 'Stop routing by a rule (tickets already queued stay where they are)', params: z.object({ id }), response: { 200: ruleView, ...problems(400, 404) } },
  }, async (req) => removeQueueRule(db, ctxOf(req), req.params.id));

  app.put('/v1/service/agents/:agentId', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'saveAgent', tags, summary: 'Register an agent (the staff user id tickets are assigned to) or change their tier, queues, languages; leavers are made inactive',
      params: z.object({ agentId: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._@:-]+$/).describe('The staff user\'s id, as in interactions\' agentId') }),
      body: z.object({
        name: z.string().trim().min(1).max(200), tier: z.enum(tiers).default('agent'), queues: z.array(queue).max(50).default([]), languages: z.array(language).max(20).default([]), active: z.boolean().default(true),
      }).strict(),
      response: { 200: agentView, ...problems(400) },
    },
  }, async (req) => saveAgent(db, ctxOf(req), req.params.agentId, req.body));

  app.get('/v1/service/agents', {
    config: { auth: 'service:agent_read' },
    schema: {
      operationId: 'listAgents', tags, summary: 'Agents, by queue and language they work',
      querystring: z.object({ queue: queue.optional(), language: language.optional(), active: z.enum(['true', 'false']).transform((v) => v === 'true').optional() }),
      response: { 200: z.object({ items: z.array(agentView) }), ...problems(400) },
    },
  }, async (req) => ({ items: await listAgents(db, req.query) }));
};
