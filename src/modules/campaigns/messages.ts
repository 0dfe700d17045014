import { and, asc, desc, eq, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { enqueueSend } from './delivery.js';
import { campaignErrors } from './errors.js';
import { inboundMessages, type MessageState, messageAttempts, messageParts, messages } from './tables.js';

export async function listMessages(db: Db, q: { state?: MessageState; customerId?: string; limit: number; before?: string }) {
  return db.select().from(messages).where(and(
    q.state ? eq(messages.state, q.state) : undefined, q.customerId ? eq(messages.customerId, q.customerId) : undefined, q.before ? lt(messages.id, q.before) : undefined,
  )).orderBy(desc(messages.id)).limit(q.limit + 1);
}

/** A message with every attempt to hand it over and what the provider said. */
export async function getMessage(db: Db, id: string) {
  const [m] = await db.select().from(messages).where(eq(messages.id, id));
  if (!m) throw campaignErrors.message_not_found();
  return { ...m, deliveryAttempts: await db.select().from(messageAttempts).where(eq(messageAttempts.messageId, id)).orderBy(asc(messageAttempts.at), asc(messageAttempts.id)) };
}

/** Staff send a dead-lettered message again, from a fresh count of attempts. */
export async function redrive(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const [m] = await tx.update(messages).set({ state: 'queued', reason: null, attempts: 0, smsReference: null, nextAttemptAt: null, failedAt: null, updatedAt: sql`now()` })
      .where(and(eq(messages.id, id), eq(messages.state, 'failed'))).returning();
    if (!m) {
      const [known] = await tx.select({ id: messages.id }).from(messages).where(eq(messages.id, id));
      throw known ? campaignErrors.message_not_failed() : campaignErrors.message_not_found();
    }
    // The SMSC's ids of the last try go: the whole text goes again under a new reference, the new parts get their ids, and a late receipt for an old part finds nothing.
    await tx.delete(messageParts).where(eq(messageParts.messageId, id));
    await enqueueSend(tx, m);
    await audit(tx, ctx, { action: 'message.redriven', entityType: 'message', entityId: id });
    return m;
  });
}

/**
 * An erased customer's messages keep their counts but lose who and what: recipient and text go,
 * and whatever had not gone out yet never will. Their inbound messages lose sender and text.
 */
export async function eraseCustomerMessages(tx: Tx, customerId: string) {
  await tx.update(messages).set({
    recipient: null, subject: null, body: null, html: null, updatedAt: sql`now()`,
    state: sql`case when ${messages.state} in ('queued', 'held') then 'skipped' else ${messages.state} end`,
    reason: sql`case when ${messages.state} in ('queued', 'held') then 'customer_erased' else ${messages.reason} end`,
  }).where(eq(messages.customerId, customerId));
  await tx.update(inboundMessages).set({ sender: 'erased', body: '' }).where(sql`${inboundMessages.customerIds} ? ${customerId}`);
}
