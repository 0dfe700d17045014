import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { DomainEvent } from '../../platform/events/events.js';
import { conversions, messages } from './tables.js';

/**
 * A recharge or voucher redemption (`balance.credited`): each campaign that reached the customer
 * (sent or delivered) within the last `days` days counts them as converted, once a run.
 */
export async function recordConversions(tx: Tx, days: number, events: DomainEvent[]) {
  const topUps = events.flatMap((e) => {
    const p = e.payload as { customerId?: string; type?: string; amount?: { amount: number; currency: string } };
    return p.customerId && p.amount && (p.type === 'recharge' || p.type === 'voucher') ? [{ event: e, customerId: p.customerId, amount: p.amount }] : [];
  });
  if (!topUps.length) return;
  // One statement for a delivery's top-ups: most customers were reached by no campaign. (Times
  // travel as text: postgres.js serialises a timestamptz[] parameter's elements as Dates.)
  await tx.execute(sql`insert into ${conversions} (campaign_id, run, customer_id, event_id, amount, currency)
    select distinct on (m.campaign_id, 2, e.customer_id) m.campaign_id, coalesce(m.campaign_run, split_part(m.dedupe_key, ':', 3)::int), e.customer_id, e.event_id, e.amount, e.currency
    from unnest(${sql.param(topUps.map((t) => t.customerId))}::uuid[], ${sql.param(topUps.map((t) => t.event.id))}::uuid[],
      ${sql.param(topUps.map((t) => t.amount.amount))}::int[], ${sql.param(topUps.map((t) => t.amount.currency))}::text[],
      ${sql.param(topUps.map((t) => t.event.occurredAt))}::text[]::timestamptz[]) as e(customer_id, event_id, amount, currency, occurred_at)
    join ${messages} m on m.customer_id = e.customer_id and m.campaign_id is not null and m.state in ('sent', 'delivered')
      and m.sent_at > e.occurred_at - make_interval(days => ${days}) and m.sent_at <= e.occurred_at
    order by m.campaign_id, 2, e.customer_id, e.occurred_at, e.event_id -- a run's conversion is the customer's first top-up after it
    on conflict do nothing`);
}
