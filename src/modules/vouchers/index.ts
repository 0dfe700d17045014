import type { FastifyPluginAsync } from 'fastify';
import type { Subscriber } from '../../platform/events/events.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { failBatch, generateBatch } from './batches.js';
import { discountRoutes } from './discount-routes.js';
import { releaseApplication } from './discounts.js';
import { promotionRoutes } from './promotion-routes.js';
import { rewardTopUps, type TopUp } from './promotions.js';
import { voucherRoutes, type VoucherDeps } from './routes.js';
import { expireVouchers } from './stock.js';

/**
 * Vouchers (issue 6). So far: recharge voucher batches generated in the background with PINs kept
 * only as keyed hashes and downloadable once, the stock lifecycle by serial range (distributed to
 * resellers, sold, blocked and unblocked, expired by job), and redemption onto a prepaid balance
 * with brute-force lockouts; bundle vouchers that give a pack; discounts and promotion codes with
 * their combination rules, priced quotes that explain themselves, budget-safe application at order
 * time; automatic promotions on top-ups.
 */
export const vouchersModule: FastifyPluginAsync<VoucherDeps> = async (app, deps) => {
  await app.register(voucherRoutes, deps);
  await app.register(discountRoutes, deps);
  await app.register(promotionRoutes, deps);
};

/** Batch generation (retried from its last chunk; a batch whose job gives up is marked failed) and hourly expiry. */
export const vouchersJobs = (deps: VoucherDeps): Partial<JobsSetup> => ({
  tasks: {
    'vouchers.generate_batch': async (payload, helpers) => {
      const { batchId } = payload as { batchId: string };
      try {
        await generateBatch(deps.db, deps.crypto, deps.hash, batchId);
      } catch (err) {
        if (helpers.job.attempts >= helpers.job.max_attempts) await failBatch(deps.db, batchId);
        throw err;
      }
    },
    'vouchers.expire': async () => { await expireVouchers(deps.db); },
  },
  cron: [{ pattern: '41 * * * *', task: 'vouchers.expire' }],
});

/**
 * Discounts go back to their budgets when the order that took them fails or is cancelled; a
 * top-up meets the automatic promotions.
 */
export const vouchersSubscribers: Subscriber[] = [{
  name: 'vouchers.release_discounts',
  types: ['order.failed', 'order.cancelled'],
  handle: (tx, event) => releaseApplication(tx, (event.payload as { orderId: string }).orderId),
}, {
  name: 'vouchers.reward_top_ups',
  types: ['balance.credited'],
  handleMany: (tx, events) => rewardTopUps(tx, events.map((e) => e.payload as unknown as TopUp)),
}];

export { orderPricer } from './discounts.js';
export { pinHasher } from './pins.js';
export { vouchersViewPart } from './customer-view.js';
export type { VoucherDeps } from './routes.js';
