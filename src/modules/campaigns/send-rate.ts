import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { smsPlan } from './sms-encoding.js';
import { type MessageChannel, sendRates } from './tables.js';

/** Messages per second at most, over all workers: per provider (channel), and for all campaigns together. Null: no limit. */
export interface SendRates { sms: number | null; email: number | null; campaigns: number | null }

/** A limit a message counts against, and the seconds of it the message takes (an SMS in three parts is three submits). */
export interface Turn { name: string; seconds: number }

/** The limits a message counts against: its provider's (per SMS part), and the campaigns' (per message) when it is one's. */
export function turnsOf(m: { channel: MessageChannel; campaignId: string | null; body: string | null }, rates: SendRates): Turn[] {
  const turns: Turn[] = [];
  const parts = m.channel === 'sms' && m.body ? smsPlan(m.body).parts : 1;
  if (rates[m.channel]) turns.push({ name: m.channel, seconds: parts / rates[m.channel]! });
  if (m.campaignId && rates.campaigns) turns.push({ name: 'campaigns', seconds: 1 / rates.campaigns });
  return turns;
}

/**
 * Waits for the message's turn under each of its limits, in one statement whatever the number of
 * workers: `tat` is when a limit is next free; the message goes at the latest of its limits' (or
 * now), and each moves on from there by the message's share of it. No burst: in any second at
 * most the rate goes (plus the one that opened it). A turn always comes; the wait is at most the
 * messages being sent at once over the rate, so no message is held for it.
 */
export async function awaitTurn(db: Db, turns: Turn[]) {
  if (!turns.length) return;
  const names = sql.param(turns.map((t) => t.name));
  const take = () => db.execute<{ waitMs: number }>(sql`
    with l as (select * from unnest(${names}::text[], ${sql.param(turns.map((t) => t.seconds))}::float8[]) as l(name, seconds)),
    cur as (select r.name, r.tat from ${sendRates} r join l using (name) order by r.name for update of r),
    go as (select greatest(clock_timestamp(), max(tat)) as at from cur)
    update ${sendRates} r set spacing = make_interval(secs => l.seconds), tat = go.at + make_interval(secs => l.seconds)
    from l, go where r.name = l.name
    returning (extract(epoch from go.at - clock_timestamp()) * 1000)::float8 as "waitMs"`);
  let taken = await take();
  if (taken.length < turns.length) {
    // A limit's first use: its row, then the turn.
    await db.execute(sql`insert into ${sendRates} (name, spacing, tat) select name, interval '0', clock_timestamp() from unnest(${names}::text[]) as name on conflict do nothing`);
    taken = await take();
  }
  const waitMs = Math.max(0, ...taken.map((t) => t.waitMs));
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
}
