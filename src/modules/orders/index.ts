import type { FastifyPluginAsync } from 'fastify';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db } from '../../platform/db/client.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { addOnRoutes } from './addon-routes.js';
import { catalogRoutes } from './catalog-routes.js';
import { deviceRoutes } from './device-routes.js';
import { inventoryRoutes } from './inventory-routes.js';
import { recycleResources } from './inventory.js';

/**
 * Orders and price plans (issue 4). So far: the price-plan catalog with versions, the MSISDN and
 * SIM inventory with safe reservation, and the billing-cycle and proration rules; add-ons, orders
 * and subscriptions follow.
 */
export const ordersModule: FastifyPluginAsync<{ db: Db; crypto: FieldCrypto }> = async (app, deps) => {
  await app.register(catalogRoutes, deps);
  await app.register(addOnRoutes, deps);
  await app.register(deviceRoutes, deps);
  await app.register(inventoryRoutes, deps);
};

/** Lapsed reservations and ended quarantines return to the pools every minute. */
export const ordersJobs = (db: Db): Partial<JobsSetup> => ({
  tasks: { 'orders.recycle_resources': () => recycleResources(db) },
  cron: [{ pattern: '* * * * *', task: 'orders.recycle_resources' }],
});

export { reserve, release, type ResourceKind } from './inventory.js';

export { billingCycle, prorateChange, type Cycle, type Money, type PricedItem, type ProrationLine } from './rules.js';
