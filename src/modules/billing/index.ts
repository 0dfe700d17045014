import type { FastifyPluginAsync } from 'fastify';
import type { Db, Tx } from '../../platform/db/client.js';
import type { DomainEvent, Subscriber } from '../../platform/events/events.js';
import { liftRestriction } from '../orders/index.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { billRun, type BillRunSettings, finalInvoice } from './bill-run.js';
import { invoiceRoutes } from './invoice-routes.js';
import { expireBalances } from './ledger.js';
import { dunningRun, type DunningSettings } from './payments.js';
import { collectPrepaidCharges } from './prepaid-charges.js';
import type { BillingSettings } from './recharges.js';
import { billingRoutes } from './routes.js';
import { forgetUsageIds } from './usage.js';
import { usageRoutes } from './usage-routes.js';

/**
 * Billing (issue 5). So far: the prepaid balance ledger — credit and debit inside a caller's
 * transaction, recharges, adjustments, validity and low-balance warnings, reconciliation — and
 * usage rating in batches with caps, the postpaid bill run, invoices, payments and dunning.
 */
export interface BillingDeps { db: Db; settings: BillingSettings; billRun: BillRunSettings; dunning: DunningSettings }

export const billingModule: FastifyPluginAsync<BillingDeps> = async (app, deps) => {
  await app.register(billingRoutes, deps);
  await app.register(usageRoutes, deps);
  await app.register(invoiceRoutes, deps);
};

/** Every hour: money on balances past their validity expires, the bill run, dunning; every minute: prepaid fees collected; daily: old usage record ids forgotten. */
export const billingJobs = (deps: BillingDeps): Partial<JobsSetup> => ({
  tasks: {
    'billing.expire_balances': (_payload, helpers) => expireBalances(deps.db, { error: (meta, message) => helpers.logger.error(message, meta) }),
    'billing.bill_run': async (_payload, helpers) => { await billRun(deps.db, deps.billRun, { error: (meta, message) => helpers.logger.error(message, meta) }); },
    'billing.dunning': async () => { await dunningRun(deps.db, deps.dunning); },
    'billing.collect_prepaid_charges': (_payload, helpers) => collectPrepaidCharges(deps.db, { error: (meta, message) => helpers.logger.error(message, meta) }),
    'billing.forget_usage_ids': async () => { await forgetUsageIds(deps.db); },
  },
  cron: [
    { pattern: '23 * * * *', task: 'billing.expire_balances' },
    { pattern: '5 * * * *', task: 'billing.bill_run' },
    { pattern: '35 * * * *', task: 'billing.dunning' },
    { pattern: '* * * * *', task: 'billing.collect_prepaid_charges' },
    { pattern: '17 3 * * *', task: 'billing.forget_usage_ids' },
  ],
});

/** One statement for a delivery's credits: most lift nothing. */
async function liftBalanceBars(tx: Tx, events: DomainEvent[]) {
  const accounts = events.flatMap((e) => {
    const { billingAccountId, balance } = e.payload as { billingAccountId: string; balance: { amount: number } };
    return balance.amount > 0 ? [billingAccountId] : [];
  });
  if (accounts.length) await liftRestriction(tx, { billingAccountIds: [...new Set(accounts)] }, 'balance');
}

/**
 * Lines barred because the balance ran out run again once money brings it above zero. After the
 * fact, from the outbox: the credit locks the balance and rating locks lines first, so doing it in
 * the same transaction would take the two in opposite orders.
 */
export const billingSubscribers = (deps: BillingDeps): Subscriber[] => [{
  name: 'billing.lift_balance_bars',
  types: ['balance.credited'],
  handleMany: liftBalanceBars,
}, {
  // A postpaid account that closes is invoiced at once for what it has run up: nothing waits for a bill run that will not come.
  name: 'billing.final_invoice',
  types: ['billing_account.closed'],
  handle: async (tx, event) => {
    const { billingAccountId, type } = event.payload as { billingAccountId: string; type: string };
    if (type === 'postpaid') await finalInvoice(tx, deps.billRun, billingAccountId);
  },
}];

export { credit, creditsFrom, creditRefusal, debit, type Entry, type EntryType, type Movement, setBalanceClosed } from './ledger.js';
export type { BillingSettings } from './recharges.js';
export { visibleInvoice } from './payments.js';
export { billingViewPart } from './customer-view.js';
