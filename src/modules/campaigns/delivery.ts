import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { emailUndeliverable, messagingProfiles } from '../customers/index.js';
import { recordParts } from './receipts.js';
import { awaitTurn, type SendRates, turnsOf } from './send-rate.js';
import { type QuietHours, quietUntil } from './send-rules.js';
import { campaigns, type MessageChannel, messageAttempts, messageParts, messages } from './tables.js';

/** A message for a provider; an SMS taken in part on an earlier try names the parts' ids, in order. */
export type Outgoing = typeof messages.$inferSelect & { recipient: string; body: string; partsAccepted: string[] };

/**
 * A provider refused or failed to take a message; transient: worth another try. An SMSC that took
 * the first parts of an SMS before refusing one names them and the reference they went under.
 */
export class ProviderRefused extends Error {
  constructor(readonly response: string, readonly transient: boolean, readonly accepted?: { partIds: string[]; reference: number }) { super(response); }
}

/**
 * An SMTP server, an SMSC: takes a message or throws ProviderRefused. An SMSC that took it in parts
 * names each part's id, for their delivery receipts.
 */
export interface Provider { send(m: Outgoing): Promise<{ providerMessageId: string; partIds?: string[]; response?: string }> }
export type Providers = Partial<Record<MessageChannel, Provider>>;
export interface FrequencyCaps { perDay: number; perWeek: number }
export interface DeliverySettings { maxAttempts: number; quietHours: QuietHours | null; caps: FrequencyCaps; rates: SendRates }

/**
 * A channel's jobs have tasks of their own, which only a process with that channel's provider
 * takes: an SMSC may allow few binds per system id, so that SMPP_URL is set on some processes only,
 * and the others leave SMS alone rather than pick it up and put it back.
 */
export const sendTask = (channel: MessageChannel) => `campaigns.send.${channel}`;
export const senderTask = (channel: MessageChannel) => `campaigns.send_campaign.${channel}`;

/** The job that sends one message (again), now or at a time; its key keeps one per message. */
export const enqueueSend = (tx: Tx, m: { id: string; channel: MessageChannel }, runAt?: Date) =>
  enqueue(tx, sendTask(m.channel), { messageId: m.id }, { jobKey: `message:${m.id}`, runAt, maxAttempts: 5 });

/**
 * One sender per campaign and channel at a time (its own job queue): asked again while it runs, it
 * runs once more after, not beside.
 */
export async function enqueueSender(tx: Tx, campaignId: string, channels: readonly MessageChannel[]) {
  for (const channel of channels) {
    await enqueue(tx, senderTask(channel), { campaignId }, { jobKey: `campaign-send:${campaignId}:${channel}`, queueName: `campaign:${campaignId}:${channel}`, maxAttempts: 25 });
  }
}

/** Seconds before try n + 1: 30 s, 2 min, 8 min, ... capped at 2 hours. */
export const backoffSeconds = (attempt: number) => Math.min(30 * 4 ** (attempt - 1), 7200);

/** Puts a claimed message back, uncounted, with why it waits or was let go. */
const putBack = (db: Db, id: string, set: Partial<typeof messages.$inferInsert>) =>
  db.update(messages).set({ ...set, attempts: sql`${messages.attempts} - 1`, updatedAt: sql`now()` }).where(and(eq(messages.id, id), eq(messages.state, 'sending')));

/**
 * Hands one queued message to its channel's provider. It is marked `sending` first (committed), so
 * that a worker stopping mid-way leaves it `sending`, never `queued` to be sent again; it becomes
 * `sent` only once the provider accepted it, and a failure to record that leaves it `sending` (see
 * failStranded) rather than sending it again. A transient refusal is tried again later with
 * backoff; a permanent one, or the last try, fails it (the dead-letter view). Marketing is checked
 * again at the last moment: the customer's consent now (a STOP since it was queued), quiet hours,
 * frequency caps, and its campaign not paused or cancelled. Only a process with the channel's
 * provider takes its job (`sendTask`). It waits for its turn under the send-rate
 * limits before it is claimed, so that a worker stopping while it waits leaves it queued; quiet
 * hours are looked at before, so that what is held takes no turn.
 */
