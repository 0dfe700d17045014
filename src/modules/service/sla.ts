import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { type Calendar, workingMs } from './sla-rules.js';
import { businessCalendars, slaPolicies, ticketHistory, tickets, ticketSlaEvents } from './tables.js';
import { choosePolicy, nextSlaCheck, type Target, ticketSla } from './ticket-sla.js';

type TicketRow = typeof tickets.$inferSelect;
export type NewPolicy = Omit<typeof slaPolicies.$inferInsert, 'id' | 'createdBy' | 'createdAt'>;

export async function createCalendar(db: Db, ctx: Ctx, input: { name: string; calendar: Calendar }) {
  try {
    // The rules check the calendar (zone, hours, holidays) the way they will use it.
    workingMs(input.calendar, new Date(), new Date(Date.now() + 14 * 86_400_000));
  } catch (err) {
    if (err instanceof RangeError) throw serviceErrors.invalid_calendar(err.message);
    throw err;
  }
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(businessCalendars).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'business_calendar.created', entityType: 'business_calendar', entityId: row!.id, details: { name: input.name } });
    return row!;
  });
}

export const listCalendars = (db: Db) => db.select().from(businessCalendars).orderBy(asc(businessCalendars.name), asc(businessCalendars.id));

/** No target may take longer than this to reach on its calendar: due times are computed day by day. */
const TARGET_HORIZON_MS = 2 * 366 * 86_400_000;

export async function createPolicy(db: Db, ctx: Ctx, input: NewPolicy) {
  return db.transaction(async (tx) => {
    const [calendar] = await tx.select({ id: businessCalendars.id, calendar: businessCalendars.calendar }).from(businessCalendars).where(eq(businessCalendars.id, input.calendarId));
    if (!calendar) throw serviceErrors.calendar_not_found();
    // A year of targets on a calendar of a minute a week would be reached in the year 12,000, and every measure walk there.
    const now = new Date();
    const longest = Math.max(input.firstResponseMinutes, input.nextResponseMinutes ?? 0, input.resolutionMinutes) * 60_000;
    if (workingMs(calendar.calendar, now, new Date(now.getTime() + TARGET_HORIZON_MS)) < longest) {
      throw serviceErrors.sla_target_unreachable(`Its calendar has less than ${Math.round(longest / 60_000)} working minutes in the next two years`);
    }
    const [row] = await tx.insert(slaPolicies).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'sla_policy.created', entityType: 'sla_policy', entityId: row!.id, details: { name: input.name } });
    return row!;
  });
}

export const listPolicies = (db: Db) => db.select().from(slaPolicies).orderBy(asc(slaPolicies.position), asc(slaPolicies.id));

/** The policy a ticket of this category, priority and customer segment is measured by. */
export async function policyFor(tx: Tx, t: { serviceType: string; priority: string; segment: string }) {
  return choosePolicy(await tx.select().from(slaPolicies), t)?.id ?? null;
}

/** The ticket's SLA measures now, from its policy, calendar and history; null without a policy. */
export async function slaOf(tx: Tx, t: TicketRow, now = new Date()) {
  if (!t.slaPolicyId) return null;
  const [p] = await tx.select({ policy: slaPolicies, calendar: businessCalendars.calendar }).from(slaPolicies)
    .innerJoin(businessCalendars, eq(businessCalendars.id, slaPolicies.calendarId)).where(eq(slaPolicies.id, t.slaPolicyId));
  const history = await tx.select({ status: ticketHistory.status, at: ticketHistory.at }).from(ticketHistory).where(eq(ticketHistory.ticketId, t.id))
    .orderBy(asc(ticketHistory.at), asc(ticketHistory.id));
  return measureSla(p!.policy, p!.calendar, t, history, now);
}

type Policy = Pick<typeof slaPolicies.$inferSelect, 'id' | 'name' | 'firstResponseMinutes' | 'nextResponseMinutes' | 'resolutionMinutes' | 'warnPercent'>;

/** The SLA of a ticket whose policy, calendar and history are at hand (read in a batch: the customer view). */
export function measureSla(policy: Policy, calendar: Calendar, t: Pick<TicketRow, 'firstResponseAt' | 'awaitingReplySince' | 'resolvedAt'>, history: { status: string; at: Date }[], now: Date) {
  const measures = ticketSla(calendar, policy, { history, firstResponseAt: t.firstResponseAt, awaitingReplySince: t.awaitingReplySince, resolvedAt: t.resolvedAt, now });
  return { policyId: policy.id, policyName: policy.name, ...measures };
}

