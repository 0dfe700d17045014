import { type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db, Tx } from '../db/client.js';
import { type Bound, drawn } from '../db/prebuilt.js';
import { uuidv7 } from '../ids.js';
import type { JobsSetup } from '../jobs/jobs.js';
import { eventDeliveries, events } from './tables.js';

export interface DomainEvent<P = Record<string, unknown>> {
  id: string;
  type: string;
  aggregateId: string | null;
  payload: P;
  occurredAt: string;
}

/**
 * A module's reaction to events; it may run more than once per event, its effects only once. It
 * handles them one at a time, or (`handleMany`) a delivery's events at once, up to 50 in order,
 * when it can do their work in fewer statements than one set per event.
 */
export type Subscriber = { name: string; types: string[] }
  & ({ handle(tx: Tx, event: DomainEvent): Promise<void> } | { handleMany(tx: Tx, events: DomainEvent[]): Promise<void> });

/**
 * Records the event in the outbox inside the business transaction, so an event exists if and only
 * if the change that caused it committed. The relay fans it out afterwards: the business
 * transaction pays for one insert, not for a job (whose NOTIFY would serialise every commit).
 */
export async function emit(tx: Tx, type: string, payload: Record<string, unknown>, meta: EventMeta = {}) {
  const id = uuidv7();
  await tx.execute(eventInsert(type, payload, { ...meta, id }));
  return id;
}

interface EventMeta { aggregateId?: string; requestId?: string; id?: string }

/**
 * The INSERT itself, unexecuted: execute it, or embed it in a larger statement. Written out rather
 * than built with drizzle's insert builder, which costs some forty times as much CPU and runs
 * several times in every request that changes something.
 */
export function eventInsert(type: string, payload: Record<string, unknown>, meta: EventMeta = {}) {
  return sql`insert into ${events} (id, type, aggregate_id, payload, request_id)
    values (${meta.id ?? uuidv7()}, ${type}, ${meta.aggregateId ?? null}, ${JSON.stringify(payload)}::jsonb, ${meta.requestId ?? null})`;
}

/**
 * The INSERT of the events of `source`, a FROM item of the caller's larger statement, one event a
 * row, its payload (and aggregate id, if SQL) built in SQL from that row: an event that needs a
 * value only the statement computes (a balance after an update) goes in with it instead of in a
 * round trip of its own. The id is drawn here (for a source of at most one row), or bound in a
 * prebuilt statement, or a column of the source's; so may the request id be.
 */
export function eventInsertFrom(type: string, payload: SQL, source: SQL, meta: { aggregateId?: string | SQL; requestId?: string | Bound | SQL | null; id?: Bound | SQL } = {}) {
  return sql`insert into ${events} (id, type, aggregate_id, payload, request_id)
    select ${meta.id ?? drawn(uuidv7)}, ${type}, ${meta.aggregateId ?? null}, ${payload}, ${meta.requestId ?? null} from ${source}`;
}

const RELAY_BATCH = 500;

/**
 * One pass of the outbox relay: marks up to RELAY_BATCH undispatched events dispatched and adds,
 * per interested subscriber, one job that delivers all of this pass's events to it, all in one
 * transaction. A job per event and subscriber cost the worker more than most handlers do.
 * Passes take turns (an advisory lock: one pass at a time over all instances, each seeing the
 * last one's marks), so that claiming an event is its update alone, without a row lock written
 * first. Returns how many events it handled, or `busy` when another pass has the
 * turn: it is not waited for, so that relays on other instances hold no connection in line, and
 * one pass that hangs holds up no other instance's connections.
 */
export async function relayOutbox(db: Db, subscribers: Subscriber[]): Promise<number | 'busy'> {
  return db.transaction(async (tx) => {
    const [turn] = await tx.execute<{ mine: boolean }>(sql`select pg_try_advisory_xact_lock(hashtextextended('platform.outbox_relay', 0)) as mine`);
    if (!turn!.mine) return 'busy' as const;
    const claimed = await tx.execute<{ id: string; type: string; occurred_at: string }>(sql`
        with batch as (select id, occurred_at from ${events} where dispatched_at is null order by txid, id limit ${RELAY_BATCH})
        update ${events} e set dispatched_at = now() from batch
        -- occurred_at, the partition key: one partition per row. dispatched_at again: a relay that
        -- does not take turns (an older version, mid-deploy) may have claimed the row meanwhile.
        where e.id = batch.id and e.occurred_at = batch.occurred_at and e.dispatched_at is null
        returning e.id, e.type, e.occurred_at`);
    claimed.sort((a, b) => (a.id < b.id ? -1 : 1));
    const deliveries = subscribers.flatMap((s) => {
      const mine = claimed.filter((e) => s.types.includes(e.type) || s.types.includes('*'));
      if (!mine.length) return [];
      // The events' time span lets the delivery read them from their month's partition only
      // (to the millisecond: the last one's microseconds are within the millisecond after it).
      const times = mine.map((e) => Date.parse(e.occurred_at));
      const span = [new Date(Math.min(...times)).toISOString(), new Date(Math.max(...times) + 1).toISOString()];
      return [{ subscriber: s.name, event_ids: mine.map((e) => e.id), span }];
    });
    if (deliveries.length) {
      // One add_jobs for the pass's jobs: add_job per job repeats its checks (and its NOTIFY) per job.
      await tx.execute(sql`select 1 from graphile_worker.add_jobs(array(
        select ('platform.deliver_events', json_build_object('subscriber', d.subscriber, 'eventIds', d.event_ids, 'span', d.span),
            null, null, 25, 'deliver:' || d.subscriber || ':' || (d.event_ids->>0), null, null)::graphile_worker.job_spec
          from json_to_recordset(${JSON.stringify(deliveries)}::json) as d(subscriber text, event_ids json, span json)))`);
    }
    return claimed.length;
  });
}

