import type { MessagingProfile } from '../customers/index.js';
import type { MessageChannel, messageKinds } from './tables.js';
import { renderTemplate, type TemplateRow } from './templates.js';
import { chooseLanguage, type TemplateValues } from './template-rules.js';

export interface Recipe {
  channels: MessageChannel[];
  kind: (typeof messageKinds)[number];
  /** A notice no transactional opt-out stops. */
  essential: boolean;
  templates: Map<MessageChannel, TemplateRow[]>;
  values: TemplateValues;
  /** `customerId:channel` of those who opted out of transactional messages. */
  optedOut: Set<string>;
  operatorLanguage: string;
}

export type Composed = { channel: MessageChannel } & (
  | { state: 'queued'; language: string; timeZone: string; recipient: string; subject: string | null; body: string; html: string | null }
  | { state: 'skipped'; reason: string });

const RANK: Record<string, number> = { no_contact: 0, no_template: 1, no_consent: 2, opted_out: 2 };

/** Why a customer gets nothing on a channel, or null when they may be sent to on it. */
function refusal(p: MessagingProfile, channel: MessageChannel, r: Recipe) {
  if (!(channel === 'sms' ? p.phone : p.email)) return 'no_contact';
  if (r.kind === 'marketing') return p.consents[channel] === true ? null : 'no_consent';
  if (!r.essential && r.optedOut.has(`${p.id}:${channel}`)) return 'opted_out';
  return null;
}

/**
 * The message a customer gets: on the first of the channels that may reach them (consent for
 * marketing, no opt-out for transactional, a contact point, a template), in their language and
 * locale. None does: a skipped message, with the weightiest reason (a refusal of the customer's
 * over a missing template over a missing address).
 */
export function compose(p: MessagingProfile, r: Recipe): Composed {
  let skipped: Composed | undefined;
  for (const channel of r.channels) {
    const why = refusal(p, channel, r);
    const written = r.templates.get(channel) ?? [];
    if (why || !written.length) {
      const reason = why ?? 'no_template';
      // The customer's own choice says more than a missing address or text: it is the reason given.
      if (!skipped || (RANK[reason] ?? 0) > (RANK[(skipped as { reason: string }).reason] ?? 0)) skipped = { channel, state: 'skipped', reason };
      continue;
    }
    const language = chooseLanguage(written.map((x) => x.language), p.preferredLanguage, r.operatorLanguage);
    try {
      const text = renderTemplate(written.find((w) => w.language === language)!, { ...r.values, 'customer.name': p.name }, { locale: p.preferredLanguage, timeZone: p.timeZone });
      return { channel, state: 'queued', language, timeZone: p.timeZone, recipient: (channel === 'sms' ? p.phone : p.email)!, ...text };
    } catch (err) {
      return { channel, state: 'skipped', reason: `render_failed: ${(err as Error).message}` };
    }
  }
  return skipped!;
}
