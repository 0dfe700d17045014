import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, check, customType, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { Calendar } from './sla-rules.js';

export const serviceSchema = pgSchema('service');

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const at = () => timestamp({ withTimezone: true });

export const serviceTypes = ['internet', 'mobile', 'billing', 'outage', 'installation'] as const;
export const priorities = ['low', 'normal', 'high', 'urgent'] as const;
export const channels = ['phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in'] as const;
export const ticketStatuses = ['new', 'open', 'pending', 'resolved', 'closed'] as const;
/** Who works a ticket, from the first line up. */
export const tiers = ['agent', 'supervisor', 'specialist', 'management'] as const;
export type Tier = (typeof tiers)[number];
export type ServiceType = (typeof serviceTypes)[number];
/** Ticket numbers (T-000123). */
export const ticketNumbers = serviceSchema.sequence('ticket_numbers');
export type TicketStatus = (typeof ticketStatuses)[number];

/** The subcategories an operator offers under each service type (e.g. mobile → no_signal, roaming). */
export const subcategories = serviceSchema.table('subcategories', {
  serviceType: text({ enum: serviceTypes }).notNull(),
  code: text().notNull(),
  name: text().notNull(),
  createdAt: ts(),
}, (t) => [uniqueIndex('subcategories_key').on(t.serviceType, t.code)]);

/**
 * How a ticket that arrives without a category is given one: the first rule (lowest position)
 * whose keyword is in its subject or description. No rule matches: the ticket is refused.
 */
export const triageRules = serviceSchema.table('triage_rules', {
  id: uuid().primaryKey(),
  keyword: text().notNull(),
  serviceType: text({ enum: serviceTypes }).notNull(),
  subcategory: text(),
  position: integer().notNull(),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [index('triage_rules_position_idx').on(t.position, t.id)]);

/** Working hours, holidays and time zone an SLA is measured on (or 24/7). */
export const businessCalendars = serviceSchema.table('business_calendars', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  calendar: jsonb().$type<Calendar>().notNull(),
  createdBy: text().notNull(),
  createdAt: ts(),
});

/**
 * Targets for the tickets it fits: a service type, a priority and a customer segment, each of
 * which may be left open (null: any); the most specific fitting policy applies.
 */
export const slaPolicies = serviceSchema.table('sla_policies', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  serviceType: text({ enum: serviceTypes }),
  priority: text({ enum: priorities }),
  segment: text({ enum: ['consumer', 'vip', 'enterprise'] }),
  calendarId: uuid().notNull().references(() => businessCalendars.id),
  firstResponseMinutes: integer().notNull(),
  nextResponseMinutes: integer(),
  resolutionMinutes: integer().notNull(),
  warnPercent: integer().notNull().default(80),
  position: integer().notNull().default(0),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [
  check('sla_policies_targets_check', sql`${t.firstResponseMinutes} > 0 and ${t.resolutionMinutes} > 0 and (${t.nextResponseMinutes} is null or ${t.nextResponseMinutes} > 0)
    and ${t.warnPercent} between 0 and 100`),
]);

