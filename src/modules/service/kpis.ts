import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';

export const kpiGroups = ['agent', 'queue', 'category', 'channel', 'none'] as const;
export type KpiGroup = (typeof kpiGroups)[number];

export interface KpiRow {
  key: string | null;
  handledContacts: number; averageHandlingSeconds: number | null; firstContactResolutionRate: number | null;
  csatResponses: number; csatAverage: number | null; csatSatisfiedRate: number | null;
  slaCompliance: number | null; resolvedTickets: number; reopenRate: number | null; backlog: number;
}

/** A customer's next inbound contact within this many days means the first one did not resolve it. */
export const repeatContactDays = 7;

// What the key is, per source: i = interaction, s = survey, t = ticket (of the interaction or survey). Constants only: safe for sql.raw.
const keys: Record<KpiGroup, { contact: string; survey: string; ticket: string }> = {
  agent: { contact: 'i.agent_id', survey: 's.agent_id', ticket: 't.assignee_id' },
  queue: { contact: 't.queue', survey: 't.queue', ticket: 't.queue' },
  category: { contact: 't.service_type', survey: 't.service_type', ticket: 't.service_type' },
  channel: { contact: 'i.channel', survey: 't.channel', ticket: 't.channel' },
  none: { contact: 'null', survey: 'null', ticket: 'null' },
};

/**
 * Customer-service KPIs for the period [from, to), one row per key of the grouping (none: one row,
 * key null). Every measure is computed by Postgres in one statement:
 *
 * - handledContacts, averageHandlingSeconds: interactions started in the period (either direction,
 *   any outcome), their duration. By agent and channel of the interaction; by queue and category of
 *   its ticket (key null without one).
 * - firstContactResolutionRate: of the inbound interactions started in the period, the share
 *   resolved (outcome `resolved`) after which the same customer made no other inbound contact within
 *   7 days. The window may run past `to`: a recent period's rate can still fall. Grouped as above.
 * - csatResponses, csatAverage, csatSatisfiedRate: surveys answered in the period; their count, mean
 *   score (1–5) and the share scoring 4 or 5. By the survey's agent; queue, category, channel of its ticket.
 * - resolvedTickets: tickets whose (latest) resolution falls in the period; a reopened ticket counts
 *   again only once resolved again.
 * - slaCompliance: of those resolved tickets that have an SLA policy, the share that never breached
 *   any target (no `breached` SLA event).
 * - reopenRate: of the tickets created in the period, the share reopened at least once (so far).
 * - backlog: tickets created before `to` and still not resolved or closed now: today's backlog of
 *   that period, not a snapshot taken at `to` (the history would be needed for that).
 * Tickets are grouped by assignee, queue, service type (category) and channel.
 *
 * Rates are 0..1, null when nothing was there to count. Grouped by none, the one row is there even
 * for an empty period (aggregates without GROUP BY always give a row). The sources are put under
 * each other (union all) and grouped once rather than full-joined per key: a null key (no ticket,
 * no assignee) never equals itself in a join and would come back once per source.
 */
export async function serviceKpis(db: Db, q: { from: Date; to: Date; groupBy: KpiGroup }): Promise<KpiRow[]> {
  const k = keys[q.groupBy];
  const from = sql`${q.from.toISOString()}::timestamptz`;
  const to = sql`${q.to.toISOString()}::timestamptz`;
  const resolvedIn = sql`(t.resolved_at >= ${from} and t.resolved_at < ${to})`;
  const createdIn = sql`(t.created_at >= ${from} and t.created_at < ${to})`;
  const openBefore = sql`(t.status in ('new', 'open', 'pending') and t.created_at < ${to})`;
  const rows = await db.execute<KpiRow & Record<string, unknown>>(sql`
    with facts as (
      select (${sql.raw(k.contact)})::text as key, i.duration_seconds as handled,
        case when i.direction = 'inbound' then i.outcome = 'resolved' and not exists (
          select 1 from service.interactions r where r.customer_id = i.customer_id and r.direction = 'inbound'
            and r.started_at > i.started_at and r.started_at <= i.started_at + make_interval(days => ${repeatContactDays}))
        end as fcr,
        null::int as score, null::boolean as sla_met, false as resolved, null::boolean as reopened, false as open
      from service.interactions i left join service.tickets t on t.id = i.ticket_id
      where i.started_at >= ${from} and i.started_at < ${to}
      union all
      select (${sql.raw(k.survey)})::text, null, null, s.score, null, false, null, false
      from service.csat_surveys s join service.tickets t on t.id = s.ticket_id
      where s.answered_at >= ${from} and s.answered_at < ${to}
      union all
      select (${sql.raw(k.ticket)})::text, null, null, null,
        case when t.sla_policy_id is not null and ${resolvedIn} then not exists (
          select 1 from service.ticket_sla_events e where e.ticket_id = t.id and e.level = 'breached') end,
        coalesce(${resolvedIn}, false), case when ${createdIn} then t.reopen_count > 0 end, ${openBefore}
      from service.tickets t
      where ${resolvedIn} or ${createdIn} or ${openBefore}
    )
    select ${q.groupBy === 'none' ? sql`null::text` : sql`key`} as key,
      count(handled)::int as "handledContacts", avg(handled)::float8 as "averageHandlingSeconds", avg(fcr::int)::float8 as "firstContactResolutionRate",
      count(score)::int as "csatResponses", avg(score)::float8 as "csatAverage", avg((score >= 4)::int)::float8 as "csatSatisfiedRate",
      avg(sla_met::int)::float8 as "slaCompliance", (count(*) filter (where resolved))::int as "resolvedTickets",
      avg(reopened::int)::float8 as "reopenRate", (count(*) filter (where open))::int as backlog
    from facts ${q.groupBy === 'none' ? sql`` : sql`group by key order by key nulls last`}`);
  return [...rows];
}