/**
 * Scheduled: the SLA of every ticket still being worked whose check is due (`slaCheckAt`), measured;
 * each warning and breach not met is recorded and announced once per policy (`ticket.sla_warning`,
 * `ticket.sla_breached`): a ticket moved to another policy has new targets. Each ticket measured is
 * given its next check: when its next warning or breach is due, or none while nothing can come as it
 * stands (a change of the ticket sets it to now). Tickets are read in slices; a calendar object is
 * reused across tickets (the rules cache their working days per object).
 */
export async function detectBreaches(db: Db) {
  const now = new Date();
  const calendars = new Map<string, Calendar>();
  let after = { at: new Date(0), id: '00000000-0000-0000-0000-000000000000' };
  let announced = 0;
  for (;;) {
    const slice = await db.select().from(tickets)
      .where(and(inArray(tickets.status, ['new', 'open', 'pending']), sql`${tickets.slaPolicyId} is not null`, sql`${tickets.slaCheckAt} <= ${now.toISOString()}`,
        sql`(${tickets.slaCheckAt}, ${tickets.id}) > (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`))
      .orderBy(asc(tickets.slaCheckAt), asc(tickets.id)).limit(500);
    if (!slice.length) return announced;
    after = { at: slice.at(-1)!.slaCheckAt!, id: slice.at(-1)!.id };
    const policies = new Map((await db.select().from(slaPolicies).where(inArray(slaPolicies.id, [...new Set(slice.map((t) => t.slaPolicyId!))]))).map((p) => [p.id, p]));
    for (const p of policies.values()) {
      if (!calendars.has(p.calendarId)) {
        const [c] = await db.select().from(businessCalendars).where(eq(businessCalendars.id, p.calendarId));
        calendars.set(p.calendarId, c!.calendar);
      }
    }
    const histories = new Map<string, { status: string; at: Date }[]>();
    for (const h of await db.select().from(ticketHistory).where(inArray(ticketHistory.ticketId, slice.map((t) => t.id))).orderBy(asc(ticketHistory.at), asc(ticketHistory.id))) {
      histories.set(h.ticketId, [...(histories.get(h.ticketId) ?? []), h]);
    }
    const checks: { id: string; was: Date; next: Date | null }[] = [];
    for (const t of slice) {
      const policy = policies.get(t.slaPolicyId!)!;
      const calendar = calendars.get(policy.calendarId)!;
      const clock = { history: histories.get(t.id) ?? [], firstResponseAt: t.firstResponseAt, awaitingReplySince: t.awaitingReplySince, resolvedAt: t.resolvedAt, now };
      announced += await announce(db, t, policy, measureSla(policy, calendar, t, clock.history, now));
      checks.push({ id: t.id, was: t.slaCheckAt!, next: nextSlaCheck(calendar, policy, clock) });
    }
    // Only where nothing changed the ticket meanwhile: a change set its check to now, and that stands.
    await db.execute(sql`update ${tickets} t set sla_check_at = c.next
      from json_to_recordset(${JSON.stringify(checks)}::json) as c(id uuid, was timestamptz, next timestamptz)
      where t.id = c.id and t.sla_check_at = c.was`);
  }
}

/** Each warning and breach of the ticket's measures not announced yet under its policy, recorded and announced. */
async function announce(db: Db, t: TicketRow, policy: Policy, measures: ReturnType<typeof measureSla>) {
  let announced = 0;
  for (const target of ['first_response', 'next_response', 'resolution'] as Target[]) {
    const m = measures[target];
    if (!m || m.met || m.state === 'ok') continue;
    // First response and resolution happen once a ticket: one key (the epoch); each customer message has its own next response.
    const since = target === 'next_response' ? t.awaitingReplySince! : new Date(0);
    const levels = m.state === 'breached' ? ['warning', 'breached'] as const : ['warning'] as const;
    await db.transaction(async (tx) => {
      for (const level of levels) {
        const [fresh] = await tx.insert(ticketSlaEvents).values({ ticketId: t.id, policyId: policy.id, target, since, level }).onConflictDoNothing().returning();
        if (!fresh) continue;
        announced++;
        await emit(tx, level === 'breached' ? 'ticket.sla_breached' : 'ticket.sla_warning', {
          ticketId: t.id, number: t.number, customerId: t.customerId, policyId: policy.id, target, dueAt: m.dueAt, elapsedMinutes: m.elapsedMinutes, targetMinutes: m.targetMinutes, queue: t.queue, assigneeId: t.assigneeId,
        }, { aggregateId: t.id });
      }
    });
  }
  return announced;
}
