import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { recordInteraction } from './interactions.js';
import { tickets } from './tables.js';
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
    const opened = await openTicketIn(tx, ctx, s, {
      customerId: c.customerId, priority: 'normal', channel: c.channel, subject: (c.subject ?? c.body.split('\n')[0]!).slice(0, 80).padEnd(3, '.'), description: c.body,
      fallbackServiceType: 'mobile',
    });
    [ticketId, outcome] = [opened.id, 'ticket_opened'];
  }
  await recordInteraction(tx, { customerId: c.customerId, channel: c.channel, direction: 'inbound', startedAt: new Date(), durationSeconds: 0, outcome, ticketId, agentId: 'system' });
  return { ticketId, outcome };
}
