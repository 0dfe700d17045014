import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { type MessageChannel, sendRates } from './tables.js';

/** Messages per second at most, over all workers: per provider (channel), and for all campaigns together. Null: no limit. */
export interface SendRates { sms: number | null; email: number | null; campaigns: number | null }

/** After a quiet spell, a second's worth of messages may go at once. */
const BURST_SECONDS = 1;

/** The limits a message counts against: its provider's, and the campaigns' when it is one's. */
export function limitsOf(m: { channel: MessageChannel; campaignId: string | null }, rates: SendRates) {
  const limits: { name: string; perSecond: number }[] = [];
  if (rates[m.channel]) limits.push({ name: m.channel, perSecond: rates[m.channel]! });
  if (m.campaignId && rates.campaigns) limits.push({ name: 'campaigns', perSecond: rates.campaigns });
  return limits;
}

/**
 * Reserves the message's turn under each limit and waits for it (GCRA, one statement whatever
 * the number of workers): each limit's theoretical arrival time moves on by one spacing, and the
 * message may go once that time, less the spacing and the burst, has come. A turn always comes:
 * the wait is at most the messages being sent at once over the rate, so no message is held by it.
 */
export async function awaitTurn(db: Db, limits: { name: string; perSecond: number }[]) {
  if (!limits.length) return;
  const [turn] = await db.execute<{ waitMs: number }>(sql`
    with turns as (
      insert into ${sendRates} as r (name, spacing, tat)
      select name, make_interval(secs => 1.0 / per_second), clock_timestamp() + make_interval(secs => 1.0 / per_second)
        from unnest(${sql.param(limits.map((l) => l.name))}::text[], ${sql.param(limits.map((l) => l.perSecond))}::float8[]) as l(name, per_second)
        order by name
      on conflict (name) do update set spacing = excluded.spacing, tat = greatest(r.tat, clock_timestamp()) + excluded.spacing
      returning extract(epoch from r.tat - r.spacing - clock_timestamp()) - ${BURST_SECONDS} as wait)
    select (greatest(0, max(wait)) * 1000)::float8 as "waitMs" from turns`);
  if (turn!.waitMs > 0) await new Promise((r) => setTimeout(r, turn!.waitMs));
}
