import { and, eq, inArray, sql } from 'drizzle-orm';
import { systemCtx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { customersByContact, markUndeliverable, withdrawConsent } from '../customers/index.js';
import { messages } from './tables.js';

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

/**
 * Applies each event in its own transaction; each can come again (providers retry), and then
 * changes nothing more: nor does an old one undo what the customer did since (an address added
 * again, a consent given again). Delivered: the message is `delivered`. A permanent bounce fails the message
 * (reason `bounced: …`) and marks the address undeliverable on every customer who has it, so that
 * messaging passes it over, even when the message is not known (yet). A transient one is noted
 * only: the provider tries again. A complaint (the recipient called it spam) withdraws the email
 * marketing consent of the message's customer, or of every customer with the address when the
 * message is not known; transactional mail still goes.
 */
export async function applyEmailEvents(db: Db, events: EmailEvent[]) {
  const ctx = systemCtx('campaigns.email_events');
  const outcomes: { providerMessageId: string; outcome: EmailEventOutcome }[] = [];
  for (const e of events) {
    const outcome = await db.transaction(async (tx): Promise<EmailEventOutcome> => {
      const [m] = await tx.select({ id: messages.id, customerId: messages.customerId, state: messages.state }).from(messages)
        .where(and(eq(messages.providerMessageId, e.providerMessageId), eq(messages.channel, 'email'))).for('update');
      if (e.type === 'delivered') {
        if (!m) return 'unknown';
        await tx.update(messages).set({ state: 'delivered', deliveredAt: e.occurredAt, updatedAt: sql`now()` }).where(and(eq(messages.id, m.id), eq(messages.state, 'sent')));
        return 'delivered';
      }
      if (e.type === 'bounced') {
        if (!e.permanent) return m ? 'noted' : 'unknown';
        const reason = `bounced: ${e.reason ?? 'permanent failure'}`.slice(0, 1000);
        if (m) {
          await tx.update(messages).set({ state: 'failed', reason, failedAt: e.occurredAt, updatedAt: sql`now()` })
            .where(and(eq(messages.id, m.id), inArray(messages.state, ['sent', 'delivered'])));
        }
        await markUndeliverable(tx, ctx, e.recipient, e.occurredAt, reason);
        return m ? 'bounced' : 'unknown';
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
