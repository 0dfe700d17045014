import { and, eq } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { audit } from '../../platform/audit/audit.js';
import { ctxOf } from '../../platform/auth/guard.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { customerVisible } from '../customers/index.js';
import { requireChannel } from './channels.js';
import { campaignErrors } from './errors.js';
import { messageChannels, transactionalOptOuts } from './tables.js';

/**
 * A customer's explicit "no" to transactional messages on a channel (a top-up confirmation by SMS,
 * say), or taking it back. Essential notices (bills, reminders, outages) still come: the law gives
 * no opt-out from them. Marketing is a matter of consent, not of this.
 */
async function setOptOut(db: Db, ctx: Ctx, customerId: string, channel: string, optedOut: boolean) {
  const ch = requireChannel(channel);
  return db.transaction(async (tx) => {
    if (!(await customerVisible(tx, ctx, customerId))) throw campaignErrors.customer_not_found();
    if (optedOut) await tx.insert(transactionalOptOuts).values({ customerId, channel: ch, source: actorOf(ctx) }).onConflictDoNothing();
    else await tx.delete(transactionalOptOuts).where(and(eq(transactionalOptOuts.customerId, customerId), eq(transactionalOptOuts.channel, ch)));
    await audit(tx, ctx, { action: optedOut ? 'messages.opted_out' : 'messages.opted_in', entityType: 'customer', entityId: customerId, details: { channel: ch } });
    return { customerId, channel: ch, optedOut };
  });
}

export const optOutRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  const params = z.object({ id: z.uuid(), channel: z.string().min(1).max(40).describe('sms or email') });
  const view = z.object({ customerId: z.uuid(), channel: z.enum(messageChannels), optedOut: z.boolean() });
  app.put('/v1/customers/:id/transactional-opt-outs/:channel', {
    config: { auth: 'customers:consent' },
    schema: {
      operationId: 'optOutOfTransactional', tags: ['campaigns'], params, response: { 200: view, ...problems(400, 404, 422) },
      summary: 'The customer wants no transactional messages on this channel (essential notices such as bills and outages still come)',
    },
  }, async (req) => setOptOut(db, ctxOf(req), req.params.id, req.params.channel, true));
  app.delete('/v1/customers/:id/transactional-opt-outs/:channel', {
    config: { auth: 'customers:consent' },
    schema: { operationId: 'optInToTransactional', tags: ['campaigns'], summary: 'Take the opt-out back', params, response: { 200: view, ...problems(400, 404, 422) } },
  }, async (req) => setOptOut(db, ctxOf(req), req.params.id, req.params.channel, false));
};
