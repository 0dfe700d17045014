import { and, eq, gt, sql } from 'drizzle-orm';
import { systemCtx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customersByContact, recordConsent } from '../customers/index.js';
import { inboundMessages } from './tables.js';

export interface InboundSettings {
  stopWords: string[];
  /** Where other messages go when customer service is there: onto the customer's ticket. */
  contact?: (tx: Tx, c: { customerId: string; channel: 'sms' | 'email'; body: string; subject?: string }) => Promise<unknown>;
}

/** The keyword a message is, if it is one: the whole text, trimmed, without regard to case or a trailing full stop. */
export const keywordOf = (text: string, words: string[]) => {
  const said = text.trim().replace(/[.!]+$/, '').toLocaleUpperCase('und');
  return words.find((w) => w.toLocaleUpperCase('und') === said);
};

/**
 * An SMS a customer sent us. An opt-out keyword (STOP, or the operator's word in each language)
 * withdraws SMS marketing consent of every customer with that number and emits `sms.stop_received`
 * (a trigger on it sends the confirmation); anything else goes to customer service as the
 * customer's contact. Every inbound message is kept with whom it matched.
 *
 * An SMS carries no id an SMSC keeps when it sends it again (our answer lost on the way): the same
 * text from the same number to the same address within two minutes is taken as that, and not
 * handled twice (no second ticket message, no second STOP confirmation).
 */
export async function receiveSms(db: Db, s: InboundSettings, m: { from: string; to: string; text: string }) {
  const sender = m.from.startsWith('+') ? m.from : `+${m.from}`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`inbound-sms:${sender}`}))`);
    const [again] = await tx.select({ id: inboundMessages.id }).from(inboundMessages).where(and(eq(inboundMessages.channel, 'sms'), eq(inboundMessages.sender, sender),
      eq(inboundMessages.recipient, m.to), eq(inboundMessages.body, m.text), gt(inboundMessages.receivedAt, sql`now() - interval '2 minutes'`))).limit(1);
    if (again) return;
    const customerIds = await customersByContact(tx, 'phone', sender);
    const keyword = keywordOf(m.text, s.stopWords) ?? null;
    const id = uuidv7();
    await tx.insert(inboundMessages).values({ id, channel: 'sms', sender, recipient: m.to, body: m.text, customerIds, keyword });
    if (!keyword) {
      for (const customerId of customerIds) await s.contact?.(tx, { customerId, channel: 'sms', body: m.text });
      return;
    }
    const ctx = systemCtx('campaigns.inbound_sms');
    for (const customerId of customerIds) {
      await recordConsent(tx, ctx, customerId, 'sms', { granted: false, source: `sms_keyword:${keyword}` });
      await emit(tx, 'sms.stop_received', { customerId, keyword, inboundId: id }, { aggregateId: customerId });
    }
  });
}

/**
 * A mail a customer sent us, as a mail provider's inbound webhook hands it over: kept (once per
 * provider id), and for each customer with that address, their contact with customer service.
 */
export async function receiveEmail(db: Db, s: InboundSettings, m: { from: string; to: string; subject?: string; text: string; externalId: string }) {
  return db.transaction(async (tx) => {
    const customerIds = await customersByContact(tx, 'email', m.from);
    const [row] = await tx.insert(inboundMessages).values({
      id: uuidv7(), channel: 'email', sender: m.from.toLowerCase(), recipient: m.to, body: m.subject ? `${m.subject}\n\n${m.text}` : m.text, customerIds, externalId: m.externalId,
    }).onConflictDoNothing().returning({ id: inboundMessages.id });
    if (!row) return { duplicate: true, customers: customerIds.length };
    for (const customerId of customerIds) await s.contact?.(tx, { customerId, channel: 'email', body: m.text, subject: m.subject });
    return { duplicate: false, customers: customerIds.length };
  });
}