export const tickets = serviceSchema.table('tickets', {
  id: uuid().primaryKey(),
  /** What a customer reads out on the phone: T-000123, from a sequence (gaps are harmless here). */
  number: text().notNull(),
  customerId: uuid().notNull(),
  lineId: uuid(),
  orderId: uuid(),
  invoiceId: uuid(),
  serviceType: text({ enum: serviceTypes }).notNull(),
  subcategory: text(),
  /** How it got its category: given by whoever opened it, or by a triage rule. */
  categorisedBy: text({ enum: ['caller', 'triage'] }).notNull(),
  priority: text({ enum: priorities }).notNull(),
  channel: text({ enum: channels }).notNull(),
  status: text({ enum: ticketStatuses }).notNull().default('new'),
  /** While pending: whom it waits on. */
  pendingOn: text({ enum: ['customer', 'third_party'] }),
  subject: text().notNull(),
  language: text().notNull(),
  queue: text().notNull(),
  assigneeId: text(),
  openedBy: text().notNull(),
  reopenCount: integer().notNull().default(0),
  tier: text({ enum: tiers }).notNull().default('agent'),
  /** The same customer came back with the same kind of problem (see escalation rules): linked in ticket_links. */
  recurring: boolean().notNull().default(false),
  /** The SLA policy it is measured by (chosen again when its category or priority changes); null: none fits. */
  slaPolicyId: uuid().references(() => slaPolicies.id),
  /** The outage it was opened during (a child of that incident): it waits on it, and is resolved with it. */
  incidentId: uuid().references((): AnyPgColumn => incidents.id),
  firstResponseAt: at(),
  /** The customer's last public message no staff reply has answered yet: the next response is due from it. */
  awaitingReplySince: at(),
  createdAt: ts(),
  updatedAt: ts(),
  resolvedAt: at(),
  closedAt: at(),
  /**
   * When the SLA job is to measure it again: the next warning or breach due, or null (none can
   * come as it stands). Set to now by a trigger (migration 0056) on every change of what the clock
   * is measured from: status, policy, first response, a customer message waiting, resolution.
   */
  // In milliseconds, as the job reads and compares it.
  slaCheckAt: timestamp({ withTimezone: true }).default(sql`date_trunc('milliseconds', now())`),
}, (t) => [
  uniqueIndex('tickets_number_key').on(t.number),
  index('tickets_sla_check_idx').on(t.slaCheckAt, t.id).where(sql`status in ('new', 'open', 'pending') and sla_policy_id is not null and sla_check_at is not null`),
  index('tickets_customer_idx').on(t.customerId, t.id),
  index('tickets_created_idx').on(t.createdAt),
  // The 360° view reads a customer's open tickets whatever their history.
  index('tickets_customer_open_idx').on(t.customerId, t.id).where(sql`status in ('new', 'open', 'pending')`),
  index('tickets_queue_idx').on(t.queue, t.status, t.id),
  index('tickets_assignee_idx').on(t.assigneeId, t.status).where(sql`assignee_id is not null`),
  index('tickets_resolved_idx').on(t.resolvedAt).where(sql`status = 'resolved'`),
  index('tickets_incident_idx').on(t.incidentId).where(sql`incident_id is not null`),
  check('tickets_channel_check', sql`${t.channel} in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in')`),
  check('tickets_tier_check', sql`${t.tier} in ('agent', 'supervisor', 'specialist', 'management')`),
  check('tickets_status_check', sql`${t.status} in ('new', 'open', 'pending', 'resolved', 'closed')`),
  check('tickets_service_type_check', sql`${t.serviceType} in ('internet', 'mobile', 'billing', 'outage', 'installation')`),
  check('tickets_priority_check', sql`${t.priority} in ('low', 'normal', 'high', 'urgent')`),
  check('tickets_pending_check', sql`(${t.status} = 'pending') = (${t.pendingOn} is not null)`),
  check('tickets_resolved_check', sql`${t.status} not in ('resolved', 'closed') or ${t.resolvedAt} is not null`),
]);

/** Every status a ticket went through, with who and why: the SLA clock is computed from it. */
export const ticketHistory = serviceSchema.table('ticket_history', {
  id: uuid().primaryKey(),
  ticketId: uuid().notNull().references(() => tickets.id),
  status: text({ enum: ticketStatuses }).notNull(),
  actor: text().notNull(),
  reason: text(),
  at: ts(),
}, (t) => [index('ticket_history_ticket_idx').on(t.ticketId, t.at)]);

