import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { applyEmailEvents } from './email-events.js';
import { type InboundSettings, receiveEmail } from './inbound.js';
import { isoInstantDate } from '../../platform/http/instant.js';

/** Mail customers send us, and what became of the mail we sent, handed over by the mail provider's webhooks. */
export const inboundRoutes: FastifyPluginAsyncZod<{ db: Db; inbound: InboundSettings }> = async (app, { db, inbound }) => {
  app.post('/v1/inbound/email', {
    config: { auth: 'messages:inbound' },
    schema: {
      operationId: 'receiveInboundEmail', tags: ['campaigns'],
      summary: 'A mail from a customer (the provider\'s inbound webhook, parsed): goes on their ticket or opens one, and is logged as a contact; the same messageId twice is one mail',
      body: z.object({
        messageId: z.string().trim().min(1).max(300).describe('The provider\'s id of the mail (its Message-ID)'), from: z.email().max(254), to: z.string().trim().min(1).max(254),
        subject: z.string().trim().max(500).optional(), text: z.string().trim().min(1).max(100_000).describe('The plain-text part'),
      }).strict(),
      response: { 202: z.object({ duplicate: z.boolean(), customers: z.number().int().describe('Customers with that address') }), ...problems(400) },
    },
  }, async (req, reply) => reply.status(202).send(await receiveEmail(db, inbound, { ...req.body, externalId: req.body.messageId })));

  app.post('/v1/inbound/email-events', {
    config: { auth: 'messages:inbound' },
    schema: {
      operationId: 'receiveEmailEvents', tags: ['campaigns'],
      summary: 'What became of mail we sent (the provider\'s delivery-event webhook, parsed): delivered; bounced (a permanent bounce fails the message and '
        + 'marks the address undeliverable, so that messaging passes it over); complained (the recipient called it spam: email marketing consent is withdrawn). '
        + 'Each event may come again and changes nothing more',
      body: z.object({
        events: z.array(z.object({
          type: z.enum(['delivered', 'bounced', 'complained']),
          providerMessageId: z.string().trim().min(1).max(300).describe('The id the mail went out with (its Message-ID): the message\'s providerMessageId'),
          recipient: z.email().max(254),
          permanent: z.boolean().optional().describe('A bounce: true when the address is gone for good (5.x.x), false when the provider tries again'),
          reason: z.string().trim().max(1000).optional().describe('The remote server\'s answer, e.g. "550 5.1.1 user unknown"'),
          occurredAt: isoInstantDate,
        }).strict().refine((e) => e.type !== 'bounced' || e.permanent !== undefined, { message: 'a bounce says whether it is permanent', path: ['permanent'] })).min(1).max(100),
      }).strict(),
      response: {
        200: z.object({
          results: z.array(z.object({
            providerMessageId: z.string(),
            outcome: z.enum(['delivered', 'bounced', 'noted', 'consent_withdrawn', 'unknown'])
              .describe('unknown: no mail of ours has that id yet (a permanent bounce still marks the address; a delivery or bounce is kept a week, and applied if the send is recorded meanwhile)'),
          })),
        }),
        ...problems(400),
      },
    },
  }, async (req) => ({ results: await applyEmailEvents(db, req.body.events) }));
};
