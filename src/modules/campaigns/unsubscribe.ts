import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { systemCtx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { withdrawConsent } from '../customers/index.js';
import { campaignErrors } from './errors.js';
import { messages } from './tables.js';

/**
 * One-click unsubscribe links (RFC 8058) of marketing email. A link names the message it came in
 * (hence the customer) and carries an HMAC of that id: `{messageId}.{base64url HMAC-SHA-256}`. It
 * needs no table and never expires, as mail providers expect a List-Unsubscribe URL to keep working.
 */
export interface UnsubscribeLinks {
  /** The URL for a marketing email's List-Unsubscribe header. */
  url(messageId: string): string;
  /** The message a token stands for, or null when it is not one these links made. */
  verify(token: string): string | null;
}

const tokenShape = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Links signed with a key of their own, derived from the platform's auth secret by HKDF under a
 * label (the secret itself signs access tokens and is used for nothing else); `publicUrl` is where
 * customers reach this API.
 */
export function unsubscribeLinks(authSecret: string, publicUrl: string): UnsubscribeLinks {
  const key = Buffer.from(hkdfSync('sha256', authSecret, 'telco-crm', 'campaigns.unsubscribe-link.v1', 32));
  const mac = (messageId: string) => createHmac('sha256', key).update(`unsubscribe:${messageId}`).digest('base64url');
  const base = publicUrl.replace(/\/+$/, '');
  return {
    url: (messageId) => `${base}/v1/unsubscribe/${messageId}.${mac(messageId)}`,
    verify(token) {
      const m = tokenShape.exec(token);
      if (!m) return null;
      // Compared as text of a fixed length: one encoding per MAC, in constant time.
      return timingSafeEqual(Buffer.from(m[2]!), Buffer.from(mac(m[1]!))) ? m[1]! : null;
    },
  };
}

/** A link that is not one of ours (mistyped, cut short, forged): the same 404 whatever is wrong with it. */
export function requireLink(links: UnsubscribeLinks, token: string) {
  const messageId = links.verify(token);
  if (!messageId) throw campaignErrors.unsubscribe_link_invalid();
  return messageId;
}

/**
 * The customer a marketing email went to withdraws email marketing consent by its link. Idempotent:
 * consent that is not granted now (withdrawn already, by an earlier click or otherwise, or never
 * given) is left as it is, with no further history row, event or audit entry; the answer is the
 * same. Of concurrent clicks for one customer (a provider retrying, two mails' links) only the
 * first records the withdrawal (see withdrawConsent).
 */
export async function unsubscribe(db: Db, links: UnsubscribeLinks, token: string) {
  const messageId = requireLink(links, token);
  return db.transaction(async (tx) => {
    const [m] = await tx.select({ customerId: messages.customerId, channel: messages.channel, kind: messages.kind }).from(messages).where(eq(messages.id, messageId));
    if (!m || m.channel !== 'email' || m.kind !== 'marketing') throw campaignErrors.unsubscribe_link_invalid();
    const withdrawn = await withdrawConsent(tx, systemCtx('campaigns.unsubscribe'), m.customerId, 'email', 'one_click_unsubscribe');
    return { unsubscribed: true as const, withdrawn };
  });
}
