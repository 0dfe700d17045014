/**
 * The customer 360° view: what a CSR needs on one screen, composed of the parts the modules
 * contribute (see CustomerViewPart in the customers module). The root — the customer record — is
 * read first: it answers 404 for an unknown customer and tells the parts the account ids they key
 * on. Then every part's expression goes into one statement (one round trip, one snapshot); a part
 * that fails fills its slot with `{ "error": code }` (and is logged) while the others still show.
 * Flags come from the parts: each module decides what in its data deserves a CSR's attention.
 */
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { AppError } from '../../platform/http/errors.js';
import { type CustomerViewPart, type CustomerViewRoot, dateOrNull, type ViewFlag, type ViewSubject, viewPart } from '../customers/index.js';
import { measureSla } from './sla.js';
import { slaMeasured } from './sla-schemas.js';
import type { Calendar, SlaState } from './sla-rules.js';
import { channels, incidentCustomers, incidents, interactions, priorities, serviceTypes, slaPolicies, businessCalendars, ticketHistory, tickets, ticketStatuses, tiers } from './tables.js';
import type { RecurringSettings } from './escalations.js';

const VIEW_OPEN_TICKETS = 20;
const VIEW_RECENT = 5;
const VIEW_INCIDENTS = 10;

const id = z.uuid();
const ticketSummary = z.object({
  id, number: z.string(), subject: z.string(), serviceType: z.enum(serviceTypes), subcategory: z.string().nullable(), priority: z.enum(priorities),
  status: z.enum(ticketStatuses), pendingOn: z.enum(['customer', 'third_party']).nullable(), channel: z.enum(channels), queue: z.string(), assigneeId: z.string().nullable(),
  tier: z.enum(tiers), recurring: z.boolean(), lineId: id.nullable(), incidentId: id.nullable(),
  createdAt: z.date(), updatedAt: z.date(), resolvedAt: z.date().nullable(), closedAt: z.date().nullable(),
  sla: slaMeasured.extend({ state: z.enum(['ok', 'warning', 'breached']).describe('The worst of its targets') }).nullable().describe('Measured now, as on GET /v1/tickets/{id}; null when no policy fits the ticket'),
});
const servicePart = z.object({
  openTickets: z.array(ticketSummary).describe(`Tickets new, open or pending, newest first (at most ${VIEW_OPEN_TICKETS})`),
  moreOpenTickets: z.boolean().describe('More are open than shown (GET /v1/tickets?customerId=...)'),
  recentTickets: z.array(ticketSummary).describe(`The ${VIEW_RECENT} most recent resolved or closed tickets`),
  interactions: z.array(z.object({
    id, channel: z.enum(channels), direction: z.enum(['inbound', 'outbound']), startedAt: z.date(), durationSeconds: z.number().int(),
    outcome: z.string(), ticketId: id.nullable(), agentId: z.string(), notes: z.string().nullable(),
  })).describe(`The ${VIEW_RECENT} most recent contacts`),
  incidents: z.array(z.object({
    id, title: z.string(), severity: z.enum(['minor', 'major', 'critical']), status: z.enum(['open', 'scheduled']), services: z.array(z.enum(serviceTypes)),
    startsAt: z.date(), estimatedEndAt: z.date().nullable(), statusText: z.record(z.string(), z.string()),
  })).describe('Open or planned incidents that affect the customer'),
  recurringIssue: z.boolean().describe('A ticket of the customer was flagged recurring within the recurring window'),
});
type ServicePart = z.infer<typeof servicePart>;

type TicketJson = {
  id: string; number: string; subject: string; serviceType: ServicePart['openTickets'][number]['serviceType']; subcategory: string | null; priority: ServicePart['openTickets'][number]['priority'];
  status: ServicePart['openTickets'][number]['status']; pendingOn: 'customer' | 'third_party' | null; channel: ServicePart['openTickets'][number]['channel']; queue: string; assigneeId: string | null;
  tier: ServicePart['openTickets'][number]['tier']; recurring: boolean; lineId: string | null; incidentId: string | null; slaPolicyId: string | null; open: boolean;
  firstResponseAt: string | null; awaitingReplySince: string | null; createdAt: string; updatedAt: string; resolvedAt: string | null; closedAt: string | null;
  history: { status: string; at: string }[] | null;
};
type PolicyJson = { id: string; name: string; firstResponseMinutes: number; nextResponseMinutes: number | null; resolutionMinutes: number; warnPercent: number; calendar: Calendar };
type Row = {
  tickets: TicketJson[]; policies: Record<string, PolicyJson>; recurring: boolean;
  interactions: (Omit<ServicePart['interactions'][number], 'startedAt'> & { startedAt: string })[];
  incidents: (Omit<ServicePart['incidents'][number], 'startsAt' | 'estimatedEndAt'> & { startsAt: string; estimatedEndAt: string | null })[];
};

