import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx, systemCtx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerForWrite, customerVisible } from '../customers/index.js';
import { visibleInvoice } from '../billing/index.js';
import { getOrder, visibleLine } from '../orders/index.js';
import { requireSubcategory } from './catalog.js';
import { requestSurvey } from './csat.js';
import { serviceErrors } from './errors.js';
import { onOpened, type RecurringSettings } from './escalations.js';
import { openIncidentFor } from './incident-customers.js';
import { policyFor, slaOf } from './sla.js';
import { queueFor, requireAgent } from './team.js';
import { type ServiceType, type TicketStatus, ticketHistory, ticketMessages, tickets, triageRules } from './tables.js';
import { afterCustomerReply, refusal, triage } from './ticket-rules.js';

export interface ServiceSettings { reopenWindowDays: number; recurring: RecurringSettings; csatSurveyDays: number }
type TicketRow = typeof tickets.$inferSelect;
type Channel = TicketRow['channel'];

export interface OpenTicket {
  customerId: string; serviceType?: ServiceType; subcategory?: string; priority: TicketRow['priority']; channel: Channel;
  subject: string; description: string; language?: string; lineId?: string; orderId?: string; invoiceId?: string;
  /** Where a ticket goes that triage cannot place (as if the caller had named it); none: it is refused. */
  fallbackServiceType?: ServiceType;
}

const isStaff = (ctx: Ctx) => ctx.principal.kind === 'staff';
/** A ticket's language is ISO 639-1 ("pt-BR" → "pt"); a customer's three-letter language falls back to English. */
const twoLetter = (tag: string) => (/^[a-z]{2}$/i.test(tag.split('-')[0]!) ? tag.split('-')[0]!.toLowerCase() : 'en');

/** The ticket, if the caller may see it: staff any, a customer its own. */
export async function visibleTicket(db: Tx, ctx: Ctx, id: string, lock = false) {
  const q = db.select().from(tickets).where(eq(tickets.id, id));
  const [t] = lock ? await q.for('update') : await q;
  if (!t || !(await customerVisible(db, ctx, t.customerId))) throw serviceErrors.ticket_not_found();
  return t;
}

/** What the ticket concerns must be the customer's own (and the caller's to see). */
async function checkConcerns(tx: Tx, ctx: Ctx, input: OpenTicket) {
  if (input.lineId) {
    const line = await visibleLine(tx, ctx, input.lineId);
    if (!line || line.customerId !== input.customerId) throw serviceErrors.line_not_found();
  }
  const owned = async (find: () => Promise<{ customerId: string }>, error: () => AppError) => {
    const found = await find().catch((err: unknown) => {
      if (err instanceof AppError && err.status === 404) return undefined;
      throw err;
    });
    if (!found || found.customerId !== input.customerId) throw error();
  };
  if (input.orderId) await owned(() => getOrder(tx as Db, ctx, input.orderId!), serviceErrors.order_not_found);
  if (input.invoiceId) await owned(() => visibleInvoice(tx as Db, ctx, input.invoiceId!), serviceErrors.invoice_not_found);
}

/** The category the ticket was given, or the one triage gives it; a subcategory must be one the operator offers. */
async function categoryOf(tx: Tx, input: OpenTicket) {
  if (input.serviceType) {
    if (input.subcategory) await requireSubcategory(tx, input.serviceType, input.subcategory);
    return { serviceType: input.serviceType, subcategory: input.subcategory ?? null, categorisedBy: 'caller' as const };
  }
  const rule = triage(await tx.select().from(triageRules).orderBy(asc(triageRules.position), asc(triageRules.id)), `${input.subject}\n${input.description}`);
  if (!rule) {
    if (input.fallbackServiceType) return { serviceType: input.fallbackServiceType, subcategory: null, categorisedBy: 'caller' as const };
    throw serviceErrors.ticket_uncategorised();
  }
  return { serviceType: rule.serviceType, subcategory: rule.subcategory, categorisedBy: 'triage' as const };
}

/**
 * Opens a ticket for a customer (a customer for itself, from the app or the web): categorised or
 * triaged, in the queue of its service type, its description the first public message.
 */
export async function openTicket(db: Db, ctx: Ctx, s: ServiceSettings, input: OpenTicket) {
  return db.transaction(async (tx) => openTicketIn(tx, ctx, s, input));
}

