import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { segmentPage } from '../customers/index.js';
import { conditionsOf } from './audience.js';
import { compose } from './compose.js';
import { type DeliverySettings, enqueueSender, type Providers, sendMessage } from './delivery.js';
import { type DispatchSettings, optOutsOf, templatesByChannel } from './dispatch.js';
import { campaignPurpose } from './purposes.js';
import { campaigns, type MessageChannel, messages } from './tables.js';

/** The campaign's fan-out job, now or at its time: one per campaign waiting (its key). */
export const enqueueFanOut = (tx: Tx, campaignId: string, runAt?: Date) =>
  enqueue(tx, 'campaigns.fan_out', { campaignId }, { jobKey: `fan-out:${campaignId}`, runAt, maxAttempts: 25 });

/** Customers a fan-out page takes: one statement to read them, one to write their messages. */
const PAGE = 10_000;

/**
 * Walks the campaign's segment a page at a time, each page written in one transaction with the
 * cursor: a message per customer (queued, or skipped with the reason), keyed by campaign, run and
 * customer, so a page done twice adds nothing. The next page is read while this one is written
 * (reading ahead is harmless: only the write moves the cursor). A pause, or another fan-out of the
 * same campaign having moved the cursor, stops it between pages; at the end the run is completed,
 * or the next run of a recurring campaign is scheduled.
 */
export async function fanOut(db: Db, s: DispatchSettings, campaignId: string) {
  const [c] = await db.update(campaigns).set({ status: 'running', startedAt: sql`coalesce(${campaigns.startedAt}, now())`, updatedAt: sql`now()` })
    .where(and(eq(campaigns.id, campaignId), inArray(campaigns.status, ['scheduled', 'running']))).returning();
  if (!c) return;
  const filter = c.segment;
  const also = conditionsOf(filter);
  const templates = await templatesByChannel(db, campaignPurpose(c.code), c.channels);
  let cursor = c.cursor;
  let page = await segmentPage(db, filter, cursor, PAGE, also);
  for (;;) {
    const ahead = page.length ? segmentPage(db, filter, page.at(-1)!.id, PAGE, also) : undefined;
    const goOn = await db.transaction(async (tx) => {
      const [now] = await tx.select().from(campaigns).where(eq(campaigns.id, campaignId)).for('update');
      if (!now || now.status !== 'running' || now.run !== c.run || now.cursor !== cursor) return false;
      if (!page.length) {
        await finishRun(tx as unknown as Db, now);
        return false;
      }
      const optedOut = c.kind === 'transactional' ? await optOutsOf(tx, page.map((p) => p.id)) : new Set<string>();
      const rows = page.map((p) => ({
        id: uuidv7(), customerId: p.id, dedupeKey: `campaign:${c.id}:${c.run}:${p.id}`, campaignId: c.id, campaignRun: c.run, kind: c.kind,
        ...compose(p, { channels: c.channels, kind: c.kind, essential: false, templates, values: {}, optedOut, operatorLanguage: s.operatorLanguage }),
      }));
      // One statement for the page: the rows travel as one JSON parameter.
      await tx.execute(sql`insert into ${messages} (id, customer_id, dedupe_key, campaign_id, campaign_run, kind, channel, state, reason, language, time_zone, recipient, subject, body, html)
        select r.id, r."customerId", r."dedupeKey", r."campaignId", r."campaignRun", r.kind, r.channel, r.state, r.reason, r.language, r."timeZone", r.recipient, r.subject, r.body, r.html
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id uuid, "customerId" uuid, "dedupeKey" text, "campaignId" uuid, "campaignRun" int, kind text, channel text, state text, reason text,
          language text, "timeZone" text, recipient text, subject text, body text, html text)
        on conflict (dedupe_key) do nothing`);
      cursor = page.at(-1)!.id;
      await tx.update(campaigns).set({ cursor, targeted: sql`${campaigns.targeted} + ${page.length}`, updatedAt: sql`now()` }).where(eq(campaigns.id, c.id));
      await enqueueSender(tx, c.id, c.channels);
      return true;
    });
    if (!goOn) {
      await ahead?.catch(() => {});
      return;
    }
    page = await ahead!;
  }
}

async function finishRun(tx: Db, c: typeof campaigns.$inferSelect) {
  if (!c.repeatEveryDays) {
    await tx.update(campaigns).set({ status: 'completed', finishedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(campaigns.id, c.id));
    return;
  }
  const next = new Date((c.scheduledAt ?? new Date()).getTime() + c.repeatEveryDays * 86_400_000);
  await tx.update(campaigns).set({ status: 'scheduled', run: c.run + 1, cursor: null, targeted: 0, scheduledAt: next, updatedAt: sql`now()` }).where(eq(campaigns.id, c.id));
  await enqueueFanOut(tx, c.id, next);
}

/**
 * Sends a campaign's queued messages, a slice at a time, a few at once (each waits for its turn
 * under the send-rate limits); stops while the campaign is paused or cancelled (resume fans out,
 * which sends on).
 */
export async function sendCampaign(db: Db, providers: Providers, s: DeliverySettings & { concurrency: number }, campaignId: string, channel: MessageChannel) {
  if (!providers[channel]) return; // nothing to send with: the messages wait queued
  for (;;) {
    const [c] = await db.select({ status: campaigns.status }).from(campaigns).where(eq(campaigns.id, campaignId));
    if (!c || c.status === 'paused' || c.status === 'cancelled') return;
    const slice = await db.select({ id: messages.id }).from(messages)
      .where(and(eq(messages.campaignId, campaignId), eq(messages.state, 'queued'), eq(messages.channel, channel),
        sql`(${messages.nextAttemptAt} is null or ${messages.nextAttemptAt} <= now())`)).orderBy(asc(messages.id)).limit(200);
    if (!slice.length) return;
    let next = 0;
    await Promise.all(Array.from({ length: s.concurrency }, async () => {
      while (next < slice.length) await sendMessage(db, providers, s, slice[next++]!.id);
    }));
  }
}
