import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { DomainEvent } from '../../platform/events/events.js';
import { conversions, messages } from './tables.js';

/**
 * A recharge or voucher redemption (`balance.credited`): each campaign that reached the customer
 * (sent or delivered) within the last `days` days counts them as converted, once a run.
 */
export async function recordConversion(tx: Tx, days: number, event: DomainEvent) {
  const p = event.payload as { customerId?: string; type?: string; amount?: { amount: number; currency: string } };
  if (!p.customerId || !p.amount || (p.type !== 'recharge' && p.type !== 'voucher')) return;
  await tx.execute(sql`insert into ${conversions} (campaign_id, run, customer_id, event_id, amount, currency)
    select distinct m.campaign_id, coalesce(m.campaign_run, split_part(m.dedupe_key, ':', 3)::int), ${p.customerId}::uuid, ${event.id}::uuid, ${p.amount.amount}::int, ${p.amount.currency}
    from ${messages} m where m.customer_id = ${p.customerId} and m.campaign_id is not null and m.state in ('sent', 'delivered')
      and m.sent_at > ${event.occurredAt}::timestamptz - make_interval(days => ${days}) and m.sent_at <= ${event.occurredAt}::timestamptz
    on conflict do nothing`);
}
