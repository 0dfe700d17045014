import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../platform/db/client.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { expireBalances } from './ledger.js';
import type { BillingSettings } from './recharges.js';
import { billingRoutes } from './routes.js';
import { usageRoutes } from './usage-routes.js';

/**
 * Billing (issue 5). So far: the prepaid balance ledger — credit and debit inside a caller's
 * transaction, recharges, adjustments, validity and low-balance warnings, reconciliation — and
 * usage rating in batches. Spend caps, bill runs, payments and dunning follow.
 */
export const billingModule: FastifyPluginAsync<{ db: Db; settings: BillingSettings }> = async (app, deps) => {
  await app.register(billingRoutes, deps);
  await app.register(usageRoutes, deps);
};

/** Every hour: money on balances past their validity expires. */
export const billingJobs = (db: Db): Partial<JobsSetup> => ({
  tasks: { 'billing.expire_balances': (_payload, helpers) => expireBalances(db, { error: (meta, message) => helpers.logger.error(message, meta) }) },
  cron: [{ pattern: '23 * * * *', task: 'billing.expire_balances' }],
});

export { credit, debit, type Entry, type EntryType, type Movement } from './ledger.js';
export type { BillingSettings } from './recharges.js';
