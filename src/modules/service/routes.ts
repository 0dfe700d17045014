import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { customerSegments } from '../customers/index.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { addSubcategory, addTriageRule, listSubcategories, listTriageRules } from './catalog.js';
import { listInteractions, logInteraction } from './interactions.js';
import { createCalendar, createPolicy, listCalendars, listPolicies } from './sla.js';
import { slaMeasured } from './sla-schemas.js';
import type { Calendar } from './sla-rules.js';
import { channels, priorities, serviceTypes, ticketStatuses, tiers } from './tables.js';
import { createRule, escalate, escalationsOf, linksOf, listRules } from './escalations.js';
import { addMessage, changeStatus, getTicket, historyOf, listMessages, listTickets, openTicket, type ServiceSettings, updateTicket, visibleTicket } from './tickets.js';
import { instant } from '../../platform/http/instant.js';

const tags = ['service'];
const id = z.uuid();
const params = z.object({ id });
const code = z.string().trim().min(2).max(40).regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _');
// What a customer is not shown: how the operator works its tickets (queues, agents, tiers, targets, who moved it and why).
const staffOnlySchemas = new Set<z.ZodType>();
const staffOnly = (t: z.ZodType) => {
  const marked = t.optional().describe(t.description ? `${t.description} (staff only: absent for customers)` : 'Staff only: absent for customers');
  staffOnlySchemas.add(marked);
  return marked;
};
const ticketView = z.object({
  id, number: z.string(), customerId: id, lineId: id.nullable(), orderId: id.nullable(), invoiceId: id.nullable(),
  serviceType: z.enum(serviceTypes), subcategory: z.string().nullable(), categorisedBy: staffOnly(z.enum(['caller', 'triage'])), priority: z.enum(priorities),
  channel: z.enum(channels), status: z.enum(ticketStatuses), pendingOn: z.enum(['customer', 'third_party']).nullable(), subject: z.string(), language: z.string(),
  queue: staffOnly(z.string()), assigneeId: staffOnly(z.string().nullable()), openedBy: staffOnly(z.string()), reopenCount: z.number().int(),
  tier: staffOnly(z.enum(tiers)), recurring: staffOnly(z.boolean().describe('The customer\'s Nth ticket of this service type within the window (see its links)')),
  slaPolicyId: staffOnly(id.nullable()), incidentId: id.nullable().describe('The outage it was opened during: it waits on it and is resolved with it'),
  firstResponseAt: z.date().nullable(), awaitingReplySince: z.date().nullable().describe('A customer message no staff reply has answered yet'),
  createdAt: z.date(), updatedAt: z.date(), resolvedAt: z.date().nullable(), closedAt: z.date().nullable(),
});
const slaView = slaMeasured.nullable().describe('The SLA measured now; null when no policy fits the ticket');
const ticketWithSla = ticketView.extend({ sla: staffOnly(slaView) });
const hiddenFromCustomers = new Set(Object.entries(ticketWithSla.shape).filter(([, s]) => staffOnlySchemas.has(s)).map(([k]) => k));
const isCustomer = (ctx: Ctx) => ctx.principal.kind === 'customer';
const authorSeenBy = <M extends { authorKind: string; authorId?: string }>(ctx: Ctx, m: M): M => {
  if (!isCustomer(ctx) || m.authorKind === 'customer') return m;
  const { authorId, ...shown } = m;
  return shown as M;
};
function seenBy<T extends object>(ctx: Ctx, t: T): T {
  if (!isCustomer(ctx)) return t;
  return Object.fromEntries(Object.entries(t).filter(([k]) => !hiddenFromCustomers.has(k))) as T;
}
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, '"HH:MM"');
const calendarBody = z.union([
  z.object({ kind: z.literal('24x7') }).strict(),
  z.object({
    kind: z.literal('business'), timeZone: z.string().min(1).max(64).describe('IANA, e.g. "Europe/Berlin"'),
    hours: z.partialRecord(z.enum(['1', '2', '3', '4', '5', '6', '7']), z.array(z.object({ from: hhmm, to: hhmm }).strict()).max(6))
      .describe('Working hours per ISO weekday (1 = Monday); a night shift is two ranges on two days'),
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).max(400).default([]),
  }).strict(),
]);
const calendarView = z.object({ id, name: z.string(), calendar: z.unknown(), createdBy: z.string(), createdAt: z.date() });
const policyView = z.object({
  id, name: z.string(), serviceType: z.enum(serviceTypes).nullable(), priority: z.enum(priorities).nullable(), segment: z.enum(customerSegments).nullable(),
  calendarId: id, firstResponseMinutes: z.number().int(), nextResponseMinutes: z.number().int().nullable(), resolutionMinutes: z.number().int(), warnPercent: z.number().int(),
  position: z.number().int(), createdBy: z.string(), createdAt: z.date(),
});
const messageView = z.object({
  id, ticketId: id, visibility: z.enum(['public', 'internal']), authorKind: z.string(), authorId: z.string().optional().describe('Absent for customers when staff wrote it'), channel: z.enum(channels), body: z.string(), createdAt: z.date(),
});
const interactionView = z.object({
  id, customerId: id, channel: z.enum(channels), direction: z.enum(['inbound', 'outbound']), startedAt: z.date(), durationSeconds: z.number().int(),
  outcome: z.string(), ticketId: id.nullable(), agentId: z.string(), notes: z.string().nullable(), createdAt: z.date(),
});

