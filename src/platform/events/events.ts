import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db, Tx } from '../db/client.js';
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

/** A module's reaction to events; it may run more than once per event, its effects only once. */
export interface Subscriber {
  name: string;
  types: string[];
  handle(tx: Tx, event: DomainEvent): Promise<void>;
}

/**
 * Records the event in the outbox inside the business transaction, so an event exists if and only
 * if the change that caused it committed. The relay fans it out afterwards: the business
 * transaction pays for one insert, not for a job (whose NOTIFY would serialise every commit).
 */
export async function emit(tx: Tx, type: string, payload: Record<string, unknown>, meta: EventMeta = {}) {
  const id = uuidv7();
  await eventInsert(tx, type, payload, { ...meta, id });
  return id;
}

interface EventMeta { aggregateId?: string; requestId?: string; id?: string }

/** The INSERT itself, unexecuted: await it, or embed `.getSQL()` in a larger statement. */
export function eventInsert(tx: Tx, type: string, payload: Record<string, unknown>, meta: EventMeta = {}) {
  return tx.insert(events).values({ id: meta.id ?? uuidv7(), type, payload, aggregateId: meta.aggregateId ?? null, requestId: meta.requestId ?? null });
}

const RELAY_BATCH = 500;

/**
 * One pass of the outbox relay: claims undispatched events (SKIP LOCKED, so relays on several
 * instances share the work), marks them dispatched and adds one delivery job per interested
 * subscriber, all in one transaction. Returns how many events it handled.
 */
export async function relayOutbox(db: Db, subscribers: Subscriber[]): Promise<number> {
  return db.transaction(async (tx) => {
    const claimed = await tx.execute<{ id: string; type: string }>(sql`
      with batch as (
        select id, occurred_at from ${events} where dispatched_at is null
        order by txid, id limit ${RELAY_BATCH} for update skip locked)
      update ${events} e set dispatched_at = now() from batch
      where e.id = batch.id and e.occurred_at = batch.occurred_at -- the partition key: one partition per row
      returning e.id, e.type`);
    const deliveries = claimed.flatMap((e) => subscribers
      .filter((s) => s.types.includes(e.type) || s.types.includes('*'))
      .map((s) => ({ event_id: e.id, subscriber: s.name })));
    if (deliveries.length) {
      await tx.execute(sql`select graphile_worker.add_job('platform.deliver_event',
          json_build_object('eventId', d.event_id, 'subscriber', d.subscriber),
          job_key => 'deliver:' || d.event_id || ':' || d.subscriber, max_attempts => 25)
        from json_to_recordset(${JSON.stringify(deliveries)}::json) as d(event_id text, subscriber text)`);
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
        handled = await relayOutbox(db, subscribers);
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

async function loadEvent(db: Db, id: string): Promise<DomainEvent | undefined> {
  const [row] = await db.select().from(events).where(sql`${events.id} = ${id}`);
  return row && { id: row.id, type: row.type, aggregateId: row.aggregateId, payload: row.payload, occurredAt: row.occurredAt.toISOString() };
}

/** The delivery task: one job per (event, subscriber), retried on its own. */
export function eventJobs(db: Db, subscribers: Subscriber[]): Partial<JobsSetup> {
  const byName = new Map(subscribers.map((s) => [s.name, s]));
  return {
    tasks: {
      'platform.deliver_event': async (payload) => {
        const { eventId, subscriber } = payload as { eventId: string; subscriber: string };
        const target = byName.get(subscriber);
        if (!target) throw new Error(`no subscriber named ${subscriber}`);
        const event = await loadEvent(db, eventId);
        if (!event) throw new Error(`event ${eventId} not found`);
        await db.transaction(async (tx) => {
          // The delivery row commits with the handler's own writes: a redelivery finds it and stops.
          const first = await tx.insert(eventDeliveries).values({ eventId, subscriber }).onConflictDoNothing().returning();
          if (first.length) await target.handle(tx, event);
        });
      },
    },
  };
}
