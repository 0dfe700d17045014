import { type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { addressInAreas, lowered } from './areas.js';
import { segments } from './schemas.js';
import { addresses, billingAccounts, consents, contactPoints, customers } from './tables.js';

/** What messaging needs to reach a customer: where, in which language and time zone, and what they consented to. */
export type MessagingProfile = {
  id: string; name: string; status: string; segment: string; preferredLanguage: string; timeZone: string;
  /** The primary phone (E.164), else the oldest; null when there is none. */
  phone: string | null;
  email: string | null;
  /** Marketing consent per channel as last recorded; absent: never asked (no consent). */
  consents: Partial<Record<'sms' | 'email' | 'push', boolean>>;
};

/** Who a campaign is for, over the customer core; each filter left out: anyone. Only active customers are ever in a segment. */
export interface SegmentFilter {
  segments?: (typeof segments)[number][];
  /** Preferred languages (a primary tag matches its regional forms: "pt" takes "pt-BR"). */
  languages?: string[];
  /** Regions of a home, installation or billing address (case ignored). */
  regions?: string[];
  /** Has given marketing consent on this channel. */
  consent?: 'sms' | 'email';
  /** Has an open account of this type. */
  accountType?: 'prepaid' | 'postpaid';
}

// An address mail bounced from for good is passed over: the next one, or none (the message is skipped, no_contact).
const point = (kind: 'phone' | 'email') => sql`(select p.value from ${contactPoints} p where p.customer_id = c.id and p.kind = ${kind}
  and p.undeliverable_since is null order by p.is_primary desc, p.created_at, p.id limit 1)`;
// The name as `displayName` gives it: an individual with a company name on file is still addressed by their own.
const profile = sql`c.id, case when c.type = 'business' then coalesce(c.company_name, '')
    else concat_ws(' ', nullif(c.given_name, ''), nullif(c.family_name, '')) end as name, c.status,
  c.segment, c.preferred_language as "preferredLanguage", c.time_zone as "timeZone", ${point('phone')} as phone, ${point('email')} as email,
  coalesce((select jsonb_object_agg(k.channel, k.granted) from ${consents} k where k.customer_id = c.id), '{}'::jsonb) as consents`;

/** The profiles of these customers (erased and unknown ones are left out). */
export async function messagingProfiles(db: Tx, ids: string[]): Promise<MessagingProfile[]> {
  if (!ids.length) return [];
  return db.execute<MessagingProfile>(sql`select ${profile} from ${customers} c where c.id = any(${sql.param(ids)}::uuid[]) and c.status <> 'erased'`);
}

/** A condition on a customer's id that another module supplies over its own tables (price plans, for one). */
export type CustomerCondition = (customerId: SQL) => SQL;

function segmentWhere(f: SegmentFilter, also: CustomerCondition[]): SQL {
  return sql.join([
    sql`c.status = 'active'`,
    f.segments?.length ? sql`c.segment = any(${sql.param(f.segments)}::text[])` : undefined,
    f.languages?.length ? sql`(lower(c.preferred_language) = any(${lowered(f.languages)}::text[]) or lower(split_part(c.preferred_language, '-', 1)) = any(${lowered(f.languages)}::text[]))` : undefined,
    f.regions?.length ? sql`exists (select 1 from ${addresses} ad where ad.customer_id = c.id and ${addressInAreas({ regions: f.regions })})` : undefined,
    f.consent ? sql`exists (select 1 from ${consents} k where k.customer_id = c.id and k.channel = ${f.consent} and k.granted)` : undefined,
    f.accountType ? sql`exists (select 1 from ${billingAccounts} a where a.customer_id = c.id and a.type = ${f.accountType} and a.status = 'active')` : undefined,
    ...also.map((condition) => condition(sql`c.id`)),
  ].filter((w): w is SQL => w !== undefined), sql` and `);
}

/** How many customers a segment holds now. */
export async function segmentSize(db: Tx, f: SegmentFilter, also: CustomerCondition[] = []) {
  const [row] = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${customers} c where ${segmentWhere(f, also)}`);
  return row!.n;
}

/** The segment's members after a customer id, in id order: a fan-out walks it a page at a time. */
export async function segmentPage(db: Tx, f: SegmentFilter, after: string | null, limit: number, also: CustomerCondition[] = []): Promise<MessagingProfile[]> {
  return db.execute<MessagingProfile>(sql`select ${profile} from ${customers} c
    where ${segmentWhere(f, also)}${after ? sql` and c.id > ${after}` : sql``} order by c.id limit ${limit}`);
}
