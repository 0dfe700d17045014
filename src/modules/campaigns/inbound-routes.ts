import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { type InboundSettings, receiveEmail } from './inbound.js';

/** Mail customers send us, handed over by the mail provider's inbound webhook. */
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
};
