import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { agents, queueRules, type ServiceType, type Tier, tickets } from './tables.js';
import { chooseQueue } from './ticket-rules.js';

type QueueRule = typeof queueRules.$inferSelect;

export async function addQueueRule(db: Db, ctx: Ctx, input: Pick<QueueRule, 'serviceType' | 'language' | 'segment' | 'queue' | 'position'>) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(queueRules).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'queue_rule.added', entityType: 'queue_rule', entityId: row!.id, details: input });
    return row!;
  });
}

export async function removeQueueRule(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.delete(queueRules).where(eq(queueRules.id, id)).returning();
    if (!row) throw serviceErrors.queue_rule_not_found();
    await audit(tx, ctx, { action: 'queue_rule.removed', entityType: 'queue_rule', entityId: id, details: { queue: row.queue } });
    return row;
  });
}

export const listQueueRules = (db: Tx) => db.select().from(queueRules).orderBy(asc(queueRules.position), asc(queueRules.id));

/** The queue a ticket of this kind lands in (see chooseQueue). */
export async function queueFor(tx: Tx, t: { serviceType: ServiceType; language: string; segment: string }) {
  return chooseQueue(await listQueueRules(tx), t);
}

/**
 * Registers someone tickets can be assigned to, or changes what they work on (a person leaving is
 * made inactive, never deleted). An agent made inactive gives their unresolved tickets back to
 * their queues, so that none waits on someone who is gone.
 */
export async function saveAgent(db: Db, ctx: Ctx, id: string, input: { name: string; tier: Tier; queues: string[]; languages: string[]; active: boolean }) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(agents).values({ id, ...input, createdBy: actorOf(ctx) })
      .onConflictDoUpdate({ target: agents.id, set: { ...input, updatedAt: sql`now()` } }).returning();
    const released = input.active ? [] : await tx.update(tickets).set({ assigneeId: null, updatedAt: sql`now()` })
      .where(and(eq(tickets.assigneeId, id), inArray(tickets.status, ['new', 'open', 'pending']))).returning({ id: tickets.id, number: tickets.number });
    for (const t of released) {
      await emit(tx, 'ticket.updated', { ticketId: t.id, number: t.number, changes: ['assigneeId'], reason: 'agent_inactive' }, { aggregateId: t.id, requestId: ctx.requestId });
    }
    await audit(tx, ctx, { action: 'agent.saved', entityType: 'agent', entityId: id, details: { ...input, releasedTickets: released.length } });
    return row!;
  });
}

export async function listAgents(db: Db, q: { queue?: string; language?: string; active?: boolean }) {
  return db.select().from(agents).where(and(
    q.queue ? sql`${agents.queues} ? ${q.queue}` : undefined, q.language ? sql`${agents.languages} ? ${q.language}` : undefined,
    q.active === undefined ? undefined : eq(agents.active, q.active),
  )).orderBy(asc(agents.id)).limit(500);
}

/** Tickets go to registered, active agents only: a typo must not park a ticket with nobody. */
export async function requireAgent(tx: Tx, id: string) {
  const [agent] = await tx.select({ active: agents.active }).from(agents).where(eq(agents.id, id));
  if (!agent?.active) throw serviceErrors.unknown_agent(`${id} is not an active agent`);
}