export async function openTicketIn(tx: Tx, ctx: Ctx, s: ServiceSettings, input: OpenTicket) {
  const customer = await customerForWrite(tx, ctx, input.customerId);
  // A customer does not choose its own priority (it would choose the strictest SLA): staff raise it.
  if (ctx.principal.kind === 'customer') input = { ...input, priority: 'normal' };
  await checkConcerns(tx, ctx, input);
  const category = await categoryOf(tx, input);
  const language = input.language ?? twoLetter(customer.preferredLanguage);
  const slaPolicyId = await policyFor(tx, { serviceType: category.serviceType, priority: input.priority, segment: customer.segment });
  const id = uuidv7();
  const [{ n }] = await tx.execute<{ n: string }>(sql`select nextval('service.ticket_numbers')::text as n`) as unknown as [{ n: string }];
  const incident = await openIncidentFor(tx, input.customerId, category.serviceType);
  let [ticket] = await tx.insert(tickets).values({
    id, number: `T-${n.padStart(6, '0')}`, customerId: input.customerId, lineId: input.lineId ?? null, orderId: input.orderId ?? null, invoiceId: input.invoiceId ?? null,
    ...category, priority: input.priority, channel: input.channel, subject: input.subject, language, queue: await queueFor(tx, { serviceType: category.serviceType, language, segment: customer.segment }), openedBy: actorOf(ctx),
    slaPolicyId, incidentId: incident?.id ?? null,
  }).returning() as [TicketRow];
  await tx.insert(ticketHistory).values({ id: uuidv7(), ticketId: id, status: 'new', actor: actorOf(ctx), at: sql`clock_timestamp()` });
  await tx.insert(ticketMessages).values({ id: uuidv7(), ticketId: id, visibility: 'public', authorKind: ctx.principal.kind, authorId: ctx.principal.id, channel: input.channel, body: input.description });
  await emit(tx, 'ticket.created', {
    ticketId: id, number: ticket.number, customerId: input.customerId, serviceType: category.serviceType, priority: input.priority, channel: input.channel, queue: ticket.queue,
    incidentId: ticket.incidentId,
  }, { aggregateId: id, requestId: ctx.requestId });
  if (incident) ticket = await waitOnIncident(tx, s, ticket, incident);
  const escalated = await onOpened(tx, ticket, customer.segment, s.recurring);
  await audit(tx, ctx, { action: 'ticket.opened', entityType: 'ticket', entityId: id, details: { number: ticket.number, categorisedBy: category.categorisedBy, incidentId: ticket.incidentId } });
  return escalated;
}

/** The ticket with its SLA measured now (first response, next response, resolution). */
export async function getTicket(db: Db, ctx: Ctx, id: string) {
  const t = await visibleTicket(db, ctx, id);
  return { ...t, sla: await slaOf(db, t) };
}

export async function listTickets(db: Db, ctx: Ctx, q: { customerId?: string; status?: TicketStatus; queue?: string; assigneeId?: string; limit: number; before?: string }) {
  // A customer lists its own tickets whatever it asks for, and cannot filter by what it is not shown (queue, agent).
  const byCustomer = ctx.principal.kind === 'customer';
  const customerId = ctx.principal.kind === 'customer' ? ctx.principal.customerId : q.customerId;
  return db.select().from(tickets).where(and(
    customerId ? eq(tickets.customerId, customerId) : undefined, q.status ? eq(tickets.status, q.status) : undefined,
    q.queue && !byCustomer ? eq(tickets.queue, q.queue) : undefined, q.assigneeId && !byCustomer ? eq(tickets.assigneeId, q.assigneeId) : undefined,
    q.before ? lt(tickets.id, q.before) : undefined,
  )).orderBy(desc(tickets.id)).limit(q.limit + 1);
}

/** Moves the ticket and writes its history (what the SLA clock reads); emits ticket.status_changed. */
async function move(tx: Tx, ctx: Ctx, s: ServiceSettings, t: TicketRow, to: TicketStatus, extra: { reason?: string; pendingOn?: TicketRow['pendingOn'] } = {}) {
  const why = refusal(t.status, to, { resolvedAt: t.resolvedAt, now: new Date(), reopenWindowMs: s.reopenWindowDays * 86_400_000 });
  if (why) throw serviceErrors[why]();
  const reopen = t.status === 'resolved' && to === 'open';
  const [moved] = await tx.update(tickets).set({
    status: to, pendingOn: to === 'pending' ? extra.pendingOn! : null, updatedAt: sql`now()`,
    ...(to === 'resolved' ? { resolvedAt: sql`now()` } : {}), ...(to === 'closed' ? { closedAt: sql`now()` } : {}),
    ...(reopen ? { resolvedAt: null, reopenCount: sql`${tickets.reopenCount} + 1` } : {}),
  }).where(eq(tickets.id, t.id)).returning();
  // The moment the change happened, not the transaction's start: a transaction that waited on the row lock must not date its change before the one it waited for.
  await tx.insert(ticketHistory).values({ id: uuidv7(), ticketId: t.id, status: to, actor: actorOf(ctx), reason: extra.reason ?? null, at: sql`clock_timestamp()` });
  await emit(tx, 'ticket.status_changed', { ticketId: t.id, number: t.number, customerId: t.customerId, from: t.status, to, reopened: reopen }, { aggregateId: t.id, requestId: ctx.requestId });
  if (to === 'resolved') await requestSurvey(tx, moved!, s.csatSurveyDays);
  return moved!;
}

