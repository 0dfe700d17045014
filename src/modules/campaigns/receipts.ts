import { eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../platform/db/client.js';
import { earlyReceipts, messageParts, messages } from './tables.js';

export interface Receipt { providerMessageId: string; state: 'delivered' | 'failed' | 'expired'; text: string }

// A receipt and the recording of its part meet on a lock per SMSC id: whichever comes second sees the other's work.
const lockIds = (tx: Tx, ids: string[]) =>
  tx.execute(sql`select pg_advisory_xact_lock(hashtext('smsc:' || id)) from unnest(${sql.param([...ids].sort())}::text[]) as id`);

/**
 * A delivery receipt from the SMSC for one part. The message follows its parts: delivered when
 * every part is, failed (with the receipt as reason) when one failed, expired when one expired.
 * A receipt for a part not recorded yet is kept until it is. The message row is locked first, so
 * that receipts for two parts arriving together settle it once both are in.
 */
export async function applyReceipt(db: Db, r: Receipt) {
  await db.transaction(async (tx) => {
    await lockIds(tx, [r.providerMessageId]);
    const [part] = await tx.select({ messageId: messageParts.messageId }).from(messageParts).where(eq(messageParts.providerMessageId, r.providerMessageId));
    if (!part) {
      await tx.insert(earlyReceipts).values({ providerMessageId: r.providerMessageId, state: r.state, receipt: r.text }).onConflictDoNothing();
      return;
    }
    await tx.select({ id: messages.id }).from(messages).where(eq(messages.id, part.messageId)).for('update');
    await tx.update(messageParts).set({ state: r.state, receipt: r.text, updatedAt: sql`now()` }).where(eq(messageParts.providerMessageId, r.providerMessageId));
    await settle(tx, part.messageId);
  });
}

/** Records the parts an SMSC took a message in (inside the transaction that marks it sent), applying receipts that came first. */
export async function recordParts(tx: Tx, messageId: string, partIds: string[]) {
  await lockIds(tx, partIds);
  await tx.insert(messageParts).values(partIds.map((providerMessageId, i) => ({ messageId, part: i + 1, providerMessageId }))).onConflictDoNothing();
  const early = await tx.delete(earlyReceipts).where(sql`${earlyReceipts.providerMessageId} = any(${sql.param(partIds)}::text[])`).returning();
  for (const e of early) {
    await tx.update(messageParts).set({ state: e.state, receipt: e.receipt, updatedAt: sql`now()` }).where(eq(messageParts.providerMessageId, e.providerMessageId));
  }
  if (early.length) await settle(tx, messageId);
}

async function settle(tx: Tx, messageId: string) {
  const parts = await tx.select({ state: messageParts.state, receipt: messageParts.receipt }).from(messageParts).where(eq(messageParts.messageId, messageId));
  const failed = parts.find((p) => p.state === 'failed');
  const expired = parts.find((p) => p.state === 'expired');
  const next = failed ? 'failed' : expired ? 'expired' : parts.every((p) => p.state === 'delivered') ? 'delivered' : null;
  if (!next) return;
  await tx.update(messages).set({
    state: next, updatedAt: sql`now()`,
    ...(next === 'delivered' ? { deliveredAt: sql`now()` } : { reason: `Receipt: ${(failed ?? expired)!.receipt}`.slice(0, 1000), failedAt: sql`now()` }),
  }).where(sql`${messages.id} = ${messageId} and ${messages.state} = 'sent'`);
}
