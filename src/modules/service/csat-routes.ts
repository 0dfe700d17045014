import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { answerSurvey, completeFollowUp, listFollowUps, NEGATIVE_SCORE, surveyPage, surveysOfTicket } from './csat.js';
import { visibleTicket } from './tickets.js';

const tags = ['service'];
const id = z.uuid();
const token = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{32}$/, 'the token from the survey link') });
const surveyView = z.object({
  id, resolution: z.number().int().describe('Which resolution of the ticket it asks about (0: the first)'), agentId: z.string().nullable(),
  expiresAt: z.date(), score: z.number().int().nullable(), comment: z.string().nullable(), answeredAt: z.date().nullable(), createdAt: z.date(),
});
const followUpView = z.object({
  id, ticketId: id, surveyId: id.nullable(), kind: z.enum(['negative_csat']), status: z.enum(['open', 'done']), assigneeId: z.string().nullable(),
  outcome: z.string().nullable(), createdAt: z.date(), doneAt: z.date().nullable(), doneBy: z.string().nullable(),
});
// Anyone holding a link may try tokens: slow them down (192-bit tokens are not guessable anyway).
const publicLimit = { max: 60, timeWindow: '1 minute' };

/** Satisfaction surveys (answered with the link's token, without login) and supervisors' follow-ups of bad answers. */
export const csatRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/csat/:token', {
    config: { auth: 'public', rateLimit: publicLimit },
    schema: {
      operationId: 'getSurvey', tags, summary: 'The satisfaction survey behind a link: which ticket, whether it can still be answered', params: token,
      response: { 200: z.object({ ticketNumber: z.string(), subject: z.string(), expiresAt: z.date(), answered: z.boolean(), expired: z.boolean() }), ...problems(400, 404) },
    },
  }, async (req) => surveyPage(db, req.params.token));

  app.post('/v1/csat/:token', {
    config: { auth: 'public', rateLimit: publicLimit },
    schema: {
      operationId: 'answerSurvey', tags,
      summary: `Answer a satisfaction survey once, before it expires: 1 (very unhappy) to 5; ${NEGATIVE_SCORE} or less opens a follow-up task for a supervisor`,
      params: token, body: z.object({ score: z.number().int().min(1).max(5), comment: z.string().trim().max(2000).optional() }).strict(),
      response: { 201: z.object({ score: z.number().int(), answeredAt: z.date() }), ...problems(400, 404, 409, 410) },
    },
  }, async (req, reply) => reply.status(201).send(await answerSurvey(db, req.params.token, req.body)));

  app.get('/v1/tickets/:id/surveys', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'listTicketSurveys', tags, summary: 'The satisfaction surveys of a ticket and their answers', params: z.object({ id }), response: { 200: z.object({ items: z.array(surveyView) }), ...problems(400, 404) } },
  }, async (req) => {
    await visibleTicket(db, ctxOf(req), req.params.id);
    return { items: await surveysOfTicket(db, req.params.id) };
  });

  app.get('/v1/service/follow-ups', {
    config: { auth: 'service:supervise' },
    schema: {
      operationId: 'listFollowUps', tags, summary: 'Follow-up tasks for supervisors (a customer answered a survey badly), newest first',
      querystring: pageQuery.extend({ status: z.enum(['open', 'done']).optional() }), response: { 200: page(followUpView), ...problems(400) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listFollowUps(db, { ...req.query, before }), req.query.limit, (t) => [t.id]);
  });

  app.post('/v1/service/follow-ups/:id/done', {
    config: { auth: 'service:supervise' },
    schema: {
      operationId: 'completeFollowUp', tags, summary: 'Close the loop: what was done for the customer', params: z.object({ id }),
      body: z.object({ outcome: z.string().trim().min(3).max(2000) }).strict(), response: { 200: followUpView, ...problems(400, 404, 409) },
    },
  }, async (req) => completeFollowUp(db, ctxOf(req), req.params.id, req.body.outcome));
};
