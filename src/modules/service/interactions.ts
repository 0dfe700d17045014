import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerForWrite, customerVisible } from '../customers/index.js';
import { serviceErrors } from './errors.js';
import { interactions, ticketMessages, tickets } from './tables.js';

type Interaction = typeof interactions.$inferSelect;
export type NewInteraction = Pick<Interaction, 'customerId' | 'channel' | 'direction' | 'startedAt' | 'durationSeconds' | 'outcome'> & { ticketId?: string; notes?: string };

/** A contact with the customer, logged by the agent who handled it (whether or not it became a ticket). */
export async function logInteraction(db: Db, ctx: Ctx, input: NewInteraction) {
  return db.transaction(async (tx) => {
    await customerForWrite(tx, ctx, input.customerId);
    if (input.ticketId) {
      const [t] = await tx.select({ customerId: tickets.customerId }).from(tickets).where(eq(tickets.id, input.ticketId));
      if (!t || t.customerId !== input.customerId) throw serviceErrors.ticket_not_found('No such ticket of this customer');
    }
    return recordInteraction(tx, { ...input, agentId: ctx.principal.id }, ctx.requestId);
  });
}

/** Writes an interaction and its `interaction.logged` event (the caller has checked whose it is). */
export async function recordInteraction(tx: Tx, input: NewInteraction & { agentId: string }, requestId?: string) {
  const [row] = await tx.insert(interactions).values({ ...input, ticketId: input.ticketId ?? null, notes: input.notes ?? null, id: uuidv7() }).returning();
  await emit(tx, 'interaction.logged', {
    interactionId: row!.id, customerId: input.customerId, channel: input.channel, direction: input.direction, outcome: input.outcome, durationSeconds: input.durationSeconds, ticketId: row!.ticketId,
  }, { aggregateId: input.customerId, requestId });
  return row!;
}

export async function listInteractions(db: Db, ctx: Ctx, customerId: string, q: { limit: number; before?: string }) {
  if (!(await customerVisible(db, ctx, customerId))) throw serviceErrors.customer_not_found();
  return db.select().from(interactions).where(and(eq(interactions.customerId, customerId), q.before ? lt(interactions.id, q.before) : undefined))
    .orderBy(desc(interactions.id)).limit(q.limit + 1);
}

/**
 * A customer erased: what it told us goes (ticket subjects, every message body, interaction notes);
 * the tickets, their history and the interactions stay as counts for the KPIs.
 */
export async function eraseCustomerService(tx: Tx, customerId: string) {
  const erased = '[erased]';
  await tx.update(tickets).set({ subject: erased, updatedAt: sql`now()` }).where(eq(tickets.customerId, customerId));
  await tx.update(ticketMessages).set({ body: erased })
    .where(inArray(ticketMessages.ticketId, tx.select({ id: tickets.id }).from(tickets).where(eq(tickets.customerId, customerId))));
  await tx.update(interactions).set({ notes: null }).where(eq(interactions.customerId, customerId));
}