/**
 * Runs the relay until stopped: back to back while there is a backlog, every `idleMs` otherwise,
 * and backing off up to 30 s while passes keep failing.
 */
export function startOutboxRelay(db: Db, subscribers: Subscriber[], log: Logger, idleMs = 200) {
  let running = true;
  let wake: (() => void) | undefined;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      let handled = 0;
      try {
        const pass = await relayOutbox(db, subscribers);
        // Another instance's pass has the turn: this relay tries again after a pause.
        handled = pass === 'busy' ? 0 : pass;
        failures = 0;
      } catch (err) {
        failures++;
        log.error({ err, failures }, 'outbox relay pass failed');
      }
      if (handled < RELAY_BATCH && running) {
        const pause = failures ? Math.min(30_000, idleMs * 2 ** failures) : idleMs;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, pause);
        });
      }
    }
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

/** `span`: the first and last occurred_at of the events, if known (the partitions to look in). */
async function loadEvents(db: Db, ids: string[], span?: [string, string]): Promise<Map<string, DomainEvent>> {
  const rows = await db.execute<{ id: string; type: string; aggregate_id: string | null; payload: Record<string, unknown>; occurred_at: string }>(sql`
    select id, type, aggregate_id, payload, occurred_at from ${events} where id = any(${sql.param(ids)}::uuid[])
      ${span ? sql`and occurred_at between ${span[0]}::timestamptz and ${span[1]}::timestamptz` : sql``}`);
  return new Map(rows.map((row) => [row.id, { id: row.id, type: row.type, aggregateId: row.aggregate_id, payload: row.payload, occurredAt: new Date(row.occurred_at).toISOString() }]));
}

/** Marks events delivered to a subscriber; the ids of those that were not yet. */
async function firstDeliveries(tx: Tx, subscriber: string, eventIds: string[]) {
  const rows = await tx.execute<{ event_id: string }>(sql`
    insert into ${eventDeliveries} (event_id, subscriber) select unnest(${sql.param(eventIds)}::uuid[]), ${subscriber}
    on conflict do nothing returning event_id`);
  return new Set(rows.map((r) => r.event_id));
}

/** Events delivered in one transaction: one commit for many, and short enough not to hold a handler's locks for long. */
const DELIVERY_SLICE = 50;

/**
 * A slice of a pass's events (or one event) in one transaction: their delivery rows in one
 * statement, then the handler for each new one. The delivery rows commit with the handlers' own
 * writes, so a redelivery finds them and stops.
 */
async function deliverSlice(db: Db, target: Subscriber, slice: DomainEvent[]) {
  await db.transaction(async (tx) => {
    const fresh = await firstDeliveries(tx, target.name, slice.map((e) => e.id));
    const events = slice.filter((e) => fresh.has(e.id));
    if ('handleMany' in target) {
      if (events.length) await target.handleMany(tx, events);
    } else {
      for (const event of events) await target.handle(tx, event);
    }
  });
}

/**
 * The delivery tasks. A relay pass's events go to a subscriber in one job, in slices of one
 * transaction each. When a slice fails, its events go again one by one, so that one event's
 * failure never holds back its neighbours; an event that fails on its own too is handed to a job
 * of its own, retried with graphile-worker's backoff.
 */
export function eventJobs(db: Db, subscribers: Subscriber[]): Partial<JobsSetup> {
  const byName = new Map(subscribers.map((s) => [s.name, s]));
  // A pass adds one job per subscriber name: two of one name would make every pass fail.
  if (byName.size !== subscribers.length) throw new Error('two subscribers have the same name');
  const targetOf = (name: string) => {
    const target = byName.get(name);
    if (!target) throw new Error(`no subscriber named ${name}`);
    return target;
  };
  return {
    tasks: {
      'platform.deliver_events': async (payload, helpers) => {
        const { subscriber, eventIds, span } = payload as { subscriber: string; eventIds: string[]; span?: [string, string] };
        const target = targetOf(subscriber);
        const found = await loadEvents(db, eventIds, span);
        // An event gone (its partition dropped) is logged and skipped: it must not hold back the pass's others.
        const list = eventIds.flatMap((id) => {
          const event = found.get(id);
          if (!event) helpers.logger.error(`event ${id} for ${subscriber} not found; skipped`);
          return event ? [event] : [];
        });
        const failed: string[] = [];
        for (let i = 0; i < list.length; i += DELIVERY_SLICE) {
          const slice = list.slice(i, i + DELIVERY_SLICE);
          try {
            await deliverSlice(db, target, slice);
          } catch {
            for (const event of slice) {
              try {
                await deliverSlice(db, target, [event]);
              } catch (err) {
                failed.push(event.id);
                helpers.logger.error(`delivering event ${event.id} to ${subscriber} failed; it is retried on its own: ${(err as Error).message}`);
              }
            }
          }
        }
        if (failed.length) {
          await db.execute(sql`select graphile_worker.add_job('platform.deliver_event', json_build_object('eventId', id, 'subscriber', ${subscriber}::text),
              job_key => 'deliver:' || id || ':' || ${subscriber}::text, run_at => now() + interval '5 seconds', max_attempts => 25)
            from unnest(${sql.param(failed)}::text[]) as id`);
        }
      },
      'platform.deliver_event': async (payload) => {
        const { eventId, subscriber } = payload as { eventId: string; subscriber: string };
        const target = targetOf(subscriber);
        const event = (await loadEvents(db, [eventId])).get(eventId);
        if (!event) throw new Error(`event ${eventId} not found`);
        await deliverSlice(db, target, [event]);
      },
    },
  };
}