export async function sendMessage(db: Db, providers: Providers, s: DeliverySettings, id: string) {
  const waiting = and(eq(messages.id, id), inArray(messages.state, ['queued', 'held']));
  const [due] = await db.select({ channel: messages.channel, campaignId: messages.campaignId, kind: messages.kind, timeZone: messages.timeZone, body: messages.body })
    .from(messages).where(waiting);
  if (!due) return true;
  const provider = providers[due.channel];
  if (!provider) return false;
  // Marketing waits for the customer's morning; a balance warning or an outage notice does not.
  const until = due.kind === 'marketing' ? quietUntil(new Date(), due.timeZone ?? 'UTC', s.quietHours) : null;
  if (until) {
    await db.transaction(async (tx) => {
      const [held] = await tx.update(messages).set({ state: 'held', reason: `quiet_hours until ${until.toISOString()}`, nextAttemptAt: until, updatedAt: sql`now()` })
        .where(waiting).returning({ id: messages.id });
      if (held) await enqueueSend(tx, { id, channel: due.channel }, until);
    });
    return true;
  }
  await awaitTurn(db, turnsOf(due, s.rates));
  const [m] = await db.update(messages).set({ state: 'sending', attempts: sql`${messages.attempts} + 1`, updatedAt: sql`now()` }).where(waiting).returning();
  if (!m) return true;
  if (m.campaignId) {
    const [c] = await db.select({ status: campaigns.status }).from(campaigns).where(eq(campaigns.id, m.campaignId));
    if (c?.status === 'cancelled') return (await putBack(db, id, { state: 'skipped', reason: 'campaign_cancelled' }), true);
    if (c?.status === 'paused') return (await putBack(db, id, { state: 'queued' }), true);
  }
  if (m.kind === 'marketing') {
    const [profile] = await messagingProfiles(db, [m.customerId]);
    if (profile?.consents[m.channel] !== true) return (await putBack(db, id, { state: 'skipped', reason: profile ? 'no_consent' : 'customer_gone' }), true);
    if (await skippedOverCap(db, m, s.caps)) return true;
  }
  // Made before its address bounced for good (a campaign fanned out, a retry): it does not go there.
  if (m.channel === 'email' && m.recipient && await emailUndeliverable(db, m.customerId, m.recipient)) {
    return (await putBack(db, id, { state: 'skipped', reason: 'undeliverable' }), true);
  }
  // An SMS the SMSC took in part: the rest goes, unless a part taken has failed already (the text can no longer arrive whole).
  const taken = m.smsReference === null ? [] : await db.select({ id: messageParts.providerMessageId, state: messageParts.state, receipt: messageParts.receipt })
    .from(messageParts).where(eq(messageParts.messageId, id)).orderBy(messageParts.part);
  const lost = taken.find((p) => p.state === 'failed' || p.state === 'expired');
  if (lost) return (await putBack(db, id, { state: lost.state as 'failed' | 'expired', reason: `Receipt: ${lost.receipt}`.slice(0, 1000), failedAt: new Date() }), true);
  let accepted;
  try {
    accepted = await provider.send({ ...m, partsAccepted: taken.map((p) => p.id) } as Outgoing);
  } catch (err) {
    await refused(db, s, m, err instanceof ProviderRefused ? err : new ProviderRefused((err as Error).message, true));
    return true;
  }
  await db.transaction(async (tx) => {
    await tx.update(messages).set({ state: 'sent', reason: null, nextAttemptAt: null, providerMessageId: accepted.providerMessageId, sentAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(messages.id, id), eq(messages.state, 'sending')));
    await tx.insert(messageAttempts).values({ id: uuidv7(), messageId: id, outcome: 'accepted', response: accepted.response ?? null });
    if (accepted.partIds) await recordParts(tx, id, accepted.partIds);
  });
  return true;
}

