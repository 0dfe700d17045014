import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx, systemCtx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { credit } from '../billing/index.js';
import { firstActiveLine, grantAddOn, sellableAddOn } from '../orders/index.js';
import { topUpPromotions, topUpRewards } from './discount-tables.js';
import { voucherErrors } from './errors.js';

type PromotionRow = typeof topUpPromotions.$inferSelect;
export type NewPromotion = Pick<PromotionRow, 'name' | 'minAmount' | 'currency' | 'firstOnly' | 'rewardAddOnId' | 'rewardCredit' | 'validFrom' | 'validUntil' | 'maxRewards'>;

const SYSTEM = systemCtx('vouchers.promotions');

export async function createPromotion(db: Db, ctx: Ctx, input: NewPromotion) {
  return db.transaction(async (tx) => {
    if (input.rewardAddOnId && (await sellableAddOn(tx, input.rewardAddOnId)).addOn.kind !== 'one_off') throw voucherErrors.bundle_not_one_off('A promotion gives one-off packs');
    const [row] = await tx.insert(topUpPromotions).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'promotion.created', entityType: 'top_up_promotion', entityId: row!.id, details: { name: row!.name } });
    return row!;
  });
}

export async function listPromotions(db: Db, q: { limit: number; before?: string }) {
  return db.select().from(topUpPromotions).where(q.before ? lt(topUpPromotions.id, q.before) : undefined).orderBy(desc(topUpPromotions.id)).limit(q.limit + 1);
}

export async function retirePromotion(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(topUpPromotions).set({ status: 'retired' }).where(eq(topUpPromotions.id, id)).returning();
    if (!row) throw voucherErrors.promotion_not_found();
    await audit(tx, ctx, { action: 'promotion.retired', entityType: 'top_up_promotion', entityId: id });
    return row;
  });
}

export interface TopUp { entryId: string; billingAccountId: string; type: string; amount: { amount: number; currency: string } }

/**
 * A top-up (recharge or voucher) meets the automatic promotions, from the outbox: each active one
 * it qualifies for gives its reward once per top-up (and, `firstOnly`, once per account), under
 * the promotion's row lock so its budget holds. A reward that cannot be given (no active line, a
 * pack the line cannot take) is recorded as skipped with the reason, not retried forever.
 */
async function rewardTopUp(tx: Tx, t: TopUp) {
  if (t.type !== 'recharge' && t.type !== 'voucher') return;
  // Every top-up asks and almost none qualifies: the locking look is written out (drizzle's select
  // builder costs more CPU than the query), and the rows are read only when there are some.
  const ids = (await tx.execute<{ id: string }>(sql`
    select id from ${topUpPromotions} where status = 'active' and currency = ${t.amount.currency} and min_amount <= ${t.amount.amount}
      and (valid_from is null or valid_from <= now()) and (valid_until is null or valid_until > now())
    order by id for update`)).map((r) => r.id);
  const due = ids.length ? await tx.select().from(topUpPromotions).where(inArray(topUpPromotions.id, ids)).orderBy(topUpPromotions.id) : [];
  for (const p of due) {
    const [seen] = await tx.select({ outcome: topUpRewards.outcome }).from(topUpRewards).where(and(eq(topUpRewards.promotionId, p.id), eq(topUpRewards.entryId, t.entryId)));
    if (seen) continue;
    if (p.firstOnly) {
      const [earlier] = await tx.select({ e: topUpRewards.entryId }).from(topUpRewards)
        .where(and(eq(topUpRewards.promotionId, p.id), eq(topUpRewards.billingAccountId, t.billingAccountId), eq(topUpRewards.outcome, 'given'))).limit(1);
      if (earlier) continue;
    }
    if (p.maxRewards !== null && p.rewards >= p.maxRewards) continue;
    const { outcome, detail } = await give(tx, p, t);
    await tx.insert(topUpRewards).values({ promotionId: p.id, entryId: t.entryId, billingAccountId: t.billingAccountId, outcome, detail });
    if (outcome === 'given') await tx.update(topUpPromotions).set({ rewards: sql`${topUpPromotions.rewards} + 1` }).where(eq(topUpPromotions.id, p.id));
    await emit(tx, outcome === 'given' ? 'promotion.rewarded' : 'promotion.reward_skipped', { promotionId: p.id, name: p.name, billingAccountId: t.billingAccountId, entryId: t.entryId, detail },
      { aggregateId: t.billingAccountId });
  }
}

/** A delivery's top-ups: one look for any active promotion first, as there usually is none. */
export async function rewardTopUps(tx: Tx, topUps: TopUp[]) {
  const due = topUps.filter((t) => t.type === 'recharge' || t.type === 'voucher');
  if (!due.length) return;
  const [active] = await tx.execute(sql`select 1 from ${topUpPromotions} where status = 'active' and (valid_until is null or valid_until > now()) limit 1`);
  if (!active) return;
  for (const t of due) await rewardTopUp(tx, t);
}

/** The reward, in a savepoint: one that cannot be given leaves the rest of the transaction whole. */
async function give(tx: Tx, p: PromotionRow, t: TopUp): Promise<{ outcome: 'given' | 'skipped'; detail: string }> {
  try {
    return await tx.transaction(async (sp) => {
      if (p.rewardCredit !== null) {
        await credit(sp, { billingAccountId: t.billingAccountId, amount: p.rewardCredit, currency: p.currency, type: 'adjustment', refType: 'promotion', refId: `${p.id}:${t.entryId}`, reason: p.name, actor: 'system:vouchers.promotions' });
        return { outcome: 'given' as const, detail: `${p.rewardCredit} ${p.currency} credited` };
      }
      const lineId = await firstActiveLine(sp, t.billingAccountId);
      if (!lineId) return { outcome: 'skipped' as const, detail: 'The account has no active line for the pack' };
      const order = await grantAddOn(sp, SYSTEM, { lineId, addOnId: p.rewardAddOnId!, reason: `Promotion: ${p.name}` });
      return { outcome: 'given' as const, detail: `Pack given to line ${lineId} (order ${order.id})` };
    });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { outcome: 'skipped', detail: `${err.code}: ${err.message}` };
  }
}