const rank: Record<SlaState, number> = { ok: 0, warning: 1, breached: 2 };
/** The smallest UUID v7 of a moment: ids are time-ordered, so "since then" is a range of the (customer_id, id) index. */
const firstIdAt = (ms: number) => {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8)}-7000-8000-000000000000`;
};

function summary(t: TicketJson, policies: Record<string, PolicyJson>, now: Date): ServicePart['openTickets'][number] {
  const { slaPolicyId, open: _open, history, firstResponseAt, awaitingReplySince, ...rest } = t;
  const dates = { firstResponseAt: dateOrNull(firstResponseAt), awaitingReplySince: dateOrNull(awaitingReplySince), resolvedAt: dateOrNull(t.resolvedAt) };
  const policy = slaPolicyId ? policies[slaPolicyId] : undefined;
  const measured = policy && measureSla(policy, policy.calendar, dates, (history ?? []).map((h) => ({ status: h.status, at: new Date(h.at) })), now);
  const state = measured
    ? [measured.first_response, measured.next_response, measured.resolution].reduce<SlaState>((w, m) => (m && rank[m.state] > rank[w] ? m.state : w), 'ok')
    : null;
  return {
    ...rest, createdAt: new Date(t.createdAt), updatedAt: new Date(t.updatedAt), resolvedAt: dates.resolvedAt, closedAt: dateOrNull(t.closedAt),
    sla: measured ? { ...measured, state: state! } : null,
  };
}

/**
 * Service's own part: open tickets and the last few others with their SLA measured now (their
 * histories and policies read with them: no query per ticket), the last contacts, the open
 * incidents that affect the customer (incident_customers, kept by outage matching) and whether an
 * issue of theirs is recurring — on the customer indexes of each table.
 */
export const serviceViewPart = (recurring: RecurringSettings) => viewPart({
  name: 'service',
  schema: servicePart,
  query(customer) {
    const ticketColumns = sql`id, number, subject, service_type as "serviceType", subcategory, priority, status, pending_on as "pendingOn", channel, queue,
      assignee_id as "assigneeId", tier, recurring, line_id as "lineId", incident_id as "incidentId", sla_policy_id as "slaPolicyId",
      first_response_at as "firstResponseAt", awaiting_reply_since as "awaitingReplySince", created_at as "createdAt", updated_at as "updatedAt",
      resolved_at as "resolvedAt", closed_at as "closedAt"`;
    const since = Date.now() - recurring.windowDays * 86_400_000;
    return sql`
      with t as (
        (select ${ticketColumns}, true as open from ${tickets} where customer_id = ${customer.id} and status in ('new', 'open', 'pending') order by id desc limit ${VIEW_OPEN_TICKETS + 1})
        union all
        (select ${ticketColumns}, false from ${tickets} where customer_id = ${customer.id} and status in ('resolved', 'closed') order by id desc limit ${VIEW_RECENT}))
      select json_build_object(
        'tickets', coalesce((select json_agg(th order by th.id desc) from (
          select t.*, (select json_agg(json_build_object('status', h.status, 'at', h.at) order by h.at, h.id) from ${ticketHistory} h where h.ticket_id = t.id) as history from t) th), '[]'),
        'policies', coalesce((select json_object_agg(p.id, json_build_object('id', p.id, 'name', p.name, 'firstResponseMinutes', p.first_response_minutes,
            'nextResponseMinutes', p.next_response_minutes, 'resolutionMinutes', p.resolution_minutes, 'warnPercent', p.warn_percent, 'calendar', c.calendar))
          from ${slaPolicies} p join ${businessCalendars} c on c.id = p.calendar_id where p.id in (select "slaPolicyId" from t)), '{}'),
        'interactions', coalesce((select json_agg(i order by i."startedAt" desc, i.id desc) from (
          select id, channel, direction, started_at as "startedAt", duration_seconds as "durationSeconds", outcome, ticket_id as "ticketId", agent_id as "agentId", notes
          from ${interactions} where customer_id = ${customer.id} order by started_at desc limit ${VIEW_RECENT}) i), '[]'),
        'incidents', coalesce((select json_agg(x order by x."startsAt", x.id) from (
          select i.id, i.title, i.severity, i.status, i.services, i.starts_at as "startsAt", i.estimated_end_at as "estimatedEndAt", i.status_text as "statusText"
          from ${incidentCustomers} ic join ${incidents} i on i.id = ic.incident_id
          where ic.customer_id = ${customer.id} and i.status in ('open', 'scheduled') order by i.starts_at, i.id limit ${VIEW_INCIDENTS}) x), '[]'),
        'recurring', exists(select 1 from ${tickets} where customer_id = ${customer.id} and id >= ${firstIdAt(since)}::uuid and recurring
          and created_at > now() - make_interval(days => ${recurring.windowDays})))`;
  },
  read(raw) {
    const r = raw as Row;
    const now = new Date();
    const open = r.tickets.filter((t) => t.open);
    return {
      openTickets: open.slice(0, VIEW_OPEN_TICKETS).map((t) => summary(t, r.policies, now)),
      moreOpenTickets: open.length > VIEW_OPEN_TICKETS,
      recentTickets: r.tickets.filter((t) => !t.open).map((t) => summary(t, r.policies, now)),
      interactions: r.interactions.map((i) => ({ ...i, startedAt: new Date(i.startedAt) })),
      incidents: r.incidents.map((i) => ({ ...i, startsAt: new Date(i.startsAt), estimatedEndAt: dateOrNull(i.estimatedEndAt) })),
      recurringIssue: r.recurring,
    };
  },
  flags(data: ServicePart) {
    const flags: ViewFlag[] = [];
    if (data.recurringIssue) flags.push({ code: 'recurring_issue', detail: `A recurring issue within ${recurring.windowDays} days` });
    const breached = data.openTickets.filter((t) => t.sla?.state === 'breached').length;
    if (breached) flags.push({ code: 'sla_breached', detail: `${breached} open ticket(s) past an SLA target` });
    if (data.incidents.length) flags.push({ code: 'affected_by_incident', detail: data.incidents.map((i) => i.title).join('; ').slice(0, 200) });
    return flags;
  },
});

const flagView = z.object({ code: z.string(), source: z.string().describe('The part that raised it'), detail: z.string().optional() });
const failedSlot = z.object({ error: z.string().describe('This part could not be read (the rest of the view could); its code') });

export interface CustomerView360 {
  /** The response schema: the customer, each part's slot (its data or the error), the flags. */
  schema: z.ZodType;
  load(ctx: Ctx, id: string, log: { error(obj: object, msg: string): void }): Promise<Record<string, unknown>>;
}

const codeOf = (err: unknown) => (err instanceof AppError ? err.code : 'unavailable');

/**
 * Puts the view together from its root and parts (names unique, not "customer" or "flags"). The
 * root is read first (404, and the account ids the parts key on); then every part's expression in
 * one statement. Should that fail, each part is read on its own, side by side, so that only the
 * part at fault shows an error (a part whose `read` throws shows one too).
 */
export function composeCustomerView(db: Db, root: CustomerViewRoot, parts: CustomerViewPart[]): CustomerView360 {
  const names = parts.map((p) => p.name);
  const clash = names.find((n, i) => n === 'customer' || n === 'flags' || names.indexOf(n) !== i);
  if (clash) throw new Error(`customer view: the part name "${clash}" is taken`);
  const schema = z.object({
    customer: root.schema,
    ...Object.fromEntries(parts.map((p) => [p.name, z.union([p.schema, failedSlot])])),
    flags: z.array(flagView).describe('What the CSR must notice: vip, overdue_invoices, recurring_issue, sla_breached, affected_by_incident, fraud_alert ...'),
  });
  const column = (q: SQL | null, i: number) => sql`${q ? sql`(${q})` : sql`null::json`} as ${sql.raw(`p${i}`)}`;

  async function readParts(ctx: Ctx, subject: ViewSubject, log: { error(obj: object, msg: string): void }): Promise<PromiseSettledResult<unknown>[]> {
    // A part that cannot even say what to read is failed alone; its column reads null.
    const built = parts.map((p): PromiseSettledResult<SQL | null> => {
      try {
        return { status: 'fulfilled', value: p.query(subject, ctx) };
      } catch (reason) {
        return { status: 'rejected', reason };
      }
    });
    const queries = built.map((b) => (b.status === 'fulfilled' ? b.value : null));
    const settle = (values: PromiseSettledResult<unknown>[]) => values.map((v, i) => (built[i]!.status === 'rejected' ? built[i]! : v));
    try {
      const [row] = await db.execute<Record<string, unknown>>(sql`select ${sql.join(queries.map(column), sql`, `)}`);
      return settle(queries.map((_, i) => ({ status: 'fulfilled', value: row![`p${i}`] ?? null })));
    } catch (err) {
      log.error({ err, customerId: subject.id }, 'customer view: the parts\' statement failed; reading each on its own');
      return settle(await Promise.allSettled(queries.map(async (q, i) => (await db.execute<Record<string, unknown>>(sql`select ${column(q, i)}`))[0]![`p${i}`] ?? null)));
    }
  }

  return {
    schema,
    async load(ctx, id, log) {
      const { customer, subject } = await root.load(ctx, id);
      const flags = root.flags(customer).map((f) => ({ ...f, source: 'customers' }));
      const view: Record<string, unknown> = { customer };
      const raw = await readParts(ctx, subject, log);
      parts.forEach((part, i) => {
        try {
          const got = raw[i]!;
          if (got.status === 'rejected') throw got.reason;
          const data = part.read(got.value, subject);
          view[part.name] = data;
          for (const f of part.flags?.(data) ?? []) flags.push({ ...f, source: part.name });
        } catch (err) {
          log.error({ err, part: part.name, customerId: id }, 'customer view: a part failed');
          view[part.name] = { error: codeOf(err) };
        }
      });
      view.flags = flags;
      return view;
    },
  };
}