/** A status change asked for: staff any the lifecycle allows; a customer only reopening its own resolved ticket. */
export async function changeStatus(db: Db, ctx: Ctx, s: ServiceSettings, id: string, input: { to: TicketStatus; reason?: string; pendingOn?: TicketRow['pendingOn'] }) {
  if (input.to === 'pending' && !input.pendingOn) throw serviceErrors.pending_needs_reason();
  return db.transaction(async (tx) => {
    const t = await visibleTicket(tx, ctx, id, true);
    if (!isStaff(ctx) && !(t.status === 'resolved' && input.to === 'open')) throw serviceErrors.transition_not_allowed('A customer can only reopen a resolved ticket');
    const moved = await move(tx, ctx, s, t, input.to, input);
    await audit(tx, ctx, { action: 'ticket.status_changed', entityType: 'ticket', entityId: id, details: { from: t.status, to: input.to, reason: input.reason } });
    return moved;
  });
}

/** Staff re-categorise, re-prioritise and assign; a new ticket picked up by an agent is open. */
export async function updateTicket(db: Db, ctx: Ctx, s: ServiceSettings, id: string, patch: Partial<Pick<TicketRow, 'priority' | 'queue' | 'assigneeId'>> & { serviceType?: ServiceType; subcategory?: string | null }) {
  return db.transaction(async (tx) => {
    let t = await visibleTicket(tx, ctx, id, true);
    if (t.status === 'closed') throw serviceErrors.ticket_closed();
    const serviceType = patch.serviceType ?? t.serviceType;
    const subcategory = patch.subcategory === undefined ? (patch.serviceType ? null : t.subcategory) : patch.subcategory;
    if (subcategory) await requireSubcategory(tx, serviceType, subcategory);
    // A new category or priority may mean another policy: its targets then apply from the ticket's start.
    const rechoose = patch.serviceType !== undefined || patch.priority !== undefined;
    const segment = rechoose ? (await customerVisible(tx, ctx, t.customerId))!.segment : null;
    const slaPolicyId = segment ? await policyFor(tx, { serviceType, priority: patch.priority ?? t.priority, segment }) : t.slaPolicyId;
    // Another service type is another team's work, unless staff name the queue themselves.
    const queue = patch.queue ?? (patch.serviceType && segment ? await queueFor(tx, { serviceType, language: t.language, segment }) : t.queue);
    if (patch.assigneeId) await requireAgent(tx, patch.assigneeId);
    [t] = await tx.update(tickets).set({
      ...patch, serviceType, subcategory, slaPolicyId, queue, ...(patch.serviceType ? { categorisedBy: 'caller' as const } : {}), updatedAt: sql`now()`,
    }).where(eq(tickets.id, id)).returning() as [TicketRow];
    if (patch.assigneeId && t.status === 'new') t = await move(tx, ctx, s, t, 'open', { reason: `Assigned to ${patch.assigneeId}` });
    await emit(tx, 'ticket.updated', { ticketId: id, number: t.number, changes: Object.keys(patch) }, { aggregateId: id, requestId: ctx.requestId });
    await audit(tx, ctx, { action: 'ticket.updated', entityType: 'ticket', entityId: id, details: patch });
    return t;
  });
}

/**
 * A reply or note on the thread. Customers write public replies on their own tickets only; a
 * customer's reply to a ticket waiting on them (or resolved, within the window) opens it again.
 */
export async function addMessage(db: Db, ctx: Ctx, s: ServiceSettings, id: string, input: { body: string; visibility: 'public' | 'internal'; channel: Channel }) {
  if (input.visibility === 'internal' && !isStaff(ctx)) throw serviceErrors.internal_note_not_allowed();
  return db.transaction(async (tx) => postMessage(tx, ctx, s, await visibleTicket(tx, ctx, id, true), input));
}

