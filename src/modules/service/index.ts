import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../platform/db/client.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { serviceRoutes } from './routes.js';
import { closeResolved, type ServiceSettings } from './tickets.js';

/**
 * Customer service (issue 7). So far: tickets by service type and subcategory (or triaged by
 * rules), their lifecycle with reopen window and history, the thread of public replies and
 * internal notes, assignment to queues and agents, logged interactions; and the SLA clock as pure
 * rules (sla-rules.ts), not yet applied to tickets.
 */
export interface ServiceDeps { db: Db; settings: ServiceSettings }

export const serviceModule: FastifyPluginAsync<ServiceDeps> = async (app, deps) => {
  await app.register(serviceRoutes, deps);
};

/** Hourly: resolved tickets past the reopen window are closed. */
export const serviceJobs = (deps: ServiceDeps): Partial<JobsSetup> => ({
  tasks: { 'service.close_resolved': async () => { await closeResolved(deps.db, deps.settings); } },
  cron: [{ pattern: '47 * * * *', task: 'service.close_resolved' }],
});
