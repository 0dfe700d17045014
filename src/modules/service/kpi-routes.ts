import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { kpiGroups, repeatContactDays, serviceKpis } from './kpis.js';
import { isoInstant } from '../../platform/http/instant.js';

const tags = ['service'];
/** A longer period is a report for the warehouse, not a query on the live tables. */
const maxSpanDays = 366;
const rate = (what: string) => z.number().min(0).max(1).nullable().describe(`${what}; 0..1, null when there was nothing to count`);
const kpiRow = z.object({
  key: z.string().nullable().describe('The agent, queue, service type or channel; null: none (no ticket, no assignee, or groupBy none)'),
  handledContacts: z.number().int().describe('Interactions started in the period'),
  averageHandlingSeconds: z.number().nullable().describe('Their mean duration'),
  firstContactResolutionRate: rate(`Inbound interactions resolved with no other inbound contact of the customer within ${repeatContactDays} days`),
  csatResponses: z.number().int().describe('Surveys answered in the period'),
  csatAverage: z.number().min(1).max(5).nullable().describe('Their mean score (1–5)'),
  csatSatisfiedRate: rate('Answers scoring 4 or 5'),
  slaCompliance: rate('Tickets resolved in the period under an SLA policy that never breached a target'),
  resolvedTickets: z.number().int().describe('Tickets whose latest resolution falls in the period'),
  reopenRate: rate('Tickets created in the period that were reopened'),
  backlog: z.number().int().describe('Tickets created before `to` that are still not resolved or closed now'),
});

export const kpiRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/service/kpis', {
    config: { auth: 'service:supervise' },
    schema: {
      operationId: 'getServiceKpis', tags,
      summary: 'Customer-service KPIs for a period [from, to), per agent, queue, category (service type) or channel: handling time, first-contact resolution, CSAT, SLA compliance, reopen rate, backlog',
      querystring: z.object({
        from: isoInstant.describe('Included'),
        to: isoInstant.describe(`Excluded; after from, at most ${maxSpanDays} days after it`),
        groupBy: z.enum(kpiGroups).default('none').describe('agent: the interaction\'s agent, the survey\'s agent, the ticket\'s assignee'),
      }).strict()
        .refine((p) => Date.parse(p.to) > Date.parse(p.from), { message: 'to must be after from', path: ['to'] })
        .refine((p) => Date.parse(p.to) - Date.parse(p.from) <= maxSpanDays * 86_400_000, { message: `a period spans at most ${maxSpanDays} days`, path: ['to'] }),
      response: { 200: z.object({ from: z.date(), to: z.date(), groupBy: z.enum(kpiGroups), items: z.array(kpiRow) }), ...problems(400) },
    },
  }, async (req) => {
    const q = { from: new Date(req.query.from), to: new Date(req.query.to), groupBy: req.query.groupBy };
    return { ...q, items: await serviceKpis(db, q) };
  });
};
