import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { recordParts } from './receipts.js';
import { type QuietHours, quietUntil } from './send-rules.js';
import { type MessageChannel, messageAttempts, messages } from './tables.js';

export type Outgoing = typeof messages.$inferSelect & { recipient: string; body: string };

/** A provider refused or failed to take a message; transient: worth another try. */
export class ProviderRefused extends Error {
  constructor(readonly response: string, readonly transient: boolean) { super(response); }
}

/**
 * An SMTP server, an SMSC: takes a message or throws ProviderRefused. An SMSC that took it in parts
 * names each part's id, for their delivery receipts.
 */
export interface Provider { send(m: Outgoing): Promise<{ providerMessageId: string; partIds?: string[]; response?: string }> }
export type Providers = Partial<Record<MessageChannel, Provider>>;
export interface FrequencyCaps { perDay: number; perWeek: number }
export interface DeliverySettings { maxAttempts: number; quietHours: QuietHours | null; caps: FrequencyCaps }

/** Seconds before try n + 1: 30 s, 2 min, 8 min, ... capped at 2 hours. */
export const backoffSeconds = (attempt: number) => Math.min(30 * 4 ** (attempt - 1), 7200);

/**
 * Hands one queued message to its channel's provider. It is marked `sending` first (committed), so
 * that a worker stopping mid-way leaves it `sending`, never `queued` to be sent again; it becomes
 * `sent` only once the provider accepted it. A transient refusal is tried again later with backoff;
 * a permanent one, or the last try, fails it (the dead-letter view). Marketing past the customer's
 * frequency caps is skipped. No provider configured for the channel: it waits queued (returns false).
 */
export async function sendMessage(db: Db, providers: Providers, s: DeliverySettings, id: string) {
  const [m] = await db.update(messages).set({ state: 'sending', attempts: sql`${messages.attempts} + 1`, updatedAt: sql`now()` })
    .where(and(eq(messages.id, id), inArray(messages.state, ['queued', 'held']))).returning();
  if (!m) return true;
  // Marketing waits for the customer's morning; a balance warning or an outage notice does not.
  const until = m.kind === 'marketing' ? quietUntil(new Date(), m.timeZone ?? 'UTC', s.quietHours) : null;
  if (until) {
    await db.transaction(async (tx) => {
      await tx.update(messages).set({ state: 'held', reason: `quiet_hours until ${until.toISOString()}`, attempts: sql`${messages.attempts} - 1`, nextAttemptAt: until, updatedAt: sql`now()` })
        .where(eq(messages.id, id));
      await enqueue(tx, 'campaigns.send', { messageId: id }, { jobKey: `message:${id}`, runAt: until, maxAttempts: 1 });
    });
    return true;
  }
  if (m.kind === 'marketing' && await overCap(db, m.customerId, s.caps)) {
    await db.update(messages).set({ state: 'skipped', reason: 'frequency_cap', attempts: sql`${messages.attempts} - 1`, updatedAt: sql`now()` }).where(eq(messages.id, id));
    return true;
  }
  const provider = providers[m.channel];
  if (!provider) {
    await db.update(messages).set({ state: 'queued', attempts: sql`${messages.attempts} - 1`, updatedAt: sql`now()` }).where(eq(messages.id, id));
    return false;
  }
  try {
    const accepted = await provider.send(m as Outgoing);
    await db.transaction(async (tx) => {
      await tx.update(messages).set({ state: 'sent', reason: null, providerMessageId: accepted.providerMessageId, sentAt: sql`now()`, updatedAt: sql`now()` }).where(eq(messages.id, id));
      await tx.insert(messageAttempts).values({ id: uuidv7(), messageId: id, outcome: 'accepted', response: accepted.response ?? null });
      if (accepted.partIds) await recordParts(tx, id, accepted.partIds);
    });
  } catch (err) {
    const refused = err instanceof ProviderRefused ? err : new ProviderRefused((err as Error).message, true);
    const retry = refused.transient && m.attempts < s.maxAttempts;
    await db.transaction(async (tx) => {
      await tx.insert(messageAttempts).values({ id: uuidv7(), messageId: id, outcome: refused.transient ? 'transient_error' : 'permanent_error', response: refused.response.slice(0, 1000) });
      if (retry) {
        const runAt = new Date(Date.now() + backoffSeconds(m.attempts) * 1000);
        await tx.update(messages).set({ state: 'queued', nextAttemptAt: runAt, updatedAt: sql`now()` }).where(eq(messages.id, id));
        await enqueue(tx, 'campaigns.send', { messageId: id }, { jobKey: `message:${id}`, runAt, maxAttempts: 1 });
      } else {
        const reason = refused.transient ? `Gave up after ${m.attempts} attempts: ${refused.response}` : `Refused: ${refused.response}`;
        await tx.update(messages).set({ state: 'failed', reason: reason.slice(0, 1000), failedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(messages.id, id));
      }
    });
  }
  return true;
}

/** Whether the customer had as much marketing as the caps allow, in the last day or week. */
async function overCap(db: Db, customerId: string, caps: FrequencyCaps) {
  const [n] = await db.execute<{ day: number; week: number }>(sql`
    select count(*) filter (where sent_at > now() - interval '1 day')::int as day, count(*)::int as week
    from ${messages} where customer_id = ${customerId} and kind = 'marketing' and sent_at > now() - interval '7 days'`);
  return n!.day >= caps.perDay || n!.week >= caps.perWeek;
}

/**
 * A message left `sending` for ten minutes: its worker stopped between handing it over and hearing
 * back. Whether the provider took it is unknown, so it is not sent again by itself: it fails with
 * that reason, for staff to look at and re-drive if it never arrived.
 */
export async function failStranded(db: Db) {
  const stranded = await db.update(messages).set({ state: 'failed', reason: 'Outcome unknown: the worker stopped while handing it to the provider', failedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(messages.state, 'sending'), lt(messages.updatedAt, sql`now() - interval '10 minutes'`))).returning({ id: messages.id });
  return stranded.length;
}