export const serviceRoutes: FastifyPluginAsyncZod<{ db: Db; settings: ServiceSettings }> = async (app, { db, settings }) => {
  app.post('/v1/tickets', {
    config: { auth: 'service:write' },
    schema: {
      operationId: 'openTicket', tags,
      summary: 'Open a ticket for a customer (a customer for itself): by service type and subcategory, or triaged by the operator\'s rules; none matching is refused',
      body: z.object({
        customerId: id, serviceType: z.enum(serviceTypes).optional().describe('Absent: the triage rules decide from the subject and description'),
        subcategory: code.optional(), priority: z.enum(priorities).default('normal'), channel: z.enum(channels),
        subject: z.string().trim().min(3).max(200), description: z.string().trim().min(1).max(10_000), language: z.string().regex(/^[a-z]{2}$/).optional().describe('Absent: the customer\'s preferred language'),
        lineId: id.optional(), orderId: id.optional(), invoiceId: id.optional(),
      }).strict().refine((b) => b.serviceType || !b.subcategory, { message: 'a subcategory needs its serviceType', path: ['subcategory'] }),
      response: { 201: ticketView, ...problems(400, 403, 404, 422) },
    },
  }, async (req, reply) => reply.status(201).send(seenBy(ctxOf(req), await openTicket(db, ctxOf(req), settings, req.body))));

  app.get('/v1/tickets', {
    config: { auth: 'service:read' },
    schema: {
      operationId: 'listTickets', tags, summary: 'Tickets, newest first: a queue, an agent\'s, a customer\'s (a customer sees its own only)',
      querystring: pageQuery.extend({ customerId: id.optional(), status: z.enum(ticketStatuses).optional(), queue: z.string().max(40).optional(), assigneeId: z.string().max(100).optional() }),
      response: { 200: page(ticketView), ...problems(400) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    const tickets = await listTickets(db, ctxOf(req), { ...req.query, before });
    return toPage(tickets.map((t) => seenBy(ctxOf(req), t)), req.query.limit, (t) => [t.id]);
  });

  app.get('/v1/tickets/:id', {
    config: { auth: 'service:read' },
    schema: { operationId: 'getTicket', tags, summary: 'A ticket, with its SLA measured now', params, response: { 200: ticketWithSla, ...problems(400, 404) } },
  }, async (req) => seenBy(ctxOf(req), await getTicket(db, ctxOf(req), req.params.id)));

  app.patch('/v1/tickets/:id', {
    config: { auth: 'service:assign' },
    schema: {
      operationId: 'updateTicket', tags, summary: 'Re-categorise, re-prioritise, move to a queue or assign to an agent (a new ticket assigned is open)', params,
      body: z.object({
        serviceType: z.enum(serviceTypes), subcategory: code.nullable(), priority: z.enum(priorities), queue: z.string().trim().min(1).max(40), assigneeId: z.string().trim().min(1).max(100).nullable(),
      }).partial().strict(),
      response: { 200: ticketView, ...problems(400, 404, 409, 422) },
    },
  }, async (req) => updateTicket(db, ctxOf(req), settings, req.params.id, req.body));

  app.post('/v1/tickets/:id/transitions', {
    config: { auth: 'service:write' },
    schema: {
      operationId: 'changeTicketStatus', tags,
      summary: 'Move a ticket along new → open → pending ⇄ open → resolved → closed; a resolved one reopens within the window (a customer may only reopen its own)',
      params, body: z.object({ to: z.enum(ticketStatuses), pendingOn: z.enum(['customer', 'third_party']).optional(), reason: z.string().trim().min(1).max(500).optional() }).strict(),
      response: { 200: ticketView, ...problems(400, 404, 409) },
    },
  }, async (req) => seenBy(ctxOf(req), await changeStatus(db, ctxOf(req), settings, req.params.id, req.body)));

  app.post('/v1/tickets/:id/messages', {
    config: { auth: 'service:write' },
    schema: {
      operationId: 'addTicketMessage', tags, summary: 'A public reply or (staff) an internal note; a customer\'s reply opens a ticket waiting on it again', params,
      body: z.object({ body: z.string().trim().min(1).max(10_000), visibility: z.enum(['public', 'internal']).default('public'), channel: z.enum(channels).default('app') }).strict(),
      response: { 201: messageView, ...problems(400, 403, 404, 409) },
    },
  }, async (req, reply) => reply.status(201).send(authorSeenBy(ctxOf(req), await addMessage(db, ctxOf(req), settings, req.params.id, req.body))));

  app.get('/v1/tickets/:id/messages', {
    config: { auth: 'service:read' },
    schema: { operationId: 'listTicketMessages', tags, summary: 'The thread, oldest first (a customer sees public replies only)', params, response: { 200: z.object({ items: z.array(messageView) }), ...problems(400, 404) } },
  }, async (req) => ({ items: (await listMessages(db, ctxOf(req), req.params.id)).map((m) => authorSeenBy(ctxOf(req), m)) }));

  app.get('/v1/tickets/:id/history', {
    config: { auth: 'service:read' },
    schema: {
      operationId: 'getTicketHistory', tags, summary: 'Every status the ticket went through, who moved it and why (customers: the statuses and when)', params,
      response: { 200: z.object({ items: z.array(z.object({ id, status: z.enum(ticketStatuses), actor: staffOnly(z.string()), reason: staffOnly(z.string().nullable()), at: z.date() })) }), ...problems(400, 404) },
    },
  }, async (req) => {
    const history = await historyOf(db, ctxOf(req), req.params.id);
    return { items: isCustomer(ctxOf(req)) ? history.map(({ id: entry, status, at }) => ({ id: entry, status, at })) : history };
  });

  app.post('/v1/ticket-subcategories', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'addTicketSubcategory', tags, summary: 'Offer a subcategory under a service type',
      body: z.object({ serviceType: z.enum(serviceTypes), code, name: z.string().trim().min(1).max(100) }).strict(),
      response: { 201: z.object({ serviceType: z.enum(serviceTypes), code: z.string(), name: z.string(), createdAt: z.date() }), ...problems(400, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await addSubcategory(db, ctxOf(req), req.body)));

  app.get('/v1/ticket-subcategories', {
    config: { auth: 'service:read' },
    schema: {
      operationId: 'listTicketSubcategories', tags, summary: 'The subcategories offered, by service type', querystring: z.object({ serviceType: z.enum(serviceTypes).optional() }),
      response: { 200: z.object({ items: z.array(z.object({ serviceType: z.enum(serviceTypes), code: z.string(), name: z.string(), createdAt: z.date() })) }), ...problems(400) },
    },
  }, async (req) => ({ items: await listSubcategories(db, req.query.serviceType) }));

  const ruleView = z.object({ id, keyword: z.string(), serviceType: z.enum(serviceTypes), subcategory: z.string().nullable(), position: z.number().int(), createdBy: z.string(), createdAt: z.date() });
  app.post('/v1/ticket-triage-rules', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'addTriageRule', tags, summary: 'Triage: a ticket without a category whose subject or description holds the keyword gets this one (lowest position first)',
      body: z.object({ keyword: z.string().trim().min(2).max(100), serviceType: z.enum(serviceTypes), subcategory: code.nullable().default(null), position: z.number().int().min(0).max(100_000) }).strict(),
      response: { 201: ruleView, ...problems(400, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await addTriageRule(db, ctxOf(req), req.body)));

  app.get('/v1/ticket-triage-rules', {
    config: { auth: 'service:configure' },
    schema: { operationId: 'listTriageRules', tags, summary: 'The triage rules in the order they are tried', response: { 200: z.object({ items: z.array(ruleView) }) } },
  }, async () => ({ items: await listTriageRules(db) }));

  const escalationView = z.object({ id, ticketId: id, fromTier: z.enum(tiers), toTier: z.enum(tiers), reason: z.string(), ruleId: id.nullable(), actor: z.string(), at: z.date() });
  app.post('/v1/tickets/:id/escalations', {
    config: { auth: 'service:assign' },
    schema: {
      operationId: 'escalateTicket', tags, summary: 'Move a ticket to another tier (agent, supervisor, specialist, management), saying why', params,
      body: z.object({ tier: z.enum(tiers), reason: z.string().trim().min(3).max(500) }).strict(), response: { 200: ticketView, ...problems(400, 404, 409) },
    },
  }, async (req) => escalate(db, ctxOf(req), req.params.id, req.body, (tx) => visibleTicket(tx, ctxOf(req), req.params.id, true)));

  app.get('/v1/tickets/:id/escalations', {
    config: { auth: 'service:assign' },
    schema: {
      operationId: 'listTicketEscalations', tags, summary: 'Every escalation of the ticket and why; and the tickets it is linked to (a recurring issue)', params,
      response: { 200: z.object({ items: z.array(escalationView), links: z.array(z.object({ relatedId: id, kind: z.string() })) }), ...problems(400, 404) },
    },
  }, async (req) => {
    await visibleTicket(db, ctxOf(req), req.params.id);
    return { items: await escalationsOf(db, req.params.id), links: await linksOf(db, req.params.id) };
  });

  const ruleOut = z.object({
    id, trigger: z.enum(['sla_warning', 'sla_breached', 'segment', 'recurring']), target: z.enum(['first_response', 'next_response', 'resolution']).nullable(),
    segment: z.enum(['vip', 'enterprise']).nullable(), serviceType: z.enum(serviceTypes).nullable(), tier: z.enum(tiers), createdBy: z.string(), createdAt: z.date(),
  });
  app.post('/v1/escalation-rules', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'createEscalationRule', tags,
      summary: 'Escalate to a tier on an SLA warning or breach (of a target, or any), for a VIP or enterprise customer\'s new ticket, or for a recurring issue; optionally for one service type',
      body: z.object({
        trigger: z.enum(['sla_warning', 'sla_breached', 'segment', 'recurring']), target: z.enum(['first_response', 'next_response', 'resolution']).nullable().default(null),
        segment: z.enum(['vip', 'enterprise']).nullable().default(null), serviceType: z.enum(serviceTypes).nullable().default(null), tier: z.enum(tiers),
      }).strict()
        .refine((b) => (b.trigger === 'segment') === (b.segment !== null), { message: 'a segment rule names its segment, and only it', path: ['segment'] })
        .refine((b) => b.trigger.startsWith('sla_') || b.target === null, { message: 'only SLA rules name a target', path: ['target'] }),
      response: { 201: ruleOut, ...problems(400) },
    },
  }, async (req, reply) => reply.status(201).send(await createRule(db, ctxOf(req), req.body)));

  app.get('/v1/escalation-rules', {
    config: { auth: 'service:configure' },
    schema: { operationId: 'listEscalationRules', tags, summary: 'The escalation rules', response: { 200: z.object({ items: z.array(ruleOut) }) } },
  }, async () => ({ items: await listRules(db) }));

  app.post('/v1/business-calendars', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'createBusinessCalendar', tags, summary: 'Working hours per weekday, holidays and time zone an SLA is measured on (or 24/7)',
      body: z.object({ name: z.string().trim().min(1).max(100), calendar: calendarBody }).strict(),
      response: { 201: calendarView, ...problems(400, 422) },
    },
  }, async (req, reply) => {
    const { calendar, name } = req.body;
    const parsed = calendar.kind === '24x7' ? calendar : { ...calendar, hours: Object.fromEntries(Object.entries(calendar.hours).map(([d, r]) => [Number(d), r])) };
    return reply.status(201).send(await createCalendar(db, ctxOf(req), { name, calendar: parsed as Calendar }));
  });

  app.get('/v1/business-calendars', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'listBusinessCalendars', tags, summary: 'The business calendars', response: { 200: z.object({ items: z.array(calendarView) }) } },
  }, async () => ({ items: await listCalendars(db) }));

  app.post('/v1/sla-policies', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'createSlaPolicy', tags,
      summary: 'Targets (working minutes) for the tickets a policy fits: a service type × priority × segment, each may be left open; the most specific fitting policy applies',
      body: z.object({
        name: z.string().trim().min(1).max(100), serviceType: z.enum(serviceTypes).nullable().default(null), priority: z.enum(priorities).nullable().default(null),
        segment: z.enum(customerSegments).nullable().default(null), calendarId: id,
        firstResponseMinutes: z.number().int().min(1).max(525_600), nextResponseMinutes: z.number().int().min(1).max(525_600).nullable().default(null),
        resolutionMinutes: z.number().int().min(1).max(525_600), warnPercent: z.number().int().min(0).max(100).default(80), position: z.number().int().min(0).max(100_000).default(0),
      }).strict(),
      response: { 201: policyView, ...problems(400, 404, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await createPolicy(db, ctxOf(req), req.body)));

  app.get('/v1/sla-policies', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'listSlaPolicies', tags, summary: 'The SLA policies', response: { 200: z.object({ items: z.array(policyView) }) } },
  }, async () => ({ items: await listPolicies(db) }));

  app.post('/v1/interactions', {
    config: { auth: 'interactions:write' },
    schema: {
      operationId: 'logInteraction', tags, summary: 'Log a contact with a customer (call, chat, email, visit...), ticket or not: what handling time and first-contact resolution are computed from',
      body: z.object({
        customerId: id, channel: z.enum(channels), direction: z.enum(['inbound', 'outbound']), startedAt: instant, durationSeconds: z.number().int().min(0).max(86_400),
        outcome: z.enum(['resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned']), ticketId: id.optional(), notes: z.string().trim().max(2000).optional(),
      }).strict(),
      response: { 201: interactionView, ...problems(400, 404) },
    },
  }, async (req, reply) => reply.status(201).send(await logInteraction(db, ctxOf(req), req.body)));

  app.get('/v1/customers/:id/interactions', {
    config: { auth: 'interactions:read' },
    schema: { operationId: 'listInteractions', tags, summary: 'A customer\'s contacts, newest first', params, querystring: pageQuery, response: { 200: page(interactionView), ...problems(400, 404) } },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listInteractions(db, ctxOf(req), req.params.id, { limit: req.query.limit, before }), req.query.limit, (i) => [i.id]);
  });
};
