/**
 * Orders and price plans (issue 4). So far: the billing-cycle and proration rules; the catalog,
 * resource inventory, orders and subscriptions follow.
 */
export { billingCycle, prorateChange, type Cycle, type Money, type PricedItem, type ProrationLine } from './rules.js';
