import type { Db } from '../../platform/db/client.js';
import { AppError } from '../../platform/http/errors.js';
import { barLines, markChargesBilled, nextPrepaidCharge } from '../orders/index.js';
import { credit, debit } from './ledger.js';

/**
 * Scheduled: what prepaid lines' orders and cycles charged (plan fees, packs, devices, prorated
 * credits) moves their balances, one charge line per transaction, each at most once (its id is
 * the ledger cause). A fee the balance cannot pay bars the line and waits: a recharge lifts the
 * bar, and the next run collects it.
 */
export async function collectPrepaidCharges(db: Db, log: { error(meta: Record<string, unknown>, message: string): void }) {
  const waiting: string[] = [];
  for (;;) {
    const outcome = await db.transaction(async (tx) => {
      const c = await nextPrepaidCharge(tx, waiting);
      if (!c) return 'done';
      const m = { billingAccountId: c.billingAccountId, currency: c.currency, refType: 'charge_line', refId: c.id, reason: c.description, actor: 'system:billing.collect_prepaid_charges' };
      try {
        if (c.amount > 0) await debit(tx, { ...m, type: 'fee', amount: c.amount });
        else await credit(tx, { ...m, type: 'refund', amount: -c.amount });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        waiting.push(c.id);
        if (['insufficient_balance', 'balance_expired'].includes(err.code)) await barLines(tx, [c.lineId], 'balance', 'The prepaid balance does not cover the plan fee');
        else log.error({ err, chargeLineId: c.id }, 'a prepaid charge could not be collected');
        return 'waiting';
      }
      await markChargesBilled(tx, [c.id]);
      return 'collected';
    });
    if (outcome === 'done') return;
  }
}
