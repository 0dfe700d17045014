import type { Tx } from '../../platform/db/client.js';
import type { CustomerCondition, SegmentFilter } from '../customers/index.js';
import { onPricePlans, unknownPricePlans } from '../orders/index.js';
import { campaignErrors } from './errors.js';

/** A campaign's segment: the customer core's filters, and price plans (codes) a customer has a line on. */
export type CampaignSegment = SegmentFilter & { plans?: string[] };

/** What the customer core cannot filter by itself: the orders module's condition for plans. */
export const conditionsOf = (s: CampaignSegment): CustomerCondition[] => (s.plans?.length ? [onPricePlans(s.plans)] : []);

/** A plan code the catalog never had is a typo that would make an empty audience: refused when the segment is saved. */
export async function requireKnownPlans(tx: Tx, plans: string[] | undefined) {
  const unknown = await unknownPricePlans(tx, plans ?? []);
  if (unknown.length) throw campaignErrors.unknown_price_plan(`No price plan has the code ${unknown.map((c) => `"${c}"`).join(', ')}`);
}
