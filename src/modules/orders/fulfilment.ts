import { and, eq, sql } from 'drizzle-orm';
import type { JobHelpers } from 'graphile-worker';
import type { Db, Tx } from '../../platform/db/client.js';
import { databaseNow } from '../../platform/db/clock.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { AppError } from '../../platform/http/errors.js';
import { applyNow, currentLine } from './changes.js';
import { orderErrors } from './errors.js';
import { lines, orders } from './lines-tables.js';
import { claimDueLine } from './lines.js';
import { releaseHeld, transition } from './orders.js';

/**
 * The fulfilment job: acknowledged → in progress (its own commit, so it shows), then the work and
 * "completed" in one transaction. A refusal by the rules (a lapsed reservation, a line that moved
 * on) fails the order at once; anything else is retried, and the last attempt fails it. A failed
 * order gives back what it reserved. An order for the next cycle takes effect when its line is
 * renewed; its job runs at the boundary to make sure it is.
 */
export async function fulfilOrder(db: Db, orderId: string, helpers: Pick<JobHelpers, 'job'>) {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId));
  if (!order || !['acknowledged', 'in_progress'].includes(order.status)) return; // cancelled, or done by the cycle renewal
  if (order.status === 'acknowledged' && !(await db.transaction((tx) => transition(tx, orderId, ['acknowledged'], 'in_progress')))) return;
  try {
    await db.transaction(async (tx) => {
      // Line before order, as the cycle renewal locks them: the two never wait on each other in a circle.
      if (order.lineId) await tx.select({ id: lines.id }).from(lines).where(eq(lines.id, order.lineId)).for('update');
      const [o] = await tx.select().from(orders).where(and(eq(orders.id, orderId), eq(orders.status, 'in_progress'))).for('update');
      if (!o) return;
      const now = await databaseNow(tx);
      if (o.effective === 'next_cycle') {
        const line = await currentLine(tx, o.lineId!, now);
        const [after] = await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, o.id));
        if (after!.status === 'completed') return;
        if (line.status === 'terminated') throw orderErrors.line_state('The line was terminated');
        throw new Error('the scheduled change is not due yet');
      }
      const lineId = await applyNow[o.type](tx, o, now);
      await transition(tx, orderId, ['in_progress'], 'completed', lineId ? { lineId } : {});
    });
  } catch (err) {
    const last = helpers.job.attempts >= helpers.job.max_attempts;
    if (!(err instanceof AppError) && !last) throw err;
    await failOrder(db, orderId, err instanceof AppError ? `${err.code}: ${err.message}` : `gave up after ${helpers.job.attempts} attempts: ${(err as Error).message}`);
  }
}

async function failOrder(db: Db, orderId: string, reason: string) {
  await db.transaction(async (tx) => {
    const failed = await transition(tx, orderId, ['in_progress', 'acknowledged'], 'failed', { reason });
    if (failed) await releaseHeld(tx, failed);
  });
}

/**
 * Hands an accepted order to the worker. It runs from the outbox (on `order.acknowledged`), not in
 * the order's own transaction: a job's NOTIFY at commit would serialise every order placed.
 */
export async function dispatchFulfilment(tx: Tx, orderId: string, scheduledFor: Date | null) {
  await enqueue(tx, 'orders.fulfil', { orderId }, { jobKey: `order:${orderId}`, runAt: scheduledFor ?? undefined, maxAttempts: 5 });
}

/**
 * Scheduled: orders left open with no job to finish them. One still acknowledged is dispatched
 * again (fulfilment is idempotent); one left in progress (the worker died on its last attempt, or
 * the failure itself could not be written) is failed, so that nothing stays reserved for ever.
 * Ten minutes' grace: a job may just be waiting for a worker.
 */
export async function reconcileOrders(db: Db) {
  const stuck = await db.execute<{ id: string; status: string; scheduled_for: string | null }>(sql`
    select o.id, o.status, o.scheduled_for from ${orders} o
    where o.status in ('acknowledged', 'in_progress') and coalesce(o.scheduled_for, o.created_at) < now() - interval '10 minutes'
      and o.updated_at < now() - interval '10 minutes'
      and not exists (select 1 from graphile_worker.jobs j where j.key = 'order:' || o.id and j.attempts < j.max_attempts)
    limit 500`);
  for (const o of stuck) {
    if (o.status === 'in_progress') await failOrder(db, o.id, 'fulfilment_lost: the fulfilment job ended without finishing the order');
    else await db.transaction((tx) => dispatchFulfilment(tx, o.id, o.scheduled_for ? new Date(o.scheduled_for) : null));
  }
}

/**
 * Scheduled: every line whose cycle has ended is renewed, each in its own short transaction. A
 * line that fails is logged and left for the next run; it does not hold up the others.
 */
export async function renewCycles(db: Db, log: { error(meta: Record<string, unknown>, message: string): void }) {
  const failed: string[] = [];
  for (;;) {
    let claimed: string | undefined;
    try {
      await db.transaction(async (tx) => {
        const line = await claimDueLine(tx, failed);
        if (!line) return;
        claimed = line.id;
        await currentLine(tx, line.id, await databaseNow(tx));
      });
    } catch (err) {
      if (!claimed) throw err;
      failed.push(claimed);
      log.error({ err, lineId: claimed }, 'renewing a line failed; it is retried on the next run');
      continue;
    }
    if (!claimed) return;
  }
}
