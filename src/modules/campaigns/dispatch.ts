import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { DomainEvent } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueueSend } from './delivery.js';
import { messagingProfiles } from '../customers/index.js';
import { customersOnPricePlans } from '../orders/index.js';
import { compose } from './compose.js';
import { purposes } from './purposes.js';
import { type MessageChannel, messages, transactionalOptOuts } from './tables.js';
import { templatesFor } from './templates.js';
import { activeTriggers } from './triggers.js';

export interface DispatchSettings { operatorLanguage: string }

/** What a replaced (skipped) row must not keep. */
const emptyMessage = { reason: null, language: null, timeZone: null, recipient: null, subject: null, body: null, html: null };

/** Templates of a purpose by channel, read once for a whole event or campaign page. */
export async function templatesByChannel(tx: Tx, purpose: string, channels: MessageChannel[]) {
  return new Map(await Promise.all(channels.map(async (c) => [c, await templatesFor(tx, purpose, c)] as const)));
}

/** `customerId:channel` of these customers' transactional opt-outs. */
export async function optOutsOf(tx: Tx, customerIds: string[]) {
  const rows = await tx.select().from(transactionalOptOuts).where(sql`${transactionalOptOuts.customerId} = any(${sql.param(customerIds)}::uuid[])`);
  return new Set(rows.map((o) => `${o.customerId}:${o.channel}`));
}

/**
 * An event that a trigger binds: one message per customer it concerns and trigger conditions fit
 * (see compose). Keyed by event, customer and channel: the same event delivered again, or bound by
 * two triggers, adds nothing.
 */
export async function dispatch(tx: Tx, s: DispatchSettings, events: DomainEvent[]) {
  // A delivery's events at once: the active triggers are read once per event type, and most types have none.
  const types = [...new Set(events.map((e) => e.type))].filter((type) => purposes[type]);
  const bound = new Map(await Promise.all(types.map(async (type) => [type, await activeTriggers(tx, type)] as const)));
  for (const event of events) {
    const triggers = bound.get(event.type);
    if (triggers?.length) await dispatchBound(tx, s, event, triggers);
  }
}

async function dispatchBound(tx: Tx, s: DispatchSettings, event: DomainEvent, bound: Awaited<ReturnType<typeof activeTriggers>>) {
  const purpose = purposes[event.type]!;
  const profiles = await messagingProfiles(tx, purpose.recipients(event.payload));
  if (!profiles.length) return;
  const optedOut = await optOutsOf(tx, profiles.map((p) => p.id));
  for (const trigger of bound) {
    const templates = await templatesByChannel(tx, event.type, trigger.channels);
    const { segments, languages, plans } = trigger.conditions;
    const onPlans = plans?.length ? await customersOnPricePlans(tx, profiles.map((p) => p.id), plans) : undefined;
    const fits = profiles.filter((p) => (!segments?.length || segments.includes(p.segment))
      && (!languages?.length || languages.includes(p.preferredLanguage)) && (!onPlans || onPlans.has(p.id)));
    for (const p of fits) {
      const m = compose(p, { channels: trigger.channels, kind: trigger.kind, essential: purpose.essential, templates, values: event.payload, optedOut, operatorLanguage: s.operatorLanguage });
      const id = uuidv7();
      const values = { id, customerId: p.id, dedupeKey: `${event.id}:${p.id}:${m.channel}`, triggerId: trigger.id, eventId: event.id, eventType: event.type, kind: trigger.kind, ...m };
      // A message already made for this event, customer and channel stands, unless it was skipped and this trigger can send it (a
      // marketing trigger without consent must not shadow a transactional one).
      const { id: _, dedupeKey: __, ...replacement } = values;
      const [row] = await tx.insert(messages).values(values)
        .onConflictDoUpdate({ target: messages.dedupeKey, set: { ...emptyMessage, ...replacement, updatedAt: sql`now()` }, setWhere: sql`${messages.state} = 'skipped' and ${m.state} = 'queued'` })
        .returning({ id: messages.id, channel: messages.channel });
      if (row && m.state === 'queued') await enqueueSend(tx, row);
    }
  }
}
