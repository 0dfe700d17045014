import type { FastifyPluginAsync } from 'fastify';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import { systemCtx } from '../../platform/context.js';
import type { Subscriber } from '../../platform/events/events.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { addOnRoutes } from './addon-routes.js';
import { catalogRoutes } from './catalog-routes.js';
import { deviceRoutes } from './device-routes.js';
import { dispatchFulfilment, fulfilOrder, reconcileOrders, renewCycles } from './fulfilment.js';
import { inventoryRoutes } from './inventory-routes.js';
import { findBillingAccount } from '../customers/index.js';
import { expireAddOns, followBillCycle } from './lines.js';
import { orderRoutes } from './order-routes.js';
import { recycleResources } from './inventory.js';
import type { OrderPricer } from './pricing.js';

/**
 * Orders and price plans: the catalog (price plans, add-ons, devices, all versioned or stocked),
 * the number, SIM and device inventory, orders and their fulfilment, lines with their allowance
 * buckets, and the proration rules that turn changes into charge lines for billing.
 */
export const ordersModule: FastifyPluginAsync<{ db: Db; crypto: FieldCrypto; pricer?: OrderPricer }> = async (app, deps) => {
  await app.register(catalogRoutes, deps);
  await app.register(addOnRoutes, deps);
  await app.register(deviceRoutes, deps);
  await app.register(inventoryRoutes, deps);
  await app.register(orderRoutes, deps);
};

/**
 * Order fulfilment, and every minute: lapsed reservations and ended quarantines back to the pools,
 * one-off packs past their validity expired, lines past their cycle end renewed, and orders that
 * lost their fulfilment job failed.
 */
export const ordersJobs = (db: Db): Partial<JobsSetup> => ({
  tasks: {
    'orders.fulfil': (payload, helpers) => fulfilOrder(db, (payload as { orderId: string }).orderId, helpers),
    'orders.recycle_resources': () => recycleResources(db),
    'orders.expire_add_ons': () => expireAddOns(db),
    'orders.renew_cycles': (_payload, helpers) => renewCycles(db, { error: (meta, message) => helpers.logger.error(message, meta) }),
    'orders.reconcile_orders': () => reconcileOrders(db),
  },
  cron: ['orders.recycle_resources', 'orders.expire_add_ons', 'orders.renew_cycles', 'orders.reconcile_orders'].map((task) => ({ pattern: '* * * * *', task })),
});

/** Accepted orders reach the worker through the outbox; lines follow their account's new bill-cycle day. */
export const ordersSubscribers: Subscriber[] = [{
  name: 'orders.dispatch_fulfilment',
  types: ['order.acknowledged'],
  handle: (tx, event) => {
    const { orderId, scheduledFor } = event.payload as { orderId: string; scheduledFor: string | null };
    return dispatchFulfilment(tx, orderId, scheduledFor ? new Date(scheduledFor) : null);
  },
}, {
  name: 'orders.follow_bill_cycle',
  types: ['billing_account.bill_cycle_changed'],
  handle: async (tx, event) => {
    // The account's day now, not the event's: two changes delivered out of order must end on the later one.
    const { billingAccountId } = event.payload as { billingAccountId: string };
    const account = await findBillingAccount(tx, systemCtx('orders.follow_bill_cycle'), billingAccountId);
    if (account?.billCycleDay) await followBillCycle(tx, billingAccountId, account.billCycleDay);
  },
}];

export { reserve, release, type ResourceKind } from './inventory.js';
export { getOrder } from './orders.js';
export { customersOnPricePlans, onPricePlans, unknownPricePlans } from './audience.js';
export { ordersViewPart } from './customer-view.js';
export { grantAddOn } from './grants.js';
export { sellableAddOn } from './addons.js';
export { channelOf, type OrderPricer, type PriceableItem, type PriceRequest as OrderPriceRequest } from './pricing.js';

export { billingCycle, nextShares, nextStep, prorateAllowances, prorateChange, type Cycle, type Money, type PricedItem, type ProrationLine } from './rules.js';
export {
  accountHasLines, barAccountLines, barLines, customerHasLines, firstActiveLine, liftRestriction, linesForUsage, lockBuckets, recordConsumption, renewLinesDue, throttleLines, visibleLine,
  type LineBucket, type RatableLine, type Restriction,
} from './usage-service.js';
export { addLineCharge, markChargesBilled, nextPrepaidCharge, unbilledCharges, type ChargeLine } from './charges-service.js';