async function refused(db: Db, s: DeliverySettings, m: typeof messages.$inferSelect, r: ProviderRefused) {
  const retry = r.transient && m.attempts < s.maxAttempts;
  await db.transaction(async (tx) => {
    await tx.insert(messageAttempts).values({ id: uuidv7(), messageId: m.id, outcome: r.transient ? 'transient_error' : 'permanent_error', response: r.response.slice(0, 1000) });
    const sending = and(eq(messages.id, m.id), eq(messages.state, 'sending'));
    // The parts the SMSC took, and the reference they went under, for the retry (or the receipts).
    if (r.accepted?.partIds.length) await recordParts(tx, m.id, r.accepted.partIds);
    const taken = r.accepted?.partIds.length ? { smsReference: r.accepted.reference } : {};
    if (retry) {
      const runAt = new Date(Date.now() + backoffSeconds(m.attempts) * 1000);
      await tx.update(messages).set({ ...taken, state: 'queued', nextAttemptAt: runAt, updatedAt: sql`now()` }).where(sending);
      await enqueueSend(tx, m, runAt);
    } else {
      const reason = r.transient ? `Gave up after ${m.attempts} attempts: ${r.response}` : `Refused: ${r.response}`;
      await tx.update(messages).set({ ...taken, state: 'failed', reason: reason.slice(0, 1000), failedAt: sql`now()`, updatedAt: sql`now()` }).where(sending);
    }
  });
}

/** The customer's marketing in the last day and week: sent, or being sent by other workers now. */
async function marketingCount(tx: Tx, m: typeof messages.$inferSelect) {
  const [n] = await tx.execute<{ day: number; week: number }>(sql`
    select (s.day + b.n)::int as day, (s.week + b.n)::int as week
    from (select count(*) filter (where sent_at > now() - interval '1 day') as day, count(*) as week from ${messages}
          where customer_id = ${m.customerId} and kind = 'marketing' and sent_at > now() - interval '7 days') s,
         (select count(*) as n from ${messages} where customer_id = ${m.customerId} and kind = 'marketing' and state = 'sending' and id <> ${m.id}) b`);
  return n!;
}

/**
 * Skips the marketing message when the customer had as much as the caps allow in the last day or
 * week, counting what other workers are sending them right now. Every message is claimed
 * (`sending`, committed) before it counts, so of two sent at once the later to count sees the
 * other: the caps hold however many workers send. Only at the limit, where both could see each
 * other and both be skipped, is it looked at again under a lock on the customer, the skip written
 * before the lock goes, so that one of them goes.
 */
async function skippedOverCap(db: Db, m: typeof messages.$inferSelect, caps: FrequencyCaps) {
  const under = (n: { day: number; week: number }) => n.day < caps.perDay && n.week < caps.perWeek;
  if (under(await marketingCount(db, m))) return false;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`marketing-cap:${m.customerId}`}))`);
    if (under(await marketingCount(tx, m))) return false;
    await putBack(tx as unknown as Db, m.id, { state: 'skipped', reason: 'frequency_cap' });
    return true;
  });
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

/** A job of the task every channel once shared: given again under its message's channel's task. */
export async function requeueSend(db: Db, messageId: string) {
  const [m] = await db.select({ id: messages.id, channel: messages.channel }).from(messages).where(eq(messages.id, messageId));
  if (m) await enqueueSend(db, m);
}

/** Likewise a campaign's sender: one per channel of the campaign. */
export async function requeueSender(db: Db, campaignId: string) {
  const [c] = await db.select({ channels: campaigns.channels }).from(campaigns).where(eq(campaigns.id, campaignId));
  if (c) await enqueueSender(db, campaignId, c.channels);
}

/**
 * Queued or held messages whose time has come but that no job is bringing (a job that failed, a
 * provider configured since): each gets its job again, but a campaign's queued ones, which its
 * sender takes: the campaign (between runs too) gets its sender again (one at a time per campaign:
 * a sender still at work is followed by this one, which finds little left).
 */
export async function requeueWaiting(db: Db) {
  await db.execute(sql`select graphile_worker.add_job('campaigns.send.' || channel, json_build_object('messageId', id), job_key => 'message:' || id, max_attempts => 5)
    from (select id, channel from ${messages} where state in ('queued', 'held') and (campaign_id is null or state = 'held')
      and coalesce(next_attempt_at, updated_at) < now() - interval '5 minutes' order by id limit 1000) as due`);
  const stalled = await db.execute<{ id: string; channel: MessageChannel }>(sql`select c.id, m.channel from ${campaigns} c
    join lateral (select distinct m.channel from ${messages} m where m.campaign_id = c.id and m.state = 'queued'
      and coalesce(m.next_attempt_at, m.updated_at) < now() - interval '5 minutes') m on true
    where c.status in ('scheduled', 'running', 'completed')`);
  for (const c of stalled) await enqueueSender(db, c.id, [c.channel]);
}