/** The conversation: public replies the customer sees, internal notes only staff see. */
export const ticketMessages = serviceSchema.table('ticket_messages', {
  id: uuid().primaryKey(),
  ticketId: uuid().notNull().references(() => tickets.id),
  visibility: text({ enum: ['public', 'internal'] }).notNull(),
  authorKind: text({ enum: ['staff', 'customer', 'partner', 'integration', 'system'] }).notNull(),
  authorId: text().notNull(),
  channel: text({ enum: channels }).notNull(),
  body: text().notNull(),
  createdAt: ts(),
}, (t) => [
  index('ticket_messages_ticket_idx').on(t.ticketId, t.id),
  // Only staff write internal notes.
  check('ticket_messages_visibility_check', sql`${t.visibility} in ('public', 'internal') and ${t.authorKind} in ('staff', 'customer', 'partner', 'integration', 'system')`),
  check('ticket_messages_internal_check', sql`${t.visibility} = 'public' or ${t.authorKind} = 'staff'`),
]);

/** Every contact with a customer, ticket or not: the basis of handling time and first-contact resolution. */
export const interactions = serviceSchema.table('interactions', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull(),
  channel: text({ enum: channels }).notNull(),
  direction: text({ enum: ['inbound', 'outbound'] }).notNull(),
  startedAt: timestamp({ withTimezone: true }).notNull(),
  durationSeconds: integer().notNull(),
  outcome: text({ enum: ['resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned'] }).notNull(),
  ticketId: uuid().references(() => tickets.id),
  agentId: text().notNull(),
  notes: text(),
  createdAt: ts(),
}, (t) => [
  index('interactions_customer_idx').on(t.customerId, t.startedAt),
  index('interactions_agent_idx').on(t.agentId, t.startedAt),
  // KPIs read a period of contacts.
  index('interactions_started_idx').on(t.startedAt),
  check('interactions_duration_check', sql`${t.durationSeconds} >= 0`),
  check('interactions_kind_check', sql`${t.direction} in ('inbound', 'outbound') and ${t.channel} in ('phone', 'sms', 'email', 'chat', 'app', 'social', 'web', 'walk_in')
    and ${t.outcome} in ('resolved', 'ticket_opened', 'ticket_updated', 'callback_scheduled', 'transferred', 'no_answer', 'abandoned')`),
]);

/** Each SLA warning and breach of a ticket, once: the job emits the event when it inserts the row. */
export const ticketSlaEvents = serviceSchema.table('ticket_sla_events', {
  ticketId: uuid().notNull().references(() => tickets.id),
  /**
   * The policy the target was measured by: a ticket moved to another policy (a new priority) has
   * new targets, announced again. Null only for records from before it was kept.
   */
  policyId: uuid().references(() => slaPolicies.id),
  target: text({ enum: ['first_response', 'next_response', 'resolution'] }).notNull(),
  /** For next response, the customer message it was due from; the others (once a ticket): the epoch. */
  since: timestamp({ withTimezone: true }).notNull(),
  level: text({ enum: ['warning', 'breached'] }).notNull(),
  at: ts(),
}, (t) => [uniqueIndex('ticket_sla_events_key').on(t.ticketId, t.policyId, t.target, t.since, t.level)]);

/**
 * When a ticket moves up a tier: on an SLA warning or breach (of a target, or any), for a customer
 * segment (VIP, enterprise: straight to a tier when opened), or when it is recurring. The highest
 * tier any matching rule names wins; a ticket never moves down by a rule.
 */
