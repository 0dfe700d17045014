import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { customerSegments } from '../customers/index.js';
import { requireChannel } from './channels.js';
import { getMessage, listMessages, redrive } from './messages.js';
import { messageChannels, messageKinds, messageStates } from './tables.js';
import { listTemplates, previewTemplate, saveTemplate } from './templates.js';
import { createTrigger, listTriggers, setTriggerActive } from './triggers.js';

const tags = ['campaigns'];
const id = z.uuid();
const channelText = z.string().min(1).max(40).describe('sms or email; anything else (voice, call, ...) is refused with channel_not_allowed');
const templateKey = z.object({
  purpose: z.string().min(3).max(60).regex(/^[a-z_]+(\.[a-z0-9_]+)*$/).describe('An event type from the catalogue, e.g. balance.low'),
  channel: channelText, language: z.string().regex(/^[a-z]{2}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 tag such as "en" or "pt-BR"'),
});
const templateView = z.object({
  id, purpose: z.string(), channel: z.enum(messageChannels), language: z.string(), subject: z.string().nullable(), body: z.string(), html: z.string().nullable(),
  createdBy: z.string(), createdAt: z.date(), updatedAt: z.date(),
});
const triggerView = z.object({
  id, name: z.string(), eventType: z.string(), kind: z.enum(messageKinds), channels: z.array(z.enum(messageChannels)),
  conditions: z.object({ segments: z.array(z.string()).optional(), languages: z.array(z.string()).optional(), plans: z.array(z.string()).optional() }), active: z.boolean(), createdBy: z.string(), createdAt: z.date(), updatedAt: z.date(),
});
const messageView = z.object({
  id, customerId: id, dedupeKey: z.string(), triggerId: id.nullable(), eventId: id.nullable(), eventType: z.string().nullable(), channel: z.enum(messageChannels), kind: z.enum(messageKinds),
  language: z.string().nullable(), recipient: z.string().nullable().describe('Null for marketing staff, as subject and text are'), subject: z.string().nullable(), body: z.string().nullable(), html: z.string().nullable(),
  state: z.enum(messageStates), reason: z.string().nullable().describe('Why it is held, skipped or failed (for marketing staff, only what kind: without the provider\'s answer)'), attempts: z.number().int(), nextAttemptAt: z.date().nullable(),
  providerMessageId: z.string().nullable(), createdAt: z.date(), updatedAt: z.date(), sentAt: z.date().nullable(), deliveredAt: z.date().nullable(), failedAt: z.date().nullable(),
});
const attemptView = z.object({ id, messageId: id, outcome: z.enum(['accepted', 'transient_error', 'permanent_error']), response: z.string().nullable().describe('The provider\'s answer (null for marketing staff)'), at: z.date() });

/**
 * Marketing counts and follows its messages but does not read whom they went to or what a bill or
 * survey said to a customer: recipient and text are for supervisors and admins (who re-drive). Nor
 * the provider's answers, which often name the address or number ("550 <ada@example.org>: Recipient
 * address rejected"): marketing reads what kind of failure it was, the reason up to its first ": ".
 */
function forReader<M extends { recipient: string | null; subject: string | null; body: string | null; html: string | null; reason: string | null; deliveryAttempts?: { response: string | null }[] }>(ctx: Ctx, m: M): M {
  const p = ctx.principal;
  if (p.kind !== 'staff' || p.role !== 'marketing') return m;
  return {
    ...m, recipient: null, subject: null, body: null, html: null, reason: m.reason && m.reason.split(': ')[0]!,
    ...(m.deliveryAttempts ? { deliveryAttempts: m.deliveryAttempts.map((a) => ({ ...a, response: null })) } : {}),
  };
}

/** Templates, triggers on domain events, and the messages they made (with the dead-letter view). */
export const campaignRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.put('/v1/message-templates/:purpose/:channel/:language', {
    config: { auth: 'campaigns:manage' },
    schema: {
      operationId: 'saveMessageTemplate', tags, summary: 'Write a message template: its variables must be the purpose\'s ({{balance}}, {{customer.name}}, ...)', params: templateKey,
      body: z.object({ subject: z.string().trim().min(1).max(200).optional().describe('Email only'), body: z.string().min(1).max(5000), html: z.string().min(1).max(100_000).optional().describe('Email only') }).strict(),
      response: { 200: templateView, ...problems(400, 422) },
    },
  }, async (req) => {
    const channel = requireChannel(req.params.channel);
    return saveTemplate(db, ctxOf(req), { ...req.params, channel }, req.body);
  });

  app.get('/v1/message-templates', {
    config: { auth: 'messages:read' },
    schema: { operationId: 'listMessageTemplates', tags, summary: 'Message templates by purpose, channel and language', querystring: z.object({ purpose: z.string().max(60).optional() }), response: { 200: z.object({ items: z.array(templateView) }), ...problems(400) } },
  }, async (req) => ({ items: await listTemplates(db, req.query.purpose) }));

  app.post('/v1/message-templates/:purpose/:channel/:language/preview', {
    config: { auth: 'campaigns:manage' },
    schema: {
      operationId: 'previewMessageTemplate', tags, summary: 'A template rendered with sample values (or those given); for SMS, its encoding and number of parts', params: templateKey,
      body: z.object({ values: z.record(z.string(), z.unknown()).default({}), locale: z.string().min(2).max(35).default('en'), timeZone: z.string().min(1).max(64).default('UTC') }).strict(),
      response: {
        200: z.object({
          subject: z.string().nullable(), body: z.string(), html: z.string().nullable(),
          sms: z.object({ encoding: z.enum(['GSM-7', 'UCS-2']), dataCoding: z.number().int(), units: z.number().int(), parts: z.number().int(), perPart: z.number().int(), remainingInLastPart: z.number().int() }).nullable(),
        }),
        ...problems(400, 404, 422),
      },
    },
  }, async (req) => previewTemplate(db, { ...req.params, channel: requireChannel(req.params.channel) }, req.body.values, req.body));

  app.post('/v1/message-triggers', {
    config: { auth: 'campaigns:manage' },
    schema: {
      operationId: 'createMessageTrigger', tags, summary: 'Send messages on a domain event: channels in order of preference, kind (transactional or marketing), conditions',
      body: z.object({
        name: z.string().trim().min(1).max(100), eventType: z.string().min(3).max(60), channels: z.array(channelText).min(1).max(2), kind: z.enum(messageKinds).optional(),
        conditions: z.object({
          segments: z.array(z.enum(customerSegments)).max(3).optional(), languages: z.array(z.string().max(35)).max(50).optional(),
          plans: z.array(z.string().trim().min(1).max(60)).max(50).optional().describe('Price plan codes: the customer has a line (not terminated) on one of them'),
        }).strict().optional(),
        active: z.boolean().optional(),
      }).strict(),
      response: { 201: triggerView, ...problems(400, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await createTrigger(db, ctxOf(req), req.body)));

  app.get('/v1/message-triggers', {
    config: { auth: 'messages:read' },
    schema: { operationId: 'listMessageTriggers', tags, summary: 'The triggers', response: { 200: z.object({ items: z.array(triggerView) }) } },
  }, async () => ({ items: await listTriggers(db) }));

  app.patch('/v1/message-triggers/:id', {
    config: { auth: 'campaigns:manage' },
    schema: { operationId: 'setMessageTriggerActive', tags, summary: 'Switch a trigger on or off', params: z.object({ id }), body: z.object({ active: z.boolean() }).strict(), response: { 200: triggerView, ...problems(400, 404) } },
  }, async (req) => setTriggerActive(db, ctxOf(req), req.params.id, req.body.active));

  app.get('/v1/messages', {
    config: { auth: 'messages:read' },
    schema: {
      operationId: 'listMessages', tags, summary: 'Messages, newest first; state=failed is the dead-letter view',
      querystring: pageQuery.extend({ state: z.enum(messageStates).optional(), customerId: id.optional() }), response: { 200: page(messageView), ...problems(400) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    const ctx = ctxOf(req);
    return toPage((await listMessages(db, { ...req.query, before })).map((m) => forReader(ctx, m)), req.query.limit, (m) => [m.id]);
  });

  app.get('/v1/messages/:id', {
    config: { auth: 'messages:read' },
    schema: { operationId: 'getMessage', tags, summary: 'A message with every attempt and the provider\'s answers', params: z.object({ id }), response: { 200: messageView.extend({ deliveryAttempts: z.array(attemptView) }), ...problems(400, 404) } },
  }, async (req) => forReader(ctxOf(req), await getMessage(db, req.params.id)));

  app.post('/v1/messages/:id/redrive', {
    config: { auth: 'messages:redrive' },
    schema: { operationId: 'redriveMessage', tags, summary: 'Send a failed (dead-lettered) message again', params: z.object({ id }), response: { 200: messageView, ...problems(400, 404, 409) } },
  }, async (req) => redrive(db, ctxOf(req), req.params.id));
};
