import type { FastifyPluginAsync } from 'fastify';
import type { Db, Tx } from '../../platform/db/client.js';
import { type InboundContact, inboundContact } from './inbound-contact.js';
import type { Subscriber } from '../../platform/events/events.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { onSlaEvent } from './escalations.js';
import { eraseCustomerService } from './interactions.js';
import { articleRoutes } from './article-routes.js';
import { csatRoutes } from './csat-routes.js';
import { incidentRoutes } from './incident-routes.js';
import { kpiRoutes } from './kpi-routes.js';
import { startScheduled } from './incidents.js';
import { serviceRoutes } from './routes.js';
import { teamRoutes } from './team-routes.js';
import { detectBreaches } from './sla.js';
import { closeResolved, resolveWithIncident, type ServiceSettings } from './tickets.js';
import { customerViewRoutes, type CustomerViewWiring } from './view-routes.js';

/**
 * Customer service (issue 7). So far: tickets by service type and subcategory (or triaged by
 * rules), their lifecycle with reopen window and history, the thread of public replies and
 * internal notes, assignment to queues and agents, logged interactions; SLA policies on business
 * calendars measured on each ticket's history (sla-rules.ts, ticket-sla.ts) with warnings and breaches
 * announced once by a job; the customer 360° view (GET /v1/customers/{id}/360), composed of the parts
 * every module contributes (customer-view.ts).
 */
export interface ServiceDeps { db: Db; settings: ServiceSettings; customerView: CustomerViewWiring }

export const serviceModule: FastifyPluginAsync<ServiceDeps> = async (app, deps) => {
  await app.register(serviceRoutes, deps);
  await app.register(incidentRoutes, deps);
  await app.register(articleRoutes, deps);
  await app.register(csatRoutes, deps);
  await app.register(teamRoutes, deps);
  await app.register(kpiRoutes, deps);
  await app.register(customerViewRoutes, deps);
};

/**
 * SLA warnings and breaches meet the escalation rules; an erased customer's words leave the
 * tickets; a resolved incident resolves the tickets that waited on it.
 */
export const serviceSubscribers = (deps: ServiceDeps): Subscriber[] => [{
  name: 'service.escalate_on_sla',
  types: ['ticket.sla_warning', 'ticket.sla_breached'],
  handle: (tx, event) => onSlaEvent(tx, event.payload as { ticketId: string; target: string }, event.type === 'ticket.sla_breached' ? 'sla_breached' : 'sla_warning'),
}, {
  name: 'service.erase_customer',
  types: ['customer.erased'],
  handle: (tx, event) => eraseCustomerService(tx, (event.payload as { customerId: string }).customerId),
}, {
  name: 'service.resolve_incident_tickets',
  types: ['outage.resolved'],
  handle: async (tx, event) => { await resolveWithIncident(tx, deps.settings, event.payload as { incidentId: string; title: string }); },
}];

/** What a customer wrote to us by SMS or mail, for messaging to hand over: it lands on their ticket (see inboundContact). */
export const serviceInbound = (deps: ServiceDeps) => (tx: Tx, c: InboundContact) => inboundContact(tx, deps.settings, c);

/** Every minute: SLA warnings and breaches detected, planned maintenance opened when it starts; hourly: resolved tickets past the reopen window closed. */
export const serviceJobs = (deps: ServiceDeps): Partial<JobsSetup> => ({
  tasks: {
    'service.close_resolved': async () => { await closeResolved(deps.db, deps.settings); },
    'service.detect_sla_breaches': async () => { await detectBreaches(deps.db); },
    'service.start_scheduled_incidents': async () => { await startScheduled(deps.db); },
  },
  cron: [
    { pattern: '47 * * * *', task: 'service.close_resolved' }, { pattern: '* * * * *', task: 'service.detect_sla_breaches' },
    { pattern: '* * * * *', task: 'service.start_scheduled_incidents' },
  ],
});