/** A message on a ticket the caller may write on (locked by the caller). */
export async function postMessage(tx: Tx, ctx: Ctx, s: ServiceSettings, t: TicketRow, input: { body: string; visibility: 'public' | 'internal'; channel: Channel }) {
  const id = t.id;
  if (t.status === 'closed') throw serviceErrors.ticket_closed();
  const [message] = await tx.insert(ticketMessages).values({
    id: uuidv7(), ticketId: id, visibility: input.visibility, authorKind: ctx.principal.kind, authorId: ctx.principal.id, channel: input.channel, body: input.body,
  }).returning();
  // The response clocks: staff's public reply answers what the customer said; the customer's starts the next one.
  const fromCustomer = ctx.principal.kind === 'customer';
  // Only a person on the operator's side answers: an integration's or partner's message does not stop the response clocks.
  const answered = isStaff(ctx) && input.visibility === 'public';
  await tx.update(tickets).set({
    updatedAt: sql`now()`,
    ...(answered ? { firstResponseAt: sql`coalesce(${tickets.firstResponseAt}, now())`, awaitingReplySince: null } : {}),
    // Before the first response the first-response clock covers it; after, each message waits for its own answer.
    ...(fromCustomer ? { awaitingReplySince: sql`case when ${tickets.firstResponseAt} is null then null else coalesce(${tickets.awaitingReplySince}, now()) end` } : {}),
  }).where(eq(tickets.id, id));
  const next = fromCustomer ? afterCustomerReply(t.status, t.pendingOn) : null;
  if (next) await move(tx, ctx, s, t, next, { reason: 'The customer replied' });
  if (input.visibility === 'public') {
    await emit(tx, 'ticket.replied', { ticketId: id, number: t.number, customerId: t.customerId, messageId: message!.id, by: ctx.principal.kind }, { aggregateId: id, requestId: ctx.requestId });
  }
  return message!;
}

/** The thread as the caller may read it: a customer sees public replies only. */
export async function listMessages(db: Db, ctx: Ctx, id: string) {
  await visibleTicket(db, ctx, id);
  return db.select().from(ticketMessages)
    .where(and(eq(ticketMessages.ticketId, id), isStaff(ctx) ? undefined : eq(ticketMessages.visibility, 'public'))).orderBy(asc(ticketMessages.id));
}

export async function historyOf(db: Db, ctx: Ctx, id: string) {
  await visibleTicket(db, ctx, id);
  return db.select().from(ticketHistory).where(eq(ticketHistory.ticketId, id)).orderBy(asc(ticketHistory.at), asc(ticketHistory.id));
}

/** Scheduled: resolved tickets whose reopen window has passed are closed, in slices until none is left. */
export async function closeResolved(db: Db, s: ServiceSettings) {
  const system = systemCtx('service.close_resolved');
  let closed = 0;
  for (;;) {
    const due = await db.select({ id: tickets.id }).from(tickets)
      .where(and(eq(tickets.status, 'resolved'), lt(tickets.resolvedAt, sql`now() - make_interval(days => ${s.reopenWindowDays})`))).limit(500);
    for (const { id } of due) {
      await db.transaction(async (tx) => {
        const [t] = await tx.select().from(tickets).where(and(eq(tickets.id, id), eq(tickets.status, 'resolved'))).for('update');
        if (t) await move(tx, system, s, t, 'closed', { reason: 'Resolved and not reopened within the window' });
      });
    }
    closed += due.length;
    if (due.length < 500) return closed;
  }
}

const systemSays = (tx: Tx, t: TicketRow, body: string) =>
  tx.insert(ticketMessages).values({ id: uuidv7(), ticketId: t.id, visibility: 'public', authorKind: 'system', authorId: 'system', channel: t.channel, body });

/**
 * A ticket opened during an outage that touches the customer: the customer reads what is known
 * (in the ticket's language if the incident says it in that language), and the ticket waits on the
 * incident, its SLA clocks paused, until the incident is resolved.
 */
async function waitOnIncident(tx: Tx, s: ServiceSettings, t: TicketRow, incident: { id: string; title: string; statusText: Record<string, string> }) {
  const known = incident.statusText[t.language] ?? incident.statusText.en ?? incident.title;
  await systemSays(tx, t, `This is part of a known outage: ${/[.!?]$/.test(known) ? known : `${known}.`} We will let you know here when it is fixed.`);
  return move(tx, systemCtx('service.incident'), s, t, 'pending', { pendingOn: 'third_party', reason: `Part of incident ${incident.id}` });
}

/** When an incident is resolved, so are the tickets that waited on it (each gets its survey). */
export async function resolveWithIncident(tx: Tx, s: ServiceSettings, incident: { incidentId: string; title: string }) {
  const linked = await tx.select().from(tickets)
    .where(and(eq(tickets.incidentId, incident.incidentId), inArray(tickets.status, ['new', 'open', 'pending']))).orderBy(asc(tickets.id)).for('update');
  const system = systemCtx('service.incident_resolved');
  for (const t of linked) {
    await systemSays(tx, t, `The outage is over: ${incident.title}. If something still does not work, reply here and we will look into it.`);
    await move(tx, system, s, t, 'resolved', { reason: `Incident ${incident.incidentId} resolved` });
  }
  return linked.length;
}
