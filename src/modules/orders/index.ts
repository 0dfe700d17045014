import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../platform/db/client.js';
import { catalogRoutes } from './catalog-routes.js';

/**
 * Orders and price plans (issue 4). So far: the price-plan catalog with versions, and the
 * billing-cycle and proration rules; add-ons, resource inventory, orders and subscriptions follow.
 */
export const ordersModule: FastifyPluginAsync<{ db: Db }> = async (app, deps) => {
  await app.register(catalogRoutes, deps);
};

export { billingCycle, prorateChange, type Cycle, type Money, type PricedItem, type ProrationLine } from './rules.js';
