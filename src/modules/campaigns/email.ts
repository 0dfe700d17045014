import nodemailer from 'nodemailer';
import type { Outgoing, Provider } from './delivery.js';
import { ProviderRefused } from './delivery.js';
import type { UnsubscribeLinks } from './unsubscribe.js';

/**
 * Email over SMTP. The Message-ID is the message's own id, so that should a worker stop after the
 * server accepted a mail but before that was recorded, and staff re-drive it, the copy carries the
 * same Message-ID and receiving systems can tell it is one mail.
 *
 * Marketing mail carries List-Unsubscribe (RFC 2369) with its one-click link and
 * List-Unsubscribe-Post (RFC 8058), so mail clients offer an unsubscribe button that POSTs to it;
 * transactional mail (bills, balance, outages) has none. RFC 8058 wants both headers covered by a
 * DKIM signature: the relay that signs our mail must include them.
 */
export function smtpProvider(url: string, from: string, links: UnsubscribeLinks): Provider & { close(): void } {
  // A few connections kept open and reused: no handshake per mail, and no more sessions than relays allow.
  const transport = nodemailer.createTransport({ url, pool: true, maxConnections: 5 }, { from });
  return {
    close: () => transport.close(),
    async send(m: Outgoing) {
      const oneClick = m.kind === 'marketing' && m.channel === 'email'
        ? { list: { unsubscribe: { url: links.url(m.id) } }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }
        : {};
      try {
        const info = await transport.sendMail({ to: m.recipient, subject: m.subject ?? '', text: m.body, html: m.html ?? undefined, messageId: `<${m.id}@telco-crm>`, ...oneClick });
        return { providerMessageId: info.messageId, response: info.response };
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; message: string };
        // 5xx is the server's final no; 4xx, a dropped connection or a timeout may pass on a later try.
        throw new ProviderRefused(e.response ?? e.message, !(e.responseCode && e.responseCode >= 500));
      }
    },
  };
}
