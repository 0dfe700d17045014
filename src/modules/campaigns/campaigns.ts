import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { enqueueSender } from './delivery.js';
import { enqueueFanOut } from './fan-out.js';
import { segmentSize } from '../customers/index.js';
import { type CampaignSegment, conditionsOf, requireKnownPlans } from './audience.js';
import { requireChannels } from './channels.js';
import { campaignErrors } from './errors.js';
import { campaigns, conversions, messages } from './tables.js';

type Campaign = typeof campaigns.$inferSelect;
export interface CampaignInput { code: string; name: string; channels: string[]; segment: CampaignSegment; kind?: Campaign['kind']; repeatEveryDays?: number | null }

export async function createCampaign(db: Db, ctx: Ctx, input: CampaignInput) {
  const channels = requireChannels(input.channels);
  // A transactional campaign passes consent, quiet hours and caps: not the marketers' to send.
  if (input.kind === 'transactional' && !(ctx.principal.kind === 'staff' && ctx.principal.role === 'admin')) throw campaignErrors.transactional_needs_admin();
  return db.transaction(async (tx) => {
    await requireKnownPlans(tx, input.segment.plans);
    const [row] = await tx.insert(campaigns).values({
      id: uuidv7(), code: input.code, name: input.name, kind: input.kind ?? 'marketing', channels, segment: { ...input.segment }, repeatEveryDays: input.repeatEveryDays ?? null, createdBy: actorOf(ctx),
    }).onConflictDoNothing().returning();
    if (!row) throw campaignErrors.campaign_exists();
    await audit(tx, ctx, { action: 'campaign.created', entityType: 'campaign', entityId: row.id, details: { code: input.code, segment: input.segment } });
    return row;
  });
}

export async function getCampaign(db: Db, id: string) {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  if (!row) throw campaignErrors.campaign_not_found();
  return row;
}

export const listCampaigns = (db: Db) => db.select().from(campaigns).orderBy(desc(campaigns.id)).limit(200);

/** How many customers the campaign's segment holds now (the message count also depends on consent and contacts at send time). */
export async function audience(db: Db, id: string) {
  const c = await getCampaign(db, id);
  return { campaignId: id, customers: await segmentSize(db, c.segment, conditionsOf(c.segment)) };
}

// A completed campaign may still be sending (completed: every message is made): it can be paused or cancelled until the last is out.
const MOVES: Record<'start' | 'pause' | 'resume' | 'cancel', { from: Campaign['status'][]; to: Campaign['status'] }> = {
  start: { from: ['draft'], to: 'scheduled' },
  pause: { from: ['scheduled', 'running', 'completed'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['draft', 'scheduled', 'running', 'paused', 'completed'], to: 'cancelled' },
};

/**
 * The marketer's controls: start (now or at a time), pause (the fan-out and sending stop where
 * they are), resume (they go on from there; one paused before its time waits for it again),
 * cancel (what was not sent is skipped).
 */
export async function control(db: Db, ctx: Ctx, id: string, action: keyof typeof MOVES, at?: Date) {
  const move = MOVES[action];
  return db.transaction(async (tx) => {
    const [row] = await tx.update(campaigns).set({
      status: action === 'resume' ? sql`case when ${campaigns.scheduledAt} > now() then 'scheduled' else 'running' end` : move.to, updatedAt: sql`now()`, ...(action === 'start' ? { scheduledAt: at ?? sql`now()` } : {}), ...(action === 'cancel' ? { finishedAt: sql`now()` } : {}),
    }).where(and(eq(campaigns.id, id), inArray(campaigns.status, move.from))).returning();
    if (!row) {
      const known = await getCampaign(tx as Db, id);
      throw campaignErrors.campaign_state(`A ${known.status} campaign cannot ${action}`);
    }
    if (action === 'start') await enqueueFanOut(tx, id, at);
    if (action === 'resume') {
      const runAt = row.scheduledAt && row.scheduledAt > new Date() ? row.scheduledAt : undefined;
      await enqueueFanOut(tx, id, runAt);
      await enqueueSender(tx, id, row.channels);
    }
    if (action === 'cancel') {
      await tx.update(messages).set({ state: 'skipped', reason: 'campaign_cancelled', updatedAt: sql`now()` })
        .where(and(eq(messages.campaignId, id), inArray(messages.state, ['queued', 'held'])));
    }
    await audit(tx, ctx, { action: `campaign.${action}`, entityType: 'campaign', entityId: id, details: at ? { at: at.toISOString() } : undefined });
    return row;
  });
}

/**
 * Where a campaign's messages are: per state, channel and language; of one run, or of every run
 * so far (then `targeted` is the current run's).
 */
export async function campaignStats(db: Db, id: string, run?: number) {
  const c = await getCampaign(db, id);
  const ofRun = run === undefined ? sql`` : sql` and campaign_run = ${run}`;
  const rows = await db.execute<{ state: string; channel: string; language: string | null; reason: string | null; n: number }>(sql`
    select state, channel, language, case when state in ('skipped', 'held') then split_part(reason, ' ', 1) end as reason, count(*)::int as n
    from ${messages} where campaign_id = ${id}${ofRun} group by 1, 2, 3, 4 order by 1, 2, 3, 4`);
  const total = (pred: (r: (typeof rows)[number]) => boolean) => rows.filter(pred).reduce((n, r) => n + r.n, 0);
  const [converted] = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${conversions} where campaign_id = ${id}${run === undefined ? sql`` : sql` and run = ${run}`}`);
  const sent = total((r) => ['sent', 'delivered'].includes(r.state));
  return {
    campaignId: id, status: c.status, run: run ?? c.run, targeted: run === undefined || run === c.run ? c.targeted : total(() => true),
    queued: total((r) => r.state === 'queued' || r.state === 'sending'), held: total((r) => r.state === 'held'), sent,
    delivered: total((r) => r.state === 'delivered'), failed: total((r) => r.state === 'failed' || r.state === 'expired'), skipped: total((r) => r.state === 'skipped'),
    optedOut: total((r) => r.state === 'skipped' && r.reason === 'no_consent'),
    conversions: converted!.n, conversionRate: sent ? converted!.n / sent : null,
    breakdown: rows,
  };
}
