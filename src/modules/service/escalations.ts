import { and, asc, desc, eq, gt, ne, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx, systemCtx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { escalationRules, type Tier, ticketEscalations, ticketLinks, tickets } from './tables.js';
import { type EscalationTrigger, escalationFor } from './ticket-rules.js';

type TicketRow = typeof tickets.$inferSelect;
export interface RecurringSettings { count: number; windowDays: number }
export type NewRule = Omit<typeof escalationRules.$inferInsert, 'id' | 'createdBy' | 'createdAt'>;

const SYSTEM = systemCtx('service.escalation');

/** Moves the ticket to a tier, recording why, and tells whoever watches (ticket.escalated). */
async function moveTier(tx: Tx, ctx: Ctx, t: TicketRow, to: Tier, reason: string, ruleId: string | null) {
  const [moved] = await tx.update(tickets).set({ tier: to, updatedAt: sql`now()` }).where(eq(tickets.id, t.id)).returning();
  await tx.insert(ticketEscalations).values({ id: uuidv7(), ticketId: t.id, fromTier: t.tier, toTier: to, reason, ruleId, actor: actorOf(ctx) });
  await emit(tx, 'ticket.escalated', {
    ticketId: t.id, number: t.number, customerId: t.customerId, from: t.tier, to, reason, ruleId, queue: t.queue, assigneeId: t.assigneeId,
  }, { aggregateId: t.id, requestId: ctx.requestId });
  return moved!;
}

/** What the rules do about an event on a ticket: up to the highest tier a matching rule names, or nothing. */
export async function escalateByRules(tx: Tx, t: TicketRow, e: EscalationTrigger, why: string) {
  const rule = escalationFor(await tx.select().from(escalationRules), t, e);
  return rule ? moveTier(tx, SYSTEM, t, rule.tier, why, rule.id) : t;
}

/** A person's escalation (or de-escalation), with a reason. */
export async function escalate(db: Db, ctx: Ctx, id: string, input: { tier: Tier; reason: string }, visible: (tx: Tx) => Promise<TicketRow>) {
  return db.transaction(async (tx) => {
    const t = await visible(tx);
    if (t.status === 'closed') throw serviceErrors.ticket_closed();
    if (t.tier === input.tier) throw serviceErrors.transition_not_allowed(`The ticket is at ${input.tier} already`);
    const moved = await moveTier(tx, ctx, t, input.tier, input.reason, null);
    await audit(tx, ctx, { action: 'ticket.escalated', entityType: 'ticket', entityId: id, details: { from: t.tier, to: input.tier, reason: input.reason } });
    return moved;
  });
}

export const escalationsOf = (db: Db, ticketId: string) => db.select().from(ticketEscalations).where(eq(ticketEscalations.ticketId, ticketId)).orderBy(asc(ticketEscalations.at), asc(ticketEscalations.id));

/**
 * A new ticket: a VIP or enterprise customer's goes straight to the tier its segment's rule names,
 * and one that is the customer's Nth of the same service type within the window is flagged
 * recurring, linked to the earlier ones, and escalated by the recurring rules.
 */
export async function onOpened(tx: Tx, t: TicketRow, segment: string, s: RecurringSettings) {
  let current = t;
  if (segment === 'vip' || segment === 'enterprise') current = await escalateByRules(tx, current, { kind: 'segment', segment }, `A ${segment} customer`);
  // Two tickets of one customer and service type opened at once must see each other: the second counts after the first commits.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`recurring:${t.customerId}:${t.serviceType}`}))`);
  const earlier = await tx.select({ id: tickets.id }).from(tickets).where(and(
    eq(tickets.customerId, t.customerId), eq(tickets.serviceType, t.serviceType), ne(tickets.id, t.id),
    gt(tickets.createdAt, sql`now() - make_interval(days => ${s.windowDays})`))).orderBy(desc(tickets.id)).limit(s.count * 5);
  if (earlier.length + 1 < s.count) return current;
  [current] = await tx.update(tickets).set({ recurring: true }).where(eq(tickets.id, t.id)).returning() as [TicketRow];
  await tx.insert(ticketLinks).values(earlier.map((e) => ({ ticketId: t.id, relatedId: e.id, kind: 'recurring' as const }))).onConflictDoNothing();
  await emit(tx, 'ticket.recurring', { ticketId: t.id, number: t.number, customerId: t.customerId, serviceType: t.serviceType, earlier: earlier.map((e) => e.id) }, { aggregateId: t.id });
  return escalateByRules(tx, current, { kind: 'recurring' }, `${earlier.length + 1} ${t.serviceType} tickets in ${s.windowDays} days`);
}

export const linksOf = (db: Db, ticketId: string) => db.select().from(ticketLinks).where(eq(ticketLinks.ticketId, ticketId)).orderBy(asc(ticketLinks.relatedId));

export async function createRule(db: Db, ctx: Ctx, input: NewRule) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(escalationRules).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'escalation_rule.created', entityType: 'escalation_rule', entityId: row!.id, details: { trigger: input.trigger, tier: input.tier } });
    return row!;
  });
}

export const listRules = (db: Db) => db.select().from(escalationRules).orderBy(asc(escalationRules.id));

/** The SLA job's warnings and breaches reach the rules through the outbox. */
export async function onSlaEvent(tx: Tx, e: { ticketId: string; target: string }, level: 'sla_warning' | 'sla_breached') {
  const [t] = await tx.select().from(tickets).where(eq(tickets.id, e.ticketId)).for('update');
  if (!t || t.status === 'closed' || t.status === 'resolved') return;
  await escalateByRules(tx, t, { kind: level, target: e.target }, `SLA ${level === 'sla_breached' ? 'breached' : 'warning'}: ${e.target.replace('_', ' ')}`);
}