export const escalationRules = serviceSchema.table('escalation_rules', {
  id: uuid().primaryKey(),
  trigger: text({ enum: ['sla_warning', 'sla_breached', 'segment', 'recurring'] }).notNull(),
  /** For SLA triggers: which target (null: any). */
  target: text({ enum: ['first_response', 'next_response', 'resolution'] }),
  /** For the segment trigger. */
  segment: text({ enum: ['vip', 'enterprise'] }),
  serviceType: text({ enum: serviceTypes }),
  tier: text({ enum: tiers }).notNull(),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [check('escalation_rules_segment_check', sql`(${t.trigger} = 'segment') = (${t.segment} is not null)`)]);

/** Every escalation, with why (a rule and what set it off, or a person's reason). */
export const ticketEscalations = serviceSchema.table('ticket_escalations', {
  id: uuid().primaryKey(),
  ticketId: uuid().notNull().references(() => tickets.id),
  fromTier: text({ enum: tiers }).notNull(),
  toTier: text({ enum: tiers }).notNull(),
  reason: text().notNull(),
  ruleId: uuid(),
  actor: text().notNull(),
  at: ts(),
}, (t) => [index('ticket_escalations_ticket_idx').on(t.ticketId, t.at)]);

/** Tickets that belong together: a recurring issue and the ones before it. */
export const ticketLinks = serviceSchema.table('ticket_links', {
  ticketId: uuid().notNull().references(() => tickets.id),
  relatedId: uuid().notNull().references(() => tickets.id),
  kind: text({ enum: ['recurring'] }).notNull(),
  createdAt: ts(),
}, (t) => [primaryKey({ columns: [t.ticketId, t.relatedId, t.kind] })]);

export const incidentStatuses = ['scheduled', 'open', 'resolved'] as const;
type Areas = { cells: string[]; postcodes: string[]; regions: string[] };
/** What monitoring says about an incident. */
export interface AlertSays { title: string; severity: 'minor' | 'major' | 'critical'; services: ServiceType[]; areas: Areas; statusText: Record<string, string> }

/**
 * An outage or planned maintenance: the services and areas it affects (cell ids, postcodes,
 * regions), when, and what customers are told, per language. One reported by monitoring carries
 * the alert's fingerprint: the same alert firing again updates it, resolved closes it.
 */
export const incidents = serviceSchema.table('incidents', {
  id: uuid().primaryKey(),
  title: text().notNull(),
  severity: text({ enum: ['minor', 'major', 'critical'] }).notNull(),
  status: text({ enum: incidentStatuses }).notNull(),
  services: jsonb().$type<ServiceType[]>().notNull(),
  areas: jsonb().$type<Areas>().notNull(),
  /** What customers read, by language: { "en": "...", "de": "..." }. */
  statusText: jsonb().$type<Record<string, string>>().notNull(),
  startsAt: timestamp({ withTimezone: true }).notNull(),
  estimatedEndAt: at(),
  endedAt: at(),
  source: text({ enum: ['staff', 'alertmanager', 'monitoring'] }).notNull(),
  fingerprint: text(),
  /** What the alert said last: a repeated notification changes only what the alert itself changed, so staff's edits stand. */
  alert: jsonb().$type<AlertSays>(),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  uniqueIndex('incidents_fingerprint_key').on(t.fingerprint).where(sql`fingerprint is not null`),
  index('incidents_status_idx').on(t.status, t.startsAt),
  check('incidents_status_check', sql`${t.status} in ('scheduled', 'open', 'resolved') and (${t.status} = 'resolved') = (${t.endedAt} is not null)`),
]);

/** The languages articles are written in, with the Postgres text-search dictionary of each. */
export const articleLanguages = { en: 'english', de: 'german', fr: 'french', es: 'spanish', it: 'italian', nl: 'dutch', pt: 'portuguese' } as const;
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * Knowledge base: an article in one language (a translation is another article with the same
 * slug), draft or published, internal (agents) or public (anyone, without login). Its search
 * vector is built by Postgres with the language's own dictionary (stemming, stop words).
 */
export const articles = serviceSchema.table('articles', {
  id: uuid().primaryKey(),
  slug: text().notNull(),
  language: text({ enum: ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt'] }).notNull(),
  title: text().notNull(),
  body: text().notNull(),
  topic: text().notNull(),
  visibility: text({ enum: ['public', 'internal'] }).notNull(),
  status: text({ enum: ['draft', 'published'] }).notNull().default('draft'),
  // Constants of type regconfig (a cast of a text column would not be immutable, as a generated column must be).
  search: tsvector().generatedAlwaysAs(sql`to_tsvector(case language when 'de' then 'german'::regconfig when 'fr' then 'french'::regconfig
    when 'es' then 'spanish'::regconfig when 'it' then 'italian'::regconfig when 'nl' then 'dutch'::regconfig when 'pt' then 'portuguese'::regconfig
    else 'english'::regconfig end, title || ' ' || body)`),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
  publishedAt: at(),
}, (t) => [
  uniqueIndex('articles_slug_language_key').on(t.slug, t.language),
  index('articles_search_idx').using('gin', t.search),
  check('articles_language_check', sql`${t.language} in ('en', 'de', 'fr', 'es', 'it', 'nl', 'pt')`),
]);

/** The customers an open or planned incident touches (an address in its postcodes or regions), as last computed from its areas. */
export const incidentCustomers = serviceSchema.table('incident_customers', {
  incidentId: uuid().notNull().references(() => incidents.id),
  customerId: uuid().notNull(),
  addedAt: ts(),
}, (t) => [primaryKey({ columns: [t.incidentId, t.customerId] }), index('incident_customers_customer_idx').on(t.customerId)]);

/**
 * A satisfaction survey sent when a ticket is resolved (one per resolution): answered once with
 * its one-time token (kept only as a hash) before it expires. The agent is whoever had the ticket.
 */
export const csatSurveys = serviceSchema.table('csat_surveys', {
  id: uuid().primaryKey(),
  ticketId: uuid().notNull().references(() => tickets.id),
  /** Which resolution of the ticket it asks about (its reopen count then). */
  resolution: integer().notNull(),
  tokenHash: text().notNull(),
  agentId: text(),
  expiresAt: timestamp({ withTimezone: true }).notNull(),
  score: integer(),
  comment: text(),
  answeredAt: at(),
  createdAt: ts(),
}, (t) => [
  uniqueIndex('csat_surveys_token_key').on(t.tokenHash),
  uniqueIndex('csat_surveys_resolution_key').on(t.ticketId, t.resolution),
  index('csat_surveys_answered_idx').on(t.answeredAt).where(sql`answered_at is not null`),
  check('csat_surveys_score_check', sql`(${t.score} is null) = (${t.answeredAt} is null) and (${t.score} is null or ${t.score} between 1 and 5)`),
]);

/** Work for a supervisor that no customer asked for: calling back a customer who answered a survey badly. */
export const followUpTasks = serviceSchema.table('follow_up_tasks', {
  id: uuid().primaryKey(),
  ticketId: uuid().notNull().references(() => tickets.id),
  surveyId: uuid().references(() => csatSurveys.id),
  kind: text({ enum: ['negative_csat'] }).notNull(),
  status: text({ enum: ['open', 'done'] }).notNull().default('open'),
  assigneeId: text(),
  outcome: text(),
  createdAt: ts(),
  doneAt: at(),
  doneBy: text(),
}, (t) => [
  uniqueIndex('follow_up_tasks_survey_key').on(t.surveyId),
  index('follow_up_tasks_open_idx').on(t.status, t.createdAt),
  check('follow_up_tasks_status_check', sql`${t.status} in ('open', 'done') and (${t.status} = 'done') = (${t.doneAt} is not null)`),
]);

/**
 * Which queue a new ticket lands in: the first rule (lowest position) whose service type, language
 * and segment all fit (each null: any). No rule fits: the queue named after its service type.
 */
export const queueRules = serviceSchema.table('queue_rules', {
  id: uuid().primaryKey(),
  serviceType: text({ enum: serviceTypes }),
  language: text(),
  segment: text({ enum: ['consumer', 'vip', 'enterprise'] }),
  queue: text().notNull(),
  position: integer().notNull(),
  createdBy: text().notNull(),
  createdAt: ts(),
}, (t) => [index('queue_rules_position_idx').on(t.position, t.id)]);

/** The people tickets are assigned to: staff principals with the queues, languages and tier they work. */
export const agents = serviceSchema.table('agents', {
  id: text().primaryKey(),
  name: text().notNull(),
  tier: text({ enum: tiers }).notNull().default('agent'),
  queues: jsonb().$type<string[]>().notNull().default([]),
  languages: jsonb().$type<string[]>().notNull().default([]),
  active: boolean().notNull().default(true),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [check('agents_tier_check', sql`${t.tier} in ('agent', 'supervisor', 'specialist', 'management')`)]);
