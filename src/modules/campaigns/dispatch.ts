import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { DomainEvent } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { type MessagingProfile, messagingProfiles } from '../customers/index.js';
import { type Purpose, purposes } from './purposes.js';
import { type MessageChannel, messages, transactionalOptOuts, triggers } from './tables.js';
import { renderTemplate, templatesFor } from './templates.js';
import { chooseLanguage } from './template-rules.js';
import { activeTriggers } from './triggers.js';

type Trigger = typeof triggers.$inferSelect;
export interface DispatchSettings { operatorLanguage: string }

/** Why a customer gets nothing on a channel, or null when they may be sent to on it. */
function refusal(p: MessagingProfile, channel: MessageChannel, kind: Trigger['kind'], purpose: Purpose, optedOut: Set<string>) {
  if (!(channel === 'sms' ? p.phone : p.email)) return 'no_contact';
  if (kind === 'marketing') return p.consents[channel] === true ? null : 'no_consent';
  if (!purpose.essential && optedOut.has(`${p.id}:${channel}`)) return 'opted_out';
  return null;
}

const fits = (t: Trigger, p: MessagingProfile) =>
  (!t.conditions.segments?.length || t.conditions.segments.includes(p.segment)) && (!t.conditions.languages?.length || t.conditions.languages.includes(p.preferredLanguage));

/**
 * An event that a trigger binds: one message per customer it concerns, on the first of the
 * trigger's channels that may reach them (consent for marketing, no opt-out for transactional, a
 * contact point, a template), rendered in their language. A customer no channel reaches gets a
 * skipped message with the reason. Keyed by event, customer and channel: the same event delivered
 * again, or bound by two triggers, adds nothing.
 */
export async function dispatch(tx: Tx, s: DispatchSettings, event: DomainEvent) {
  const purpose = purposes[event.type];
  if (!purpose) return;
  const bound = await activeTriggers(tx, event.type);
  if (!bound.length) return;
  const profiles = await messagingProfiles(tx, purpose.recipients(event.payload));
  if (!profiles.length) return;
  const optedOut = new Set((await tx.select().from(transactionalOptOuts)
    .where(sql`${transactionalOptOuts.customerId} = any(${sql.param(profiles.map((p) => p.id))}::uuid[])`)).map((o) => `${o.customerId}:${o.channel}`));
  const values = { ...event.payload };
  for (const trigger of bound) {
    for (const p of profiles.filter((x) => fits(trigger, x))) {
      let skipped: { channel: MessageChannel; reason: string } | undefined;
      let sent = false;
      for (const channel of trigger.channels) {
        const why = refusal(p, channel, trigger.kind, purpose, optedOut);
        const written = why ? [] : await templatesFor(tx, event.type, channel);
        if (why || !written.length) {
          skipped ??= { channel, reason: why ?? 'no_template' };
          continue;
        }
        const template = written.find((w) => w.language === chooseLanguage(written.map((x) => x.language), p.preferredLanguage, s.operatorLanguage))!;
        let text;
        try {
          text = renderTemplate(template, { ...values, 'customer.name': p.name }, { locale: p.preferredLanguage, timeZone: p.timeZone }, channel);
        } catch (err) {
          skipped = { channel, reason: `render_failed: ${(err as Error).message}` };
          break;
        }
        await record(tx, event, trigger, p, channel, { state: 'queued', language: template.language, timeZone: p.timeZone, recipient: channel === 'sms' ? p.phone : p.email, ...text });
        sent = true;
        break;
      }
      if (!sent && skipped) await record(tx, event, trigger, p, skipped.channel, { state: 'skipped', reason: skipped.reason });
    }
  }
}

async function record(tx: Tx, event: DomainEvent, trigger: Trigger, p: MessagingProfile, channel: MessageChannel,
  m: Partial<typeof messages.$inferInsert> & { state: 'queued' | 'skipped' }) {
  const id = uuidv7();
  const [row] = await tx.insert(messages).values({
    id, customerId: p.id, dedupeKey: `${event.id}:${p.id}:${channel}`, triggerId: trigger.id, eventId: event.id, eventType: event.type, channel, kind: trigger.kind, ...m,
  }).onConflictDoNothing().returning({ id: messages.id });
  if (row && m.state === 'queued') await enqueue(tx, 'campaigns.send', { messageId: id }, { jobKey: `message:${id}`, maxAttempts: 1 });
}
