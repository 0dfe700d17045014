import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { systemCtx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { customersByContact, markUndeliverable, withdrawConsent } from '../customers/index.js';
import { earlyEmailEvents, messages } from './tables.js';

/** What the mail provider reports about a mail we sent (its delivery-event webhook, parsed). */
export interface EmailEvent {
  type: 'delivered' | 'bounced' | 'complained';
  /** The id the mail went out with (its Message-ID): the message's `providerMessageId`. */
  providerMessageId: string;
  recipient: string;
  /** A bounce: permanent (the address is gone) or transient (the provider tries again itself). */
  permanent?: boolean;
  reason?: string;
  occurredAt: Date;
}

export type EmailEventOutcome = 'delivered' | 'bounced' | 'noted' | 'consent_withdrawn' | 'unknown';

const bounceReason = (reason: string | null | undefined) => `bounced: ${reason ?? 'permanent failure'}`.slice(0, 1000);

/** What an event does to its message: delivered, or (a permanent bounce) failed. */
async function settleMessage(tx: Tx, messageId: string, e: { type: 'delivered' | 'bounced'; reason?: string | null; occurredAt: Date }) {
  if (e.type === 'delivered') {
    await tx.update(messages).set({ state: 'delivered', deliveredAt: e.occurredAt, updatedAt: sql`now()` }).where(and(eq(messages.id, messageId), eq(messages.state, 'sent')));
  } else {
    await tx.update(messages).set({ state: 'failed', reason: bounceReason(e.reason), failedAt: e.occurredAt, updatedAt: sql`now()` })
      .where(and(eq(messages.id, messageId), inArray(messages.state, ['sent', 'delivered'])));
  }
}

/**
 * Applies each event in its own transaction; each can come again (providers retry), and then
 * changes nothing more: nor does an old one undo what the customer did since (an address added
 * again, a consent given again). Delivered: the message is `delivered`. A permanent bounce fails
 * the message (reason `bounced: …`) and marks the address undeliverable on every customer who has
 * it, so that messaging passes it over. A transient one is noted only: the provider tries again.
 * A complaint (the recipient called it spam) withdraws the email marketing consent of the
 * message's customer, or of every customer with the address when the message is not known;
 * transactional mail still goes. An event for a message not known (yet: the provider may answer
 * before the send is recorded) still does what it does to the address, and is kept for the sweep,
 * which applies it to the message once it is there (`applyEarlyEmailEvents`).
 */
export async function applyEmailEvents(db: Db, events: EmailEvent[]) {
  const ctx = systemCtx('campaigns.email_events');
  const outcomes: { providerMessageId: string; outcome: EmailEventOutcome }[] = [];
  for (const e of events) {
    const outcome = await db.transaction(async (tx): Promise<EmailEventOutcome> => {
      const [m] = await tx.select({ id: messages.id, customerId: messages.customerId }).from(messages)
        .where(and(eq(messages.providerMessageId, e.providerMessageId), eq(messages.channel, 'email'))).for('update');
      const kept = async (type: 'delivered' | 'bounced') => {
        await tx.insert(earlyEmailEvents).values({ providerMessageId: e.providerMessageId, type, reason: e.reason ?? null, occurredAt: e.occurredAt }).onConflictDoNothing();
        return 'unknown' as const;
      };
      if (e.type === 'delivered') {
        if (!m) return kept('delivered');
        await settleMessage(tx, m.id, { type: 'delivered', occurredAt: e.occurredAt });
        return 'delivered';
      }
      if (e.type === 'bounced') {
        if (!e.permanent) return m ? 'noted' : 'unknown';
        await markUndeliverable(tx, ctx, e.recipient, e.occurredAt, bounceReason(e.reason));
        if (!m) return kept('bounced');
        await settleMessage(tx, m.id, { type: 'bounced', reason: e.reason, occurredAt: e.occurredAt });
        return 'bounced';
      }
      const who = m ? [m.customerId] : await customersByContact(tx, 'email', e.recipient);
      let withdrawn = false;
      for (const customerId of who) withdrawn = (await withdrawConsent(tx, ctx, customerId, 'email', 'email_complaint', { givenBefore: e.occurredAt })) || withdrawn;
      return withdrawn ? 'consent_withdrawn' : m ? 'noted' : 'unknown';
    });
    outcomes.push({ providerMessageId: e.providerMessageId, outcome });
  }
  return outcomes;
}

/**
 * Swept: kept events whose message has been recorded since are applied to it; those still
 * unknown after a week name mail that is not ours, and go.
 */
export async function applyEarlyEmailEvents(db: Db) {
  await db.transaction(async (tx) => {
    const due = await tx.execute<{ provider_message_id: string; type: 'delivered' | 'bounced'; reason: string | null; occurred_at: string; message_id: string }>(sql`
      delete from ${earlyEmailEvents} e using ${messages} m
      where m.provider_message_id = e.provider_message_id and m.channel = 'email'
      returning e.provider_message_id, e.type, e.reason, e.occurred_at, m.id as message_id`);
    // Delivered before bounced, as they happen.
    for (const e of due.sort((a, b) => (a.type === b.type ? 0 : a.type === 'delivered' ? -1 : 1))) {
      await settleMessage(tx, e.message_id, { type: e.type, reason: e.reason, occurredAt: new Date(e.occurred_at) });
    }
    await tx.delete(earlyEmailEvents).where(lt(earlyEmailEvents.receivedAt, sql`now() - interval '7 days'`));
  });
}
