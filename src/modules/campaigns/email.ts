import nodemailer from 'nodemailer';
import type { Outgoing, Provider } from './delivery.js';
import { ProviderRefused } from './delivery.js';

/**
 * Email over SMTP. The Message-ID is the message's own id, so that should a worker stop after the
 * server accepted a mail but before that was recorded, and staff re-drive it, the copy carries the
 * same Message-ID and receiving systems can tell it is one mail.
 */
export function smtpProvider(url: string, from: string): Provider {
  const transport = nodemailer.createTransport(url, { from });
  return {
    async send(m: Outgoing) {
      try {
        const info = await transport.sendMail({ to: m.recipient, subject: m.subject ?? '', text: m.body, html: m.html ?? undefined, messageId: `<${m.id}@telco-crm>` });
        return { providerMessageId: info.messageId, response: info.response };
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; message: string };
        // 5xx is the server's final no; 4xx, a dropped connection or a timeout may pass on a later try.
        throw new ProviderRefused(e.response ?? e.message, !(e.responseCode && e.responseCode >= 500));
      }
    },
  };
}
