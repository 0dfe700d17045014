import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { interactions, tickets } from './tables.js';
import { openTicketIn, postMessage, type ServiceSettings } from './tickets.js';

export interface InboundContact { customerId: string; channel: 'sms' | 'email'; body: string; subject?: string }

/**
 * A customer wrote to us (an SMS to the short code, a mail): the words go on their open ticket (the
 * most recently active; one waiting on them opens again), or open a new one, triaged by the
 * operator's rules, else on the mobile desk (the customer wrote from a phone, or about one). Either
 * way it is an interaction, so it counts in the KPIs.
 */
export async function inboundContact(tx: Tx, s: ServiceSettings, c: InboundContact) {
  const ctx: Ctx = { principal: { kind: 'customer', id: `${c.channel}:inbound`, customerId: c.customerId, via: 'api_key' }, requestId: `inbound-${c.channel}` };
  const [open] = await tx.select().from(tickets)
    .where(and(eq(tickets.customerId, c.customerId), inArray(tickets.status, ['new', 'open', 'pending']))).orderBy(desc(tickets.updatedAt), desc(tickets.id)).limit(1).for('update');
  let ticketId: string;
  let outcome: 'ticket_updated' | 'ticket_opened';
  if (open) {
    await postMessage(tx, ctx, s, open, { body: c.body, visibility: 'public', channel: c.channel });
    [ticketId, outcome] = [open.id, 'ticket_updated'];
  } else {
    const input = { customerId: c.customerId, priority: 'normal' as const, channel: c.channel, subject: (c.subject ?? c.body.split('\n')[0]!).slice(0, 80).padEnd(3, '.'), description: c.body };
    const opened = await openTicketIn(tx, ctx, s, input).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'ticket_uncategorised') return openTicketIn(tx, ctx, s, { ...input, serviceType: 'mobile' });
      throw err;
    });
    [ticketId, outcome] = [opened.id, 'ticket_opened'];
  }
  const id = uuidv7();
  await tx.insert(interactions).values({ id, customerId: c.customerId, channel: c.channel, direction: 'inbound', startedAt: new Date(), durationSeconds: 0, outcome, ticketId, agentId: 'system' });
  await emit(tx, 'interaction.logged', { interactionId: id, customerId: c.customerId, channel: c.channel, direction: 'inbound', outcome, durationSeconds: 0, ticketId }, { aggregateId: c.customerId });
  return { ticketId, outcome };
}
