import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { consents, contactPoints, customers } from './tables.js';

/** What messaging needs to reach a customer: where, in which language and time zone, and what they consented to. */
export type MessagingProfile = {
  id: string; name: string; status: string; segment: string; preferredLanguage: string; timeZone: string;
  /** The primary phone (E.164), else the oldest; null when there is none. */
  phone: string | null;
  email: string | null;
  /** Marketing consent per channel as last recorded; absent: never asked (no consent). */
  consents: Partial<Record<'sms' | 'email' | 'push', boolean>>;
};

/** The profiles of these customers (erased and unknown ones are left out). */
export async function messagingProfiles(db: Tx, ids: string[]): Promise<MessagingProfile[]> {
  if (!ids.length) return [];
  const point = (kind: 'phone' | 'email') => sql`(select p.value from ${contactPoints} p where p.customer_id = c.id and p.kind = ${kind}
    order by p.is_primary desc, p.created_at, p.id limit 1)`;
  return db.execute<MessagingProfile>(sql`
    select c.id, coalesce(c.company_name, trim(coalesce(c.given_name, '') || ' ' || coalesce(c.family_name, ''))) as name, c.status, c.segment, c.preferred_language as "preferredLanguage", c.time_zone as "timeZone",
      ${point('phone')} as phone, ${point('email')} as email,
      coalesce((select jsonb_object_agg(k.channel, k.granted) from ${consents} k where k.customer_id = c.id), '{}'::jsonb) as consents
    from ${customers} c where c.id = any(${sql.param(ids)}::uuid[]) and c.status <> 'erased'`);
}
